"""The service retries failed webhook deliveries in the background while it runs, and stops with it."""

from __future__ import annotations

import contextlib
import io
import threading
import time
from pathlib import Path

from fastapi.testclient import TestClient

from api.entrypoints.http.app import create_app
from api.settings import Settings
from tests.conftest import SHIPPED


def _retriers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "webhook-retries"]


def test_retry_loop_runs_during_the_service_life_and_stops_with_it(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}", policy_file=SHIPPED, webhook_retry_seconds=0.05)
    assert _retriers() == []
    with contextlib.redirect_stdout(io.StringIO()), TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        assert [t.is_alive() for t in _retriers()] == [True]
        time.sleep(0.2)  # a few rounds over an empty outbox: nothing to send, nothing breaks
        assert client.get("/readyz").status_code == 200
    assert _retriers() == []


def test_retries_can_be_switched_off(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}", policy_file=SHIPPED, webhook_retry_seconds=0)
    with contextlib.redirect_stdout(io.StringIO()), TestClient(create_app(settings)):
        assert _retriers() == []

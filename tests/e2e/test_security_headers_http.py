"""Every response says `nosniff` and `no-store`: decisions, problems, the webhook secret, the server's own 500."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from httpx import Response
from starlette.testclient import TestClient

from api.entrypoints.http.app import create_app
from api.settings import Settings
from tests.e2e.conftest import Service, unique
from tests.e2e.inputs import body
from tests.e2e.test_cases_http import HOOK_URL

JSON = {"Content-Type": "application/json"}


def requests(service: Service) -> dict[str, Callable[[], Response]]:
    return {
        "decision": lambda: service.post("/v1/decisions/order", body("order", unique("C"))),
        "invalid body": lambda: service.post("/v1/decisions/order", {"order": {}}),
        "malformed body": lambda: service.post(
            "/v1/decisions/order", content=b"{", headers={"Content-Type": "application/json"}
        ),
        "no key": lambda: service.get("/v1/decisions", who=None),
        "no route": lambda: service.get("/v1/nothing-here"),
        "log": lambda: service.get("/v1/decisions?limit=1"),
        "webhook secret": lambda: service.post("/v1/webhooks", {"url": HOOK_URL, "events": ["case.opened"]}),
        "readiness": lambda: service.client.get("/readyz"),
        "liveness": lambda: service.client.get("/healthz"),
        "metrics": lambda: service.get("/metrics"),
        "openapi": lambda: service.client.get("/openapi.json"),
    }


@pytest.mark.parametrize(
    "name",
    ["decision", "invalid body", "malformed body", "no key", "no route", "log", "webhook secret"]
    + ["readiness", "liveness", "metrics", "openapi"],
)
def test_every_response_is_nosniff_and_no_store(service: Service, name: str) -> None:
    response = requests(service)[name]()
    assert response.status_code != 500, response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    if name == "webhook secret":
        assert response.status_code == 201 and response.json()["secret"]


def test_the_servers_own_500_carries_them_too(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/crash.db", webhook_retry_seconds=0))

    @app.get("/crash")
    def crash() -> None:
        raise RuntimeError("a defect")

    # Not started (no lifespan): the route needs no database, and the error middleware answers.
    response = TestClient(app, raise_server_exceptions=False).get("/crash")
    assert response.status_code == 500 and response.json()["code"] == "internal_error"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"

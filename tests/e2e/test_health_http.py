"""Liveness, readiness and metrics."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from api.entrypoints.http.app import create_app
from api.settings import Settings
from tests.e2e.conftest import SHIPPED, Service, running_service

REASON = {"reason": "taken out of use"}


def test_healthz_and_readyz(service: Service) -> None:
    assert service.client.get("/healthz").json() == {"status": "ok"}
    ready = service.client.get("/readyz")
    assert ready.status_code == 200
    data = ready.json()
    assert data["status"] == "ready" and data["schema_revision"]
    assert (data["policy"]["id"], data["policy"]["version"]) == ("standard", "2026.1")


def test_readyz_is_503_without_a_policy_in_force(fresh_service: Service) -> None:
    retired = fresh_service.post("/v1/policies/versions/2026.1/retire", REASON, who="approve")
    assert retired.status_code == 200
    response = fresh_service.client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_ready"
    assert "no active version" in response.json()["detail"]


@contextmanager
def readiness_of(database_url: str) -> Iterator[TestClient]:
    """A second app on the database of a started service, with a short readiness timeout."""
    settings = Settings(
        database_url=database_url, policy_file=SHIPPED, webhook_retry_seconds=0, ready_timeout_seconds=0.2
    )
    with TestClient(create_app(settings)) as client:
        yield client


def read_only(database_url: str) -> str:
    """The same database, opened so that no transaction may write."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return f"sqlite:///file:{url.database}?mode=ro&uri=true"
    options = f"{url.query.get('options', '')} -cdefault_transaction_read_only=on".strip()
    return url.update_query_dict({"options": options}).render_as_string(hide_password=False)


def test_readyz_is_503_when_the_database_takes_no_writes(fresh_service: Service) -> None:
    """Readiness only read: a database opened read-only (a standby on PostgreSQL) was reported ready."""
    with readiness_of(read_only(fresh_service.database_url)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "not_ready"
    assert "readonly" in problem["detail"] or "read-only" in problem["detail"]
    assert fresh_service.client.get("/readyz").status_code == 200  # the service itself can write


def test_readyz_is_503_not_a_30_second_wait_when_sqlite_is_locked(tmp_path: Path) -> None:
    """Another process holding SQLite's write lock made readiness wait out the 30 s busy timeout."""
    path = tmp_path / "locked.db"
    with running_service(f"sqlite:///{path}"), readiness_of(f"sqlite:///{path}") as client:
        holder = sqlite3.connect(path, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            locked = client.get("/readyz")
            holder.execute("ROLLBACK")
            unlocked = client.get("/readyz")
        finally:
            holder.close()
    assert locked.status_code == 503, locked.text
    assert locked.json()["code"] == "not_ready"
    assert locked.json()["detail"] == "the database is locked: no write lock within 0.2 s (another process holds it)"
    assert unlocked.status_code == 200


def test_metrics_exposition(service: Service) -> None:
    service.client.get("/readyz")  # names the version in force, before any decision used it
    response = service.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    for name, kind in (
        ("creditpolicy_decisions_total", "counter"),
        ("creditpolicy_decision_latency_seconds", "histogram"),
        ("creditpolicy_policy_info", "gauge"),
    ):
        assert f"# TYPE {name} {kind}" in text
    assert 'creditpolicy_policy_info{policy_id="standard",version="2026.1"' in text

"""Liveness, readiness and metrics."""

from __future__ import annotations

import contextlib
import io
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from api.entrypoints.http.app import create_app
from api.entrypoints.http.metrics import GROUP_COMMIT_COUNTERS, LATENCY_BUCKETS
from api.settings import Settings
from tests.e2e.conftest import SHIPPED, Service, running_service
from tests.e2e.inputs import body

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


def samples(text: str) -> dict[str, list[Sample]]:
    """The exposition's samples by sample name (``creditpolicy_decisions_total``, ``..._bucket``)."""
    found: dict[str, list[Sample]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


def test_metrics_exposition(service: Service) -> None:
    """Every metric name, type and label of the hand-written exposition, now from prometheus_client."""
    service.client.get("/readyz")  # names the version in force, before any decision used it
    assert service.post("/v1/decisions/settlement", body("settlement")).status_code == 200
    assert service.post("/v1/decisions/settlement", {"invoice": {}}).status_code == 422
    response = service.get("/metrics", who="audit")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = response.text
    types = {
        "creditpolicy_decisions_total": "counter",
        "creditpolicy_decisions_refused_total": "counter",
        "creditpolicy_decision_latency_seconds": "histogram",
        "creditpolicy_policy_info": "gauge",
        **{f"creditpolicy_group_commit_{name}_total": "counter" for name in GROUP_COMMIT_COUNTERS},
    }
    for name, kind in types.items():
        assert f"# TYPE {name} {kind}" in text, name
    found = samples(text)
    labels = {
        "creditpolicy_decisions_total": {"kind", "outcome"},
        "creditpolicy_decisions_refused_total": {"kind", "code"},
        "creditpolicy_decision_latency_seconds_bucket": {"kind", "le"},
        "creditpolicy_decision_latency_seconds_sum": {"kind"},
        "creditpolicy_decision_latency_seconds_count": {"kind"},
        "creditpolicy_policy_info": {"policy_id", "version", "sha256"},
        **{f"creditpolicy_group_commit_{name}_total": set() for name in GROUP_COMMIT_COUNTERS},
    }
    for name, names in labels.items():
        assert found[name] and all(set(sample.labels) == names for sample in found[name]), name
    assert not any(name.endswith("_created") for name in found)
    buckets = [
        s.labels["le"]
        for s in found["creditpolicy_decision_latency_seconds_bucket"]
        if s.labels["kind"] == "settlement"
    ]
    assert len(buckets) == len(LATENCY_BUCKETS) + 1 and buckets[-1] == "+Inf"
    [policy] = [s for s in found["creditpolicy_policy_info"] if s.labels["policy_id"] == "standard"]
    assert (policy.labels["version"], policy.value) == ("2026.1", 1.0)
    refused = {(s.labels["kind"], s.labels["code"]) for s in found["creditpolicy_decisions_refused_total"]}
    assert ("settlement", "invalid_request") in refused
    stored = sum(
        s.value
        for name in ("creditpolicy_group_commit_grouped_steps_total", "creditpolicy_group_commit_lone_steps_total")
        for s in found[name]
    )
    assert stored >= 1  # the group committer's counters reach /metrics


def test_metrics_need_a_key_whose_role_may_read_them(service: Service) -> None:
    assert service.get("/metrics", who=None).status_code == 401
    forbidden = service.get("/metrics", who="decide")
    assert (forbidden.status_code, forbidden.json()["permission"]) == (403, "read_metrics")
    assert service.get("/metrics", who="admin").status_code == 200


def test_metrics_open_to_anyone_when_configured(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/open.db", webhook_retry_seconds=0, metrics_access="open")
    with contextlib.redirect_stdout(io.StringIO()), TestClient(create_app(settings)) as client:
        response = client.get("/metrics")
    assert response.status_code == 200 and "# TYPE creditpolicy_decisions_total counter" in response.text

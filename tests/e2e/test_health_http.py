"""Liveness, readiness and metrics."""

from __future__ import annotations

from tests.e2e.conftest import Service

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

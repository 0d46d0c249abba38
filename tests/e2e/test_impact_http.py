"""POST /v1/impact and GET /v1/policies/versions/{ref}/review over HTTP: JSON, the page, the text, and refusals."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import SHIPPED, Service
from tests.e2e.inputs import body
from tests.integration.test_impact_service import candidate_yaml


def _setup(service: Service) -> None:
    draft = {"file": "candidate.yaml", "yaml": candidate_yaml(SHIPPED.read_text(encoding="utf-8"))}
    assert service.post("/v1/policies", draft, who="author").status_code == 201
    for n in range(3):
        order: dict[str, Any] = body("order", f"C-{n}", as_of="2026-06-10")
        order["exposure"] = {"oldest_overdue_days": 25, "overdue_amount": "10.00"}
        assert service.post("/v1/decisions/order", order).status_code == 200


def test_impact_answers_json_the_page_and_the_text(fresh_service: Service) -> None:
    _setup(fresh_service)
    request = {"from": "2026.1", "to": "2026.7", "until": "2026-06-30", "kind": "order"}
    answer = fresh_service.post("/v1/impact", request, who="audit")
    assert answer.status_code == 200, answer.text
    document = answer.json()
    assert document["schema"] == "creditpolicy.impact/1" and document["records"]["decided_by_from"] == 3
    assert document["kinds"]["order"]["transitions"][0] == {
        **document["kinds"]["order"]["transitions"][0],
        "from": "approve",
        "to": "hold",
        "count": 3,
    }
    page = fresh_service.post("/v1/impact", request, who="approve", headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<!DOCTYPE html>" in page.text and "approve → hold" in page.text
    plain = fresh_service.post("/v1/impact", request, who="audit", headers={"Accept": "text/plain"})
    assert "order: 3 approve → hold" in plain.text
    review = fresh_service.get("/v1/policies/versions/2026.7/review", who="approve")
    assert review.status_code == 200 and review.json()["diff"]["counts"]["changes"] > 0


def test_impact_refuses_bad_requests_with_problems(fresh_service: Service) -> None:
    for request, code in (
        ({"from": "9.9", "to": "2026.1"}, "unknown_policy_version"),
        ({"from": "2026.1", "to": "2026.1", "since": "2026-07-01", "until": "2026-06-01"}, "inverted_range"),
    ):
        refused = fresh_service.post("/v1/impact", request, who="audit")
        assert refused.status_code == 422 and refused.json()["code"] == code, refused.text
    bad: tuple[dict[str, Any], ...] = (
        {"from": "2026.1", "to": "2026.1", "since": "2026-02-30"},
        {"from": "2026.1", "to": "2026.1", "kind": "loan"},
        {"from": "2026.1", "to": "2026.1", "sample": 51},
        {"from": "2026.1"},
    )
    for request in bad:
        refused = fresh_service.post("/v1/impact", request, who="audit")
        assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    assert fresh_service.post("/v1/impact", {"from": "2026.1", "to": "2026.1"}, who="decide").status_code == 403
    assert fresh_service.get("/v1/policies/versions/9.9/review", who="audit").status_code == 404

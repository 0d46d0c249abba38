"""Auditing a change over HTTP, on SQLite and PostgreSQL: the diff as JSON, a page or text, and blame."""

from __future__ import annotations

from typing import Any

from api.entrypoints.http.schemas.versions import BlameOut, DiffOut
from tests.diff_factories import candidate_yaml
from tests.e2e.conftest import Service
from tests.report_figures import figure_mismatch, marked_figures

REASON = {"reason": "reviewed by the credit committee"}


def get(service: Service, path: str, accept: str | None = None, **kw: Any) -> Any:
    """GET as the auditor, with an Accept header when given."""
    headers = service.headers("audit") | ({"Accept": accept} if accept else {})
    return service.client.get(path, headers=headers, **kw)


def put_in_force(service: Service, yaml: str) -> dict[str, Any]:
    published = service.post("/v1/policies", {"yaml": yaml, "file": "rules/standard.yaml"}, who="author")
    assert published.status_code == 201, published.text
    sha = published.json()["sha256"]
    assert service.post(f"/v1/policies/versions/{sha}/approve", REASON, who="approve").status_code == 200
    activated = service.post(f"/v1/policies/versions/{sha}/activate", REASON, who="approve2")
    assert activated.status_code == 200, activated.text
    return dict(activated.json())


def test_the_diff_as_json_a_page_and_text(fresh_service: Service) -> None:
    service = fresh_service
    put_in_force(service, candidate_yaml())
    response = service.get("/v1/policies/diff?from=2026.1&to=2026.2")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert response.headers["vary"] == "Accept"
    document = response.json()
    DiffOut.model_validate(document)
    assert document["schema"] == "creditpolicy.policy_diff/1" and document["counts"]["changes"] == 12
    old, new = document["from"], document["to"]
    assert (old["status"], old["in_force"]) == ("active", {"start": "2026-01-01", "end": "2026-06-30"})
    assert (new["published"]["by"], new["approved"]["by"]) == ("e2e-author", "e2e-approve")
    assert [e["event"] for e in new["events"]] == ["published", "approved", "activated"]
    texts = [c["text"] for section in document["sections"] for c in section["changes"]]
    assert "terms BBB: 2/10, n/30 → 2/10, n/20" in texts and "grade BB: scores 65–72 → 66–72" in texts
    assert [c["aspect"] for c in document["metadata"]] == ["version", "effective from", "change note"]

    page = get(service, "/v1/policies/diff?from=2026.1&to=2026.2", "text/html")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.text.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in page.text
    figures = marked_figures(page.text)
    assert figures and [problem for f in figures if (problem := figure_mismatch(f, document))] == []

    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert get(service, "/v1/policies/diff?from=2026.1&to=2026.2", browser).text == page.text
    text = get(service, "/v1/policies/diff?from=2026.1&to=2026.2", "text/plain")
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    assert "  terms BBB: 2/10, n/30 → 2/10, n/20  (a:467 b:472)\n" in text.text


def test_the_diff_refuses_unknown_versions_in_every_form(fresh_service: Service) -> None:
    for accept in ("application/json", "text/html", "text/plain"):
        missing = get(fresh_service, "/v1/policies/diff?from=2026.1&to=nope", accept)
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
        assert missing.json()["code"] == "version_not_found"
    same = fresh_service.get("/v1/policies/diff?from=2026.1&to=2026.1").json()
    assert same["identical"] is True and same["sections"] == [] and same["metadata"] == []


def test_blame_names_who_published_and_approved_the_last_change(fresh_service: Service) -> None:
    service = fresh_service
    put_in_force(service, candidate_yaml())
    response = service.get("/v1/policies/standard/blame", params={"element": "terms BBB"})
    assert response.status_code == 200, response.text
    document = response.json()
    BlameOut.model_validate(document)
    last = document["last_changed"]
    assert last["version"]["version"] == "2026.2" and last["introduced"] is False
    assert (last["version"]["published"]["by"], last["version"]["approved"]["by"]) == ("e2e-author", "e2e-approve")
    assert last["version"]["approved"]["reason"] == REASON["reason"]
    assert last["version"]["change_note"].startswith("BB tightened")
    assert [c["text"] for c in last["changes"]] == ["terms BBB: 2/10, n/30 → 2/10, n/20"]
    assert document["current"] == [
        {
            "element": "terms BBB",
            "path": "terms.per_grade.BBB",
            "text": "2/10, n/20",
            "source": {"file": "rules/standard.yaml", "line": 471, "column": 5},
        }
    ]
    first = service.get("/v1/policies/standard/blame", params={"element": "collection ordinary letter"}).json()
    assert first["last_changed"]["version"]["version"] == "2026.1" and first["last_changed"]["introduced"] is True
    assert first["last_changed"]["version"]["published"]["by"] == "system-bootstrap"
    older = service.get("/v1/policies/standard/blame", params={"element": "terms BBB", "at": "2026.1"}).json()
    assert older["at"]["version"] == "2026.1" and older["current"][0]["text"] == "2/10, n/30"
    text = get(
        service, "/v1/policies/standard/blame", "text/plain", params={"element": "order rule large_order_below_a"}
    )
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    assert "last changed in standard 2026.2" in text.text and "approved by e2e-approve" in text.text


def test_blame_refuses_unknown_elements_and_policies(fresh_service: Service) -> None:
    unknown = fresh_service.get("/v1/policies/standard/blame", params={"element": "order rule over_limt"})
    assert unknown.status_code == 404 and unknown.json()["code"] == "element_not_found"
    assert "'order rule over_limit'" in unknown.json()["detail"]
    nothing = fresh_service.get("/v1/policies/premium/blame", params={"element": "terms BBB"})
    assert nothing.status_code == 404 and nothing.json()["code"] == "policy_not_found"
    assert fresh_service.get("/v1/policies/standard/blame").status_code == 422
    denied = fresh_service.get("/v1/policies/standard/blame", params={"element": "terms BBB"}, who="decide")
    assert denied.status_code == 403 and denied.json()["permission"] == "read_versions"

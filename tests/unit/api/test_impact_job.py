"""The impact job kind: its checks before any job exists (those of POST /v1/impact), versions pinned, and its run."""

from __future__ import annotations

import json
from typing import Any

import pytest

from api.adapters.db.memory import InMemoryUnitOfWork
from api.errors import InvalidRequest, RefusedField
from api.service import versions
from api.service.impact import impact_lines, lines_text
from api.service.jobs import default_kinds
from api.service.jobs.impact import STAGE, prepare_impact, run_impact
from api.service.jobs.kinds import JobRun
from api.service.reports.impact import render_impact
from engine.errors import EngineError
from tests.conftest import SHIPPED
from tests.integration.test_impact_service import candidate_yaml


def _accept(_loaded: Any) -> versions.CasesVerdict:
    return versions.CasesVerdict([], None)


@pytest.fixture
def uow() -> InMemoryUnitOfWork:
    """2026.1 and the draft 2026.7 stored, no decision logged."""
    store = InMemoryUnitOfWork()
    shipped = SHIPPED.read_text(encoding="utf-8")
    versions.publish(store, shipped, "standard.yaml", "alice", _accept)
    versions.publish(store, candidate_yaml(shipped), "candidate.yaml", "alice", _accept)
    return store


def test_the_kind_is_served_with_the_impact_permission() -> None:
    kind = default_kinds()["impact"]
    assert (kind.permission, kind.prepare, kind.run) == ("impact", prepare_impact, run_impact)


def test_versions_are_pinned_to_their_sha256_and_the_request_is_stored_as_read(uow: InMemoryUnitOfWork) -> None:
    a, b = (versions.get_version(uow, label) for label in ("2026.1", "2026.7"))
    assert b.status == "draft"
    params = prepare_impact(uow, {"from": "2026.1", "to": b.sha256[:10], "since": "2026-06-01", "kind": "order"}, {})
    assert params == {
        "from": "2026.1",
        "to": b.sha256[:10],
        "from_sha256": a.sha256,
        "to_sha256": b.sha256,
        "since": "2026-06-01",
        "until": None,
        "kind": "order",
        "sample": 3,
        "top": 10,
    }
    assert json.loads(json.dumps(params)) == params  # stored as JSON


REFUSED: tuple[tuple[dict[str, Any], type[Exception], str, str | None], ...] = (
    ({"from": "9.9", "to": "2026.1"}, RefusedField, "unknown_policy_version", "/from"),
    ({"from": "2026.1", "to": "ffffffff"}, RefusedField, "unknown_policy_version", "/to"),
    (
        {"from": "2026.1", "to": "2026.7", "since": "2026-07-01", "until": "2026-06-01"},
        RefusedField,
        "inverted_range",
        "/until",
    ),
    ({"from": "2026.1", "to": "2026.7", "since": "2026-02-30"}, InvalidRequest, "invalid_request", "/since"),
    ({"from": "2026.1", "to": "2026.7", "until": 20260601}, InvalidRequest, "invalid_request", "/until"),
    ({"from": "2026.1", "to": "2026.7", "sample": 51}, InvalidRequest, "invalid_limit", None),
    ({"from": "2026.1", "to": "2026.7", "top": 0}, InvalidRequest, "invalid_limit", None),
    ({"from": "2026.1", "to": "2026.7", "top": True}, InvalidRequest, "invalid_request", "/top"),
    ({"from": "2026.1"}, InvalidRequest, "invalid_request", "/to"),
    ({"to": "2026.1", "from": " "}, InvalidRequest, "invalid_request", "/from"),
)


@pytest.mark.parametrize(("params", "error", "code", "pointer"), REFUSED)
def test_bad_requests_are_refused_with_the_routes_codes(
    uow: InMemoryUnitOfWork, params: dict[str, Any], error: type[Exception], code: str, pointer: str | None
) -> None:
    with pytest.raises(error) as refused:
        prepare_impact(uow, params, {})
    assert isinstance(refused.value, InvalidRequest) and refused.value.code == code
    if pointer is not None:
        assert [e["pointer"] for e in refused.value.errors or []] == [pointer]


def test_an_unknown_kind_is_refused_naming_the_known_ones(uow: InMemoryUnitOfWork) -> None:
    with pytest.raises(EngineError) as refused:
        prepare_impact(uow, {"from": "2026.1", "to": "2026.7", "kind": "loan"}, {})
    assert refused.value.code == "unknown_decision_kind" and "order" in refused.value.message


def test_the_run_measures_the_pinned_versions_and_stores_json_page_and_text(uow: InMemoryUnitOfWork) -> None:
    params = prepare_impact(uow, {"from": "2026.1", "to": "2026.7", "until": "2026-06-30"}, {})
    reported: list[tuple[str, int, int]] = []
    run = JobRun("job-1", params, {}, lambda stage, done, total: reported.append((stage, done, total)), lambda: uow)
    artifacts = {a.name: a for a in run_impact(run)}
    assert {name: a.media_type for name, a in artifacts.items()} == {
        "impact.json": "application/json",
        "impact.html": "text/html; charset=utf-8",
        "impact.txt": "text/plain; charset=utf-8",
    }
    document = json.loads(artifacts["impact.json"].content)
    assert (document["from"]["sha256"], document["to"]["sha256"]) == (params["from_sha256"], params["to_sha256"])
    assert document["to"]["status"] == "draft" and document["period"]["until"] == "2026-06-30"
    assert document["records"]["decided_by_from"] == 0 and reported == [(STAGE, 0, 0)]
    assert artifacts["impact.html"].content == render_impact(document).encode("utf-8")
    assert artifacts["impact.txt"].content == lines_text(impact_lines(document)).encode("utf-8")

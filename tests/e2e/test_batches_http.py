"""Batches of every kind over HTTP, and dry runs: decided like real batches, nothing kept, and saying so."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from api.service.decisions import BATCH_MEMBERS
from tests.e2e.conftest import SHIPPED, Service, unique
from tests.e2e.inputs import body, second_version_yaml

KINDS = tuple(BATCH_MEMBERS)
# Every table a decision writes to (the decision log is also the idempotency store: request_id).
STORED = ("decisions", "credit_cases", "grade_history", "webhook_deliveries", "customers")
HOOK_URL = "http://127.0.0.1:9/credit-hooks"  # a fake sender takes it: nothing leaves the machine


@dataclass
class FakeSender:
    sent: list[str] = field(default_factory=list)

    def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        self.sent.append(url)
        return 204


@pytest.fixture
def sender(fresh_service: Service) -> Iterator[FakeSender]:
    fake = FakeSender()
    real, fresh_service.app.state.webhook_sender = fresh_service.app.state.webhook_sender, fake
    yield fake
    fresh_service.app.state.webhook_sender = real


def batch_path(kind: str, query: str = "") -> str:
    return f"/v1/decisions/{kind}:batch{query}"


def counts(service: Service) -> dict[str, int]:
    return {table: service.count(table) for table in STORED}


def order(customer: str, reference: str, amount: str) -> dict[str, Any]:
    """An order of a customer with a limit of 100,000.00 and no exposure: held above it."""
    data = body("order", customer)
    data["customer"]["limit"] = "100000.00"
    data["exposure"] = {}
    data["order"] = {"id": unique("SO"), "reference": reference, "amount": amount, "currency": "CNY"}
    return data


def refused(kind: str) -> dict[str, Any]:
    """A body of ``kind`` the service refuses (a date that is none), for a problem in place."""
    return body(kind, unique("C"), as_of="the last day of June")


def bodies_of(kind: str, customer: str, open_case_reference: str | None = None) -> list[Any]:
    """A batch whose answers depend on each other and on the store, for ``kind``."""
    if kind != "order":
        return [body(kind, customer), refused(kind), body(kind, customer, as_of="2026-07-01")]
    reference = unique("PO")
    return [
        order(customer, reference, "120000.00"),  # over the limit: held, a case opens
        order(customer, reference, "50000.00"),  # approved by the policy, held by the case just opened
        order(customer, unique("PO"), "20000.00"),  # approved
        refused(kind),
        order(customer, open_case_reference or unique("PO"), "10000.00"),  # held by a case already stored
    ]


def without_logging(result: dict[str, Any]) -> dict[str, Any]:
    """A batch result minus what only logging gives it: ids, the time, the dry-run marks, a new case's id."""
    result = copy.deepcopy(result)
    result.pop("dry_run", None)
    decision = result.get("decision")
    if decision is not None:
        for name in ("decision_id", "dry_run", "created_at"):
            decision.pop(name, None)
        if decision.get("case"):
            decision["case"]["case_id"] = None
        for reason in decision["reasons"]:
            reason["rule"] = "case" if reason["rule"].startswith("case.") else reason["rule"]
    return result


@pytest.mark.parametrize("kind", KINDS)
def test_a_batch_of_every_kind_decides_logs_and_replays(service: Service, kind: str) -> None:
    customer, batch_id, member = unique("C"), unique("batch"), BATCH_MEMBERS[kind]
    bodies = [body(kind, customer), refused(kind), "not a request", body(kind, customer, request_id=unique())]
    response = service.post(batch_path(kind), {member: bodies, "request_id": batch_id})
    assert response.status_code == 200, response.text
    data = response.json()
    assert (data["dry_run"], data["decided"], data["refused"]) == (False, 2, 2)
    assert [(r["index"], r["status"]) for r in data["results"]] == [(0, 200), (1, 422), (2, 422), (3, 200)]
    assert all("dry_run" not in r for r in data["results"])
    first = data["results"][0]["decision"]
    assert (first["kind"], first["request_id"]) == (kind, f"{batch_id}/0")
    assert data["results"][1]["problem"]["errors"][0]["pointer"].startswith(f"/{member}/1/")
    assert data["results"][2]["problem"]["errors"][0]["pointer"] == f"/{member}/2"
    logged = service.get(f"/v1/decisions/{first['decision_id']}")
    assert logged.status_code == 200 and logged.json()["response"] == first
    again = service.post(batch_path(kind), {member: bodies, "request_id": batch_id}).json()
    assert [r.get("replayed") for r in again["results"]] == [True, None, None, True]
    assert again["results"][0]["decision"] == first
    assert service.count("decisions", "request_id LIKE :b", b=f"{batch_id}/%") == 1


def test_each_batch_takes_only_its_own_member_and_size(service: Service) -> None:
    wrong_member = service.post(batch_path("assess"), {"orders": [body("assess")]})
    assert wrong_member.status_code == 422
    assert {e["pointer"] for e in wrong_member.json()["errors"]} == {"/assessments", "/orders"}
    too_many = service.post(batch_path("collection", "?dry_run=true"), {"collections": [{}] * 1001})
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["pointer"] == "/collections"


def test_a_dry_run_answers_what_the_real_batch_answers_and_keeps_nothing(
    fresh_service: Service, sender: FakeSender
) -> None:
    service = fresh_service
    hook = service.post("/v1/webhooks", {"url": HOOK_URL, "events": ["case.opened"]})
    assert hook.status_code == 201, hook.text
    customer, stored_reference = unique("C"), unique("PO")
    held = service.post("/v1/decisions/order", order(customer, stored_reference, "150000.00")).json()
    stored_case = held["case"]["case_id"]
    for kind in KINDS:
        member, batch_id = BATCH_MEMBERS[kind], unique("batch")
        batch = {"request_id": batch_id, member: bodies_of(kind, customer, stored_reference)}
        before, sent_before = counts(service), len(sender.sent)
        dry = service.post(batch_path(kind, "?dry_run=true&explain=true"), batch, who="decide")
        assert dry.status_code == 200, dry.text
        assert counts(service) == before, kind  # nothing logged, opened, graded, queued or kept for replay
        assert len(sender.sent) == sent_before
        dry_data = dry.json()
        assert dry_data["dry_run"] is True and dry_data["request_id"] == batch_id
        for result in dry_data["results"]:
            assert result["dry_run"] is True
            if result["status"] == 200:
                decision = result["decision"]
                assert decision["decision_id"] is None and decision["dry_run"] is True, decision
                assert decision["trace"]["rules_fired"]
        real = service.post(batch_path(kind, "?explain=true"), batch)
        assert real.status_code == 200, real.text
        real_data = real.json()
        assert real_data["dry_run"] is False
        assert [r.get("replayed") for r in real_data["results"]] == [None] * len(batch[member])  # nothing was kept
        assert service.count("decisions") == before["decisions"] + real_data["decided"]
        assert [without_logging(r) for r in dry_data["results"]] == [without_logging(r) for r in real_data["results"]]
        if kind == "order":
            cases = [r.get("decision", {}).get("case") for r in dry_data["results"]]
            assert [c and c["effect"] for c in cases] == [
                "opened",
                "held_by_open_case",
                None,
                None,
                "held_by_open_case",
            ]
            # The case the dry run opened was rolled back: no id, where it opened and where it held.
            assert [c and c["case_id"] for c in cases] == [None, None, None, None, stored_case]
            assert dry_data["results"][0]["decision"]["reasons"][-1]["rule"] == "case"
            real_cases = [r.get("decision", {}).get("case") for r in real_data["results"]]
            assert real_cases[0]["case_id"] == real_cases[1]["case_id"] != stored_case
            after = counts(service)
            assert (after["credit_cases"], after["webhook_deliveries"]) == (
                before["credit_cases"] + 1,
                before["webhook_deliveries"] + 1,
            )
        if kind == "assess":
            assert service.count("grade_history") == before["grade_history"] + 2


@pytest.mark.parametrize(
    "query", ["?dry_run=1", "?dry_run=yes", "?dry_run=True", "?dry_run=", "?dry_run=true&dry_run=x"]
)
def test_dry_run_takes_exactly_true_or_false(service: Service, query: str) -> None:
    response = service.post(batch_path("order", query), {"orders": [body("order", unique("C"))]})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "invalid_query" and problem["errors"][0]["parameter"] == "dry_run"
    assert response.headers["content-type"] == "application/problem+json"


def test_a_dry_run_echoes_request_ids_and_never_replays_them(service: Service) -> None:
    customer, batch_id = unique("C"), unique("batch")
    orders = {"orders": [body("order", customer)], "request_id": batch_id}
    real = service.post(batch_path("order"), orders).json()["results"][0]
    for who in ("decide", "simulate"):
        dry = service.post(batch_path("order", "?dry_run=true"), orders, who=who).json()["results"][0]
        assert "replayed" not in dry and dry["decision"]["decision_id"] is None
        assert dry["decision"]["request_id"] == f"{batch_id}/0" == real["decision"]["request_id"]
    # Another body under a used request_id: a real batch refuses it, a dry run decides it.
    reused = {"orders": [body("order", customer, as_of="2026-07-01")], "request_id": batch_id}
    conflict = service.post(batch_path("order"), reused).json()["results"][0]
    assert (conflict["status"], conflict["problem"]["code"]) == (409, "request_id_reused")
    assert service.post(batch_path("order", "?dry_run=true"), reused).json()["results"][0]["status"] == 200
    assert service.count("decisions", "customer_id = :c", c=customer) == 1


def test_a_dry_run_of_a_draft_decides_by_it_offline_and_keeps_nothing(fresh_service: Service) -> None:
    service = fresh_service
    draft = service.post(
        "/v1/policies",
        {"yaml": second_version_yaml(SHIPPED.read_text(encoding="utf-8"), label="2026.3"), "file": "standard.yaml"},
        who="author",
    )
    assert draft.status_code == 201, draft.text
    sha = draft.json()["sha256"]
    overdue = body("order", unique("C"))
    overdue["exposure"] = {**overdue["exposure"], "overdue_amount": "5000.00", "oldest_overdue_days": 25}
    orders = {"orders": [overdue, {**overdue, "policy_version": "2026.1"}, {**overdue, "policy_version": sha}]}
    registry, before = service.app.state.registry, counts(service)

    active = service.post(batch_path("order", "?dry_run=true"), orders, who="simulate").json()["results"]
    assert active[0]["decision"]["outcome"] == "approve"  # the version in force allows 30 days overdue
    assert active[2]["decision"]["policy"]["version"] == "2026.3"  # simulate may pin a draft per request
    live_before = registry.live_versions()  # the version in force, on durable-rules as for a live decision
    by_draft = service.post(batch_path("order", "?dry_run=true&version=2026.3"), orders, who="simulate").json()
    first = by_draft["results"][0]["decision"]
    assert (first["outcome"], first["policy"]["sha256"], first["case"]) == (
        "hold",
        sha,
        {"case_id": None, "status": "open", "effect": "opened"},
    )
    assert [r["status"] for r in by_draft["results"]] == [200, 422, 200]
    conflict = by_draft["results"][1]["problem"]
    assert (conflict["code"], conflict["errors"][0]["pointer"]) == (
        "policy_version_conflict",
        "/orders/1/policy_version",
    )
    assert counts(service) == before
    assert registry.live_versions() == live_before  # the draft registered no durable-rules ruleset
    assert sha not in {compiled.meta.sha256 for compiled in registry.loaded()}

    # A decide key dry-runs what a live decision would use: it may not name a version, nor pin a draft.
    forbidden = service.post(batch_path("order", "?dry_run=true&version=2026.3"), orders, who="decide")
    assert (forbidden.status_code, forbidden.json()["code"]) == (403, "forbidden")
    as_decider = service.post(batch_path("order", "?dry_run=true"), orders, who="decide").json()["results"]
    assert [r["status"] for r in as_decider] == [200, 200, 422]
    assert as_decider[2]["problem"]["code"] == "version_not_approved"
    real = service.post(batch_path("order", "?version=2026.3"), orders, who="simulate")
    assert (real.status_code, real.json()["code"]) == (422, "version_needs_dry_run")
    unknown = service.post(batch_path("order", "?dry_run=true&version=2027.9"), orders, who="simulate")
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_policy_version")
    assert unknown.json()["errors"][0]["parameter"] == "version"
    assert counts(service) == before

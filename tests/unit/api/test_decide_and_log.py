"""The decision use case on the in-memory store: logged before answered, idempotent, hooks per kind."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from api.adapters.db.memory import InMemoryUnitOfWork, MemoryDatabase
from api.adapters.group_commit import GroupCommitter
from api.errors import RefusedField, RequestIdReused
from api.service import versions
from api.service.decisions import DecisionResponse, DecisionWriter, decide_and_log, replay
from api.service.keys import Caller
from api.service.policy_cases import run_cases_beside
from api.service.registry import PolicyRegistry
from engine.errors import InputInvalid
from engine.rules_adapter import engine_ruleset_count
from tests.conftest import SHIPPED
from tests.decision_factories import assess_input, order_input

ERP = Caller("erp", "decide")


@dataclass
class Store:
    """The in-memory database and a writer over it, as the service wires them."""

    database: MemoryDatabase
    writer: DecisionWriter

    def decide(self, kind: str, body: Any, *, caller: Caller = ERP, explain: bool = False) -> DecisionResponse:
        return asyncio.run(decide_and_log(kind, body, caller, self.writer, explain=explain))


@pytest.fixture
def store() -> Iterator[Store]:
    database = MemoryDatabase()
    with InMemoryUnitOfWork(database) as uow:
        record, _ = versions.publish(
            uow, SHIPPED.read_text(encoding="utf-8"), "rules/standard.yaml", "author", run_cases_beside
        )
        versions.approve(uow, record.sha256, "approver", "ok")
        versions.activate(uow, record.sha256, "approver", "go")
    committer = GroupCommitter(lambda: InMemoryUnitOfWork(database))
    writer = DecisionWriter(
        PolicyRegistry(), lambda: InMemoryUnitOfWork(database), lambda: InMemoryUnitOfWork(database), committer
    )
    yield Store(database, writer)
    committer.close()


def test_a_decision_is_logged_before_it_is_answered(store: Store) -> None:
    answer = store.decide("order", {**order_input(), "request_id": "erp-1"})
    logged = store.database.decisions[answer.decision_id]
    assert logged.output_json == answer.output_json and logged.caller == "erp" and logged.customer_id == "C-1001"
    content = answer.content()
    assert (content["kind"], content["outcome"], content["request_id"]) == ("order", "approve", "erp-1")
    assert content["policy"]["version"] == "2026.1" and "trace" not in content
    assert json.loads(logged.trace_json or "{}")["kind"] == "order"  # the trace is always logged


def test_the_same_request_id_and_body_replay_the_answer_byte_for_byte(store: Store) -> None:
    body = {**order_input(), "request_id": "erp-2"}
    first = store.decide("order", body)
    again = store.decide("order", dict(reversed(list(body.items()))))  # the same body, keys in another order
    assert again.replayed and not first.replayed and again.body() == first.body()
    assert len(store.database.decisions) == 1
    with pytest.raises(RequestIdReused):
        store.decide("order", {**order_input(amount="5.00"), "request_id": "erp-2"})
    with pytest.raises(RequestIdReused):
        store.decide("assess", {**assess_input(), "request_id": "erp-2"})


def test_a_request_refused_now_still_replays_what_it_was_answered(store: Store) -> None:
    body = {**order_input(), "request_id": "erp-3"}
    first = store.decide("order", body)
    for version in store.database.versions.values():  # nothing is in force any more
        store.database.versions[version.id] = version.__class__(**{**vars(version), "status": "retired"})
    store.writer.registry.forget()
    assert store.decide("order", body).body() == first.body()
    with pytest.raises(RefusedField) as refused:
        store.decide("order", {**body, "request_id": "erp-4"})
    assert refused.value.code == "no_active_version" and refused.value.errors == [
        {"pointer": "/as_of", "message": refused.value.message, "code": "no_active_version"}
    ]


@pytest.mark.parametrize(("pin", "code"), [("9.9", "unknown_policy_version"), ("0000000000", "unknown_policy_version")])
def test_a_wrong_pin_points_at_policy_version(store: Store, pin: str, code: str) -> None:
    with pytest.raises(RefusedField) as refused:
        store.decide("order", {**order_input(), "policy_version": pin})
    assert refused.value.code == code and refused.value.errors is not None
    assert refused.value.errors[0]["pointer"] == "/policy_version"
    assert store.database.decisions == {}


def test_an_order_held_opens_a_credit_case_and_queues_its_events(store: Store) -> None:
    answer = store.decide("order", order_input(amount="2000000.00"))  # over the 1m limit
    content = answer.content()
    assert content["outcome"] == "hold" and content["case"]["effect"] == "opened" and answer.events
    assert [r["reason"] for r in content["reasons"]] == ["OVER_LIMIT", "CASE_OPENED"]
    case = store.database.cases[content["case"]["case_id"]]
    assert case.decision_id == answer.decision_id and case.status == "open"
    held_again = store.decide("order", order_input(amount="10.00")).content()
    assert (held_again["outcome"], held_again["case"]["effect"]) == ("hold", "held_by_open_case")


def test_an_assessment_records_the_grade(store: Store) -> None:
    answer = store.decide("assess", assess_input(), explain=True)
    content = answer.content()
    assert content["outcome"] == "AAA" and content["trace"]["kind"] == "assess"
    assert "case" not in content
    customer = store.database.customers["C-1001"]
    assert (customer.grade, str(customer.credit_limit)) == ("AAA", content["decision"]["credit_limit"])
    [grade] = store.database.grades
    assert (grade.as_of, grade.grade, grade.decision_id) == (dt.date(2026, 6, 30), "AAA", answer.decision_id)
    assert (str(grade.credit_limit), grade.eligible) == (content["decision"]["credit_limit"], True)
    logged = store.database.decisions[answer.decision_id]
    assert (logged.as_of, logged.order_id) == (dt.date(2026, 6, 30), None)


def test_an_order_is_logged_with_its_order_id_and_day(store: Store) -> None:
    answer = store.decide("order", order_input())
    logged = store.database.decisions[answer.decision_id]
    assert (logged.as_of, logged.order_id, logged.customer_id) == (dt.date(2026, 6, 30), "SO-1", "C-1001")


def test_bodies_no_decision_can_hold_are_refused_before_anything_is_read(store: Store) -> None:
    deep: dict[str, Any] = {"as_of": "2026-06-30"}
    node = deep
    for _ in range(40):
        node["x"] = {}
        node = node["x"]
    for body, code in (([1], "dict_type"), (deep, "too_deep"), ({"request_id": 7}, "invalid_request_id")):
        with pytest.raises(InputInvalid) as refused:
            store.decide("order", body)
        assert refused.value.errors[0]["code"] == code
    assert store.database.decisions == {}


def test_replay_against_a_draft_registers_no_ruleset(store: Store) -> None:
    answer = store.decide("order", order_input(amount="1050000.00"))  # 50,000 over the limit: held
    draft_text = SHIPPED.read_text(encoding="utf-8").replace('version: "2026.1"', f'version: "{uuid.uuid4().hex}"', 1)
    draft_text = draft_text.replace("when: credit.available_after < 0", "when: credit.available_after < -100000", 1)
    with InMemoryUnitOfWork(store.database) as uow:
        draft, _ = versions.publish(uow, draft_text, "rules/draft.yaml", "author", run_cases_beside)
    before = engine_ruleset_count()
    with InMemoryUnitOfWork(store.database) as uow:
        replayed = replay(uow, store.writer.registry, answer.decision_id, against=draft.sha256)
    assert engine_ruleset_count() == before  # a draft is replayed on its plain-Python twin
    assert replayed.replayed_under["sha256"] == draft.sha256 and not replayed.same_version
    assert {d.path: d.new for d in replayed.differences}["outcome"] == "approve"


def test_replay_under_its_own_version_registers_nothing_in_a_fresh_worker(store: Store) -> None:
    answer = store.decide("order", order_input())
    fresh_worker = PolicyRegistry()
    before = engine_ruleset_count()
    with InMemoryUnitOfWork(store.database) as uow:
        replayed = replay(uow, fresh_worker, answer.decision_id)
    assert replayed.same_version and replayed.matches  # byte for byte, on the twin
    assert engine_ruleset_count() == before and fresh_worker.live_versions() == 0

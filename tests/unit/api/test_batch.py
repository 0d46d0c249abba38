"""Batches and dry runs on the in-memory store: one service function for every kind, who may ask what."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from api.adapters.db.memory import InMemoryUnitOfWork, MemoryDatabase
from api.errors import MissingPermission, RefusedField
from api.service import versions
from api.service.decisions import BATCH_MEMBERS, BatchResponse, batch_permission, check_batch, decide_batch
from api.service.keys import Caller
from api.service.policy_cases import run_cases_beside
from api.service.registry import PolicyRegistry
from engine.rules_adapter import engine_ruleset_count
from tests.conftest import SHIPPED
from tests.decision_factories import assess_input, order_input

ERP, ANALYST, AUDITOR = Caller("erp", "decide"), Caller("analyst", "simulate"), Caller("auditor", "audit")


@pytest.fixture
def database() -> MemoryDatabase:
    database = MemoryDatabase()
    with InMemoryUnitOfWork(database) as uow:
        record, _ = versions.publish(
            uow, SHIPPED.read_text(encoding="utf-8"), "rules/standard.yaml", "author", run_cases_beside
        )
        versions.approve(uow, record.sha256, "approver", "ok")
        versions.activate(uow, record.sha256, "approver", "go")
    return database


def run(database: MemoryDatabase, kind: str, bodies: list[Any], caller: Caller = ERP, **options: Any) -> BatchResponse:
    with InMemoryUnitOfWork(database) as uow:
        return decide_batch(uow, PolicyRegistry(), caller, kind, bodies, **options)


def contents(batch: BatchResponse) -> list[dict[str, Any]]:
    return [item.response.content() for item in batch.items if item.response is not None]


@pytest.mark.parametrize(
    ("dry_run", "version", "permission", "allowed"),
    [
        (False, None, "decide", {"decide"}),
        (True, None, "dry_run", {"decide", "simulate"}),
        (True, "2026.2", "simulate", {"simulate"}),
    ],
)
def test_who_may_ask_for_what(dry_run: bool, version: str | None, permission: str, allowed: set[str]) -> None:
    assert batch_permission(dry_run, version) == permission
    for role in ("decide", "simulate", "audit", "approve", "author", "admin"):
        caller = Caller("someone", role)
        if role in allowed:
            check_batch(caller, dry_run, version)
        else:
            with pytest.raises(MissingPermission):
                check_batch(caller, dry_run, version)
    with pytest.raises(RefusedField) as refused:
        check_batch(ANALYST, False, "2026.2")
    assert refused.value.code == "version_needs_dry_run"


def test_the_service_checks_the_permission_itself(database: MemoryDatabase) -> None:
    for caller, options in ((ANALYST, {}), (AUDITOR, {"dry_run": True}), (ERP, {"dry_run": True, "version": "2026.1"})):
        with pytest.raises(MissingPermission):
            run(database, "order", [order_input()], caller, **options)


def test_a_dry_run_keeps_nothing_and_answers_as_the_real_batch(database: MemoryDatabase) -> None:
    held, assessed = order_input(amount="2000000.00"), assess_input()  # over the 1m limit: held
    for kind, bodies in (("order", [held, order_input(amount="10.00")]), ("assess", [assessed])):
        before = database.snapshot()
        dry = run(database, kind, bodies, dry_run=True, request_id=f"batch-{kind}")
        assert vars(database.snapshot()) == vars(before)  # no decision, case, delivery, grade or customer
        assert dry.dry_run and not dry.events
        assert all(item.response is not None and item.response.decision_id == "" for item in dry.items)
        real = run(database, kind, bodies, request_id=f"batch-{kind}")
        assert len(database.decisions) == len(before.decisions) + len(bodies)
        for dry_content, real_content in zip(contents(dry), contents(real), strict=True):
            assert (dry_content["decision_id"], dry_content["dry_run"]) == (None, True)
            assert real_content["decision_id"] in database.decisions and "dry_run" not in real_content
            if kind == "order":  # the case the dry run opened has no id; the real one has
                assert dry_content["case"]["case_id"] is None and real_content["case"]["case_id"] in database.cases
            assert without_logging(dry_content) == without_logging(real_content)


def without_logging(content: dict[str, Any]) -> dict[str, Any]:
    """A decision minus what logging gives it: its id, time, dry-run mark, and the id of the case it opened."""
    content = {k: v for k, v in content.items() if k not in ("decision_id", "dry_run", "created_at")}
    if content.get("case"):
        content["case"] = {**content["case"], "case_id": None}
    content["reasons"] = [{**r, "rule": "case"} if r["rule"].startswith("case.") else r for r in content["reasons"]]
    return content


def test_a_dry_run_by_a_draft_registers_no_ruleset(database: MemoryDatabase) -> None:
    label = uuid.uuid4().hex
    draft_text = SHIPPED.read_text(encoding="utf-8").replace('version: "2026.1"', f'version: "{label}"', 1)
    draft_text = draft_text.replace("when: credit.available_after < 0", "when: credit.available_after < -100000", 1)
    with InMemoryUnitOfWork(database) as uow:
        versions.publish(uow, draft_text, "rules/draft.yaml", "author", run_cases_beside)
    before, stored = engine_ruleset_count(), database.snapshot()
    over = order_input(amount="1050000.00")  # 50,000 over the limit: held by the active version, not the draft
    batch = run(database, "order", [over, {**over, "policy_version": "2026.1"}], ANALYST, dry_run=True, version=label)
    assert engine_ruleset_count() == before
    assert vars(database.snapshot()) == vars(stored)
    [decided] = contents(batch)
    assert (decided["outcome"], decided["policy"]["version"]) == ("approve", label)
    refused = batch.items[1].error
    assert refused is not None and refused.code == "policy_version_conflict"
    assert batch.items[1].pointer == "/orders/1"


@pytest.mark.parametrize("kind", list(BATCH_MEMBERS))
def test_one_function_decides_a_batch_of_every_kind(database: MemoryDatabase, kind: str) -> None:
    batch = run(database, kind, ["not a body"], dry_run=True)
    [item] = batch.items
    assert item.error is not None and item.pointer == f"/{BATCH_MEMBERS[kind]}/0"

"""Grade history and reviews due on both databases, fed by real assessments of the shipped policy."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest

from api.adapters.db.records import DecisionRecord
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.errors import CustomerNotFound, InvalidRequest
from api.service.grades import current_grade, grade_history, record_assessment, reviews_due
from engine.decide import decide
from engine.ir import CompiledPolicy
from engine.models import AssessResult
from tests.decision_factories import assess_input, strong_credit_file, weak_credit_file
from tests.integration.conftest import UowFactory

AT = dt.datetime(2026, 6, 30, 10, 0, tzinfo=dt.UTC)


def assess(compiled: CompiledPolicy, credit_file: dict[str, Any], customer_id: str = "C-1001") -> AssessResult:
    result = decide(compiled, "assess", assess_input(credit_file, id=customer_id)).result
    assert isinstance(result, AssessResult)
    return result


def log(uow: AbstractUnitOfWork, compiled: CompiledPolicy, decision_id: str, customer_id: str) -> None:
    uow.decisions.add(
        DecisionRecord(
            decision_id=decision_id,
            kind="assess",
            request_id=None,
            request_hash=None,
            customer_id=customer_id,
            outcome="graded",
            created_at=AT,
            caller="analyst",
            policy_id=compiled.meta.policy_id,
            policy_sha256=compiled.meta.sha256,
            policy_label=compiled.meta.version,
            input_json="{}",
            output_json="{}",
            trace_json=None,
        )
    )


def record(make_uow: UowFactory, compiled: CompiledPolicy, result: AssessResult, at: dt.datetime) -> str:
    decision_id = str(uuid.uuid4())
    with make_uow() as uow:
        record_assessment(uow, result, policy_sha256=compiled.meta.sha256, decision_id=decision_id, at=at)
        log(uow, compiled, decision_id, result.customer_id)  # logged after: the key is checked at commit
        uow.commit()
    return decision_id


def test_grade_history_records_changes_only(make_uow: UowFactory, shipped: CompiledPolicy) -> None:
    strong, weak = assess(shipped, strong_credit_file()), assess(shipped, weak_credit_file())
    assert strong.grade != weak.grade
    first = record(make_uow, shipped, strong, AT)
    record(make_uow, shipped, strong, AT + dt.timedelta(days=30))  # same grade: no change recorded
    downgrade = record(make_uow, shipped, weak, AT + dt.timedelta(days=60))
    with make_uow() as uow:
        changes = grade_history(uow, "C-1001")
        current = current_grade(uow, "C-1001")
    assert [(c.old_grade, c.new_grade, c.decision_id) for c in changes] == [
        (None, strong.grade, first),
        (strong.grade, weak.grade, downgrade),
    ]
    assert changes[1].score == weak.score and changes[1].policy_sha256 == shipped.meta.sha256
    assert changes[1].decided_at == AT + dt.timedelta(days=60) and changes[1].next_review == weak.next_review
    assert current is not None
    assert (current.grade, current.score, current.credit_limit, current.next_review) == (
        weak.grade,
        weak.score,
        weak.credit_limit,
        weak.next_review,
    )


def test_a_reassessment_to_the_same_grade_refreshes_the_snapshot(make_uow: UowFactory, shipped: CompiledPolicy) -> None:
    strong = assess(shipped, strong_credit_file())
    record(make_uow, shipped, strong, AT)
    later = strong.model_copy(update={"next_review": strong.next_review + dt.timedelta(days=90)})
    record(make_uow, shipped, later, AT + dt.timedelta(days=90))
    with make_uow() as uow:
        assert len(grade_history(uow, "C-1001")) == 1
        snapshot = current_grade(uow, "C-1001")
    assert snapshot is not None and snapshot.next_review == later.next_review
    assert snapshot.updated_at == AT + dt.timedelta(days=90)


def test_an_unknown_customer_has_no_history(make_uow: UowFactory) -> None:
    with make_uow() as uow, pytest.raises(CustomerNotFound) as missing:
        grade_history(uow, "C-404")
    assert missing.value.code == "customer_not_found"


def test_reviews_due_lists_customers_whose_review_date_has_come(make_uow: UowFactory, shipped: CompiledPolicy) -> None:
    base = assess(shipped, strong_credit_file())
    due_dates = {"C-1": dt.date(2026, 7, 1), "C-2": dt.date(2026, 8, 1), "C-3": dt.date(2026, 6, 15)}
    for customer_id, next_review in due_dates.items():
        result = base.model_copy(update={"customer_id": customer_id, "next_review": next_review})
        record(make_uow, shipped, result, AT)
    with make_uow() as uow:
        assert [c.customer_id for c in reviews_due(uow, dt.date(2026, 7, 1))] == ["C-3", "C-1"]
        assert [c.customer_id for c in reviews_due(uow, dt.date(2026, 6, 14))] == []
        assert [c.customer_id for c in reviews_due(uow, dt.date(2026, 12, 31), limit=1)] == ["C-3"]
        due = reviews_due(uow, dt.date(2026, 7, 1))
        assert due[0].score == base.score and due[0].credit_limit == base.credit_limit
        assert isinstance(due[0].credit_limit, Decimal)
        with pytest.raises(InvalidRequest):
            reviews_due(uow, dt.date(2026, 7, 1), limit=0)

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
from api.service.grades import COMPARED, current_grade, grade_history, record_assessment, reviews_due
from engine.decide import decide
from engine.ir import CompiledPolicy
from engine.models import AssessResult
from tests.decision_factories import assess_input, strong_credit_file, weak_credit_file
from tests.integration.conftest import UowFactory

AT = dt.datetime(2026, 6, 30, 10, 0, tzinfo=dt.UTC)
AS_OF = dt.date(2026, 6, 30)


def assess(compiled: CompiledPolicy, credit_file: dict[str, Any], customer_id: str = "C-1001") -> AssessResult:
    result = decide(compiled, "assess", assess_input(credit_file, id=customer_id)).result
    assert isinstance(result, AssessResult)
    return result


def log(uow: AbstractUnitOfWork, compiled: CompiledPolicy, decision_id: str, customer_id: str, as_of: dt.date) -> None:
    uow.decisions.add(
        DecisionRecord(
            decision_id=decision_id,
            kind="assess",
            request_id=None,
            request_hash=None,
            customer_id=customer_id,
            order_id=None,
            as_of=as_of,
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


def record(
    make_uow: UowFactory, compiled: CompiledPolicy, result: AssessResult, at: dt.datetime, as_of: dt.date = AS_OF
) -> str:
    decision_id = str(uuid.uuid4())
    with make_uow() as uow:
        record_assessment(uow, result, as_of=as_of, policy_sha256=compiled.meta.sha256, decision_id=decision_id, at=at)
        log(uow, compiled, decision_id, result.customer_id, as_of)  # logged after: the key is checked at commit
        uow.commit()
    return decision_id


def differing(before: AssessResult, after: AssessResult) -> tuple[str, ...]:
    return tuple(name for name in COMPARED if getattr(before, name) != getattr(after, name))


def changes(make_uow: UowFactory, customer_id: str = "C-1001") -> list[tuple[str, tuple[str, ...]]]:
    """Each change as (the assessment's decision id, what changed)."""
    with make_uow() as uow:
        return [(c.after.decision_id or "", c.changed) for c in grade_history(uow, customer_id)]


def test_every_change_of_grade_limit_or_eligibility_is_a_change(make_uow: UowFactory, shipped: CompiledPolicy) -> None:
    strong, weak = assess(shipped, strong_credit_file()), assess(shipped, weak_credit_file())
    assert strong.grade != weak.grade and strong.credit_limit != weak.credit_limit
    day = dt.timedelta(days=30)
    first = record(make_uow, shipped, strong, AT, AS_OF)
    record(make_uow, shipped, strong, AT + day, AS_OF + day)  # nothing changed: not a change
    lower = strong.model_copy(update={"credit_limit": strong.credit_limit - 1000})
    cut = record(make_uow, shipped, lower, AT + 2 * day, AS_OF + 2 * day)
    barred = lower.model_copy(update={"eligible": False})
    blocked = record(make_uow, shipped, barred, AT + 3 * day, AS_OF + 3 * day)
    downgrade = record(make_uow, shipped, weak, AT + 4 * day, AS_OF + 4 * day)
    assert changes(make_uow) == [
        (first, ("grade", "credit_limit", "eligible")),
        (cut, ("credit_limit",)),
        (blocked, ("eligible",)),
        (downgrade, ("grade", "credit_limit")),
    ]
    with make_uow() as uow:
        history = grade_history(uow, "C-1001")
        current = current_grade(uow, "C-1001")
        assert len(uow.grades.for_customer("C-1001")) == 5  # every assessment is kept
    last = history[-1]
    assert last.before is not None and (last.before.grade, last.after.grade) == (strong.grade, weak.grade)
    assert last.after.score == weak.score and last.after.policy_sha256 == shipped.meta.sha256
    assert last.after.decided_at == AT + 4 * day and last.after.next_review == weak.next_review
    assert current is not None
    assert (current.grade, current.score, current.credit_limit, current.next_review, current.as_of) == (
        weak.grade,
        weak.score,
        weak.credit_limit,
        weak.next_review,
        AS_OF + 4 * day,
    )


def test_a_late_assessment_slots_in_by_as_of(make_uow: UowFactory, shipped: CompiledPolicy) -> None:
    strong, weak = assess(shipped, strong_credit_file()), assess(shipped, weak_credit_file())
    moved = differing(strong, weak)
    january = record(make_uow, shipped, strong, AT, dt.date(2026, 1, 31))
    march = record(make_uow, shipped, weak, AT + dt.timedelta(hours=1), dt.date(2026, 3, 31))
    assert changes(make_uow) == [(january, COMPARED), (march, moved)]
    # Keyed in late: the customer was already weak in February, so March changed nothing.
    february = record(make_uow, shipped, weak, AT + dt.timedelta(hours=2), dt.date(2026, 2, 28))
    assert changes(make_uow) == [(january, COMPARED), (february, moved)]
    # Later still: strong again in mid-March, so March is a change once more.
    mid_march = record(make_uow, shipped, strong, AT + dt.timedelta(hours=3), dt.date(2026, 3, 15))
    assert changes(make_uow) == [
        (january, COMPARED),
        (february, moved),
        (mid_march, moved),
        (march, moved),
    ]
    with make_uow() as uow:
        current = current_grade(uow, "C-1001")
    assert current is not None  # the assessment about the latest day, not the last one to arrive
    assert (current.grade, current.as_of, current.updated_at) == (
        weak.grade,
        dt.date(2026, 3, 31),
        AT + dt.timedelta(hours=1),
    )


def test_assessments_of_one_day_count_in_the_order_they_were_decided(
    make_uow: UowFactory, shipped: CompiledPolicy
) -> None:
    strong, weak = assess(shipped, strong_credit_file()), assess(shipped, weak_credit_file())
    moved = differing(strong, weak)
    first = record(make_uow, shipped, strong, AT)
    corrected = record(make_uow, shipped, weak, AT + dt.timedelta(minutes=5))  # same as_of, a corrected file
    assert changes(make_uow) == [(first, COMPARED), (corrected, moved)]
    with make_uow() as uow:
        current = current_grade(uow, "C-1001")
    assert current is not None and current.grade == weak.grade


def test_a_reassessment_that_changes_nothing_refreshes_the_snapshot(
    make_uow: UowFactory, shipped: CompiledPolicy
) -> None:
    strong = assess(shipped, strong_credit_file())
    record(make_uow, shipped, strong, AT)
    later = strong.model_copy(update={"next_review": strong.next_review + dt.timedelta(days=90)})
    record(make_uow, shipped, later, AT + dt.timedelta(days=90), AS_OF + dt.timedelta(days=90))
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

"""Grade management: the latest assessment of each customer, every change of grade, limit or
eligibility, and whose review is due.

The domain asks that grades be reviewed periodically (monthly, never more than three months
apart) and that every change be recorded; each assessment decision feeds :func:`record_assessment`,
so the snapshot and the history follow the decisions actually made.

**Order.** An assessment is about a day, its ``as_of``; decisions may arrive in another order (a
review keyed in late, a batch re-run). The history is read in ``as_of`` order (assessments of one
day in the order they were decided), and the snapshot is the assessment about the latest day: one
arriving late with an earlier ``as_of`` takes its place in the history and leaves the snapshot alone.

**Change.** Every assessment is stored; which of them are changes is read against its neighbours:
an assessment is a change when its grade, credit limit or eligibility differs from those of the
assessment just before it (the first one of a customer is a change from nothing). So a late
assessment is compared with the one before it, and the one after it is compared with it in turn:
slotting in can make that one a change (the customer moved again) or stop it being one (the move
happened earlier, at the late one). A value not recorded (rows from before migration 0003 with no
logged decision) is not compared.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from api.adapters.db.records import CustomerRecord, GradeRecord, NewGrade
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.errors import CustomerNotFound, InvalidRequest
from engine.models import AssessResult

__all__ = [
    "COMPARED",
    "Compared",
    "GradeChange",
    "changes_in",
    "current_grade",
    "grade_history",
    "record_assessment",
    "reviews_due",
]

MAX_DUE = 1000
Compared = Literal["grade", "credit_limit", "eligible"]
COMPARED: tuple[Compared, ...] = ("grade", "credit_limit", "eligible")  # what a change is a change of


@dataclass(frozen=True)
class GradeChange:
    """An assessment that changed what the customer was given, against the assessment before it."""

    before: GradeRecord | None  # None: the customer's first assessment
    after: GradeRecord
    changed: tuple[Compared, ...]  # which of COMPARED changed (all of them for the first assessment)


def record_assessment(
    uow: AbstractUnitOfWork,
    result: AssessResult,
    *,
    as_of: dt.date,
    policy_sha256: str,
    decision_id: str | None,
    at: dt.datetime,
) -> None:
    """Store an assessment in the customer's history and, unless a later-dated one is stored, as its latest.

    Runs in the assessment decision's unit of work and does not commit; the history row refers to
    ``decision_id``, which may be logged before or after this call (checked at commit).
    """
    uow.grades.add(
        NewGrade(
            customer_id=result.customer_id,
            as_of=as_of,
            grade=result.grade,
            score=result.score,
            credit_limit=result.credit_limit,
            eligible=result.eligible,
            policy_sha256=policy_sha256,
            decided_at=at,
            next_review=result.next_review,
            decision_id=decision_id,
        )
    )
    uow.customers.upsert(
        CustomerRecord(
            customer_id=result.customer_id,
            grade=result.grade,
            score=result.score,
            credit_limit=result.credit_limit,
            next_review=result.next_review,
            updated_at=at,
            as_of=as_of,
        )
    )


def changes_in(assessments: list[GradeRecord]) -> list[GradeChange]:
    """The assessments (in as_of order) that changed grade, limit or eligibility (see the module doc)."""
    found: list[GradeChange] = []
    before: GradeRecord | None = None
    for after in assessments:
        if before is None:
            found.append(GradeChange(None, after, COMPARED))
        else:
            changed = tuple(name for name in COMPARED if _differs(getattr(before, name), getattr(after, name)))
            if changed:
                found.append(GradeChange(before, after, changed))
        before = after
    return found


def _differs(old: object, new: object) -> bool:
    return old is not None and new is not None and old != new


def grade_history(uow: AbstractUnitOfWork, customer_id: str) -> list[GradeChange]:
    """The changes of a customer's grade, limit or eligibility, in as_of order; CustomerNotFound for one
    never assessed."""
    assessments = uow.grades.for_customer(customer_id)
    if not assessments and uow.customers.get(customer_id) is None:
        raise CustomerNotFound(f"customer {customer_id} has never been assessed")
    return changes_in(assessments)


def current_grade(uow: AbstractUnitOfWork, customer_id: str) -> CustomerRecord | None:
    """The latest assessment of a customer (grade, score, limit, next review), if any."""
    return uow.customers.get(customer_id)


def reviews_due(uow: AbstractUnitOfWork, on: dt.date, limit: int = 100) -> list[CustomerRecord]:
    """Customers whose next review date is on or before ``on``, most overdue first."""
    if not 1 <= limit <= MAX_DUE:
        raise InvalidRequest(f"limit must be between 1 and {MAX_DUE}", code="invalid_limit")
    return uow.customers.due(on, limit)

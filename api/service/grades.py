"""Grade management: the latest grade of each customer, every grade change, and whose review is due.

The domain asks that grades be reviewed periodically (monthly, never more than three months
apart) and that every grade change be recorded; each assessment decision feeds
:func:`record_assessment`, so the snapshot and the history follow the decisions actually made.
"""

from __future__ import annotations

import datetime as dt

from api.adapters.db.records import CustomerRecord, GradeChangeRecord
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.errors import CustomerNotFound, InvalidRequest
from engine.models import AssessResult

__all__ = ["current_grade", "grade_history", "record_assessment", "reviews_due"]

MAX_DUE = 1000


def record_assessment(
    uow: AbstractUnitOfWork, result: AssessResult, *, policy_sha256: str, decision_id: str | None, at: dt.datetime
) -> None:
    """Store the customer's latest assessment and, when the grade changed, a grade-change record.

    Runs in the assessment decision's unit of work and does not commit; the history row refers to
    ``decision_id``, which may be logged before or after this call (checked at commit). The first
    assessment of a customer is a change from no grade (``old_grade`` None); re-assessing to the
    same grade only refreshes the snapshot (score, limit, next review).
    """
    previous = uow.customers.get(result.customer_id)
    uow.customers.upsert(
        CustomerRecord(
            customer_id=result.customer_id,
            grade=result.grade,
            score=result.score,
            credit_limit=result.credit_limit,
            next_review=result.next_review,
            updated_at=at,
        )
    )
    if previous is not None and previous.grade == result.grade:
        return
    uow.grades.add(
        result.customer_id,
        old_grade=previous.grade if previous is not None else None,
        new_grade=result.grade,
        score=result.score,
        policy_sha256=policy_sha256,
        decided_at=at,
        next_review=result.next_review,
        decision_id=decision_id,
    )


def grade_history(uow: AbstractUnitOfWork, customer_id: str) -> list[GradeChangeRecord]:
    """The grade changes of a customer, oldest first; raises CustomerNotFound for one never assessed."""
    changes = uow.grades.for_customer(customer_id)
    if not changes and uow.customers.get(customer_id) is None:
        raise CustomerNotFound(f"customer {customer_id} has never been assessed")
    return changes


def current_grade(uow: AbstractUnitOfWork, customer_id: str) -> CustomerRecord | None:
    """The latest assessment of a customer (grade, score, limit, next review), if any."""
    return uow.customers.get(customer_id)


def reviews_due(uow: AbstractUnitOfWork, on: dt.date, limit: int = 100) -> list[CustomerRecord]:
    """Customers whose next review date is on or before ``on``, most overdue first."""
    if not 1 <= limit <= MAX_DUE:
        raise InvalidRequest(f"limit must be between 1 and {MAX_DUE}", code="invalid_limit")
    return uow.customers.due(on, limit)

"""Grade management routes: a customer's grade history, and the customers whose review is due."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.openapi.models import Example

from api.adapters.db.records import CustomerRecord
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.entrypoints.http.deps import PRINTABLE, ReadUowDep, require
from api.entrypoints.http.fast_path import AuthorizedRoute
from api.entrypoints.http.params import IsoDate
from api.entrypoints.http.problems import problems
from api.entrypoints.http.schemas.grades import (
    CurrentGradeOut,
    GradeChangeOut,
    GradeHistoryOut,
    PolicyVersionOut,
    ReviewDueOut,
    ReviewsDueOut,
)
from api.service import grades
from api.service.keys import Caller

__all__ = ["router"]

router = APIRouter(tags=["grades"], route_class=AuthorizedRoute)

GradeReader = Annotated[Caller, Depends(require("read_grades"))]
CustomerId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=PRINTABLE,
        description="The customer's id, as assessed.",
        openapi_examples={"customer": Example(summary="A customer", value="C-1001")},
    ),
]


def _current(customer: CustomerRecord) -> dict[str, Any]:
    return {
        "grade": customer.grade,
        "score": str(customer.score),
        "credit_limit": str(customer.credit_limit),
        "next_review": customer.next_review,
        "as_of": customer.as_of,
        "updated_at": customer.updated_at,
    }


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


def _change(uow: AbstractUnitOfWork, change: grades.GradeChange, labels: dict[str, str | None]) -> GradeChangeOut:
    before, after = change.before, change.after
    if after.policy_sha256 not in labels:
        version = uow.versions.get_by_sha256(after.policy_sha256)
        labels[after.policy_sha256] = version.label if version is not None else None
    return GradeChangeOut(
        as_of=after.as_of,
        changed=list(change.changed),
        old_grade=before.grade if before else None,
        new_grade=after.grade,
        old_credit_limit=_text(before.credit_limit) if before else None,
        new_credit_limit=_text(after.credit_limit),
        old_eligible=before.eligible if before else None,
        new_eligible=after.eligible,
        score=str(after.score),
        policy=PolicyVersionOut(sha256=after.policy_sha256, version=labels[after.policy_sha256]),
        decided_at=after.decided_at,
        next_review=after.next_review,
        decision_id=after.decision_id,
    )


@router.get("/v1/customers/{customer_id}/grades", response_model=GradeHistoryOut, responses=problems(404))
def customer_grades(customer_id: CustomerId, uow: ReadUowDep, caller: GradeReader) -> GradeHistoryOut:
    """A customer's changes of grade, credit limit or eligibility, in the order of the days assessed (`as_of`),
    and the current grade.

    Every assessment is kept; one is a change when its grade, limit or eligibility differs from the
    assessment just before it by `as_of`. An assessment arriving late slots in by its `as_of` and
    leaves the current grade alone if a later day was assessed already.
    """
    changes = grades.grade_history(uow, customer_id)
    current = grades.current_grade(uow, customer_id)
    labels: dict[str, str | None] = {}
    return GradeHistoryOut(
        customer_id=customer_id,
        current=CurrentGradeOut(**_current(current)) if current is not None else None,
        changes=[_change(uow, c, labels) for c in changes],
    )


@router.get("/v1/reviews/due", response_model=ReviewsDueOut, responses=problems(422))
def reviews_due(
    uow: ReadUowDep,
    caller: GradeReader,
    on: Annotated[
        IsoDate | None,
        Query(
            description="ISO 8601 date, YYYY-MM-DD; today (UTC) when omitted.",
            openapi_examples={"month_end": Example(summary="Due by the end of June", value="2026-06-30")},
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=grades.MAX_DUE)] = 100,
) -> ReviewsDueOut:
    """Customers whose next grade review falls on or before `on`: grades are reviewed at least quarterly."""
    day = on or uow.now().date()
    due = grades.reviews_due(uow, day, limit)
    return ReviewsDueOut(
        on=day,
        customers=[
            ReviewDueOut(
                customer_id=c.customer_id,
                days_overdue=(day - c.next_review).days if c.next_review is not None else 0,
                **_current(c),
            )
            for c in due
        ],
    )

"""The bodies of the grade management routes as OpenAPI documents them."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["CurrentGradeOut", "GradeChangeOut", "GradeHistoryOut", "PolicyVersionOut", "ReviewDueOut", "ReviewsDueOut"]


class PolicyVersionOut(BaseModel):
    sha256: str
    version: str | None = Field(description="The version label; null if that version is not stored here.")


class GradeChangeOut(BaseModel):
    """An assessment that changed the grade, the credit limit or the eligibility, against the one before it."""

    as_of: dt.date = Field(description="The day assessed: changes are in this order, not in the order decided.")
    changed: list[Literal["grade", "credit_limit", "eligible"]] = Field(
        description="What differs from the assessment before (all three for the first)."
    )
    old_grade: str | None = Field(description="Null for the customer's first assessment.")
    new_grade: str
    old_credit_limit: str | None = Field(examples=["1500000.00"])
    new_credit_limit: str | None = Field(examples=["1200000.00"], description="Null only if never recorded.")
    old_eligible: bool | None
    new_eligible: bool | None = Field(description="Null only if never recorded.")
    score: str = Field(examples=["78.50"])
    policy: PolicyVersionOut
    decided_at: dt.datetime
    next_review: dt.date | None
    decision_id: str | None


class CurrentGradeOut(BaseModel):
    grade: str
    score: str
    credit_limit: str = Field(examples=["1500000.00"])
    next_review: dt.date | None
    as_of: dt.date = Field(description="The day of the latest assessment (the latest as_of, not the last to arrive).")
    updated_at: dt.datetime = Field(description="When that assessment was made.")


class GradeHistoryOut(BaseModel):
    customer_id: str
    current: CurrentGradeOut | None
    changes: list[GradeChangeOut] = Field(
        description="In as_of order: each assessment whose grade, limit or eligibility differs from the one before."
    )


class ReviewDueOut(CurrentGradeOut):
    customer_id: str
    days_overdue: int = Field(description="Days from `next_review` to the date asked about (0: due that day).")


class ReviewsDueOut(BaseModel):
    on: dt.date
    customers: list[ReviewDueOut] = Field(description="Most overdue first.")

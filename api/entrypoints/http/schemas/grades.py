"""The bodies of the grade management routes as OpenAPI documents them."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

__all__ = ["CurrentGradeOut", "GradeChangeOut", "GradeHistoryOut", "PolicyVersionOut", "ReviewDueOut", "ReviewsDueOut"]


class PolicyVersionOut(BaseModel):
    sha256: str
    version: str | None = Field(description="The version label; null if that version is not stored here.")


class GradeChangeOut(BaseModel):
    old_grade: str | None = Field(description="Null for the customer's first assessment.")
    new_grade: str
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
    updated_at: dt.datetime = Field(description="When the latest assessment was made.")


class GradeHistoryOut(BaseModel):
    customer_id: str
    current: CurrentGradeOut | None
    changes: list[GradeChangeOut] = Field(description="Oldest first; only assessments that changed the grade.")


class ReviewDueOut(CurrentGradeOut):
    customer_id: str
    days_overdue: int = Field(description="Days from `next_review` to the date asked about (0: due that day).")


class ReviewsDueOut(BaseModel):
    on: dt.date
    customers: list[ReviewDueOut] = Field(description="Most overdue first.")

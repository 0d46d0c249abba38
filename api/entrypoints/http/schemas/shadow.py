"""Bodies and responses of the champion–challenger routes (:mod:`api.entrypoints.http.routes.shadow`)."""

from __future__ import annotations

from typing import Any

from fastapi.openapi.models import Example
from pydantic import BaseModel, ConfigDict, Field

from api.entrypoints.http.deps import PRINTABLE

__all__ = [
    "CHALLENGER_EXAMPLES",
    "ChallengerOut",
    "ChallengerRequest",
    "ShadowReportOut",
]


class ChallengerRequest(BaseModel):
    """The version to run in shadow beside the active one, on which share of the customers, and why."""

    model_config = ConfigDict(extra="forbid")
    version: str = Field(
        min_length=1,
        max_length=100,
        pattern=PRINTABLE,
        description="A draft or approved version: label, sha256 or 8+ hex digits.",
    )
    share: str = Field(
        min_length=1,
        max_length=12,
        pattern=PRINTABLE,
        description="Percent of the customers shadowed, above 0 and at most 100, two decimals at most "
        "(a customer is in it when sha256(`policy_id:customer_id`)'s first 8 bytes mod 10,000 < share × 100).",
        examples=["25"],
    )
    reason: str = Field(min_length=1, max_length=2000)


CHALLENGER_EXAMPLES = {
    "quarter": Example(
        summary="A quarter of the customers",
        value={"version": "2026.2", "share": "25", "reason": "tighter over-limit rule, see CR-118"},
    )
}


class ChallengerVersionOut(BaseModel):
    version: str
    sha256: str
    status: str


class ChallengerOut(BaseModel):
    """A policy's challenger: both versions compared, the share, who named it, when and why."""

    policy_id: str
    champion: ChallengerVersionOut
    challenger: ChallengerVersionOut
    share: str = Field(description="Percent of the customers shadowed.")
    named_by: str
    named_at: str
    reason: str


class ShadowReportOut(BaseModel):
    """Per decision kind: shadowed, agreement, transitions champion → challenger, errors, samples."""

    policy_id: str | None
    kind: str | None
    since: str | None
    until: str | None
    kinds: list[dict[str, Any]]

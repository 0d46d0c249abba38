"""Bodies and answers of the impact routes (the document itself is described in docs/impact.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi.openapi.models import Example
from pydantic import BaseModel, ConfigDict, Field

from api.entrypoints.http.deps import PRINTABLE
from api.service.impact.measure import MAX_SAMPLE, MAX_TOP

__all__ = ["IMPACT_EXAMPLES", "ImpactOut", "ImpactRequestBody", "ReviewOut"]


class ImpactRequestBody(BaseModel):
    """Which decisions to re-run (those ``from`` logged about the days ``since`` … ``until``) under ``to``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: str = Field(
        alias="from", min_length=1, max_length=100, pattern=PRINTABLE, description="The version that decided."
    )
    to: str = Field(min_length=1, max_length=100, pattern=PRINTABLE, description="The version to try (drafts too).")
    since: dt.date | None = Field(None, description="First day (the decisions' as_of), inclusive.")
    until: dt.date | None = Field(None, description="Last day (the decisions' as_of), inclusive.")
    kind: Literal["assess", "order", "settlement", "collection"] | None = None
    sample: int = Field(3, ge=0, le=MAX_SAMPLE, description="Decisions explained per transition.")
    top: int = Field(10, ge=1, le=MAX_TOP, description="Rows in each list of largest changes.")


IMPACT_EXAMPLES = {
    "quarter": Example(
        summary="A draft over a quarter's decisions",
        value={"from": "2026.1", "to": "2026.2", "since": "2026-04-01", "until": "2026-06-30"},
    ),
    "orders": Example(summary="Orders only", value={"from": "2026.1", "to": "2026.2", "kind": "order", "sample": 5}),
}


class ImpactOut(BaseModel):
    """Schema ``creditpolicy.impact/1`` (docs/impact.md)."""

    model_config = ConfigDict(extra="allow")
    schema_: str = Field(alias="schema")
    records: dict[str, Any]
    determinism: dict[str, Any]
    kinds: dict[str, Any]
    samples: list[dict[str, Any]]


class ReviewOut(BaseModel):
    """Schema ``creditpolicy.review/1``: the diff against the active version and the impact (null: none)."""

    model_config = ConfigDict(extra="allow")
    schema_: str = Field(alias="schema")
    diff: dict[str, Any] | None
    impact: dict[str, Any] | None

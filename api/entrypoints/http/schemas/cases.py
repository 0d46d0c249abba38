"""The bodies of the credit case routes as OpenAPI documents them."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi.openapi.models import Example
from pydantic import BaseModel, ConfigDict, Field

from api.service.cases import MAX_REASON_LENGTH

__all__ = ["CaseOut", "CasePageOut", "REJECT_EXAMPLES", "RELEASE_EXAMPLES", "ResolveRequest"]


class CaseOut(BaseModel):
    case_id: str
    customer_id: str
    order_ref: str = Field(description="The order reference (`order.reference`, else `order.id`).")
    order_amount: str = Field(description="The held amount, a decimal string.", examples=["120000.00"])
    currency: str
    status: Literal["open", "released", "rejected"]
    decision_id: str = Field(description="The order decision that opened the case.")
    opened_at: dt.datetime
    resolved_by: str | None = Field(description="The API key that released or rejected it.")
    resolved_at: dt.datetime | None
    reason: str | None
    release_until: dt.date | None = Field(description="Released: re-checks up to this `as_of` are covered.")
    release_amount_max: str | None = Field(description="Released: re-checks up to this amount are covered.")


class CasePageOut(BaseModel):
    items: list[CaseOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class ResolveRequest(BaseModel):
    """Why: recorded with the case and sent to the webhooks."""

    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(
        None, max_length=MAX_REASON_LENGTH, description="Required (`reason_required` without it)."
    )


RELEASE_EXAMPLES = {
    "release": Example(summary="Released", value={"reason": "Customer paid the March invoices; exposure back in limit"})
}


REJECT_EXAMPLES = {
    "reject": Example(summary="Rejected", value={"reason": "Group exposure too high after the bank downgrade"})
}

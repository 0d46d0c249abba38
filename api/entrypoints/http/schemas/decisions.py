"""The bodies of the decision routes as OpenAPI documents them, and each kind's examples.

The service parses the engine's own request models (plus the envelope: ``request_id``,
``policy_version``); these models only document the routes. :data:`KIND_SCHEMAS` holds, per
decision kind, the documented body, the response model, the examples and the route's text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from fastapi.openapi.models import Example
from pydantic import BaseModel, ConfigDict, Field

from api.entrypoints.http.deps import PRINTABLE
from api.entrypoints.http.problems import Problem
from api.service.decisions import MAX_BATCH
from engine.models import (
    AssessRequest,
    AssessResult,
    CollectionRequest,
    CollectionResult,
    OrderRequest,
    OrderResult,
    PolicyRef,
    SettlementRequest,
    SettlementResult,
)

__all__ = [
    "BATCH_EXAMPLES",
    "KIND_SCHEMAS",
    "REPLAY_EXAMPLES",
    "BatchOut",
    "KindSchema",
    "LogPageOut",
    "LoggedDecisionOut",
    "OrderBatchRequest",
    "ReplayOut",
    "ReplayRequest",
    "document_decision_bodies",
]


# --- bodies and responses as documented (the service parses the engine models itself) ---------------
class Envelope(BaseModel):
    """The two fields every decision body may add to the engine's input."""

    request_id: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Idempotency key: the same id with the same body returns the original response; "
        "with another body it is a 409.",
    )
    policy_version: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="Pin a version (label, sha256 or 8+ hex prefix) instead of the one in force on `as_of`.",
    )


class AssessDecisionRequest(AssessRequest, Envelope):
    """Grade a customer from its credit file and set its limit, terms and next review."""


class OrderDecisionRequest(OrderRequest, Envelope):
    """Check an order against the customer's limit, exposure and the order rules."""


class SettlementDecisionRequest(SettlementRequest, Envelope):
    """Settle an invoice: discounts earned, amount due, penalty interest."""


class CollectionDecisionRequest(CollectionRequest, Envelope):
    """Choose the next collection step for overdue receivables."""


class OrderBatchRequest(BaseModel):
    """Up to 1000 orders decided in one call and one transaction."""

    model_config = ConfigDict(extra="forbid")
    orders: list[Any] = Field(
        min_length=1,
        max_length=MAX_BATCH,
    )
    request_id: str | None = Field(
        None,
        min_length=1,
        max_length=190,
        pattern=PRINTABLE,
        description="Orders without their own get `<request_id>/<index>`.",
    )


class ReplayRequest(BaseModel):
    """Which version to replay under: none for the decision's own version."""

    model_config = ConfigDict(extra="forbid")
    against: str | None = Field(
        None, min_length=1, max_length=100, pattern=PRINTABLE, description="Label, sha256 or 8+ hex prefix."
    )


class ReasonOut(BaseModel):
    rule: str
    reason: str
    source: str | None = None
    outcome: str | None = None


class CaseOut(BaseModel):
    case_id: str
    status: str
    effect: str


class DecisionOut(BaseModel):
    decision_id: str
    kind: str
    request_id: str | None
    created_at: dt.datetime
    as_of: dt.date = Field(description="The day decided about: the request's `as_of`, or today (UTC) without one.")
    policy: PolicyRef
    outcome: str = Field(description="order: outcome; assess: grade; settlement: status; collection: next step")
    reasons: list[ReasonOut]
    trace: dict[str, Any] | None = Field(None, description="Only with `?explain=true`.")


class AssessDecisionResponse(DecisionOut):
    decision: AssessResult


class OrderDecisionResponse(DecisionOut):
    case: CaseOut | None = Field(description="The credit case that held, released or rejected the order.")
    decision: OrderResult = Field(description="The policy's own result, before the credit-case policy.")


class SettlementDecisionResponse(DecisionOut):
    decision: SettlementResult


class CollectionDecisionResponse(DecisionOut):
    decision: CollectionResult


class BatchResultOut(BaseModel):
    index: int
    status: int
    decision: OrderDecisionResponse | None = None
    replayed: bool | None = None
    problem: Problem | None = None


class BatchOut(BaseModel):
    request_id: str | None
    decided: int
    refused: int
    results: list[BatchResultOut]


class LogEntryOut(BaseModel):
    decision_id: str
    kind: str
    request_id: str | None
    customer_id: str | None
    order_id: str | None = Field(description="The order's id, for order decisions.")
    as_of: dt.date | None = Field(description="The day the decision is about (the request's `as_of`).")
    outcome: str
    created_at: dt.datetime
    caller: str
    policy: PolicyRef


class LogPageOut(BaseModel):
    items: list[LogEntryOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class LoggedDecisionOut(LogEntryOut):
    request_hash: str | None
    input: dict[str, Any]
    response: dict[str, Any]
    trace: dict[str, Any] | None


class DifferenceOut(BaseModel):
    """One part of the decision (or of the rules fired) that differs, named by what it is, not where it stands."""

    path: str = Field(
        description="List items by their identity: `factors[current_ratio].points`, `reasons[order_rules.over_limit]`, "
        "`trace.rules_fired[grades.AA]`; `[name#2]` when two items share a name.",
        examples=["factors[current_ratio].points"],
    )
    change: Literal["changed", "added", "removed"]
    old: Any = Field(description="The logged value; null when added.")
    new: Any = Field(description="The replayed value; null when removed.")


class ReplayOut(BaseModel):
    decision_id: str
    kind: str
    logged_under: PolicyRef
    replayed_under: PolicyRef
    same_version: bool
    matches: bool = Field(
        description="Own version: identical output and the same rules fired. Another version: no differences."
    )
    differences: list[DifferenceOut]
    decision: dict[str, Any] | None
    error: dict[str, str] | None = Field(None, description="The other version refused the input (code, message).")


# --- examples -------------------------------------------------------------------------------------
_CREDIT_FILE: dict[str, Any] = {
    "financials": {
        "current_assets": "8200000.00",
        "current_liabilities": "4100000.00",
        "total_assets": "15000000.00",
        "net_assets": "6500000.00",
        "revenue": "30000000.00",
        "net_profit": "1800000.00",
        "operating_cash_flow": "2100000.00",
        "liquidation_value": "5200000.00",
    },
    "payment": {"on_time_ratio": "0.93", "avg_days_late": 4, "max_days_late": 12, "defaults_3y": 0},
    "records": {"years_in_business": 11, "litigation_count": 0, "bank_record": "normal", "owns_premises": True},
    "outlook": {"expected_dso_days": 42, "expected_bad_debt_rate": "0.01"},
    "ratings": {"character": "good", "visit_impression": "good", "industry_prospects": "good"},
}
_ORDER: dict[str, Any] = {
    "customer": {"id": "C-1001", "segment": "ordinary", "grade": "A", "limit": "1500000.00"},
    "order": {"id": "SO-1", "reference": "PO-4711", "amount": "120000.00", "currency": "CNY"},
    "exposure": {"open_receivables": "600000.00", "open_orders": "100000.00", "overdue_amount": "0.00"},
    "as_of": "2026-06-30",
}
EXAMPLES: dict[str, dict[str, Example]] = {
    "assess": {
        "assess": Example(
            summary="A sound customer",
            value={
                "request_id": "crm-assess-1001",
                "customer": {"id": "C-1001", "segment": "ordinary"},
                "credit_file": _CREDIT_FILE,
                "as_of": "2026-06-30",
            },
        ),
        "pinned": Example(
            summary="Pinned to a version",
            value={
                "customer": {"id": "C-1002"},
                "credit_file": {"payment": {"on_time_ratio": "0.9"}},
                "as_of": "2026-06-30",
                "policy_version": "2026.1",
            },
        ),
    },
    "order": {
        "within_limit": Example(summary="Within the limit", value={"request_id": "erp-SO-1", **_ORDER}),
        "over_limit": Example(
            summary="Over the limit: held, a credit case opens",
            value={**_ORDER, "order": {"id": "SO-2", "amount": "900000.00", "currency": "CNY"}},
        ),
    },
    "settlement": {
        "discount": Example(
            summary="Paid in two parts, one in the discount window",
            value={
                "invoice": {"id": "INV-9", "amount": "10000.00", "date": "2026-03-01", "currency": "CNY"},
                "terms": {"text": "3/10, 2/20, n/30"},
                "payments": [{"date": "2026-03-16", "amount": "4900.00"}, {"date": "2026-04-10", "amount": "5000.00"}],
                "as_of": "2026-04-30",
            },
        ),
        "grade_terms": Example(
            summary="Terms of a grade",
            value={
                "invoice": {"amount": "2500.00", "date": "2026-05-01"},
                "terms": {"grade": "BBB"},
                "as_of": "2026-06-30",
            },
        ),
    },
    "collection": {
        "overdue": Example(
            summary="75 days overdue after a letter",
            value={
                "customer": {"id": "C-2001", "segment": "ordinary", "grade": "BB"},
                "arrears": {
                    "amount": "250000.00",
                    "days_overdue": 75,
                    "steps_taken": [{"step": "letter", "on": "2026-05-01"}],
                },
                "as_of": "2026-06-30",
            },
        )
    },
}
BATCH_EXAMPLES = {
    "two_orders": Example(
        summary="Two orders, the second invalid",
        value={
            "request_id": "erp-batch-7",
            "orders": [_ORDER, {**_ORDER, "order": {"id": "SO-3", "amount": "12.345", "currency": "CNY"}}],
        },
    )
}
REPLAY_EXAMPLES = {
    "own": Example(summary="Under its own version (must match)", value={}),
    "against": Example(summary="Under another version", value={"against": "2026.2"}),
}


@dataclass(frozen=True)
class KindSchema:
    """How one decision kind's route is documented: its body, its response, examples and text."""

    body: type[BaseModel]
    response: type[BaseModel]
    examples: dict[str, Example]
    summary: str
    description: str


KIND_SCHEMAS: dict[str, KindSchema] = {
    "assess": KindSchema(
        AssessDecisionRequest,
        AssessDecisionResponse,
        EXAMPLES["assess"],
        "Grade a customer from its credit file",
        "Score, grade, eligibility, limit, terms and next review. The grade is recorded in the customer's "
        "grade history. Money is returned as decimal strings.",
    ),
    "order": KindSchema(
        OrderDecisionRequest,
        OrderDecisionResponse,
        EXAMPLES["order"],
        "Check an order",
        "Approve, hold or reject, with the reasons and the rules behind them. A hold opens a credit case "
        "(see `case`), released or rejected by a credit manager; while it is open, re-checks of the same "
        "order (customer + order reference) stay held.",
    ),
    "settlement": KindSchema(
        SettlementDecisionRequest,
        SettlementDecisionResponse,
        EXAMPLES["settlement"],
        "Settle an invoice under its terms",
        "Discount earned, amount due, days overdue, penalty interest.",
    ),
    "collection": KindSchema(
        CollectionDecisionRequest,
        CollectionDecisionResponse,
        EXAMPLES["collection"],
        "Choose the next collection step",
        "The next step of the collection ladder for overdue receivables (`none` when nothing is due) and "
        "the auxiliary measures due.",
    ),
}


def json_request_body(model: type[BaseModel], examples: dict[str, Example]) -> dict[str, Any]:
    """The OpenAPI request body of a route that reads its JSON body itself: ``model``, with examples.

    The schema is a reference; :func:`document_decision_bodies` puts the models it names into the
    components.
    """
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": f"#/components/schemas/{model.__name__}"},
                    "examples": {name: dict(example) for name, example in examples.items()},
                }
            },
        }
    }


def document_decision_bodies(schema: dict[str, Any]) -> None:
    """Put the models of the bodies the decision routes read themselves into the schema's components."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    ref = "#/components/schemas/{model}"
    models: list[type[BaseModel]] = [documented.body for documented in KIND_SCHEMAS.values()]
    models.append(OrderBatchRequest)
    for model in models:
        model_schema = model.model_json_schema(ref_template=ref, mode="validation")
        components.update(model_schema.pop("$defs", {}))
        components[model.__name__] = model_schema
        if "as_of" in model_schema.get("properties", {}):  # the engine needs it; the service fills it in
            model_schema["required"] = [name for name in model_schema.get("required", []) if name != "as_of"]
            model_schema["properties"]["as_of"]["description"] = (
                "The day the decision is about (it picks the version in force); default: today (UTC). "
                "The response's `as_of` says which day was used."
            )
    # A batch's orders are read one by one as order decisions (the model takes them as they come).
    orders = components[OrderBatchRequest.__name__]["properties"]["orders"]
    orders["items"] = {"$ref": ref.format(model=OrderDecisionRequest.__name__)}

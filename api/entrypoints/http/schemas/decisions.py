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
from pydantic import BaseModel, ConfigDict, Field, create_model

from api.entrypoints.http.deps import PRINTABLE
from api.entrypoints.http.problems import Problem
from api.service.decisions import BATCH_MEMBERS, MAX_BATCH
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
    "BATCH_SCHEMAS",
    "KIND_SCHEMAS",
    "REPLAY_EXAMPLES",
    "BatchOut",
    "BatchSchema",
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


class BatchEnvelope(BaseModel):
    """What every batch body holds besides its list of requests."""

    model_config = ConfigDict(extra="forbid")
    request_id: str | None = Field(
        None,
        min_length=1,
        max_length=190,
        pattern=PRINTABLE,
        description="Requests without their own get `<request_id>/<index>`. A dry run echoes it and stores nothing.",
    )


def _batch_request(kind: str) -> type[BatchEnvelope]:
    member = BATCH_MEMBERS[kind]
    items = Field(min_length=1, max_length=MAX_BATCH, description=f"Each is the body of a `{kind}` decision.")
    fields: dict[str, Any] = {member: (list[Any], items)}  # the member's name is the kind's: one model per kind
    return create_model(
        f"{kind.capitalize()}BatchRequest",
        __base__=BatchEnvelope,
        __doc__=f"Up to {MAX_BATCH} {member} decided in one call and one transaction.",
        **fields,
    )


BATCH_REQUESTS: dict[str, type[BatchEnvelope]] = {kind: _batch_request(kind) for kind in BATCH_MEMBERS}
OrderBatchRequest = BATCH_REQUESTS["order"]


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
    case_id: str | None = Field(description="null in a dry run's answer for a case it would open: none was opened.")
    status: str
    effect: str


class DecisionOut(BaseModel):
    decision_id: str | None = Field(description="The logged decision's id; null in a dry run: nothing was logged.")
    dry_run: Literal[True] | None = Field(
        None, description="Only in a dry run's answers, always true: this decision was not logged and changed nothing."
    )
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
    dry_run: Literal[True] | None = Field(None, description="Only in a dry run, always true.")
    replayed: bool | None = None
    problem: Problem | None = None


class BatchOut(BaseModel):
    dry_run: bool = Field(description="true: a dry run — decided, nothing logged, no case opened, nothing stored.")
    request_id: str | None
    decided: int
    refused: int


def _batch_response(kind: str, decision: type[BaseModel]) -> type[BatchOut]:
    name = kind.capitalize()
    optional: Any = decision | None
    result = create_model(f"{name}BatchResultOut", __base__=BatchResultOut, decision=(optional, None))
    results: Any = list[result]
    return create_model(f"{name}BatchOut", __base__=BatchOut, results=(results, ...))


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


def _batch_examples(kind: str) -> dict[str, Example]:
    """A batch of the kind's own examples (their request ids left out: the batch's gives theirs)."""
    if kind == "order":
        return BATCH_EXAMPLES
    member = BATCH_MEMBERS[kind]
    values: list[dict[str, Any]] = [example.get("value") or {} for example in EXAMPLES[kind].values()]
    bodies = [{k: v for k, v in value.items() if k != "request_id"} for value in values]
    summary = f"{len(bodies)} {member if len(bodies) > 1 else kind}"
    return {member: Example(summary=summary, value={"request_id": f"batch-{kind}-7", member: bodies})}


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


@dataclass(frozen=True)
class BatchSchema:
    """How one decision kind's batch route is documented: its body, its response, examples and text."""

    body: type[BatchEnvelope]
    response: type[BaseModel]
    examples: dict[str, Example]
    summary: str
    description: str


BATCH_DESCRIPTION = (
    "Up to {limit} {member} in one call and one transaction; each is decided and logged as its own "
    "`{kind}` decision, a refused one gets its problem in place (pointers into this body), the others are "
    "decided, in the order given.\n\n"
    "**Dry run** (`dry_run=true`, role `decide` or `simulate`): each is decided exactly as here — by the "
    "version in force on its `as_of` or the one it pins{hook} — but nothing is kept: no log row, {kept}no "
    "idempotency entry (`request_id` is echoed, not looked up). The answer says so: `dry_run: true` at the top "
    "and on each result, `decision_id: null` in each decision. `version` (label, sha256 or 8+ hex prefix; role "
    "`simulate`) names the version every request is decided by instead, drafts included."
)
_KEPT = {
    "order": ("; a hold opens no case (`case.case_id: null`)", "no credit case, no webhook, "),
    "assess": ("", "no grade history, "),
}


def _batch_schema(kind: str, documented: KindSchema) -> BatchSchema:
    hook, kept = _KEPT.get(kind, ("", ""))
    member = BATCH_MEMBERS[kind]
    return BatchSchema(
        BATCH_REQUESTS[kind],
        _batch_response(kind, documented.response),
        _batch_examples(kind),
        f"Decide up to {MAX_BATCH} {member} at once, or dry-run them",
        BATCH_DESCRIPTION.format(limit=MAX_BATCH, member=member, kind=kind, hook=hook, kept=kept),
    )


BATCH_SCHEMAS: dict[str, BatchSchema] = {kind: _batch_schema(kind, schema) for kind, schema in KIND_SCHEMAS.items()}


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
    models += [batch.body for batch in BATCH_SCHEMAS.values()]
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
    # A batch's requests are read one by one as decisions of its kind (the model takes them as they come).
    for kind, batch in BATCH_SCHEMAS.items():
        items = components[batch.body.__name__]["properties"][BATCH_MEMBERS[kind]]
        items["items"] = {"$ref": ref.format(model=KIND_SCHEMAS[kind].body.__name__)}

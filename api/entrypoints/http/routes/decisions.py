"""Decision routes: the four decisions, order batches, the decision log and reproduction."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Annotated, Any, Literal

from anyio import to_thread
from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.openapi.models import Example
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask

from api.adapters.group_commit import GroupCommitter
from api.entrypoints.http.deps import (
    KEY_SECURITY,
    PRINTABLE,
    DecisionThreadsDep,
    ReadUowDep,
    RegistryDep,
    UowFactory,
    UowFactoryDep,
    get_decider,
    require,
)
from api.entrypoints.http.metrics import Metrics
from api.entrypoints.http.problems import Problem, problem_document
from api.errors import ServiceError
from api.service.decisions import decide as decisions
from api.service.keys import Caller
from api.service.registry import PolicyRegistry
from api.service.webhooks import deliver_after_commit
from engine.errors import EngineError
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

__all__ = ["BODY_MODELS", "DecisionRoute", "decision_router", "router"]

router = APIRouter(prefix="/v1/decisions", tags=["decisions"])

Decider = Annotated[Caller, Depends(get_decider)]
LogReader = Annotated[Caller, Depends(require("read_log"))]
Replayer = Annotated[Caller, Depends(require("replay"))]
Explain = Annotated[bool, Query(description="Return the trace: every rule that fired, with its policy line.")]
DecisionId = Annotated[
    str, Path(max_length=64, pattern=PRINTABLE, description="The `decision_id` a decision returned.")
]
JSON = "application/json"


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
        max_length=decisions.MAX_BATCH,
        json_schema_extra={"items": {"$ref": "#/components/schemas/OrderDecisionRequest"}},
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
    pointer: str
    old: Any
    new: Any


class ReplayOut(BaseModel):
    decision_id: str
    kind: str
    logged_under: PolicyRef
    replayed_under: PolicyRef
    same_version: bool
    matches: bool = Field(description="Own version: identical output. Another version: no differences.")
    differences: list[DifferenceOut]
    decision: dict[str, Any] | None
    error: dict[str, str] | None = Field(None, description="The other version refused the input (code, message).")


BODY_MODELS: dict[str, type[BaseModel]] = {
    "assess": AssessDecisionRequest,
    "order": OrderDecisionRequest,
    "settlement": SettlementDecisionRequest,
    "collection": CollectionDecisionRequest,
}

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


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": Problem, "content": {"application/problem+json": {}}} for s in (401, 403, *statuses)}


async def _decide(kind: str, body: Any, request: Request, caller: Caller, explain: bool) -> Response:
    """Evaluate on the event loop, store through the group committer, answer once committed.

    A decision is CPU-bound and holds the GIL (durable-rules never releases it), so a hop to a
    thread buys no parallelism and costs ~0.5 ms per request; its store step goes to the app's
    group committer (:mod:`api.group_commit`), which writes the decisions of concurrent requests
    in one transaction while the loop evaluates the next ones, and releases each response only
    after that transaction committed. Workers scale out as processes.
    """
    state = request.app.state
    metrics: Metrics = state.metrics
    started = time.perf_counter()
    try:
        with state.new_read_uow() as uow:  # read only if the version timeline must be refreshed
            prepared = decisions.prepare_decision(uow, state.registry, caller, kind, body, explain=explain)
        if isinstance(prepared, decisions.DecisionResponse):
            result = prepared  # an idempotent replay of a request refused now
        else:
            committer: GroupCommitter = state.group_commit
            result = await committer.submit(
                partial(decisions.store_decision, prepared=prepared), partial(_log_alone, state.new_uow, prepared)
            )
    except (ServiceError, EngineError) as error:
        metrics.refused(kind, error.code)
        raise
    metrics.decided(kind, result.outcome, time.perf_counter() - started, result.policy)
    background = None
    if result.events:  # tell the webhooks after the commit, never before
        background = BackgroundTask(deliver_after_commit, state.new_uow, state.webhook_sender)
    headers = {"Idempotent-Replay": "true"} if result.replayed else None
    return Response(result.body(), media_type=JSON, headers=headers, background=background)


def _log_alone(new_uow: UowFactory, prepared: decisions.PreparedDecision) -> decisions.DecisionResponse:
    with new_uow() as uow:
        return decisions.log_decision(uow, prepared)


# --- the four decisions ---------------------------------------------------------------------------
# The query strings and content types the direct path takes; anything else goes through FastAPI.
_EXPLAIN_QUERIES = {b"": False, b"explain=false": False, b"explain=true": True}
_JSON_TYPES = frozenset({"application/json", "application/json; charset=utf-8"})


class DecisionRoute(APIRoute):
    """A single-decision route whose usual request skips FastAPI's parameter machinery.

    The order systems' hot path: FastAPI solves a route's parameters and validates the body
    against ``dict[str, Any]`` at ~0.3 ms a request, as much as the decision itself. A request
    with a JSON object body and no query parameter other than ``explain=true|false`` is
    authenticated (:func:`~api.entrypoints.http.deps.get_decider`), parsed and decided directly; everything
    else (another content type, a malformed body, an unusual query) goes through the handler
    FastAPI builds from the endpoint's signature, so its problems read exactly as before. The
    signature also still documents the route (OpenAPI) and names its permission (role matrix).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        general = super().get_route_handler()
        kind = self.path.rsplit("/", 1)[-1]
        if kind not in BODY_MODELS:
            raise ValueError(f"DecisionRoute serves {', '.join(BODY_MODELS)}, not {self.path}")

        async def handle(request: Request) -> Response:
            explain = _EXPLAIN_QUERIES.get(request.scope["query_string"])
            if explain is None or request.headers.get("content-type", "").lower() not in _JSON_TYPES:
                return await general(request)
            caller = await get_decider(request)
            try:
                body = json.loads(await request.body())
            except ValueError:
                body = None
            if type(body) is not dict:
                return await general(request)  # FastAPI words the 422 (the body is cached on the request)
            return await _decide(kind, body, request, caller, explain)

        return handle


# The four single decisions; order batches, the log and replay are on ``router``.
decision_router = APIRouter(prefix="/v1/decisions", tags=["decisions"], route_class=DecisionRoute)


# Each route takes the request and one dependency (the caller): see api.entrypoints.http.deps.get_decider.
@decision_router.post(
    "/assess",
    response_model=AssessDecisionResponse,
    responses=_problems(409, 422),
    openapi_extra={"security": KEY_SECURITY},
)
async def decide_assess(
    caller: Decider,
    request: Request,
    body: Annotated[dict[str, Any], Body(openapi_examples=EXAMPLES["assess"])],
    explain: Explain = False,
) -> Response:
    """Grade a customer from its credit file: score, grade, eligibility, limit, terms and next review.

    The grade is recorded in the customer's grade history. Money is returned as decimal strings.
    """
    return await _decide("assess", body, request, caller, explain)


@decision_router.post(
    "/order",
    response_model=OrderDecisionResponse,
    responses=_problems(409, 422),
    openapi_extra={"security": KEY_SECURITY},
)
async def decide_order(
    caller: Decider,
    request: Request,
    body: Annotated[dict[str, Any], Body(openapi_examples=EXAMPLES["order"])],
    explain: Explain = False,
) -> Response:
    """Check an order: approve, hold or reject, with the reasons and the rules behind them.

    A hold opens a credit case (see `case`), released or rejected by a credit manager; while it
    is open, re-checks of the same order (customer + order reference) stay held.
    """
    return await _decide("order", body, request, caller, explain)


@decision_router.post(
    "/settlement",
    response_model=SettlementDecisionResponse,
    responses=_problems(409, 422),
    openapi_extra={"security": KEY_SECURITY},
)
async def decide_settlement(
    caller: Decider,
    request: Request,
    body: Annotated[dict[str, Any], Body(openapi_examples=EXAMPLES["settlement"])],
    explain: Explain = False,
) -> Response:
    """Settle an invoice under its terms: discount earned, amount due, days overdue, penalty interest."""
    return await _decide("settlement", body, request, caller, explain)


@decision_router.post(
    "/collection",
    response_model=CollectionDecisionResponse,
    responses=_problems(409, 422),
    openapi_extra={"security": KEY_SECURITY},
)
async def decide_collection(
    caller: Decider,
    request: Request,
    body: Annotated[dict[str, Any], Body(openapi_examples=EXAMPLES["collection"])],
    explain: Explain = False,
) -> Response:
    """Choose the next step of the collection ladder for overdue receivables (``none`` when nothing is due)."""
    return await _decide("collection", body, request, caller, explain)


@router.post(
    "/order:batch",
    response_model=BatchOut,
    responses=_problems(409, 422),
    openapi_extra={"security": KEY_SECURITY},
)
async def decide_order_batch(
    caller: Decider,
    request: Request,
    body: Annotated[OrderBatchRequest, Body(openapi_examples=BATCH_EXAMPLES)],
    new_uow: UowFactoryDep,
    threads: DecisionThreadsDep,
    registry: RegistryDep,
    explain: Explain = False,
) -> Response:
    """Check up to 1000 orders in one call and one transaction; each is logged as its own decision.

    A refused order gets its problem in place (pointers into this body), the others are decided.
    """
    batch = await to_thread.run_sync(
        partial(_decide_batch_now, new_uow, registry, caller, body, explain), limiter=threads
    )
    background = None
    if any(item.response is not None and item.response.events for item in batch.items):
        background = BackgroundTask(deliver_after_commit, new_uow, request.app.state.webhook_sender)
    return Response(decisions.dumps(batch_content(batch)), media_type=JSON, background=background)


def _decide_batch_now(
    new_uow: UowFactory, registry: PolicyRegistry, caller: Caller, body: OrderBatchRequest, explain: bool
) -> decisions.BatchResponse:
    with new_uow() as uow:
        return decisions.decide_batch(uow, registry, caller, body.orders, request_id=body.request_id, explain=explain)


def batch_content(batch: decisions.BatchResponse) -> dict[str, Any]:
    """The batch response: every order's decision or problem, in the order given."""
    results: list[dict[str, Any]] = []
    for item in batch.items:
        if item.response is not None:
            entry = {"index": item.index, "status": 200, "decision": item.response.content()}
            results.append({**entry, "replayed": True} if item.response.replayed else entry)
        elif item.error is not None:
            problem = problem_document(item.error, item.pointer)
            results.append({"index": item.index, "status": problem["status"], "problem": problem})
    decided = batch.decided
    return {
        "request_id": batch.request_id,
        "decided": decided,
        "refused": len(batch.items) - decided,
        "results": results,
    }


# --- the log --------------------------------------------------------------------------------------
@router.get("", response_model=LogPageOut, responses=_problems(404, 422))
def list_decisions(
    caller: LogReader,
    uow: ReadUowDep,
    customer_id: Annotated[str | None, Query(max_length=64, pattern=PRINTABLE)] = None,
    kind: Literal["assess", "order", "settlement", "collection"] | None = None,
    outcome: Annotated[
        str | None, Query(max_length=32, pattern=PRINTABLE, description="e.g. hold, BBB, overdue, visit")
    ] = None,
    since: Annotated[dt.datetime | None, Query(description="From this time (inclusive; UTC if no offset).")] = None,
    until: Annotated[dt.datetime | None, Query(description="Before this time (exclusive).")] = None,
    policy_version: Annotated[
        str | None, Query(max_length=100, pattern=PRINTABLE, description="Label, sha256 or prefix.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=500, pattern=PRINTABLE)] = None,
) -> dict[str, Any]:
    """Query the decision log, newest first: by customer, kind, outcome, time range and policy version."""
    page = decisions.query_log(
        uow,
        customer_id=customer_id,
        kind=kind,
        outcome=outcome,
        since=since,
        until=until,
        policy_version=policy_version,
        limit=limit,
        cursor=cursor,
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/{decision_id}", response_model=LoggedDecisionOut, responses=_problems(404))
def get_decision(caller: LogReader, decision_id: DecisionId, uow: ReadUowDep) -> dict[str, Any]:
    """One logged decision: the input received, the response returned and the full trace."""
    return decisions.get_decision(uow, decision_id)


@router.post("/{decision_id}/replay", response_model=ReplayOut, responses=_problems(404, 409, 422))
def replay_decision(
    caller: Replayer,
    decision_id: DecisionId,
    uow: ReadUowDep,
    registry: RegistryDep,
    body: Annotated[ReplayRequest | None, Body(openapi_examples=REPLAY_EXAMPLES)] = None,
) -> dict[str, Any]:
    """Re-evaluate a logged decision: under its own version it must match exactly (`matches`), under
    another version (`against`) the differences show what that version would have decided. Writes nothing."""
    return decisions.replay(uow, registry, decision_id, body.against if body else None).content()

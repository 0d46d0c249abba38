"""Decision routes: the four decisions, their batches (and dry runs), the decision log and reproduction."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, Any, Literal

from anyio import to_thread
from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import Response
from starlette.background import BackgroundTask

from api.entrypoints.http.deps import (
    PRINTABLE,
    BatchAccess,
    BatchCall,
    ReadUowDep,
    RegistryDep,
    UowFactory,
    UowFactoryDep,
    body_of,
    json_body,
    require,
)
from api.entrypoints.http.fast_path import AuthorizedRoute, FastPathRoute
from api.entrypoints.http.metrics import Metrics
from api.entrypoints.http.params import IsoDate, IsoDateTime
from api.entrypoints.http.problems import problem_document, problems
from api.entrypoints.http.schemas.decisions import (
    BATCH_SCHEMAS,
    KIND_SCHEMAS,
    REPLAY_EXAMPLES,
    BatchEnvelope,
    LoggedDecisionOut,
    LogPageOut,
    ReplayOut,
    ReplayRequest,
    json_request_body,
)
from api.errors import ServiceError
from api.service import decisions
from api.service.jsontext import dumps
from api.service.keys import Caller
from api.service.registry import PolicyRegistry
from api.service.webhooks import deliver_after_commit
from engine.errors import EngineError

__all__ = ["decision_router", "router"]

Decider = Annotated[Caller, Depends(require("decide"))]
Batcher = Annotated[BatchCall, Depends(BatchAccess())]
LogReader = Annotated[Caller, Depends(require("read_log"))]
Replayer = Annotated[Caller, Depends(require("replay"))]
Explain = Annotated[bool, Query(description="Return the trace: every rule that fired, with its policy line.")]
DecisionId = Annotated[
    str, Path(max_length=64, pattern=PRINTABLE, description="The `decision_id` a decision returned.")
]
JSON = "application/json"

# The four single decisions (their usual request takes the fast path); batches, the log and replay.
decision_router = APIRouter(prefix="/v1/decisions", tags=["decisions"], route_class=FastPathRoute)
router = APIRouter(prefix="/v1/decisions", tags=["decisions"], route_class=AuthorizedRoute)


async def answer_decision(request: Request, kind: str, body: Any, caller: Caller, explain: bool) -> Response:
    """Decide and log (:func:`~api.service.decisions.decide_and_log`), count it, answer once committed."""
    state = request.app.state
    metrics: Metrics = state.metrics
    started = time.perf_counter()
    try:
        result = await decisions.decide_and_log(kind, body, caller, state.decision_writer, explain=explain)
    except (ServiceError, EngineError) as error:
        metrics.refused(kind, error.code)
        raise
    metrics.decided(kind, result.outcome, time.perf_counter() - started, result.policy)
    if result.shadow is not None:
        metrics.shadowed(kind, result.shadow)
    background = None
    if result.events:  # tell the webhooks after the commit, never before
        background = BackgroundTask(deliver_after_commit, state.new_uow, state.webhook_sender)
    headers = {"Idempotent-Replay": "true"} if result.replayed else None
    return Response(result.body(), media_type=JSON, headers=headers, background=background)


def _decision_endpoint(kind: str) -> Callable[..., Awaitable[Response]]:
    """The endpoint of one kind: what FastAPI documents and calls, and the fast path calls too.

    It reads its body itself (:func:`json_body`: numbers exact, after the key was checked); the
    body is documented as the kind's model (:func:`document_decision_bodies`).
    """

    async def endpoint(caller: Decider, request: Request, explain: Explain = False) -> Response:
        return await answer_decision(request, kind, await json_body(request), caller, explain)

    endpoint.__name__ = f"decide_{kind}"
    return endpoint


for _kind, _schema in KIND_SCHEMAS.items():
    decision_router.add_api_route(
        f"/{_kind}",
        _decision_endpoint(_kind),
        methods=["POST"],
        response_model=_schema.response,
        responses=problems(400, 409, 413, 415, 422),
        openapi_extra=json_request_body(_schema.body, _schema.examples),
        summary=_schema.summary,
        description=_schema.description,
    )


def _batch_endpoint(kind: str) -> Callable[..., Awaitable[Response]]:
    """The batch endpoint of one kind: every kind's batch is the same service call."""
    model, member = BATCH_SCHEMAS[kind].body, decisions.BATCH_MEMBERS[kind]

    async def endpoint(
        call: Batcher, request: Request, new_uow: UowFactoryDep, registry: RegistryDep, explain: Explain = False
    ) -> Response:
        body = body_of(model, await json_body(request))
        decide = partial(_decide_batch, new_uow, registry, call, kind, getattr(body, member), body, explain)
        batch = await to_thread.run_sync(decide, limiter=request.app.state.decision_threads)
        metrics: Metrics = request.app.state.metrics
        for item in batch.items:  # a batch's requests shadowed by a challenger count as the single ones do
            if item.response is not None and item.response.shadow is not None:
                metrics.shadowed(kind, item.response.shadow)
        background = None
        if batch.events:  # a real batch opened cases: tell the webhooks after the commit
            background = BackgroundTask(deliver_after_commit, new_uow, request.app.state.webhook_sender)
        return Response(dumps(batch_content(batch)), media_type=JSON, background=background)

    endpoint.__name__ = f"decide_{kind}_batch"
    return endpoint


def _decide_batch(
    new_uow: UowFactory,
    registry: PolicyRegistry,
    call: BatchCall,
    kind: str,
    bodies: list[Any],
    body: BatchEnvelope,
    explain: bool,
) -> decisions.BatchResponse:
    with new_uow() as uow:
        return decisions.decide_batch(
            uow,
            registry,
            call.caller,
            kind,
            bodies,
            request_id=body.request_id,
            explain=explain,
            dry_run=call.dry_run,
            version=call.version,
        )


for _kind, _batch in BATCH_SCHEMAS.items():
    router.add_api_route(
        f"/{_kind}:batch",
        _batch_endpoint(_kind),
        methods=["POST"],
        response_model=_batch.response,
        responses=problems(400, 409, 413, 415, 422),
        openapi_extra=json_request_body(_batch.body, _batch.examples),
        summary=_batch.summary,
        description=_batch.description,
    )


def batch_content(batch: decisions.BatchResponse) -> dict[str, Any]:
    """The batch response: every request's decision or problem, in the order given; a dry run says so."""
    marked = {"dry_run": True} if batch.dry_run else {}
    results: list[dict[str, Any]] = []
    for item in batch.items:
        if item.response is not None:
            entry = {"index": item.index, "status": 200, **marked, "decision": item.response.content()}
            results.append({**entry, "replayed": True} if item.response.replayed else entry)
        elif item.error is not None:
            problem = problem_document(item.error, item.pointer)
            results.append({"index": item.index, "status": problem["status"], **marked, "problem": problem})
    decided = batch.decided
    return {
        "dry_run": batch.dry_run,
        "request_id": batch.request_id,
        "decided": decided,
        "refused": len(batch.items) - decided,
        "results": results,
    }


# --- the log --------------------------------------------------------------------------------------
@router.get("", response_model=LogPageOut, responses=problems(422))
def list_decisions(
    caller: LogReader,
    uow: ReadUowDep,
    customer_id: Annotated[str | None, Query(max_length=64, pattern=PRINTABLE)] = None,
    order_id: Annotated[
        str | None, Query(max_length=64, pattern=PRINTABLE, description="The order's `order.id` (order decisions).")
    ] = None,
    request_id: Annotated[str | None, Query(max_length=200, pattern=PRINTABLE)] = None,
    kind: Literal["assess", "order", "settlement", "collection"] | None = None,
    outcome: Annotated[
        str | None, Query(max_length=32, pattern=PRINTABLE, description="e.g. hold, BBB, overdue, visit")
    ] = None,
    since: Annotated[
        IsoDateTime | None,
        Query(description="Decided at or after this ISO 8601 time or date (`created_at`; UTC if no offset)."),
    ] = None,
    until: Annotated[
        IsoDateTime | None, Query(description="Decided before this ISO 8601 time or date (exclusive).")
    ] = None,
    as_of_from: Annotated[
        IsoDate | None, Query(description="About this day or later (the request's `as_of`, inclusive).")
    ] = None,
    as_of_to: Annotated[IsoDate | None, Query(description="About this day or earlier (inclusive).")] = None,
    policy_version: Annotated[
        str | None, Query(max_length=100, pattern=PRINTABLE, description="Label, sha256 or prefix.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=500, pattern=PRINTABLE)] = None,
) -> dict[str, Any]:
    """Query the decision log, newest first: by customer, order, request, kind, outcome, policy version,
    when decided (`since`/`until`) and the day decided about (`as_of_from`/`as_of_to`)."""
    page = decisions.query_log(
        uow,
        customer_id=customer_id,
        order_id=order_id,
        request_id=request_id,
        kind=kind,
        outcome=outcome,
        since=since,
        until=until,
        as_of_from=as_of_from,
        as_of_to=as_of_to,
        policy_version=policy_version,
        limit=limit,
        cursor=cursor,
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/{decision_id}", response_model=LoggedDecisionOut, responses=problems(404))
def get_decision(caller: LogReader, decision_id: DecisionId, uow: ReadUowDep) -> Response:
    """One logged decision: the input received, the response returned and the full trace, as stored."""
    return Response(decisions.get_decision(uow, decision_id), media_type=JSON)


@router.post("/{decision_id}/replay", response_model=ReplayOut, responses=problems(404, 409, 422))
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

"""Champion–challenger routes: name, read and end a policy's challenger; the shadow report."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Path, Query
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from api.entrypoints.http.deps import PRINTABLE, ReadUowDep, RegistryDep, UowDep, require
from api.entrypoints.http.fast_path import AuthorizedRoute
from api.entrypoints.http.negotiation import best_media_type
from api.entrypoints.http.params import IsoDateTime
from api.entrypoints.http.problems import problems
from api.entrypoints.http.schemas.shadow import CHALLENGER_EXAMPLES, ChallengerOut, ChallengerRequest, ShadowReportOut
from api.entrypoints.http.schemas.versions import LIFECYCLE_EXAMPLES, LifecycleRequest
from api.service import shadow, shadow_report
from api.service.keys import Caller

__all__ = ["router"]

router = APIRouter(tags=["shadow"], route_class=AuthorizedRoute)

Namer = Annotated[Caller, Depends(require("name_challenger"))]
ShadowReader = Annotated[Caller, Depends(require("read_shadow"))]
PolicyId = Annotated[str, Path(max_length=64, pattern=PRINTABLE, description="The policy's id.")]
CHALLENGER = "/v1/policies/{policy_id}/challenger"


@router.put(CHALLENGER, response_model=ChallengerOut, responses=problems(404, 409, 422))
def name_challenger(
    caller: Namer,
    policy_id: PolicyId,
    body: Annotated[ChallengerRequest, Body(openapi_examples=CHALLENGER_EXAMPLES)],
    uow: UowDep,
    registry: RegistryDep,
) -> dict[str, Any]:
    """Run a draft or approved version in shadow beside the active one on a share of the customers.

    Four eyes: not by the key that published it nor the author it names (403 `four_eyes`). At most
    one challenger per policy (409 `challenger_exists`). Recorded as `challenger_named`.
    """
    named = shadow.name_challenger(
        uow, policy_id, body.version, body.share, caller.name, body.reason, timeline=registry
    )
    return named.content()


@router.get(CHALLENGER, response_model=ChallengerOut, responses=problems(404))
def get_challenger(caller: ShadowReader, policy_id: PolicyId, uow: ReadUowDep) -> dict[str, Any]:
    """The policy's challenger in shadow, if it has one (404 `challenger_not_found`)."""
    return shadow.get_challenger(uow, policy_id).content()


@router.delete(CHALLENGER, response_model=ChallengerOut, responses=problems(404, 422))
def end_challenger(
    caller: Namer,
    policy_id: PolicyId,
    body: Annotated[LifecycleRequest, Body(openapi_examples=LIFECYCLE_EXAMPLES)],
    uow: UowDep,
    registry: RegistryDep,
) -> dict[str, Any]:
    """End the shadow (recorded as `challenger_ended`); the rows it wrote stay for the report."""
    return shadow.end_challenger(uow, policy_id, caller.name, body.reason, timeline=registry).content()


@router.get(
    "/v1/shadow/report",
    response_model=ShadowReportOut,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}, **problems(422)},
)
def get_shadow_report(
    caller: ShadowReader,
    uow: ReadUowDep,
    policy: Annotated[str | None, Query(max_length=64, pattern=PRINTABLE, description="Only this policy.")] = None,
    since: Annotated[IsoDateTime | None, Query(description="Decided at or after this ISO 8601 time.")] = None,
    until: Annotated[IsoDateTime | None, Query(description="Decided before this ISO 8601 time.")] = None,
    kind: Literal["assess", "order", "settlement", "collection"] | None = None,
    accept: Annotated[str | None, Header(max_length=1000, description="`text/plain`: the CLI's text.")] = None,
) -> Response:
    """How the challengers decided beside the live decisions, per kind: agreement, transitions
    champion → challenger with counts and amounts, errors by code, and samples of what differed."""
    report = shadow_report.shadow_report(uow, policy_id=policy, since=since, until=until, kind=kind)
    if best_media_type(accept, ("application/json", "text/plain")) == "text/plain":
        return PlainTextResponse("".join(f"{line}\n" for line in shadow_report.report_lines(report)))
    return JSONResponse(report.content())

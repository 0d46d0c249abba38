"""Impact routes: what a version would change on the decisions logged, and the approver's review of a draft.

Both re-run up to the whole log: the endpoints are synchronous, so FastAPI runs them in its worker
threads (anyio), off the event loop, and decisions keep being answered meanwhile.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from api.entrypoints.http.deps import PRINTABLE, ReadUowDep, RegistryDep, require
from api.entrypoints.http.fast_path import AuthorizedRoute
from api.entrypoints.http.negotiation import best_media_type
from api.entrypoints.http.problems import problems
from api.entrypoints.http.schemas.impact import IMPACT_EXAMPLES, ImpactOut, ImpactRequestBody, ReviewOut
from api.service.impact import (
    impact_document,
    impact_json,
    impact_lines,
    impact_request,
    lines_text,
    measure_impact,
)
from api.service.impact.review import REVIEW_DAYS, review_document, review_lines, review_version
from api.service.keys import Caller
from api.service.policy_diff import Line
from api.service.reports.impact import render_impact

__all__ = ["router"]

router = APIRouter(tags=["impact"], route_class=AuthorizedRoute)

Auditor = Annotated[Caller, Depends(require("impact"))]
Accept = Annotated[str | None, Header(max_length=1000, description="`text/html`: the page; `text/plain`: the text.")]
_FORMS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {"schema": {"type": "string"}}, "text/plain": {"schema": {"type": "string"}}}}
}


def _answer(accept: str | None, document: dict[str, Any], lines: list[Line] | None, html: bool) -> Response:
    forms = ("application/json", "text/html", "text/plain") if html else ("application/json", "text/plain")
    media = best_media_type(accept, forms)
    if media == "text/html":
        return HTMLResponse(render_impact(document), headers={"Vary": "Accept"})
    if media == "text/plain":
        return PlainTextResponse(lines_text(lines or impact_lines(document)), headers={"Vary": "Accept"})
    # The bytes an impact job stores as impact.json for the same request and log.
    return Response(impact_json(document), media_type="application/json", headers={"Vary": "Accept"})


@router.post("/v1/impact", response_model=ImpactOut, responses={**_FORMS, **problems(409, 422)})
def measure(
    caller: Auditor,
    uow: ReadUowDep,
    registry: RegistryDep,
    body: Annotated[ImpactRequestBody, Body(openapi_examples=IMPACT_EXAMPLES)],
    accept: Accept = None,
) -> Response:
    """Re-run the decisions version `from` logged about the days `since` … `until` (their `as_of`) under `to`.

    Each must first reproduce under `from`, byte for byte (else it is listed under `determinism`, an
    audit finding, and left out); then per kind the transitions with counts and amounts, the orders
    newly held or released, the customers whose limits change most, and sampled decisions with the
    rules that made the difference. JSON (schema `creditpolicy.impact/1`, docs/impact.md), or with
    `Accept: text/html` the page, `text/plain` the text. Writes nothing.
    """
    request = impact_request(body.model_dump(by_alias=True))
    return _answer(accept, impact_document(measure_impact(uow, registry, request)), None, html=True)


@router.get("/v1/policies/versions/{ref}/review", response_model=ReviewOut, responses={**_FORMS, **problems(404, 409)})
def review(
    caller: Auditor,
    uow: ReadUowDep,
    registry: RegistryDep,
    ref: Annotated[str, Path(max_length=100, pattern=PRINTABLE, description="A label, sha256 or 8+ hex prefix.")],
    days: Annotated[int, Query(ge=1, le=3660, description="The impact covers the decisions about these days.")] = (
        REVIEW_DAYS
    ),
    accept: Accept = None,
) -> Response:
    """What approving a version would change: its diff against the active version and the impact over the
    decisions the active version logged in the last `days` days (null when there are none). JSON (schema
    `creditpolicy.review/1`), or with `Accept: text/plain` the text `creditpolicy review` prints."""
    found = review_version(uow, registry, ref, days=days)
    return _answer(accept, review_document(found), review_lines(found), html=False)

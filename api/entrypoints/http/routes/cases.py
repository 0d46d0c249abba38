"""Credit case routes: order systems read their held orders, credit managers release or reject them."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Body, Depends, Path, Query
from fastapi.openapi.models import Example

from api.adapters.db.records import CreditCaseRecord
from api.entrypoints.http.deps import PRINTABLE, ReadUowDep, RegistryDep, SenderDep, UowDep, UowFactoryDep, require
from api.entrypoints.http.fast_path import AuthorizedRoute
from api.entrypoints.http.problems import problems
from api.entrypoints.http.schemas.cases import (
    REJECT_EXAMPLES,
    RELEASE_EXAMPLES,
    CaseOut,
    CasePageOut,
    ResolveRequest,
)
from api.service import cases, webhooks
from api.service.keys import Caller

__all__ = ["router"]

router = APIRouter(prefix="/v1/cases", tags=["credit cases"], route_class=AuthorizedRoute)

CaseReader = Annotated[Caller, Depends(require("read_cases"))]
CaseResolver = Annotated[Caller, Depends(require("resolve_case"))]
CaseId = Annotated[
    str,
    Path(
        max_length=64,
        description="The `case_id` an order decision returned in `case`.",
        openapi_examples={"case": Example(summary="A case", value="5f0c9a52-3a43-4c8e-9a38-0c1f2bba5e10")},
    ),
]


def _case(record: CreditCaseRecord) -> CaseOut:
    return CaseOut.model_validate(cases.case_to_dict(record))


@router.get("", response_model=CasePageOut, responses=problems(422))
def list_cases(
    uow: ReadUowDep,
    caller: CaseReader,
    status: Annotated[
        Literal["open", "released", "rejected"] | None,
        Query(
            description="Only cases in this status.",
            openapi_examples={"queue": Example(summary="The credit team's queue", value="open")},
        ),
    ] = None,
    customer_id: Annotated[
        str | None, Query(max_length=64, pattern=PRINTABLE, description="Only this customer's cases.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=cases.MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=500, description="`next_cursor` of the previous page.")] = None,
) -> CasePageOut:
    """Credit cases, newest first, by status and customer, a page at a time (`open` is the credit team's queue)."""
    page = cases.list_cases(uow, status=status, customer_id=customer_id, limit=limit, cursor=cursor)
    return CasePageOut(items=[_case(c) for c in page.items], next_cursor=page.next_cursor)


@router.get("/{case_id}", response_model=CaseOut, responses=problems(404))
def get_case(case_id: CaseId, uow: ReadUowDep, caller: CaseReader) -> CaseOut:
    """One credit case: order systems poll it for the outcome of a held order."""
    return _case(cases.get_case(uow, case_id))


@router.post("/{case_id}/release", response_model=CaseOut, responses=problems(404, 409, 422))
def release_case(
    case_id: CaseId,
    body: Annotated[ResolveRequest, Body(openapi_examples=RELEASE_EXAMPLES)],
    uow: UowDep,
    registry: RegistryDep,
    new_uow: UowFactoryDep,
    sender: SenderDep,
    background: BackgroundTasks,
    caller: CaseResolver,
) -> CaseOut:
    """Release an open case (role `approve`): the order is approved, and so are its re-checks within tolerance.

    The release covers re-checks of the same order (customer + order reference) up to
    `release_amount_max` until `release_until`, from the release tolerance of the policy version
    that held it; a larger amount, another currency or a later date is checked afresh. A policy
    reject (a blacklisting, say) is never overridden. `case.released` goes to the webhooks.
    """
    record = cases.release_case(uow, case_id, caller.name, body.reason or "", compile_version=registry.offline)
    background.add_task(webhooks.deliver_after_commit, new_uow, sender)
    return _case(record)


@router.post("/{case_id}/reject", response_model=CaseOut, responses=problems(404, 409, 422))
def reject_case(
    case_id: CaseId,
    body: Annotated[ResolveRequest, Body(openapi_examples=REJECT_EXAMPLES)],
    uow: UowDep,
    new_uow: UowFactoryDep,
    sender: SenderDep,
    background: BackgroundTasks,
    caller: CaseResolver,
) -> CaseOut:
    """Reject an open case (role `approve`): the order, re-submitted under any order id, stays rejected.

    A rejection is final for the order reference; the order system raises a new order if it
    wants to try again. `case.rejected` goes to the webhooks.
    """
    record = cases.reject_case(uow, case_id, caller.name, body.reason or "")
    background.add_task(webhooks.deliver_after_commit, new_uow, sender)
    return _case(record)

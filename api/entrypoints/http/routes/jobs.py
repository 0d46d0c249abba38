"""Job routes: submit a simulation or an impact run, follow any job, fetch its results, cancel it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from api.entrypoints.http.deps import PRINTABLE, ReadUowDep, UowDep, body_of, json_body, require
from api.entrypoints.http.fast_path import AuthorizedRoute
from api.entrypoints.http.forms import FORM_DATA, read_form
from api.entrypoints.http.problems import problems
from api.entrypoints.http.schemas.impact import IMPACT_EXAMPLES, ImpactRequestBody
from api.entrypoints.http.schemas.jobs import SIMULATION_BODY, JobOut, JobPageOut, SimulationRequest
from api.errors import BodyTooLarge, InvalidRequest, InvalidUpload
from api.service.jobs import queue
from api.service.jobs.kinds import JobKinds
from api.service.jobs.simulation import TABLES, upload_name
from api.service.keys import Caller

__all__ = ["router"]

router = APIRouter(tags=["jobs"], route_class=AuthorizedRoute)

Simulator = Annotated[Caller, Depends(require("simulate"))]
Auditor = Annotated[Caller, Depends(require("impact"))]
JobReader = Annotated[Caller, Depends(require("read_jobs"))]
JobId = Annotated[str, Path(max_length=64, pattern=PRINTABLE, description="The job's `id`.")]
_FIELDS = ("baseline", "candidate", "as_of", "assumptions")
# Artifacts are served from the API's origin: a report opened in a browser may fetch and run
# nothing (its own <meta> says the same; the header also covers every other artifact).
ARTIFACT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def _kinds(request: Request) -> JobKinds:
    kinds: JobKinds = request.app.state.job_kinds
    return kinds


def _job(view: queue.JobView) -> JobOut:
    return JobOut.model_validate(queue.job_to_dict(view))


def _form_request(content_type: str, raw: bytes, limit: int) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The fields and the portfolio files of a simulation sent as a form (``curl -F customers=@customers.csv``)."""
    form = read_form(content_type, raw)
    unknown = sorted(set(form) - {*_FIELDS, *TABLES})
    if unknown:
        raise InvalidUpload(f"unknown form field(s): {', '.join(unknown)} (fields: {', '.join((*_FIELDS, *TABLES))})")
    inputs = {upload_name(t, form[t].filename, form[t].content): form[t].content for t in TABLES if t in form}
    size = sum(len(content) for content in inputs.values())
    if size > limit:
        raise BodyTooLarge(
            f"the portfolio files have {size} bytes; at most {limit} are accepted", code="upload_too_large"
        )
    fields: dict[str, Any] = {name: form[name].content.decode("utf-8", "replace") for name in _FIELDS if name in form}
    if "assumptions" in fields:
        try:
            fields["assumptions"] = json.loads(fields["assumptions"])
        except ValueError:
            refused = InvalidRequest("the assumptions field is a JSON object")
            refused.errors = [{"pointer": "/assumptions", "message": refused.message, "code": "json_invalid"}]
            raise refused from None
    return body_of(SimulationRequest, fields).model_dump(mode="json", exclude_none=True), inputs


async def _simulation_request(request: Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() == FORM_DATA:
        raw = await request.body()
        limit = request.app.state.settings.job_upload_max_bytes
        return await run_in_threadpool(_form_request, content_type, raw, limit)
    body = body_of(SimulationRequest, await json_body(request))
    return body.model_dump(mode="json", exclude_none=True), {}


def _submit(
    request: Request, caller: Caller, kind: str, params: Mapping[str, Any], inputs: Mapping[str, bytes]
) -> JSONResponse:
    """Queue a job (its kind's ``prepare`` checks the request first) and answer 202 with it and its Location."""
    with request.app.state.new_uow() as uow:
        job = queue.submit_job(uow, _kinds(request), kind, caller, params, inputs)
    content = _job(queue.JobView(job, [])).model_dump(mode="json")
    return JSONResponse(content, status_code=202, headers={"Location": f"/v1/jobs/{job.id}"})


@router.post(
    "/v1/simulations",
    status_code=202,
    response_model=JobOut,
    responses=problems(404, 409, 413, 422),
    openapi_extra=SIMULATION_BODY,
)
async def submit_simulation(request: Request, caller: Simulator) -> JSONResponse:
    """Queue a simulation (role `simulate`): a candidate version against the baseline on a portfolio.

    Send JSON naming the versions and `{"portfolio": {"generate": {...}}}`, or a form with the
    portfolio's files (`-F customers=@customers.csv -F orders=@orders.csv -F invoices=@invoices.csv`).
    Everything is checked first — the versions exist, the assumptions, every problem of the files
    (each naming file, row and column) — and nothing is queued unless all is well. Answers 202 with
    the job and its `Location`; follow it at `GET /v1/jobs/{id}`, then fetch `summary.json`,
    `report.html` and the tables from its artifacts.
    """
    params, inputs = await _simulation_request(request)
    return await run_in_threadpool(_submit, request, caller, "simulation", params, inputs)


@router.post("/v1/impact/jobs", status_code=202, response_model=JobOut, responses=problems(422))
def submit_impact(
    request: Request, caller: Auditor, body: Annotated[ImpactRequestBody, Body(openapi_examples=IMPACT_EXAMPLES)]
) -> JSONResponse:
    """Queue an impact run (role `impact`): the body of `POST /v1/impact`, checked the same way (the same
    refusals; nothing queued unless all is well), both versions pinned to their sha256. Answers 202 with
    the job and its `Location`; follow it at `GET /v1/jobs/{id}`, then fetch `impact.json` (the bytes
    `POST /v1/impact` answers), `impact.html` and `impact.txt` from its artifacts.
    """
    return _submit(request, caller, "impact", body.model_dump(mode="json", by_alias=True), {})


@router.get("/v1/jobs", response_model=JobPageOut, responses=problems(422))
def list_jobs(
    request: Request,
    uow: ReadUowDep,
    caller: JobReader,
    status: Annotated[
        Literal["queued", "running", "succeeded", "failed", "cancelled"] | None,
        Query(description="Only jobs in this status."),
    ] = None,
    kind: Annotated[str | None, Query(max_length=32, pattern=PRINTABLE, description="Only jobs of this kind.")] = None,
    limit: Annotated[int, Query(ge=1, le=queue.MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=500, description="`next_cursor` of the previous page.")] = None,
) -> JobPageOut:
    """Jobs of the kinds your role may run, newest first, a page at a time."""
    page = queue.list_jobs(uow, _kinds(request), caller, status=status, kind=kind, limit=limit, cursor=cursor)
    return JobPageOut(items=[_job(queue.JobView(job, [])) for job in page.items], next_cursor=page.next_cursor)


@router.get("/v1/jobs/{job_id}", response_model=JobOut, responses=problems(404))
def get_job(request: Request, job_id: JobId, uow: ReadUowDep, caller: JobReader) -> JobOut:
    """A job: status, progress, timings, the worker running it, its error, and its artifacts once it succeeded."""
    return _job(queue.get_job(uow, _kinds(request), caller, job_id))


@router.get(
    "/v1/jobs/{job_id}/artifacts/{name}",
    responses={200: {"description": "The file, with its media type."}, **problems(404, 409)},
)
def get_artifact(
    request: Request,
    job_id: JobId,
    name: Annotated[str, Path(max_length=100, pattern=PRINTABLE, description="e.g. `summary.json`.")],
    uow: ReadUowDep,
    caller: JobReader,
) -> Response:
    """One file a job produced (`summary.json`, `report.html`, `customers.csv` …); 409 until the job succeeded."""
    artifact = queue.get_artifact(uow, _kinds(request), caller, job_id, name)
    return Response(artifact.content, media_type=artifact.media_type, headers={"Content-Security-Policy": ARTIFACT_CSP})


@router.delete("/v1/jobs/{job_id}", status_code=204, responses=problems(404, 409))
def delete_job(request: Request, job_id: JobId, uow: UowDep, caller: JobReader) -> Response:
    """Delete a finished job with its input files and artifacts; 409 while it is queued or running."""
    queue.delete_job(uow, _kinds(request), caller, job_id)
    return Response(status_code=204)


@router.post("/v1/jobs/{job_id}:cancel", response_model=JobOut, responses=problems(404, 409))
def cancel_job(request: Request, job_id: JobId, uow: UowDep, caller: JobReader) -> JobOut:
    """Cancel a queued or running job (its worker stops it within a second or so); 409 once it finished."""
    return _job(queue.cancel_job(uow, _kinds(request), caller, job_id))

"""Policy version routes: publish, read, diff, blame, and the lifecycle (approve, activate, retire)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from pydantic import ValidationError

from api.adapters.db.records import VersionRecord
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.entrypoints.http.deps import PRINTABLE, ReadUowDep, RegistryDep, UowDep, require
from api.entrypoints.http.fast_path import AuthorizedRoute
from api.entrypoints.http.forms import FORM_DATA, read_form
from api.entrypoints.http.negotiation import best_media_type
from api.entrypoints.http.problems import problems
from api.entrypoints.http.schemas.versions import (
    LIFECYCLE_EXAMPLES,
    PUBLISH_BODY,
    YAML_TYPES,
    BlameOut,
    DiffOut,
    EventsOut,
    LifecycleOut,
    LifecycleRequest,
    PublishOut,
    PublishRequest,
    VersionDetailOut,
    VersionListOut,
    event_dict,
    version_dict,
)
from api.errors import InvalidRequest
from api.service import policy_blame, policy_diff, versions
from api.service.keys import Caller
from api.service.policy_cases import cases_file_name, cases_runner
from api.service.policy_diff import Line
from api.service.reports.policy_diff import render_policy_diff

__all__ = ["router"]

router = APIRouter(prefix="/v1/policies", tags=["policies"], route_class=AuthorizedRoute)

Publisher = Annotated[Caller, Depends(require("publish"))]
Approver = Annotated[Caller, Depends(require("approve"))]
Activator = Annotated[Caller, Depends(require("activate"))]
Retirer = Annotated[Caller, Depends(require("retire"))]
VersionReader = Annotated[Caller, Depends(require("read_versions"))]
Ref = Annotated[
    str,
    Path(
        max_length=100, pattern=PRINTABLE, description="A label, a sha256, or a unique sha256 prefix of 8+ hex digits."
    ),
]
Lifecycle = Annotated[LifecycleRequest, Body(openapi_examples=LIFECYCLE_EXAMPLES)]


def _periods(uow: AbstractUnitOfWork, policy_id: str) -> dict[int, versions.InForce]:
    return {p.version.id: p for p in versions.in_force(uow, policy_id)}


def _validated(data: Any) -> PublishRequest:
    try:
        return PublishRequest.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


def _text(content: bytes, what: str) -> str:
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest(f"the {what} must be UTF-8 text", code="invalid_encoding") from None


def _form_body(content_type: str, raw: bytes) -> PublishRequest:
    """The policy file and its cases file, uploaded as a form: each keeps the name it was uploaded with."""
    form = read_form(content_type, raw)
    policy = form.get("policy")
    if policy is None:
        raise RequestValidationError([{"type": "missing", "loc": ("body", "policy"), "msg": "Field required"}])
    if not policy.filename:
        message = "upload the policy as a file, so its name is kept: -F policy=@<file>"
        raise InvalidRequest(message, code="file_required")
    cases = form.get("cases")
    return _validated(
        {
            "yaml": _text(policy.content, "policy"),
            "file": policy.filename,
            "cases_yaml": None if cases is None else _text(cases.content, "cases file"),
            "cases_file": None if cases is None else cases.filename,
        }
    )


async def publish_body(
    request: Request,
    file: Annotated[
        str | None,
        Query(max_length=500, pattern=PRINTABLE, description="With a YAML body (required there): the file's name."),
    ] = None,
) -> PublishRequest:
    """The policy to publish with its file's name: a form (``curl -F policy=@…``), JSON, or YAML with ``?file=``."""
    content_type = request.headers.get("content-type", "application/json")
    media = content_type.split(";")[0].strip().lower()
    raw = await request.body()
    if media == FORM_DATA:
        return _form_body(content_type, raw)
    if media in YAML_TYPES:
        if file is None:
            raise InvalidRequest(
                "a policy sent as YAML needs its file's name, which errors and decisions cite: "
                "?file=rules/standard.yaml (or upload it as a form: -F policy=@rules/standard.yaml)",
                code="file_required",
            )
        return _validated({"yaml": _text(raw, "policy"), "file": file})
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body", 0), "msg": "", "ctx": {"error": str(exc)}}]
        ) from None
    return _validated(data)


@router.post(
    "",
    status_code=201,
    response_model=PublishOut,
    responses={200: {"model": PublishOut, "description": "Already stored"}, **problems(409, 422)},
    openapi_extra=PUBLISH_BODY,
)
def publish_policy(
    caller: Publisher, body: Annotated[PublishRequest, Depends(publish_body)], uow: UowDep
) -> JSONResponse:
    """Publish a policy as a draft: validated, its cases run (when given), stored with its sha256.

    The file's name is required and kept: validation errors and every decision's trace cite it
    (`rules/standard.yaml:42`). Upload the file as a form, `-F policy=@rules/standard.yaml`, with
    its cases beside it, `-F cases=@rules/standard.cases.yaml`; or send JSON (`file`, `yaml`,
    `cases_yaml`), or the YAML itself with `?file=`. Refused with every problem (`errors`: code,
    severity, message, file, line, column, path) and nothing stored; the same content again returns
    the stored version (200, `created: false`). Warnings come back in `warnings`.
    """
    runner = cases_runner(body.cases_yaml, body.cases_file or cases_file_name(body.file))
    record, created = versions.publish(uow, body.yaml, body.file, caller.name, runner)
    warnings = [warning.to_dict() for warning in versions.warnings_of(record)]
    return JSONResponse(
        {**version_dict(record), "created": created, "warnings": warnings}, status_code=201 if created else 200
    )


Accept = Annotated[str | None, Header(max_length=1000, description="`text/html`: the page; `text/plain`: the text.")]


def _answer(
    accept: str | None, document: dict[str, Any], lines: Callable[[], list[Line]], html: Callable[[], str] | None = None
) -> Response:
    """The document as JSON, or as the page (when there is one) or the text when ``Accept`` prefers them."""
    forms = ("application/json", "text/html", "text/plain") if html is not None else ("application/json", "text/plain")
    media = best_media_type(accept, forms)
    if media == "text/html" and html is not None:
        return HTMLResponse(html(), headers={"Vary": "Accept"})
    if media == "text/plain":
        return PlainTextResponse("".join(f"{line.text}\n" for line in lines()), headers={"Vary": "Accept"})
    return JSONResponse(document, headers={"Vary": "Accept"})


_FORMS: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "text/html": {"schema": {"type": "string"}},
            "text/plain": {"schema": {"type": "string"}},
        }
    }
}


@router.get("/diff", response_model=DiffOut, responses={**_FORMS, **problems(404, 409, 422)})
def diff_versions(
    caller: VersionReader,
    uow: ReadUowDep,
    from_: Annotated[str, Query(alias="from", max_length=100, pattern=PRINTABLE, description="The older version.")],
    to: Annotated[str, Query(max_length=100, pattern=PRINTABLE, description="The newer version.")],
    accept: Accept = None,
) -> Response:
    """What changed between two versions, one line per change in the policy's own terms, grouped by section.

    JSON (schema `creditpolicy.policy_diff/1`, see docs/policy-diff.md), or with `Accept: text/html` a
    self-contained page an auditor can file, or with `Accept: text/plain` the text the CLI prints.
    Each version says its status, the days it is in force and who published and approved it.
    """
    report = policy_diff.diff_stored(uow, from_, to)
    document = policy_diff.diff_document(report)
    return _answer(accept, document, lambda: policy_diff.diff_lines(report), lambda: render_policy_diff(document))


@router.get("/versions/{ref}", response_model=VersionDetailOut, responses=problems(404, 409))
def get_policy_version(caller: VersionReader, ref: Ref, uow: ReadUowDep) -> dict[str, Any]:
    """One version: its metadata, the days it decides and its source text as published."""
    version = versions.get_version(uow, ref)
    return {**version_dict(version, _periods(uow, version.policy_id)), "source_text": version.source_text}


@router.get("/versions/{ref}/events", response_model=EventsOut, responses=problems(404, 409))
def get_version_events(caller: VersionReader, ref: Ref, uow: ReadUowDep) -> dict[str, Any]:
    """The lifecycle of one version: who published, approved, activated, retired it, when and why."""
    version = versions.get_version(uow, ref)
    return {"version": version_dict(version), "events": [event_dict(e) for e in versions.events(uow, version.sha256)]}


def _transition(uow: AbstractUnitOfWork, record: VersionRecord) -> dict[str, Any]:
    last = versions.events(uow, record.sha256)[-1]
    return {**version_dict(record, _periods(uow, record.policy_id)), "event": event_dict(last)}


@router.post("/versions/{ref}/approve", response_model=LifecycleOut, responses=problems(404, 409, 422))
def approve_version(caller: Approver, ref: Ref, body: Lifecycle, uow: UowDep, registry: RegistryDep) -> dict[str, Any]:
    """Approve a draft. Four eyes: not by the key that published it nor the author it names (403)."""
    return _transition(uow, versions.approve(uow, ref, caller.name, body.reason, timeline=registry))


@router.post("/versions/{ref}/activate", response_model=LifecycleOut, responses=problems(404, 409, 422))
def activate_version(
    caller: Activator, ref: Ref, body: Lifecycle, uow: UowDep, registry: RegistryDep
) -> dict[str, Any]:
    """Activate an approved version from its `effective_from`, or roll back to an earlier one."""
    return _transition(uow, versions.activate(uow, ref, caller.name, body.reason, timeline=registry))


@router.post("/versions/{ref}/retire", response_model=LifecycleOut, responses=problems(404, 409, 422))
def retire_version(caller: Retirer, ref: Ref, body: Lifecycle, uow: UowDep, registry: RegistryDep) -> dict[str, Any]:
    """Retire an approved or active version; it stays stored and can be activated again."""
    return _transition(uow, versions.retire(uow, ref, caller.name, body.reason, timeline=registry))


@router.get("/{policy_id}/blame", response_model=BlameOut, responses={**_FORMS, **problems(404, 409, 422)})
def blame_element(
    caller: VersionReader,
    uow: ReadUowDep,
    policy_id: Annotated[str, Path(max_length=100, pattern=PRINTABLE, description="A policy id (or a version).")],
    element: Annotated[
        str,
        Query(
            max_length=300,
            pattern=PRINTABLE,
            description="Named as the diff names it (`terms BBB`, `order rule over_limit`, "
            "`collection ordinary visit`) or by its path (`limits.per_grade.BB`).",
        ),
    ],
    at: Annotated[
        str | None, Query(max_length=100, pattern=PRINTABLE, description="Blame as of this version; the newest.")
    ] = None,
    accept: Accept = None,
) -> Response:
    """Which version last changed a rule, factor, grade, limit, terms or ladder step: who published and who
    approved it, when, and its change note; then every version that changed it, newest first.

    JSON (schema `creditpolicy.policy_blame/1`), or with `Accept: text/plain` the text the CLI prints.
    """
    report = policy_blame.blame(uow, policy_id, element, at)
    return _answer(accept, policy_blame.blame_document(report), lambda: policy_blame.blame_lines(report))


@router.get("/{policy_id}/versions", response_model=VersionListOut, responses=problems())
def list_policy_versions(
    caller: VersionReader, policy_id: Annotated[str, Path(max_length=64, pattern=PRINTABLE)], uow: ReadUowDep
) -> dict[str, Any]:
    """Every stored version of a policy with its status and, for active ones, the days it decides."""
    periods = _periods(uow, policy_id)
    return {
        "policy_id": policy_id,
        "versions": [version_dict(v, periods) for v in versions.list_versions(uow, policy_id)],
    }

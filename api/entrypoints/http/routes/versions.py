"""Policy version routes: publish, read, diff, and the lifecycle (approve, activate, retire)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from api.adapters.db.records import VersionRecord
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.entrypoints.http.deps import PRINTABLE, ReadUowDep, RegistryDep, UowDep, require
from api.entrypoints.http.fast_path import AuthorizedRoute
from api.entrypoints.http.forms import FORM_DATA, read_form
from api.entrypoints.http.problems import problems
from api.entrypoints.http.schemas.versions import (
    LIFECYCLE_EXAMPLES,
    PUBLISH_BODY,
    YAML_TYPES,
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
from api.service import versions
from api.service.keys import Caller
from api.service.policy_cases import cases_file_name, cases_runner
from policy.diff import diff_canonical, render_diff

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


@router.get("/diff", response_model=DiffOut, responses=problems(404, 409, 422))
def diff_versions(
    caller: VersionReader,
    uow: ReadUowDep,
    from_: Annotated[str, Query(alias="from", max_length=100, pattern=PRINTABLE, description="The older version.")],
    to: Annotated[str, Query(max_length=100, pattern=PRINTABLE, description="The newer version.")],
) -> dict[str, Any]:
    """What changed between two versions, rule by rule (reformatting is no change)."""
    old, new = versions.get_version(uow, from_), versions.get_version(uow, to)
    changes = diff_canonical(json.loads(old.canonical_json), json.loads(new.canonical_json))
    return {
        "from": version_dict(old),
        "to": version_dict(new),
        "changes": [{"path": c.path, "kind": c.kind, "old": c.old, "new": c.new} for c in changes],
        "text": render_diff(changes),
    }


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

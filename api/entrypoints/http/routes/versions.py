"""Policy version routes: publish, read, diff, and the lifecycle (approve, activate, retire)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.models import Example
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.adapters.db.records import LifecycleEventRecord, VersionRecord
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.entrypoints.http.deps import PRINTABLE, ReadUowDep, RegistryDep, UowDep, require
from api.entrypoints.http.problems import Problem
from api.errors import InvalidRequest
from api.service import policy_cases, versions
from api.service.decisions.decide import iso
from api.service.keys import Caller
from api.service.registry import PolicyRegistry
from api.service.versions import RunCases
from engine.compiler import compile_policy
from engine.errors import EngineError
from policy.diff import diff_canonical, render_diff
from policy.errors import PolicyInvalid
from policy.validate import LoadedPolicy

__all__ = ["cases_runner", "router", "version_dict"]

router = APIRouter(prefix="/v1/policies", tags=["policies"])

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
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
MAX_POLICY_BYTES = 1_000_000


# --- bodies and responses -------------------------------------------------------------------------
class PublishRequest(BaseModel):
    """A policy to publish as a draft; its test cases run first when given."""

    model_config = ConfigDict(extra="forbid")
    yaml: str = Field(min_length=1, max_length=MAX_POLICY_BYTES, description="The policy file's text.")
    file: str = Field("policy.yaml", min_length=1, max_length=500, description="Its name, for locations.")
    cases_yaml: str | None = Field(None, max_length=MAX_POLICY_BYTES, description="Its `*.cases.yaml` text.")
    cases_file: str = Field("policy.cases.yaml", min_length=1, max_length=500)


class LifecycleRequest(BaseModel):
    """Why: recorded with the actor (the caller's key name) in the version's history."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)


class InForceOut(BaseModel):
    start: dt.date
    end: dt.date | None


class VersionOut(BaseModel):
    policy_id: str
    version: str
    sha256: str
    status: str = Field(description="draft, approved, active or retired")
    effective_from: dt.date
    effective_to: dt.date | None
    author: str
    change_note: str
    created_by: str
    created_at: dt.datetime
    source_file: str
    in_force: InForceOut | None = Field(None, description="The days this version decides, when active.")


class PublishOut(VersionOut):
    created: bool = Field(description="False when the same content was already stored (nothing written).")


class VersionDetailOut(VersionOut):
    source_text: str


class EventOut(BaseModel):
    event: str
    actor: str
    reason: str
    at: dt.datetime


class LifecycleOut(VersionOut):
    event: EventOut


class VersionListOut(BaseModel):
    policy_id: str
    versions: list[VersionOut]


class EventsOut(BaseModel):
    version: VersionOut
    events: list[EventOut]


class ChangeOut(BaseModel):
    path: str
    kind: str = Field(description="added, removed or changed")
    old: Any
    new: Any


class DiffOut(BaseModel):
    from_: VersionOut = Field(alias="from")
    to: VersionOut
    changes: list[ChangeOut]
    text: str


_POLICY_EXAMPLE = "policy:\n  id: standard\n  version: '2026.2'\n  effective_from: 2026-07-01\n  ...\n"
PUBLISH_EXAMPLES = {
    "json": {"summary": "YAML in a JSON body", "value": {"yaml": _POLICY_EXAMPLE, "file": "rules/standard.yaml"}},
    "with_cases": {
        "summary": "With its test cases",
        "value": {"yaml": _POLICY_EXAMPLE, "cases_yaml": "policy: standard.yaml\ncases:\n  - ...\n"},
    },
}
LIFECYCLE_EXAMPLES = {"reason": Example(summary="Why", value={"reason": "reviewed with the credit committee"})}


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": Problem, "content": {"application/problem+json": {}}} for s in (401, 403, *statuses)}


# --- shapes ---------------------------------------------------------------------------------------
def version_dict(version: VersionRecord, periods: dict[int, versions.InForce] | None = None) -> dict[str, Any]:
    """A version's metadata as JSON."""
    period = (periods or {}).get(version.id)
    return {
        "policy_id": version.policy_id,
        "version": version.label,
        "sha256": version.sha256,
        "status": version.status,
        "effective_from": version.effective_from.isoformat(),
        "effective_to": version.effective_to.isoformat() if version.effective_to else None,
        "author": version.author,
        "change_note": version.change_note,
        "created_by": version.created_by,
        "created_at": iso(version.created_at),
        "source_file": version.source_file,
        "in_force": None
        if period is None
        else {"start": period.start.isoformat(), "end": period.end.isoformat() if period.end else None},
    }


def _periods(uow: AbstractUnitOfWork, policy_id: str) -> dict[int, versions.InForce]:
    return {p.version.id: p for p in versions.in_force(uow, policy_id)}


def _event(event: LifecycleEventRecord) -> dict[str, Any]:
    return {"event": event.event, "actor": event.actor, "reason": event.reason, "at": iso(event.at)}


def cases_runner(cases_text: str | None, cases_file: str) -> RunCases:
    """Runs a policy's cases (if any) at publish time; one message per failing case."""

    def run(loaded: LoadedPolicy) -> list[str]:
        if cases_text is None:
            return []
        try:
            report = policy_cases.run_cases_for(compile_policy(loaded), cases_text, cases_file, loaded.file)
        except PolicyInvalid as invalid:
            return [str(issue) for issue in invalid.issues]
        except EngineError as error:
            return [f"{cases_file}: {error} [{error.code}]"]
        return [f"{cases_file}:{o.line} case {o.case_id} [{o.kind}]: {'; '.join(o.mismatches)}" for o in report.failed]

    return run


async def publish_body(
    request: Request,
    file: Annotated[
        str | None, Query(max_length=500, pattern=PRINTABLE, description="With a YAML body: the file's name.")
    ] = None,
) -> PublishRequest:
    """The policy to publish: a JSON body, or the raw YAML (``Content-Type: application/yaml``, ``?file=``)."""
    media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    raw = await request.body()
    if media in YAML_TYPES:
        try:
            return PublishRequest(yaml=raw.decode("utf-8"), file=file or "policy.yaml")
        except UnicodeDecodeError:
            raise InvalidRequest("the policy must be UTF-8 text", code="invalid_encoding") from None
        except ValidationError as exc:
            raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body", 0), "msg": "", "ctx": {"error": str(exc)}}]
        ) from None
    try:
        return PublishRequest.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


_PUBLISH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/PublishRequest"},
                "examples": PUBLISH_EXAMPLES,
            },
            "application/yaml": {
                "schema": {"type": "string"},
                "examples": {"yaml": {"summary": "The policy file as is", "value": _POLICY_EXAMPLE}},
            },
        },
    }
}


# --- routes ---------------------------------------------------------------------------------------
@router.post(
    "",
    status_code=201,
    response_model=PublishOut,
    responses={200: {"model": PublishOut, "description": "Already stored"}, **_problems(409, 422)},
    openapi_extra=_PUBLISH_BODY,
)
def publish_policy(
    caller: Publisher, body: Annotated[PublishRequest, Depends(publish_body)], uow: UowDep
) -> JSONResponse:
    """Publish a policy as a draft: validated, its cases run (when given), stored with its sha256.

    Refused with every problem (`errors`: code, message, file, line, column, path) and nothing
    stored; the same content again returns the stored version (200, `created: false`).
    """
    runner = cases_runner(body.cases_yaml, body.cases_file)
    record, created = versions.publish(uow, body.yaml, body.file, caller.name, runner)
    return JSONResponse({**version_dict(record), "created": created}, status_code=201 if created else 200)


@router.get("/diff", response_model=DiffOut, responses=_problems(404, 409, 422))
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


@router.get("/versions/{ref}", response_model=VersionDetailOut, responses=_problems(404, 409))
def get_policy_version(caller: VersionReader, ref: Ref, uow: ReadUowDep) -> dict[str, Any]:
    """One version: its metadata, the days it decides and its source text as published."""
    version = versions.get_version(uow, ref)
    return {**version_dict(version, _periods(uow, version.policy_id)), "source_text": version.source_text}


@router.get("/versions/{ref}/events", response_model=EventsOut, responses=_problems(404, 409))
def get_version_events(caller: VersionReader, ref: Ref, uow: ReadUowDep) -> dict[str, Any]:
    """The lifecycle of one version: who published, approved, activated, retired it, when and why."""
    version = versions.get_version(uow, ref)
    return {"version": version_dict(version), "events": [_event(e) for e in versions.events(uow, version.sha256)]}


def _transition(uow: AbstractUnitOfWork, registry: PolicyRegistry, record: VersionRecord) -> dict[str, Any]:
    registry.forget(record.policy_id)  # decisions in this process see the change at once
    last = versions.events(uow, record.sha256)[-1]
    return {**version_dict(record, _periods(uow, record.policy_id)), "event": _event(last)}


@router.post("/versions/{ref}/approve", response_model=LifecycleOut, responses=_problems(404, 409, 422))
def approve_version(
    caller: Approver,
    ref: Ref,
    body: Annotated[LifecycleRequest, Body(openapi_examples=LIFECYCLE_EXAMPLES)],
    uow: UowDep,
    registry: RegistryDep,
) -> dict[str, Any]:
    """Approve a draft. Four eyes: not by the key that published it nor the author it names (403)."""
    return _transition(uow, registry, versions.approve(uow, ref, caller.name, body.reason))


@router.post("/versions/{ref}/activate", response_model=LifecycleOut, responses=_problems(404, 409, 422))
def activate_version(
    caller: Activator,
    ref: Ref,
    body: Annotated[LifecycleRequest, Body(openapi_examples=LIFECYCLE_EXAMPLES)],
    uow: UowDep,
    registry: RegistryDep,
) -> dict[str, Any]:
    """Activate an approved version from its `effective_from`, or roll back to an earlier one."""
    return _transition(uow, registry, versions.activate(uow, ref, caller.name, body.reason))


@router.post("/versions/{ref}/retire", response_model=LifecycleOut, responses=_problems(404, 409, 422))
def retire_version(
    caller: Retirer,
    ref: Ref,
    body: Annotated[LifecycleRequest, Body(openapi_examples=LIFECYCLE_EXAMPLES)],
    uow: UowDep,
    registry: RegistryDep,
) -> dict[str, Any]:
    """Retire an approved or active version; it stays stored and can be activated again."""
    return _transition(uow, registry, versions.retire(uow, ref, caller.name, body.reason))


@router.get("/{policy_id}/versions", response_model=VersionListOut, responses=_problems())
def list_policy_versions(
    caller: VersionReader, policy_id: Annotated[str, Path(max_length=64, pattern=PRINTABLE)], uow: ReadUowDep
) -> dict[str, Any]:
    """Every stored version of a policy with its status and, for active ones, the days it decides."""
    periods = _periods(uow, policy_id)
    return {
        "policy_id": policy_id,
        "versions": [version_dict(v, periods) for v in versions.list_versions(uow, policy_id)],
    }

"""The bodies of the policy version routes as OpenAPI documents them, and the JSON shape of a version."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.openapi.models import Example
from pydantic import BaseModel, ConfigDict, Field

from api.adapters.db.records import LifecycleEventRecord, VersionRecord
from api.service.jsontext import iso
from api.service.versions import InForce

__all__ = [
    "LIFECYCLE_EXAMPLES",
    "MAX_POLICY_BYTES",
    "PUBLISH_BODY",
    "YAML_TYPES",
    "BlameOut",
    "DiffOut",
    "EventsOut",
    "LifecycleOut",
    "LifecycleRequest",
    "PublishOut",
    "PublishRequest",
    "VersionDetailOut",
    "VersionListOut",
    "event_dict",
    "version_dict",
]

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
MAX_POLICY_BYTES = 1_000_000


# --- bodies and responses -------------------------------------------------------------------------
class PublishRequest(BaseModel):
    """A policy to publish as a draft, with its file's name; its test cases run first when given."""

    model_config = ConfigDict(extra="forbid")
    yaml: str = Field(min_length=1, max_length=MAX_POLICY_BYTES, description="The policy file's text.")
    file: str = Field(
        min_length=1,
        max_length=500,
        description="The file's name, kept with the version: errors and every decision's trace cite it "
        "(`rules/standard.yaml:42`).",
    )
    cases_yaml: str | None = Field(None, max_length=MAX_POLICY_BYTES, description="Its `*.cases.yaml` text.")
    cases_file: str | None = Field(
        None, min_length=1, max_length=500, description="The cases file's name; by default the one beside `file`."
    )


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
    warnings: list[dict[str, Any]] = Field(
        description="Validation warnings (`severity: warning`, located like errors): valid, but probably not what "
        "was meant."
    )


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


class SourceOut(BaseModel):
    file: str
    line: int
    column: int


class ChangeOut(BaseModel):
    """One change, in the policy's terms (docs/policy-diff.md)."""

    section: str = Field(description="scorecard, grades, standards, limits, terms, review, order_rules, collection")
    element: str = Field(description="What changed, as the policy names it: `terms BBB`, `order rule over_limit`.")
    aspect: str | None = Field(description='Which part of it (`weight`, `visit`); `""` its value; null: all.')
    kind: str = Field(description="added, removed or changed")
    path: str = Field(description="Where, by ids: `terms.per_grade.BBB.text`.")
    paths: list[str]
    text: str = Field(description="The change as one line: `terms BBB: 2/10, n/30 → 2/10, n/20`.")
    old: str | None
    new: str | None
    old_value: Any = Field(description="The canonical value before (numbers as strings); null when absent.")
    new_value: Any
    old_source: SourceOut | None
    new_source: SourceOut | None


class StepOut(BaseModel):
    by: str
    at: dt.datetime
    reason: str


class SideOut(BaseModel):
    """One of the two versions compared: a file or a stored version with its status and lifecycle."""

    source: str = Field(description="file or stored")
    file: str
    policy_id: str
    version: str
    sha256: str
    effective_from: dt.date
    effective_to: dt.date | None
    author: str
    change_note: str
    status: str | None
    in_force: InForceOut | None
    published: StepOut | None
    approved: StepOut | None
    events: list[EventOut]


class DiffSectionOut(BaseModel):
    section: str
    title: str
    changes: list[ChangeOut]


class DiffCountsOut(BaseModel):
    changes: int
    added: int
    removed: int
    changed: int
    metadata: int


class DiffOut(BaseModel):
    """What changed between two versions (schema `creditpolicy.policy_diff/1`)."""

    schema_: str = Field(alias="schema")
    from_: SideOut = Field(alias="from")
    to: SideOut
    identical: bool
    counts: DiffCountsOut
    metadata: list[ChangeOut]
    sections: list[DiffSectionOut]


class CurrentElementOut(BaseModel):
    element: str
    path: str
    text: str
    source: SourceOut | None


class BlameEntryOut(BaseModel):
    version: SideOut
    introduced: bool = Field(description="The first version of the walk: it introduced the element.")
    changes: list[ChangeOut]


class BlameOut(BaseModel):
    """Which version last changed an element, who published and approved it (schema `creditpolicy.policy_blame/1`)."""

    schema_: str = Field(alias="schema")
    policy_id: str
    element: str
    at: SideOut
    current: list[CurrentElementOut]
    last_changed: BlameEntryOut | None
    history: list[BlameEntryOut]


_POLICY_EXAMPLE = "policy:\n  id: standard\n  version: '2026.2'\n  effective_from: 2026-07-01\n  ...\n"
PUBLISH_EXAMPLES = {
    "json": {"summary": "YAML in a JSON body", "value": {"yaml": _POLICY_EXAMPLE, "file": "rules/standard.yaml"}},
    "with_cases": {
        "summary": "With its test cases",
        "value": {
            "yaml": _POLICY_EXAMPLE,
            "file": "rules/standard.yaml",
            "cases_yaml": "policy: standard.yaml\ncases:\n  - ...\n",
        },
    },
}
LIFECYCLE_EXAMPLES = {"reason": Example(summary="Why", value={"reason": "reviewed with the credit committee"})}


PUBLISH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/PublishRequest"},
                "examples": PUBLISH_EXAMPLES,
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["policy"],
                    "properties": {
                        "policy": {
                            "type": "string",
                            "format": "binary",
                            "description": "The policy file, uploaded with its name: `-F policy=@rules/standard.yaml`.",
                        },
                        "cases": {
                            "type": "string",
                            "format": "binary",
                            "description": "Its `*.cases.yaml`, run before anything is stored.",
                        },
                    },
                },
                "examples": {
                    "upload": {
                        "summary": "The policy file and its cases (-F policy=@standard.yaml -F cases=@…)",
                        "value": {"policy": _POLICY_EXAMPLE, "cases": "policy: standard.yaml\ncases:\n  - ...\n"},
                    }
                },
            },
            "application/yaml": {
                "schema": {"type": "string"},
                "examples": {"yaml": {"summary": "The policy file as is, named by `?file=`", "value": _POLICY_EXAMPLE}},
            },
        },
    }
}


def version_dict(version: VersionRecord, periods: dict[int, InForce] | None = None) -> dict[str, Any]:
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


def event_dict(event: LifecycleEventRecord) -> dict[str, Any]:
    return {"event": event.event, "actor": event.actor, "reason": event.reason, "at": iso(event.at)}

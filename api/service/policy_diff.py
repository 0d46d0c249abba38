"""The auditor's use case: what changed between two policy versions, as text, JSON or an HTML page.

Each side is a policy file or a stored version (a label, a sha256 or 8+ of its first hex digits,
drafts too), resolved the way ``creditpolicy simulate`` resolves ``--baseline``/``--candidate``.
A stored side carries what the store knows of it: its status, the days it is in force (the
timeline of active versions) and its lifecycle events (who published, approved and activated it,
when and why). The changes themselves come from :func:`policy.diff.diff_policies`.

The JSON document (schema ``creditpolicy.policy_diff/1``, documented in ``docs/policy-diff.md``)
is what the API answers and what the HTML page is drawn from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from api.adapters.db.records import LifecycleEventRecord, VersionRecord
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.errors import VersionUnusable
from api.service.jsontext import iso
from api.service.policy_cases import read_text
from api.service.versions import InForce, get_version, in_force
from policy.diff import Change, PolicyDiff, diff_policies
from policy.errors import PolicyInvalid
from policy.validate import LoadedPolicy, load_policy

__all__ = [
    "DIFF_SCHEMA",
    "DiffReport",
    "Line",
    "LineKind",
    "VersionSide",
    "change_dict",
    "compare",
    "diff_document",
    "diff_lines",
    "diff_stored",
    "event_line",
    "load_stored",
    "moment",
    "side_dict",
    "side_for",
    "source_note",
    "stored_side",
]

DIFF_SCHEMA = "creditpolicy.policy_diff/1"
UowFactory = Callable[[], AbstractUnitOfWork]
LineKind = Literal["title", "side", "metadata", "heading", "added", "removed", "changed", "summary"]


@dataclass(frozen=True)
class VersionSide:
    """One side of a comparison: the policy as loaded and, when stored, what the store knows of it."""

    loaded: LoadedPolicy
    record: VersionRecord | None = None  # None: a file
    events: tuple[LifecycleEventRecord, ...] = ()
    period: InForce | None = None  # the days it decides, when active

    @property
    def sha256(self) -> str:
        return self.record.sha256 if self.record is not None else self.loaded.content_hash

    @property
    def name(self) -> str:
        meta = self.loaded.policy.policy
        return f"{meta.id} {meta.version}"

    def first(self, event: str) -> LifecycleEventRecord | None:
        """The first lifecycle event of that kind (``published``, ``approved``, ``activated``)."""
        return next((e for e in self.events if e.event == event), None)


@dataclass(frozen=True)
class DiffReport:
    """Two versions and the changes from the first to the second."""

    old: VersionSide
    new: VersionSide
    diff: PolicyDiff


def load_stored(record: VersionRecord) -> LoadedPolicy:
    """A stored version's source loaded again (with its line numbers); one this code cannot load is unusable."""
    try:
        return load_policy(record.source_text, record.source_file)
    except PolicyInvalid as invalid:
        raise VersionUnusable(
            f"policy {record.policy_id} {record.label} ({record.sha256[:12]}) no longer loads: {invalid}"
        ) from None


def stored_side(uow: AbstractUnitOfWork, ref: str | VersionRecord, policy_id: str | None = None) -> VersionSide:
    """A stored version (label, sha256, prefix; drafts too) with its events and the days it is in force."""
    record = ref if isinstance(ref, VersionRecord) else get_version(uow, ref, policy_id)
    period = next((p for p in in_force(uow, record.policy_id) if p.version.id == record.id), None)
    events = tuple(uow.events.for_version(record.id))
    return VersionSide(load_stored(record), record, events, period)


def side_for(ref: str, new_uow: UowFactory | None) -> VersionSide:
    """A policy file (``x.yaml``, or any path that exists), else a stored version read through ``new_uow``."""
    path = Path(ref)
    if path.suffix in (".yaml", ".yml") or path.exists() or new_uow is None:
        return VersionSide(load_policy(read_text(path), str(path)))
    with new_uow() as uow:
        return stored_side(uow, ref)


def compare(old: VersionSide, new: VersionSide) -> DiffReport:
    """The changes from ``old`` to ``new``."""
    return DiffReport(old, new, diff_policies(old.loaded, new.loaded))


def diff_stored(uow: AbstractUnitOfWork, old_ref: str, new_ref: str) -> DiffReport:
    """The changes between two stored versions (the API's ``GET /v1/policies/diff``)."""
    return compare(stored_side(uow, old_ref), stored_side(uow, new_ref))


# --- JSON -----------------------------------------------------------------------------------


def _event_dict(event: LifecycleEventRecord | None) -> dict[str, str] | None:
    if event is None:
        return None
    return {"by": event.actor, "at": iso(event.at), "reason": event.reason}


def side_dict(side: VersionSide) -> dict[str, Any]:
    """One side as JSON: the policy's metadata, and for a stored version its status, period and events."""
    meta = side.loaded.policy.policy
    record, period = side.record, side.period
    return {
        "source": "file" if record is None else "stored",
        "file": side.loaded.file,
        "policy_id": meta.id,
        "version": meta.version,
        "sha256": side.sha256,
        "effective_from": meta.effective_from.isoformat(),
        "effective_to": meta.effective_to.isoformat() if meta.effective_to else None,
        "author": meta.author,
        "change_note": meta.change_note,
        "status": None if record is None else record.status,
        "in_force": None
        if period is None
        else {"start": period.start.isoformat(), "end": period.end.isoformat() if period.end else None},
        "published": _event_dict(side.first("published")),
        "approved": _event_dict(side.first("approved")),
        "events": [{"event": e.event, "actor": e.actor, "reason": e.reason, "at": iso(e.at)} for e in side.events],
    }


def change_dict(change: Change) -> dict[str, Any]:
    """One change as JSON."""
    return {
        "section": change.section,
        "element": change.element,
        "aspect": change.aspect,
        "kind": change.kind,
        "path": change.path,
        "paths": list(change.paths),
        "text": change.text,
        "old": change.old,
        "new": change.new,
        "old_value": change.old_value,
        "new_value": change.new_value,
        "old_source": None if change.old_source is None else change.old_source.to_dict(),
        "new_source": None if change.new_source is None else change.new_source.to_dict(),
    }


def _counts(diff: PolicyDiff) -> dict[str, int]:
    kinds = [c.kind for c in diff.changes]
    return {
        "changes": len(kinds),
        "added": kinds.count("added"),
        "removed": kinds.count("removed"),
        "changed": kinds.count("changed"),
        "metadata": len(diff.metadata),
    }


def diff_document(report: DiffReport) -> dict[str, Any]:
    """The documented JSON of a diff (schema ``creditpolicy.policy_diff/1``)."""
    diff = report.diff
    return {
        "schema": DIFF_SCHEMA,
        "from": side_dict(report.old),
        "to": side_dict(report.new),
        "identical": diff.identical,
        "counts": _counts(diff),
        "metadata": [change_dict(c) for c in diff.metadata],
        "sections": [
            {"section": key, "title": title, "changes": [change_dict(c) for c in changes]}
            for key, title, changes in diff.sections()
        ],
    }


# --- text -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One line of the text form, with its kind (the CLI colours by kind)."""

    kind: LineKind
    text: str


def moment(at: dt.datetime) -> str:
    """A lifecycle time for people: to the second, in UTC (the JSON has it in full)."""
    return f"{at.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"


def event_line(side: VersionSide) -> str:
    """Who published, approved and activated a stored version, and when: one line."""
    parts = []
    for event in ("published", "approved", "activated"):
        found = side.first(event)
        if found is not None:
            parts.append(f"{event} by {found.actor} {moment(found.at)}")
    return ", ".join(parts)


def _side_line(letter: str, side: VersionSide) -> str:
    head = f"{letter}  {side.name} ({side.sha256[:12]})  {side.loaded.file}"
    record, period = side.record, side.period
    if record is None:
        return f"{head}  (file)"
    state = record.status
    if period is not None:
        state += f", in force {period.start} … {period.end or 'open end'}"
    return f"{head}  ({state})"


def source_note(change: Change) -> str:
    """Where the change is written: ``a:105 b:107`` (a is the older side)."""
    parts = []
    if change.old_source is not None:
        parts.append(f"a:{change.old_source.line}")
    if change.new_source is not None:
        parts.append(f"b:{change.new_source.line}")
    return " ".join(parts)


def _metadata_text(change: Change) -> str:
    label = change.aspect or "policy"
    if change.kind == "changed":
        return f"{label}: {change.old} → {change.new}"
    if change.kind == "added":
        return f"{label} added: {change.new}"
    return f"{label} removed (was {change.old})"


def diff_lines(report: DiffReport) -> list[Line]:
    """The diff as text: a header (the two versions, the metadata that changed), then one line per change."""
    diff = report.diff
    lines = [Line("title", f"diff {report.old.name} → {report.new.name}")]
    for letter, side in (("a", report.old), ("b", report.new)):
        lines.append(Line("side", _side_line(letter, side)))
        events = event_line(side)
        if events:
            lines.append(Line("side", f"   {events}"))
    lines += [Line("metadata", _metadata_text(c)) for c in diff.metadata]
    if diff.identical:
        lines.append(Line("summary", "no changes: the two versions say the same thing"))
        return lines
    for _, title, changes in diff.sections():
        lines.append(Line("heading", ""))
        lines.append(Line("heading", title))
        lines += [Line(c.kind, f"  {c.text}  ({source_note(c)})") for c in changes]
    counts = _counts(diff)
    lines.append(Line("heading", ""))
    if counts["changes"]:
        lines.append(
            Line(
                "summary",
                f"{counts['changes']} change{'s' * (counts['changes'] != 1)} in {len(diff.sections())} "
                f"section{'s' * (len(diff.sections()) != 1)}: {counts['added']} added, {counts['removed']} removed, "
                f"{counts['changed']} changed",
            )
        )
    else:
        lines.append(Line("summary", "no changes to the rules; only the metadata differs"))
    return lines

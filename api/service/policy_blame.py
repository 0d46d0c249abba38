"""Blame: which version last changed a rule, factor, grade, limit, terms or ladder step, who published and
approved it, when, and why.

The element is named the way the diff names it (``order rule over_limit``, ``terms BBB``,
``factor on_time_payment``, ``collection ordinary visit``) or by its path (``limits.per_grade.BB``,
``order_rules.rules[over_limit].when``); a section's path (``terms``) names everything in it.

The walk covers the policy's versions in the order they were published, up to the version asked
about (``at``; the newest by default): every version that was ever approved, whatever its status
now, and the version asked about itself even when it is a draft. A draft that was never approved
is left out: nobody answers for it, and the version that later brought its changes through
approval is the one that made them. Consecutive versions are diffed (:mod:`policy.diff`); the
first version introduces every element. The history lists each version whose diff touches the
element, newest first; the first entry is the version that last changed it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from api.adapters.db.records import LifecycleEventRecord, VersionRecord
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.errors import ElementNotFound, PolicyNotFound, VersionNotFound
from api.service.policy_diff import (
    Line,
    VersionSide,
    change_dict,
    event_line,
    load_stored,
    moment,
    side_dict,
    source_note,
)
from api.service.versions import get_version, in_force
from policy.diff import Change, diff_policies, introduce
from policy.elements import Found, find, policy_elements

__all__ = ["BLAME_SCHEMA", "BlameEntry", "BlameReport", "blame", "blame_document", "blame_lines"]

BLAME_SCHEMA = "creditpolicy.policy_blame/1"


@dataclass(frozen=True)
class BlameEntry:
    """A version whose changes touch the element, and those changes."""

    version: VersionSide
    changes: tuple[Change, ...]
    first: bool  # the first version of the walk: it introduced what it holds


@dataclass(frozen=True)
class BlameReport:
    """The element as the version asked about has it, and every version that changed it, newest first."""

    policy_id: str
    element: str
    at: VersionSide
    current: tuple[Found, ...]
    history: tuple[BlameEntry, ...]

    @property
    def last_changed(self) -> BlameEntry | None:
        return self.history[0] if self.history else None


def _policy_versions(uow: AbstractUnitOfWork, policy: str) -> tuple[list[VersionRecord], VersionRecord | None]:
    """The versions of a policy id in publish order; a version reference names its policy, and that version."""
    records, named = uow.versions.list(policy), None
    if not records:
        try:
            named = get_version(uow, policy)
        except VersionNotFound:
            raise PolicyNotFound(f"no version of a policy {policy!r} is stored") from None
        records = uow.versions.list(named.policy_id)
    return sorted(records, key=lambda r: (r.created_at, r.id)), named


def blame(uow: AbstractUnitOfWork, policy: str, element: str, at: str | None = None) -> BlameReport:
    """Who last changed ``element`` of ``policy`` as of version ``at`` (by default the newest version, or the
    version ``policy`` names when it is a label or sha256 rather than a policy id)."""
    query = " ".join(element.split())
    records, named = _policy_versions(uow, policy)
    policy_id = records[0].policy_id
    if at is not None:
        target = get_version(uow, at, policy_id)
    else:
        target = named if named is not None else records[-1]
    events: dict[int, list[LifecycleEventRecord]] = {}
    for event in uow.events.list(policy_id):
        events.setdefault(event.version_id, []).append(event)
    chain = [
        r
        for r in records
        if r.id == target.id
        or (
            (r.created_at, r.id) < (target.created_at, target.id)
            and any(e.event == "approved" for e in events.get(r.id, []))
        )
    ]
    periods = {p.version.id: p for p in in_force(uow, policy_id)}
    sides = [VersionSide(load_stored(r), r, tuple(events.get(r.id, [])), periods.get(r.id)) for r in chain]
    history: list[BlameEntry] = []
    for index, side in enumerate(sides):
        diff = introduce(side.loaded) if index == 0 else diff_policies(sides[index - 1].loaded, side.loaded)
        touched = tuple(n for c in (*diff.metadata, *diff.changes) if c.concerns(query) for n in c.narrowed(query))
        if touched:
            history.append(BlameEntry(side, touched, index == 0))
    current = tuple(find(policy_elements(sides[-1].loaded), query))
    if not current and not history:
        raise ElementNotFound(_not_found(query, sides[-1]))
    return BlameReport(policy_id, query, sides[-1], current, tuple(reversed(history)))


def _not_found(query: str, side: VersionSide) -> str:
    names = [e.name for e in policy_elements(side.loaded)]
    close = difflib.get_close_matches(query, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(n) for n in close)}?" if close else ""
    return (
        f"no element of policy {side.name} nor of a version before it answers to {query!r} "
        f"(name it as the diff does, like 'terms BBB' or 'order rule over_limit', or by its path){hint}"
    )


# --- JSON and text --------------------------------------------------------------------------


def _entry_dict(entry: BlameEntry) -> dict[str, Any]:
    return {
        "version": side_dict(entry.version),
        "introduced": entry.first,
        "changes": [change_dict(c) for c in entry.changes],
    }


def blame_document(report: BlameReport) -> dict[str, Any]:
    """The documented JSON of a blame (schema ``creditpolicy.policy_blame/1``)."""
    last = report.last_changed
    return {
        "schema": BLAME_SCHEMA,
        "policy_id": report.policy_id,
        "element": report.element,
        "at": side_dict(report.at),
        "current": [
            {
                "element": e.name,
                "path": e.path,
                "text": e.text,
                "source": None if e.source is None else e.source.to_dict(),
            }
            for e in report.current
        ],
        "last_changed": None if last is None else _entry_dict(last),
        "history": [_entry_dict(entry) for entry in report.history],
    }


def blame_lines(report: BlameReport) -> list[Line]:
    """The blame as text: the element now, the version that last changed it (who, when, why), the history."""
    at = report.at
    lines = [Line("title", f"blame {report.element!r} in {at.name} ({at.sha256[:12]})")]
    if report.current:
        for element in report.current:
            where = f"{element.source.file}:{element.source.line}" if element.source is not None else ""
            lines.append(Line("side", f"  {element.name}: {element.text}  ({where})"))
    else:
        lines.append(Line("side", f"  not in {at.name}"))
    last = report.last_changed
    if last is not None:
        side, record = last.version, last.version.record
        lines.append(Line("heading", ""))
        state = "" if record is None else f", {record.status}"
        if side.period is not None:
            state += f", in force {side.period.start} … {side.period.end or 'open end'}"
        verb = "introduced in" if last.first else "last changed in"
        lines.append(
            Line(
                "heading",
                f"{verb} {side.name} ({side.sha256[:12]}), effective {side.loaded.policy.policy.effective_from}{state}",
            )
        )
        for event in ("published", "approved", "activated"):
            found = side.first(event)
            if found is not None:
                why = "" if event == "published" else f": {found.reason}"  # a publication's reason is the change note
                lines.append(Line("side", f"  {event} by {found.actor} {moment(found.at)}{why}"))
        lines.append(Line("side", f"  change note: {side.loaded.policy.policy.change_note}"))
        lines += [Line(c.kind, f"  {c.text}  ({source_note(c)})") for c in last.changes]
    lines.append(Line("heading", ""))
    lines.append(Line("heading", "history, newest first"))
    for entry in report.history:
        side = entry.version
        lines.append(Line("side", f"  {side.name} ({side.sha256[:12]})  {event_line(side) or 'not published'}"))
        lines += [Line(c.kind, f"    {c.text}") for c in entry.changes]
    return lines

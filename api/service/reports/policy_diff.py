"""The diff of two policy versions as a page an auditor files: self-contained, the same bytes for the same diff.

Drawn from the JSON document of the diff (:func:`api.service.policy_diff.diff_document`): first
the two versions side by side (what each is, where it came from, its status and the days it is
in force, who published and approved it, its change note), then one table per section of the
policy with one row per change, in the policy's order: the element, what happened (added,
removed, changed), before, after, and the line each version writes it on. Every text taken from
the document is a :class:`~api.service.reports.html.Datum` whose path is its place in the
document, so a test can find each change on the page and check it against the JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from api.service.reports.html import Column, Content, Datum, Markup, json_path, page, section, table, tag

__all__ = ["render_policy_diff"]

# Added, removed and changed are said in words too: the page is printed in black and white.
_STYLE = """
.kind { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 700;
  text-transform: uppercase; letter-spacing: .03em; background: var(--neutral-bg); white-space: nowrap; }
.kind.added { color: var(--good); background: var(--good-bg); }
.kind.removed { color: var(--bad); background: var(--bad-bg); }
.kind.changed { color: #8a5a00; background: #fdf3dc; }
table.changes td.old { color: var(--bad); }
table.changes td.new { color: var(--good); }
table.changes, table.versions { table-layout: fixed; }
table.changes td, table.changes th, table.versions td { overflow-wrap: break-word; }
table.versions thead th:nth-child(1) { width: 16%; }
table.changes thead th:nth-child(1) { width: 20%; }
table.changes thead th:nth-child(2) { width: 15%; }
table.changes thead th:nth-child(5) { width: 9%; }
.where { color: var(--muted); font-size: 12px; white-space: nowrap; }
"""
_KIND_WORDS = {"added": "added", "removed": "removed", "changed": "changed"}


def _text(value: object, *path: str | int) -> Datum:
    """A text of the document, marked with its place in it; an absent value reads as a dash."""
    if value is None:
        return Datum("—", json_path(*path), "empty")
    return Datum(str(value), json_path(*path), "text")


def _side_rows(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[list[Content]]:
    def period(side: Mapping[str, Any], key: str) -> Content:
        found = side.get("in_force")
        if not found:
            return "not in force" if side["source"] == "stored" else "—"
        end: Content = "open end" if found["end"] is None else _text(found["end"], key, "in_force", "end")
        return [_text(found["start"], key, "in_force", "start"), " … ", end]

    def event(side: Mapping[str, Any], key: str, name: str) -> Content:
        found = side.get(name)
        if not found:
            return "—"
        return [
            _text(found["by"], key, name, "by"),
            ", ",
            _text(found["at"], key, name, "at"),
            ": ",
            _text(found["reason"], key, name, "reason"),
        ]

    def effective(side: Mapping[str, Any], key: str) -> Content:
        return [
            _text(side["effective_from"], key, "effective_from"),
            " … ",
            _text(side["effective_to"], key, "effective_to"),
        ]

    rows: list[list[Content]] = [
        ["Policy", _text(old["policy_id"], "from", "policy_id"), _text(new["policy_id"], "to", "policy_id")],
        ["Version", _text(old["version"], "from", "version"), _text(new["version"], "to", "version")],
        [
            "sha256",
            tag("code", _text(old["sha256"], "from", "sha256")),
            tag("code", _text(new["sha256"], "to", "sha256")),
        ],
        [
            "Source",
            [_text(old["source"], "from", "source"), " ", tag("code", _text(old["file"], "from", "file"))],
            [_text(new["source"], "to", "source"), " ", tag("code", _text(new["file"], "to", "file"))],
        ],
        ["Status", _text(old["status"], "from", "status"), _text(new["status"], "to", "status")],
        ["In force", period(old, "from"), period(new, "to")],
        ["Effective", effective(old, "from"), effective(new, "to")],
        ["Author", _text(old["author"], "from", "author"), _text(new["author"], "to", "author")],
        ["Published", event(old, "from", "published"), event(new, "to", "published")],
        ["Approved", event(old, "from", "approved"), event(new, "to", "approved")],
        [
            "Change note",
            _text(old["change_note"], "from", "change_note"),
            _text(new["change_note"], "to", "change_note"),
        ],
    ]
    return rows


def _where(change: Mapping[str, Any]) -> Content:
    parts: list[Content] = []
    for letter, key in (("A", "old_source"), ("B", "new_source")):
        source = change.get(key)
        if source:
            parts.append(tag("span", f"{letter} line {source['line']}", class_="where", title=source["file"]))
    return [parts[0], tag("br"), parts[1]] if len(parts) == 2 else parts


def _change_rows(changes: Sequence[Mapping[str, Any]], *path: str | int) -> list[list[Content]]:
    rows: list[list[Content]] = []
    for index, change in enumerate(changes):
        at = (*path, index)
        what: Content = (
            change["aspect"] if change["aspect"] else ("whole element" if change["aspect"] is None else "value")
        )
        rows.append(
            [
                _text(change["element"], *at, "element"),
                [tag("span", _KIND_WORDS[change["kind"]], class_=f"kind {change['kind']}"), " ", what],
                tag("span", _text(change["old"], *at, "old"), class_="old"),
                tag("span", _text(change["new"], *at, "new"), class_="new"),
                _where(change),
            ]
        )
    return rows


_CHANGE_COLUMNS = [Column("Element"), Column("Change"), Column("Before (A)"), Column("After (B)"), Column("Where")]


def _changes_table(changes: Sequence[Mapping[str, Any]], *path: str | int) -> Markup:
    return table(_CHANGE_COLUMNS, _change_rows(changes, *path), extra_class="changes")


def _summary(document: Mapping[str, Any]) -> Content:
    counts = document["counts"]
    if document["identical"]:
        return "No changes: the two versions say the same thing (the same sha256)."
    if not counts["changes"]:
        return "No change to the rules: only the metadata differs."
    sections = len(document["sections"])
    return [
        Datum(str(counts["changes"]), json_path("counts", "changes"), "count"),
        f" change{'s' * (counts['changes'] != 1)} in {sections} section{'s' * (sections != 1)}: ",
        Datum(str(counts["added"]), json_path("counts", "added"), "count"),
        " added, ",
        Datum(str(counts["removed"]), json_path("counts", "removed"), "count"),
        " removed, ",
        Datum(str(counts["changed"]), json_path("counts", "changed"), "count"),
        " changed.",
    ]


def render_policy_diff(document: Mapping[str, Any]) -> str:
    """The page for a diff document (schema ``creditpolicy.policy_diff/1``)."""
    old, new = document["from"], document["to"]
    title = f"Policy diff: {old['policy_id']} {old['version']} → {new['policy_id']} {new['version']}"
    body: list[Content] = [
        tag("h1", title),
        tag("p", _summary(document), class_="subtitle"),
        section(
            "The versions compared",
            table(
                [Column("What"), Column("A: older"), Column("B: newer")],
                _side_rows(old, new),
                extra_class="versions",
            ),
            section_id="versions",
            intro="A is the version the changes are read from, B the version they lead to.",
        ),
    ]
    if document["metadata"]:
        body.append(
            section(
                "Metadata",
                _changes_table(document["metadata"], "metadata"),
                section_id="metadata",
                intro="What the versions say about themselves; it decides nothing.",
            )
        )
    for index, part in enumerate(document["sections"]):
        body.append(
            section(
                part["title"], _changes_table(part["changes"], "sections", index, "changes"), section_id=part["section"]
            )
        )
    body.append(
        tag(
            "footer",
            [
                "Built from the diff's JSON document (",
                Datum(str(document["schema"]), "schema", "text"),
                "). The same two versions always give the same page.",
            ],
        )
    )
    return page(title=title, body=body, style=_STYLE)

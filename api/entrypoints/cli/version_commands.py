"""CLI: `creditpolicy publish|approve|activate|retire|versions|history` — the policy version lifecycle.

Each step that changes the store acts as an API key (``--key`` or CREDITPOLICY_API_KEY) whose
role holds the step's permission, as over HTTP; the key's name is the actor recorded, so four
eyes means two keys here as there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from api.entrypoints.cli.db_commands import KeyOption, api_key, err, out, refuse, unit_of_work
from api.entrypoints.cli.impact_commands import print_review
from api.entrypoints.cli.output import FormatOption, ListingFormat, print_listing
from api.errors import InvalidRequest
from api.service import keys, policy_cases, versions
from api.service.jsontext import iso

__all__ = ["register"]


def publish_command(
    file: Path = typer.Argument(..., help="The policy YAML file."),
    key: KeyOption = None,
) -> None:
    """Validate a policy, run its cases (x.cases.yaml beside it) and store it as a draft (role author).

    The same content again is a no-op. Validation warnings are printed on stderr.
    """
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        refuse(InvalidRequest(f"{file}: cannot be read ({exc})", code="file_unreadable"))
    with unit_of_work() as uow:
        caller = keys.act_as(uow, api_key(key), "publish")
        record, created = versions.publish(uow, text, str(file), caller.name, policy_cases.run_cases_beside)
        warnings = versions.warnings_of(record) if created else []
    for warning in warnings:
        err.print(warning, markup=False)
    state = f"published as draft by {caller.name}" if created else f"already stored ({record.status}); nothing written"
    out.print(f"{record.policy_id} {record.label} sha256 {record.sha256}: {state}", markup=False)


def approve_command(
    ref: str = typer.Argument(..., help="Label, sha256 or a unique sha256 prefix (8+ hex digits)."),
    reason: str = typer.Option(..., "--reason", help="Why it may go live."),
    key: KeyOption = None,
) -> None:
    """Approve a draft version (role approve; four eyes: not the key that published it, nor its author).

    Its review comes first: the diff against the active version and the impact over the decisions of the
    last 90 days (`creditpolicy review`), so nobody approves blind."""
    with unit_of_work() as uow:
        keys.act_as(uow, api_key(key), "approve")  # a key that may not approve reads nothing
    print_review(ref)
    with unit_of_work() as uow:
        caller = keys.act_as(uow, api_key(key), "approve")
        record = versions.approve(uow, ref, caller.name, reason)
    out.print(f"{record.policy_id} {record.label} ({record.sha256[:12]}) approved by {caller.name}", markup=False)


def activate_command(
    ref: str = typer.Argument(..., help="Label, sha256 or a unique sha256 prefix (8+ hex digits)."),
    reason: str = typer.Option(..., "--reason", help="Why now."),
    key: KeyOption = None,
) -> None:
    """Activate an approved version from its effective_from, or roll back to an earlier one (role approve)."""
    with unit_of_work() as uow:
        caller = keys.act_as(uow, api_key(key), "activate")
        record = versions.activate(uow, ref, caller.name, reason)
        last = versions.events(uow, record.sha256)[-1]
    out.print(
        f"{record.policy_id} {record.label} ({record.sha256[:12]}) {last.event.replace('_', ' ')} by {caller.name}: "
        f"in force from {record.effective_from}",
        markup=False,
    )


def retire_command(
    ref: str = typer.Argument(..., help="Label, sha256 or a unique sha256 prefix (8+ hex digits)."),
    reason: str = typer.Option(..., "--reason", help="Why."),
    key: KeyOption = None,
) -> None:
    """Retire an approved or active version (role approve); it stays stored and can be activated again."""
    with unit_of_work() as uow:
        caller = keys.act_as(uow, api_key(key), "retire")
        record = versions.retire(uow, ref, caller.name, reason)
    out.print(f"{record.policy_id} {record.label} ({record.sha256[:12]}) retired by {caller.name}", markup=False)


VERSION_COLUMNS = (
    ("policy_id", "policy"),
    ("version", "version"),
    ("sha256_short", "sha256"),
    ("status", "status"),
    ("effective", "effective"),
    ("in_force_days", "in force"),
    ("author", "author"),
    ("created_by", "published by"),
)


def versions_command(
    policy: str | None = typer.Option(None, "--policy", help="Only this policy id."),
    fmt: FormatOption = ListingFormat.table,
) -> None:
    """List stored versions with their status and the days each active one decides."""
    with unit_of_work() as uow:
        records = versions.list_versions(uow, policy)
        periods = {p.version.id: p for pid in {r.policy_id for r in records} for p in versions.in_force(uow, pid)}
    rows: list[dict[str, Any]] = []
    for r in records:
        p = periods.get(r.id)
        rows.append(
            {
                "policy_id": r.policy_id,
                "version": r.label,
                "sha256": r.sha256,
                "status": r.status,
                "effective_from": r.effective_from.isoformat(),
                "effective_to": r.effective_to.isoformat() if r.effective_to else None,
                "in_force": None if p is None else {"start": p.start.isoformat(), "end": p.end and p.end.isoformat()},
                "author": r.author,
                "created_by": r.created_by,
                "created_at": iso(r.created_at),
                "source_file": r.source_file,
            }
        )
    if not rows and fmt is ListingFormat.table:
        err.print("no policy versions stored", markup=False)
        return
    if fmt is ListingFormat.table:
        for row in rows:
            row["sha256_short"] = row["sha256"][:12]
            row["effective"] = f"{row['effective_from']} … {row['effective_to'] or ''}"
            period = row["in_force"]
            row["in_force_days"] = f"{period['start']} … {period['end'] or ''}" if period else ""
    print_listing(fmt, rows, VERSION_COLUMNS)


def history_command(
    ref: str = typer.Argument(..., help="Label, sha256 or a unique sha256 prefix."),
    fmt: FormatOption = ListingFormat.table,
) -> None:
    """Show the lifecycle events of one version: who did what, when and why."""
    with unit_of_work() as uow:
        found = versions.events(uow, ref)
    rows = [{"at": iso(e.at), "event": e.event, "actor": e.actor, "reason": e.reason} for e in found]
    if fmt is ListingFormat.table:
        for row, e in zip(rows, found, strict=True):
            row["at_utc"] = f"{e.at:%Y-%m-%d %H:%M:%S}"
    print_listing(fmt, rows, (("at_utc", "at (UTC)"), ("event", "event"), ("actor", "actor"), ("reason", "reason")))


def register(app: typer.Typer) -> None:
    app.command("publish")(publish_command)
    app.command("approve")(approve_command)
    app.command("activate")(activate_command)
    app.command("retire")(retire_command)
    app.command("versions")(versions_command)
    app.command("history")(history_command)

"""CLI: `creditpolicy publish|approve|activate|retire|versions|history` — the policy version lifecycle."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from api.entrypoints.cli.db_commands import err, out, refuse, unit_of_work
from api.errors import InvalidRequest
from api.service import policy_cases, versions

__all__ = ["register"]


def publish_command(
    file: Path = typer.Argument(..., help="The policy YAML file."),
    actor: str = typer.Option(..., "--actor", help="Who publishes (recorded; cannot approve it later)."),
) -> None:
    """Validate a policy, run its cases (x.cases.yaml beside it), store it as a draft; known content is a no-op."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        refuse(InvalidRequest(f"{file}: cannot be read ({exc})", code="file_unreadable"))
    with unit_of_work() as uow:
        record, created = versions.publish(uow, text, str(file), actor, policy_cases.run_cases_beside)
    state = "published as draft" if created else f"already stored ({record.status}); nothing written"
    out.print(f"{record.policy_id} {record.label} sha256 {record.sha256}: {state}", markup=False)


def approve_command(
    ref: str = typer.Argument(..., help="Label, sha256 or a unique sha256 prefix (8+ hex digits)."),
    actor: str = typer.Option(..., "--actor", help="Who approves: not who published or wrote it."),
    reason: str = typer.Option(..., "--reason", help="Why it may go live."),
) -> None:
    """Approve a draft version (four eyes: not by its publisher or author)."""
    with unit_of_work() as uow:
        record = versions.approve(uow, ref, actor, reason)
    out.print(f"{record.policy_id} {record.label} ({record.sha256[:12]}) approved", markup=False)


def activate_command(
    ref: str = typer.Argument(..., help="Label, sha256 or a unique sha256 prefix (8+ hex digits)."),
    actor: str = typer.Option(..., "--actor", help="Who activates."),
    reason: str = typer.Option(..., "--reason", help="Why now."),
) -> None:
    """Activate an approved version from its effective_from, or roll back to an earlier one."""
    with unit_of_work() as uow:
        record = versions.activate(uow, ref, actor, reason)
        last = versions.events(uow, record.sha256)[-1]
    out.print(
        f"{record.policy_id} {record.label} ({record.sha256[:12]}) {last.event.replace('_', ' ')}: "
        f"in force from {record.effective_from}",
        markup=False,
    )


def retire_command(
    ref: str = typer.Argument(..., help="Label, sha256 or a unique sha256 prefix (8+ hex digits)."),
    actor: str = typer.Option(..., "--actor", help="Who retires it."),
    reason: str = typer.Option(..., "--reason", help="Why."),
) -> None:
    """Retire an approved or active version; it stays stored and can be activated again."""
    with unit_of_work() as uow:
        record = versions.retire(uow, ref, actor, reason)
    out.print(f"{record.policy_id} {record.label} ({record.sha256[:12]}) retired", markup=False)


def versions_command(policy: str | None = typer.Option(None, "--policy", help="Only this policy id.")) -> None:
    """List stored versions with their status and the days each active one decides."""
    with unit_of_work() as uow:
        records = versions.list_versions(uow, policy)
        periods = {p.version.id: p for pid in {r.policy_id for r in records} for p in versions.in_force(uow, pid)}
    table = Table("policy", "version", "sha256", "status", "effective", "in force", "author", "published by")
    for column in table.columns[:6]:
        column.no_wrap = True
    for r in records:
        p = periods.get(r.id)
        table.add_row(
            r.policy_id,
            r.label,
            r.sha256[:12],
            r.status,
            f"{r.effective_from} … {r.effective_to or ''}",
            f"{p.start} … {p.end or ''}" if p else "",
            r.author,
            r.created_by,
        )
    if records:
        out.print(table)
    else:
        err.print("no policy versions stored", markup=False)


def history_command(ref: str = typer.Argument(..., help="Label, sha256 or a unique sha256 prefix.")) -> None:
    """Show the lifecycle events of one version: who did what, when and why."""
    with unit_of_work() as uow:
        found = versions.events(uow, ref)
    table = Table("at (UTC)", "event", "actor", "reason")
    for e in found:
        table.add_row(f"{e.at:%Y-%m-%d %H:%M:%S}", e.event, e.actor, e.reason)
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command("publish")(publish_command)
    app.command("approve")(approve_command)
    app.command("activate")(activate_command)
    app.command("retire")(retire_command)
    app.command("versions")(versions_command)
    app.command("history")(history_command)

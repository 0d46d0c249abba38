"""CLI: `creditpolicy log` (the decision log, filtered) and `creditpolicy replay` (a logged decision again).

Both call the use cases the API calls (``decisions.query_log``, ``decisions.replay``). Output is a
Rich table (``log``) or readable lines (``replay``) on a terminal, and JSON in a pipe: one whole
log entry per line, or the replay document the API returns; ``--format`` chooses either way.
"""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.table import Table

from api.entrypoints.cli.db_commands import out, unit_of_work
from api.entrypoints.cli.output import print_table
from api.entrypoints.cli.params import iso_day, iso_moment
from api.service import decisions
from api.service.registry import PolicyRegistry
from engine.decide import DECISION_KINDS

__all__ = ["register"]

_PAGE = 500  # the most the log hands out at once; --all follows the cursor page by page


def _format(chosen: str | None, terminal: str) -> str:
    return chosen or (terminal if out.is_terminal else "json")


def _table(items: list[dict[str, Any]]) -> Table:
    table = Table("decided (UTC)", "kind", "customer", "order", "as of", "outcome", "version", "request", "decision")
    for column in table.columns:
        column.no_wrap = True
    for item in items:
        table.add_row(
            item["created_at"].replace("T", " ")[:19],
            item["kind"],
            item["customer_id"] or "",
            item["order_id"] or "",
            item["as_of"] or "",
            item["outcome"],
            f"{item['policy']['version']} ({item['policy']['sha256'][:8]})",
            item["request_id"] or "",
            item["decision_id"],
        )
    return table


def log_command(
    customer: str | None = typer.Option(None, "--customer", help="The customer's id."),
    order: str | None = typer.Option(None, "--order", help="The order's id (order decisions)."),
    request: str | None = typer.Option(None, "--request", help="The request_id the caller sent."),
    kind: str | None = typer.Option(None, "--kind", help=f"One of: {', '.join(DECISION_KINDS)}."),
    outcome: str | None = typer.Option(None, "--outcome", help="e.g. hold, BBB, overdue, visit."),
    version: str | None = typer.Option(None, "--version", help="Label, sha256 or a unique sha256 prefix."),
    since: str | None = typer.Option(None, "--since", help="Decided at or after this ISO time (UTC if no offset)."),
    until: str | None = typer.Option(None, "--until", help="Decided before this ISO time."),
    as_of_from: str | None = typer.Option(None, "--as-of-from", help="About this day or later (the request's as_of)."),
    as_of_to: str | None = typer.Option(None, "--as-of-to", help="About this day or earlier."),
    limit: int = typer.Option(50, "--limit", min=1, max=_PAGE, help="Entries per page."),
    cursor: str | None = typer.Option(None, "--cursor", help="Continue where a page ended (printed after it)."),
    every: bool = typer.Option(False, "--all", help="Every matching entry, following the pages to the end."),
    output: str | None = typer.Option(
        None, "--format", help="table or json (one whole entry per line); table on a terminal, json in a pipe."
    ),
) -> None:
    """The decision log, newest first, filtered as the API's GET /v1/decisions is; exit 1 on a refused filter."""
    if output not in (None, "table", "json"):
        raise typer.BadParameter("table or json", param_hint="--format")
    if kind is not None and kind not in DECISION_KINDS:
        raise typer.BadParameter(f"one of {', '.join(DECISION_KINDS)}", param_hint="--kind")
    filters: dict[str, Any] = {
        "customer_id": customer,
        "order_id": order,
        "request_id": request,
        "kind": kind,
        "outcome": outcome,
        "policy_version": version,
        "since": iso_moment(since, "--since"),
        "until": iso_moment(until, "--until"),
        "as_of_from": iso_day(as_of_from, "--as-of-from"),
        "as_of_to": iso_day(as_of_to, "--as-of-to"),
    }
    items: list[dict[str, Any]] = []
    with unit_of_work() as uow:
        while True:
            page = decisions.query_log(uow, **filters, limit=_PAGE if every else limit, cursor=cursor)
            items += page.items
            cursor = page.next_cursor
            if not every or cursor is None:
                break
    if _format(output, "table") == "json":
        for item in items:
            typer.echo(json.dumps(item, ensure_ascii=False))
    else:
        print_table(_table(items))  # whole rows in a pipe too
    if cursor is not None:
        typer.echo(f"more: --cursor {cursor}", err=True)


def _named(ref: dict[str, str]) -> str:
    return f"{ref['id']} {ref['version']} ({ref['sha256'][:12]})"


def _replay_lines(replayed: decisions.ReplayResponse) -> list[str]:
    """A replay as an auditor reads it: under which versions, and what differs, one part a line."""
    own = " (its own version)" if replayed.same_version else ""
    lines = [
        f"decision {replayed.decision_id} ({replayed.kind}), logged under {_named(replayed.logged_under)}",
        f"replayed under {_named(replayed.replayed_under)}{own}",
    ]
    found = replayed.differences
    if replayed.error is not None:
        lines.append(f"refused by that version: {replayed.error['message']} [{replayed.error['code']}]")
    elif replayed.matches:
        lines.append("identical" if replayed.same_version else "no differences")
    elif not found:
        lines.append("differs byte for byte, though no part compared differs")
    else:
        lines.append(f"{len(found)} difference{'s' * (len(found) != 1)}:")
        lines += [f"  {difference.text()}" for difference in found]
    return lines


def replay_command(
    decision_id: str = typer.Argument(..., help="The decision_id a decision returned."),
    against: str | None = typer.Option(None, "--against", help="Another version: label, sha256 or prefix."),
    output: str | None = typer.Option(
        None, "--format", help="text or json (the API's replay document); text on a terminal, json in a pipe."
    ),
) -> None:
    """Evaluate a logged decision again, under its own version or --against another; writes nothing.

    Exit 0 when it matches (its own version: identical; another: no differences), 1 when it does not
    or the replay is refused, 2 on bad arguments.
    """
    if output not in (None, "text", "json"):
        raise typer.BadParameter("text or json", param_hint="--format")
    with unit_of_work() as uow:
        replayed = decisions.replay(uow, PolicyRegistry(), decision_id, against)
    if _format(output, "text") == "json":
        typer.echo(json.dumps(replayed.content(), ensure_ascii=False, indent=2))
    else:
        for line in _replay_lines(replayed):
            out.print(line, markup=False)
    raise typer.Exit(0 if replayed.matches else 1)


def register(app: typer.Typer) -> None:
    app.command("log")(log_command)
    app.command("replay")(replay_command)

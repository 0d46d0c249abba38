"""CLI: `creditpolicy shadow start|end|status|report` — a challenger run in shadow beside the active version.

``start`` and ``end`` act as an API key whose role may name challengers (approve), as
``PUT``/``DELETE /v1/policies/{policy_id}/challenger`` do; ``status`` and ``report`` read the store,
calling the same use cases as ``GET /v1/policies/{policy_id}/challenger`` and ``GET /v1/shadow/report``.
"""

from __future__ import annotations

import json
from enum import StrEnum

import typer

from api.entrypoints.cli.db_commands import KeyOption, api_key, err, out, unit_of_work
from api.entrypoints.cli.output import command_group
from api.entrypoints.cli.params import iso_moment
from api.service import keys, shadow, shadow_report
from api.service.registry import DEFAULT_POLICY_ID

__all__ = ["register"]

PolicyOption = typer.Option(DEFAULT_POLICY_ID, "--policy", help="The policy's id.")


class ReportFormat(StrEnum):
    text = "text"
    json = "json"


def _state_line(state: shadow.ChallengerState) -> str:
    c = state.content()
    return (
        f"{c['policy_id']}: challenger {c['challenger']['version']} ({c['challenger']['sha256'][:12]}, "
        f"{c['challenger']['status']}) beside {c['champion']['version']} ({c['champion']['sha256'][:12]}) "
        f"on {c['share']} % of customers, named by {c['named_by']} at {c['named_at']}: {c['reason']}"
    )


def start_command(
    version: str = typer.Argument(..., help="The challenger: a draft or approved version (label, sha256, prefix)."),
    share: str = typer.Option(..., "--share", help="Percent of the customers shadowed (0 < share <= 100)."),
    reason: str = typer.Option(..., "--reason", help="Why it is compared."),
    policy: str = PolicyOption,
    key: KeyOption = None,
) -> None:
    """Name a challenger for the active version (role approve; four eyes: not its publisher nor its author)."""
    with unit_of_work() as uow:
        caller = keys.act_as(uow, api_key(key), "name_challenger")
        state = shadow.name_challenger(uow, policy, version, share, caller.name, reason)
    out.print(_state_line(state), markup=False)


def end_command(
    reason: str = typer.Option(..., "--reason", help="Why it ends."),
    policy: str = PolicyOption,
    key: KeyOption = None,
) -> None:
    """End the policy's shadow (role approve); what it recorded stays for the report."""
    with unit_of_work() as uow:
        caller = keys.act_as(uow, api_key(key), "name_challenger")
        state = shadow.end_challenger(uow, policy, caller.name, reason)
    out.print(f"{policy}: challenger {state.challenger.label} ended by {caller.name}", markup=False)


def status_command(fmt: ReportFormat = typer.Option(ReportFormat.text, "--format", help="text or json.")) -> None:
    """The challengers in shadow, one per policy."""
    with unit_of_work() as uow:
        states = shadow.list_challengers(uow)
    if fmt is ReportFormat.json:
        typer.echo(json.dumps([s.content() for s in states], indent=2, ensure_ascii=False))
        return
    if not states:
        err.print("no challenger in shadow", markup=False)
    for state in states:
        out.print(_state_line(state), markup=False)


def report_command(
    policy: str | None = typer.Option(None, "--policy", help="Only this policy."),
    since: str | None = typer.Option(None, "--since", help="Decided at or after this ISO time (UTC if no offset)."),
    until: str | None = typer.Option(None, "--until", help="Decided before this ISO time."),
    kind: str | None = typer.Option(None, "--kind", help="assess, order, settlement or collection."),
    fmt: ReportFormat = typer.Option(ReportFormat.text, "--format", help="text or json (the API's document)."),
) -> None:
    """Agreement, transitions champion → challenger (counts, amounts, limits), errors and samples, per kind."""
    with unit_of_work() as uow:
        report = shadow_report.shadow_report(
            uow, policy_id=policy, since=iso_moment(since, "--since"), until=iso_moment(until, "--until"), kind=kind
        )
    if fmt is ReportFormat.json:
        typer.echo(json.dumps(report.content(), indent=2, ensure_ascii=False))
        return
    for line in shadow_report.report_lines(report):
        out.print(line, markup=False, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    group = command_group("Champion–challenger: a challenger run in shadow beside the active version.")
    group.command("start")(start_command)
    group.command("end")(end_command)
    group.command("status")(status_command)
    group.command("report")(report_command)
    app.add_typer(group, name="shadow")

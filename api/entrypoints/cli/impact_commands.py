"""CLI: `creditpolicy impact` and `creditpolicy review` — what a version would change on the decisions logged."""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from pathlib import Path

import typer
from rich.text import Text

from api.entrypoints.cli.audit_commands import _STYLES
from api.entrypoints.cli.db_commands import err, out, unit_of_work
from api.entrypoints.cli.progress import progress_bar
from api.errors import ServiceError
from api.service.impact import impact_document, impact_lines, impact_request, measure_impact
from api.service.impact.review import REVIEW_DAYS, review_document, review_lines, review_version
from api.service.policy_cases import read_text
from api.service.policy_diff import Line
from api.service.registry import PolicyRegistry
from api.service.reports.impact import render_impact
from engine.errors import EngineError

__all__ = ["print_review", "register"]


class ImpactFormat(StrEnum):
    text = "text"
    json = "json"
    html = "html"


def _print_lines(lines: list[Line]) -> None:
    for line in lines:
        out.print(Text(line.text, style=_STYLES[line.kind]))


def _day(value: dt.datetime | None) -> dt.date | None:
    return None if value is None else value.date()


def _candidate(ref: str) -> tuple[str | None, str | None, str | None]:
    """(stored reference, policy text, file): a policy file (``x.yaml``, or a path that exists), else stored."""
    path = Path(ref)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return None, read_text(path), str(path)
    return ref, None, None


def impact_command(
    from_: str = typer.Option(..., "--from", help="The version that decided: a stored label, sha256 or prefix."),
    to: str = typer.Option(..., "--to", help="The version to try: stored (drafts too), or a policy file."),
    since: dt.datetime | None = typer.Option(None, "--since", formats=["%Y-%m-%d"], help="First day (as_of)."),
    until: dt.datetime | None = typer.Option(None, "--until", formats=["%Y-%m-%d"], help="Last day (as_of)."),
    kind: str | None = typer.Option(None, "--kind", help="Only this kind: assess, order, settlement, collection."),
    output: ImpactFormat = typer.Option(ImpactFormat.text, "--format", help="text, json or html (a page to file)."),
    sample: int = typer.Option(3, "--sample", help="Decisions explained per transition (0 to 50)."),
    top: int = typer.Option(10, "--top", help="Rows in each list of largest changes (1 to 100)."),
) -> None:
    """Re-run the decisions a version logged (about the days --since … --until) under another version: first
    each must reproduce under its own version, byte for byte (else it is listed as an audit finding), then the
    transitions per kind with counts and amounts, the orders newly held or released, the customers whose limits
    change most, and sampled decisions with the rules that made the difference. Writes nothing.
    Exit 0 done, 1 refused (unknown version, bad range or kind), 2 the policy file cannot be read."""
    try:
        to_ref, to_text, to_file = _candidate(to)
    except ServiceError as error:
        err.print(f"error: {error.message}", markup=False)
        raise typer.Exit(2) from None
    fields = {"from": from_, "to": to_ref, "since": _day(since), "until": _day(until), "kind": kind, "top": top}
    with unit_of_work() as uow, progress_bar(err, "impact") as report:
        try:
            request = impact_request({**fields, "sample": sample}, to_text=to_text, to_file=to_file)
            measured = measure_impact(
                uow, PolicyRegistry(), request, lambda done, total: report("decisions", done, total)
            )
        except EngineError as error:
            err.print(f"error: {error.message} [{error.code}]", markup=False)
            raise typer.Exit(1) from None
    document = impact_document(measured)
    if output is ImpactFormat.json:
        typer.echo(json.dumps(document, ensure_ascii=False, indent=2))
    elif output is ImpactFormat.html:
        typer.echo(render_impact(document), nl=False)
    else:
        _print_lines(impact_lines(document))


def print_review(ref: str, days: int = REVIEW_DAYS) -> None:
    """Print the review of a version (its diff against the active version and its impact), on stdout."""
    with unit_of_work() as uow, progress_bar(err, "review") as report:
        review = review_version(
            uow, PolicyRegistry(), ref, days=days, progress=lambda done, total: report("impact", done, total)
        )
    _print_lines(review_lines(review))


def review_command(
    ref: str = typer.Argument(..., help="Label, sha256 or a unique sha256 prefix (8+ hex digits)."),
    days: int = typer.Option(REVIEW_DAYS, "--days", help="The impact covers the decisions about these last days."),
    output: ImpactFormat = typer.Option(ImpactFormat.text, "--format", help="text or json."),
) -> None:
    """What approving a version would change: its diff against the active version, and the impact over the
    decisions the active version logged in the last --days days (the approver's reading; writes nothing)."""
    if output is ImpactFormat.json:
        with unit_of_work() as uow:
            review = review_version(uow, PolicyRegistry(), ref, days=days)
        typer.echo(json.dumps(review_document(review), ensure_ascii=False, indent=2))
        return
    print_review(ref, days)


def register(app: typer.Typer) -> None:
    app.command("impact")(impact_command)
    app.command("review")(review_command)

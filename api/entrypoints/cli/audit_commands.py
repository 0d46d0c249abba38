"""CLI: `creditpolicy diff` and `creditpolicy blame` — what changed between versions, and who changed it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

import typer
from rich.text import Text

from api.adapters.db.engine import create_db_engine
from api.adapters.db.migrate import check_database
from api.adapters.db.unit_of_work import UnitOfWork
from api.entrypoints.cli.db_commands import err, out, unit_of_work
from api.errors import ServiceError
from api.service import policy_blame, policy_diff
from api.service.policy_diff import Line, LineKind, UowFactory
from api.service.reports.policy_diff import render_policy_diff
from api.settings import get_settings
from policy.errors import PolicyInvalid

__all__ = ["register"]

# Colours on a terminal only: rich writes plain text into a pipe or a file (and when NO_COLOR is set).
_STYLES: dict[LineKind, str] = {
    "title": "bold",
    "side": "dim",
    "metadata": "cyan",
    "heading": "bold",
    "added": "green",
    "removed": "red",
    "changed": "yellow",
    "summary": "bold",
}


class DiffFormat(StrEnum):
    text = "text"
    json = "json"
    html = "html"


class BlameFormat(StrEnum):
    text = "text"
    json = "json"


def _print_lines(lines: list[Line]) -> None:
    for line in lines:
        out.print(Text(line.text, style=_STYLES[line.kind]))


def _print_json(document: object) -> None:
    typer.echo(json.dumps(document, ensure_ascii=False, indent=2))


@contextmanager
def _store(needed: bool) -> Iterator[UowFactory | None]:
    """Units of work on the configured database, for versions named by label or sha256 (None: files only)."""
    if not needed:
        yield None
        return
    engine = create_db_engine(get_settings().database_url)
    try:
        check_database(engine)
        yield lambda: UnitOfWork(engine)
    finally:
        engine.dispose()


def _is_file(ref: str) -> bool:
    return Path(ref).suffix in (".yaml", ".yml") or Path(ref).exists()


def diff_command(
    old: str = typer.Argument(..., help="The older version: a policy file, or a stored label or sha256."),
    new: str = typer.Argument(..., help="The newer version: a policy file, or a stored label or sha256."),
    output: DiffFormat = typer.Option(DiffFormat.text, "--format", help="text, json or html (a page to file)."),
    exit_code: bool = typer.Option(False, "--exit-code", help="Exit 1 when the versions differ (like git diff)."),
) -> None:
    """What changed between two policy versions, one line per change in the policy's own terms, grouped by
    section, with the line each version writes it on. Exit 0 (with --exit-code: 0 identical, 1 different),
    2 when a version cannot be read, found or loaded."""
    try:
        with _store(not (_is_file(old) and _is_file(new))) as store:
            report = policy_diff.compare(policy_diff.side_for(old, store), policy_diff.side_for(new, store))
    except PolicyInvalid as error:
        err.print(str(error), markup=False)
        raise typer.Exit(2) from None
    except ServiceError as error:
        for line in error.lines():
            err.print(f"error: {line}", markup=False)
        raise typer.Exit(2) from None
    if output is DiffFormat.json:
        _print_json(policy_diff.diff_document(report))
    elif output is DiffFormat.html:
        typer.echo(render_policy_diff(policy_diff.diff_document(report)), nl=False)
    else:
        _print_lines(policy_diff.diff_lines(report))
    if exit_code and not report.diff.identical:
        raise typer.Exit(1)


def blame_command(
    policy: str = typer.Argument(..., help="The policy id (or one of its versions: a label or sha256)."),
    element: str = typer.Argument(
        ...,
        help="As the diff names it ('terms BBB', 'order rule over_limit', 'collection ordinary visit') or its path "
        "('limits.per_grade.BB').",
    ),
    at: str | None = typer.Option(None, "--at", help="Blame as of this version (default: the newest)."),
    output: BlameFormat = typer.Option(BlameFormat.text, "--format", help="text or json."),
) -> None:
    """Which stored version last changed a rule, factor, grade, limit, terms or ladder step: who published and
    who approved it, when, and its change note; then every version that changed it. Exit 0 found, 1 not found."""
    with unit_of_work() as uow:
        report = policy_blame.blame(uow, policy, element, at)
    if output is BlameFormat.json:
        _print_json(policy_blame.blame_document(report))
    else:
        _print_lines(policy_blame.blame_lines(report))


def register(app: typer.Typer) -> None:
    app.command("diff")(diff_command)
    app.command("blame")(blame_command)

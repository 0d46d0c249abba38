"""What every command prints through: the consoles, plain help, and listings as tables or JSON.

Help texts are read as Markdown (:data:`HELP_MARKUP`), never as Rich markup, which would take a
code in brackets, ``[limit_pct_range]``, for a style and drop it. A listing prints a table for people —
at a terminal as wide as the terminal, in a pipe as wide as its rows, so no row is cut or
wrapped at 80 columns — or, with ``--format json``, every field of every row for scripts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

__all__ = [
    "HELP_MARKUP",
    "FormatOption",
    "ListingFormat",
    "command_group",
    "err",
    "out",
    "print_listing",
    "print_table",
    "text_row",
]

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


HELP_MARKUP: Literal["markdown"] = "markdown"


def command_group(help: str) -> typer.Typer:
    """A group of commands (``keys``, ``db``, …) with help read as the main app reads it."""
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=HELP_MARKUP)


class ListingFormat(StrEnum):
    """How a listing is printed."""

    table = "table"
    json = "json"


FormatOption = Annotated[
    ListingFormat,
    typer.Option("--format", help="table: for people, whole rows even in a pipe; json: every field, for scripts."),
]


def text_row(*values: object) -> list[Text]:
    """Table cells shown as they are (None as empty): a value is never read as Rich markup."""
    return [Text("" if value is None else str(value)) for value in values]


def print_table(table: Table) -> None:
    """A table at the terminal's width; in a pipe (or a file) as wide as its widest row, so nothing is cut."""
    if out.is_terminal:
        out.print(table)
        return
    widest = Measurement.get(out, out.options.update_width(1_000_000), table).maximum
    # Console.print never goes wider than its console: a console of the table's width prints it.
    Console(file=out.file, width=max(widest, 1), highlight=False).print(table)


def print_listing(
    fmt: ListingFormat, rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]], title: str | None = None
) -> None:
    """Rows as a table of ``columns`` ((key, heading) pairs), or, as JSON, every field of every row."""
    if fmt is ListingFormat.json:
        typer.echo(json.dumps(list(rows), indent=2, ensure_ascii=False, default=str))
        return
    table = Table(*(heading for _, heading in columns), title=title)
    for row in rows:
        table.add_row(*text_row(*(row.get(key) for key, _ in columns)))
    print_table(table)

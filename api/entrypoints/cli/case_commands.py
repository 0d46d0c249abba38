"""CLI: `creditpolicy cases` — the credit cases of held orders, newest first (reading; nothing changes)."""

from __future__ import annotations

import typer

from api.entrypoints.cli.db_commands import unit_of_work
from api.entrypoints.cli.output import FormatOption, ListingFormat, err, print_listing
from api.service import cases

__all__ = ["register"]

CASE_COLUMNS = (
    ("case_id", "case"),
    ("customer_id", "customer"),
    ("order_ref", "order"),
    ("order_amount", "amount"),
    ("currency", "currency"),
    ("status", "status"),
    ("opened_at", "opened (UTC)"),
    ("resolved_by", "resolved by"),
    ("reason", "reason"),
)


def cases_command(
    status: str | None = typer.Option(None, "--status", help="Only cases in this status: open, released, rejected."),
    customer: str | None = typer.Option(None, "--customer", help="Only this customer's cases."),
    limit: int = typer.Option(50, "--limit", min=1, max=cases.MAX_PAGE, help="At most this many, newest first."),
    fmt: FormatOption = ListingFormat.table,
) -> None:
    """List credit cases (the holds of order decisions), newest first: `--status open` is the credit team's queue."""
    with unit_of_work() as uow:
        page = cases.list_cases(uow, status=status, customer_id=customer, limit=limit)
    if not page.items and fmt is ListingFormat.table:
        err.print("no credit cases", markup=False)
        return
    print_listing(fmt, [cases.case_to_dict(case) for case in page.items], CASE_COLUMNS)


def register(app: typer.Typer) -> None:
    app.command("cases")(cases_command)

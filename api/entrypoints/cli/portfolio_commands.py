"""CLI: `creditpolicy portfolio generate` — a realistic synthetic portfolio for simulations."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from api.entrypoints.cli.output import command_group, err, out
from api.entrypoints.cli.progress import progress_bar
from engine.portfolio import generate_portfolio

__all__ = ["register"]


def generate_command(
    customers: int = typer.Option(..., "--customers", min=1, max=10_000_000, help="How many customers."),
    invoices: int = typer.Option(..., "--invoices", min=0, max=100_000_000, help="How many invoices, exactly."),
    years: int = typer.Option(3, "--years", min=1, max=30, help="Years of order history before the end date."),
    seed: int = typer.Option(1, "--seed", min=0, help="The same seed gives byte-identical files."),
    out_dir: Path = typer.Option(..., "--out", help="The folder to write (created if needed)."),
    file_format: str = typer.Option("parquet", "--format", help="parquet or csv."),
) -> None:
    """Write a synthetic portfolio (customers, orders, invoices): latent risk drives financials, delays,
    defaults and write-offs; sales are concentrated. See docs/portfolio.md."""
    if file_format not in ("parquet", "csv"):
        err.print(f"error: --format must be parquet or csv, not {file_format!r}", markup=False)
        raise typer.Exit(2)
    chosen: Literal["parquet", "csv"] = "parquet" if file_format == "parquet" else "csv"
    try:
        with progress_bar(err, "generating") as report:
            written = generate_portfolio(
                customers=customers,
                invoices=invoices,
                years=years,
                seed=seed,
                out=out_dir,
                format=chosen,
                progress=report,
            )
    except (FileExistsError, OSError) as error:
        err.print(f"error: {error}", markup=False)
        raise typer.Exit(2) from None
    out.print(
        f"{written.folder}: {written.customers} customers, {written.orders} orders, {written.invoices} invoices "
        f"({chosen})",
        markup=False,
    )


def register(app: typer.Typer) -> None:
    group = command_group("Portfolios for simulations: generate a synthetic one.")
    group.command("generate")(generate_command)
    app.add_typer(group, name="portfolio")

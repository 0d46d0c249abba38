"""CLI: `creditpolicy simulate` — a candidate policy against the baseline on a portfolio, with its report."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import typer

from api.adapters.db.engine import create_db_engine
from api.adapters.db.migrate import check_database
from api.adapters.db.unit_of_work import UnitOfWork
from api.entrypoints.cli.output import err, out
from api.entrypoints.cli.progress import progress_bar
from api.errors import InputFileError, ServiceError
from api.service.simulation import UowFactory, policy_to_simulate, simulate_portfolio
from api.settings import get_settings
from engine.errors import AssumptionsInvalid, CompileError, EngineError, PortfolioInvalid
from engine.simulation.summary import Headline, Summary
from policy.errors import PolicyInvalid

__all__ = ["register"]


def _store() -> UowFactory:
    """Units of work on the configured database, for versions named by label or sha256."""
    engine = create_db_engine(get_settings().database_url)
    check_database(engine)
    return lambda: UnitOfWork(engine)


def _is_file(ref: str) -> bool:
    return Path(ref).suffix in (".yaml", ".yml") or Path(ref).exists()


def _figure(value: Decimal, unit: str) -> str:
    if unit == "money":
        return f"{value:,.2f}"
    if unit == "count":
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _line(headline: Headline) -> str:
    sign = "+" if headline.change > 0 else ""
    before, after = _figure(headline.baseline, headline.unit), _figure(headline.candidate, headline.unit)
    return f"  {headline.label}: {before} → {after} ({sign}{_figure(headline.change, headline.unit)})"


def _report(summary: Summary) -> list[str]:
    marginal = summary.marginal
    a, b = summary.baseline.policy, summary.candidate.policy
    return [
        f"{summary.portfolio.customers:,} customers, {summary.portfolio.orders:,} orders, "
        f"{summary.portfolio.invoices:,} invoices, as of {summary.as_of}",
        f"baseline {a.id} {a.version} ({a.sha256[:12]})  →  candidate {b.id} {b.version} ({b.sha256[:12]})",
        *(_line(headline) for headline in summary.headline),
        f"  marginal revenue {marginal.margin_change:,.2f} against marginal cost {marginal.marginal_cost:,.2f}: "
        f"net {marginal.net_benefit:,.2f} → {marginal.verdict}",
    ]


def simulate_command(
    baseline: str = typer.Option(..., "--baseline", help="The current policy: a file, or a stored label or sha256."),
    candidate: str = typer.Option(..., "--candidate", help="The policy to try: a file, or a stored label or sha256."),
    portfolio: Path = typer.Option(..., "--portfolio", help="The portfolio folder (see docs/portfolio.md)."),
    out_dir: Path = typer.Option(..., "--out", help="Where to write report.html, summary.json and the tables."),
    as_of: dt.datetime | None = typer.Option(
        None, "--as-of", formats=["%Y-%m-%d"], help="The day simulated; the portfolio's last date by default."
    ),
    assumptions: Path | None = typer.Option(
        None, "--assumptions", help="The economics of the marginal analysis (YAML; see docs/simulation.md)."
    ),
) -> None:
    """Simulate a candidate policy against the baseline on a portfolio: grades, limits, the order history
    re-decided, terms, risk, collection, core customers and the marginal analysis, in a report.
    Exit 0 done, 1 invalid policy, portfolio or assumptions, 2 usage."""
    try:
        store = None if all(_is_file(ref) for ref in (baseline, candidate)) else _store()
        versions = [policy_to_simulate(ref, store) for ref in (baseline, candidate)]
        with progress_bar(err, "simulating") as report:
            summary, files = simulate_portfolio(
                versions[0],
                versions[1],
                portfolio,
                out=out_dir,
                as_of=as_of.date() if as_of else None,
                assumptions_file=assumptions,
                progress=report,
            )
    except InputFileError as error:
        err.print(f"error: {error.message}", markup=False)
        raise typer.Exit(2) from None
    except (PolicyInvalid, CompileError, PortfolioInvalid, AssumptionsInvalid) as error:
        err.print(str(error), markup=False)
        raise typer.Exit(1) from None
    except (ServiceError, EngineError) as error:
        err.print(f"error: {error} [{error.code}]", markup=False)
        raise typer.Exit(1) from None
    for line in _report(summary):
        out.print(line, markup=False)
    out.print(f"report: {files.report}", markup=False)
    out.print(f"summary: {files.summary}  tables: {', '.join(file.name for file in files.tables)}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_command)

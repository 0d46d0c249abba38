"""The analyst's use case: a candidate policy against the baseline on a portfolio, and the report a committee reads.

:func:`simulate_portfolio` reads the portfolio (every problem of its files at once), the
assumptions (defaults where none are given), evaluates both versions on the vectorised path
(:func:`engine.simulation.simulate`) and writes the output folder:

* ``summary.json`` — the documented, stable schema of :mod:`engine.simulation.summary`;
* ``report.html`` — the self-contained page (:mod:`api.service.reports.simulation`);
* ``customers.csv``, ``orders.csv``, ``overdue.csv`` — the tables behind the figures, one row per
  customer, order and invoice overdue on the as-of date, with both versions side by side.

A version is a policy file or a stored version (label, sha256 or a unique prefix; drafts too:
"what would this draft do" is the point). Both are compiled with the plain-Python matchers: a
simulation never registers durable-rules rulesets, whose memory a process never gets back, and the
vectorised path is proven equal to the engine of record on the values a portfolio can hold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.errors import InputFileError
from api.service.policy_cases import read_text
from api.service.reports.simulation import render_simulation
from api.service.versions import get_version
from engine.compiler import compile_policy
from engine.ir import CompiledPolicy
from engine.matchers import python_matcher
from engine.portfolio import Portfolio, read_portfolio
from engine.simulation.assumptions import DEFAULT_ASSUMPTIONS, load_assumptions
from engine.simulation.simulate import Progress, SimulatedPolicy, simulate
from engine.simulation.summary import Assumptions, PolicyVersionRef, Summary
from policy.validate import load_policy

__all__ = [
    "OutputFile",
    "SimulationFiles",
    "latest_date",
    "policy_to_simulate",
    "simulate_portfolio",
    "simulation_outputs",
    "stored_policy_to_simulate",
]

UowFactory = Callable[[], AbstractUnitOfWork]


@dataclass(frozen=True)
class SimulationFiles:
    """Where a simulation wrote its output."""

    folder: Path
    summary: Path
    report: Path
    tables: tuple[Path, ...]


@dataclass(frozen=True)
class OutputFile:
    """One file of a simulation's output, as bytes: what the CLI writes to its folder and a job stores."""

    name: str
    media_type: str
    content: bytes


def _ref(compiled: CompiledPolicy, source: str) -> PolicyVersionRef:
    meta = compiled.meta
    return PolicyVersionRef(id=meta.policy_id, version=meta.version, sha256=meta.sha256, source=source)


def policy_to_simulate(ref: str, new_uow: UowFactory | None) -> SimulatedPolicy:
    """A policy file (``x.yaml``), else a stored version (label, sha256, prefix; drafts too) from ``new_uow``."""
    path = Path(ref)
    if path.suffix in (".yaml", ".yml") or path.exists() or new_uow is None:
        text = read_text(path)
        compiled = compile_policy(load_policy(text, str(path)), factory=python_matcher)
        return SimulatedPolicy(compiled, _ref(compiled, f"file:{path}"))
    with new_uow() as uow:
        return stored_policy_to_simulate(uow, ref)


def stored_policy_to_simulate(uow: AbstractUnitOfWork, ref: str) -> SimulatedPolicy:
    """A stored version only (label, sha256, prefix; drafts too): what the service simulates, never reading a file."""
    version = get_version(uow, ref)
    compiled = compile_policy(load_policy(version.source_text, version.source_file), factory=python_matcher)
    return SimulatedPolicy(compiled, _ref(compiled, f"stored:{version.status}"))


def latest_date(portfolio: Portfolio) -> dt.date:
    """The last day the portfolio knows of (orders, invoices, payments, write-offs): the default as-of date."""
    days = [
        portfolio.orders["date"].max(),
        *(portfolio.invoices[column].max() for column in ("invoice_date", "payment_date", "write_off_date")),
    ]
    found = [day for day in days if isinstance(day, dt.date)]
    if not found:
        raise InputFileError("the portfolio has no dated orders or invoices: give --as-of")
    return max(found)


def simulate_portfolio(
    baseline: SimulatedPolicy,
    candidate: SimulatedPolicy,
    portfolio_folder: Path,
    *,
    out: Path,
    as_of: dt.date | None = None,
    assumptions_file: Path | None = None,
    progress: Progress | None = None,
    described_as: str | None = None,
) -> tuple[Summary, SimulationFiles]:
    """Simulate both versions on the portfolio folder and write the output folder; the summary and the files.

    ``described_as`` is what the summary says the portfolio is (its folder by default).
    """
    assumptions = (
        DEFAULT_ASSUMPTIONS
        if assumptions_file is None
        else load_assumptions(read_text(assumptions_file), str(assumptions_file))
    )
    portfolio = read_portfolio(portfolio_folder)
    summary, outputs = simulation_outputs(
        baseline,
        candidate,
        portfolio,
        as_of=as_of,
        assumptions=assumptions,
        described_as=described_as or str(portfolio_folder),
        progress=progress,
    )
    try:
        out.mkdir(parents=True, exist_ok=True)
        for output in outputs:
            (out / output.name).write_bytes(output.content)
    except OSError as error:
        raise InputFileError(f"{out}: cannot write the output ({error.strerror or error})") from None
    tables = tuple(out / output.name for output in outputs if output.name.endswith(".csv"))
    return summary, SimulationFiles(out, out / "summary.json", out / "report.html", tables)


def simulation_outputs(
    baseline: SimulatedPolicy,
    candidate: SimulatedPolicy,
    portfolio: Portfolio,
    *,
    as_of: dt.date | None,
    assumptions: Assumptions,
    described_as: str,
    progress: Progress | None = None,
) -> tuple[Summary, list[OutputFile]]:
    """Simulate both versions on a portfolio read and validated: the summary, and the output files as bytes."""
    day = as_of or latest_date(portfolio)
    result = simulate(
        portfolio,
        baseline,
        candidate,
        as_of=day,
        assumptions=assumptions,
        path=described_as,
        progress=progress,
    )
    outputs = [
        OutputFile("summary.json", "application/json", result.summary.to_json().encode("utf-8")),
        OutputFile("report.html", "text/html; charset=utf-8", render_simulation(result.summary).encode("utf-8")),
    ]
    for name, table in result.tables.items():
        csv = table.with_columns(pl.col(pl.Decimal).cast(pl.String)).write_csv()
        outputs.append(OutputFile(f"{name}.csv", "text/csv; charset=utf-8", csv.encode("utf-8")))
    return result.summary, outputs

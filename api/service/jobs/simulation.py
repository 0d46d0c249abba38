"""The ``simulation`` job kind: ``creditpolicy simulate`` as a job of the service (``POST /v1/simulations``).

Parameters (what :func:`prepare_simulation` accepts; the HTTP schema documents each)::

    {"baseline": "2026.1", "candidate": "a3f9c2d1", "as_of": "2026-06-30",
     "assumptions": {"gross_margin": "0.25"},
     "portfolio": {"generate": {"customers": 200, "invoices": 1000, "years": 3, "seed": 7}}}

or, with the portfolio uploaded, the input files ``customers``, ``orders`` and ``invoices``
(``.csv`` or ``.parquet``) and ``"portfolio": {"upload": {...their stored names...}}``.

The versions are stored ones (label, sha256 or a unique prefix; drafts too), resolved to their
sha256 when the job is submitted, so the job runs what the caller named even if a label is
later reused by another policy. An uploaded portfolio is read and checked in the request
(every problem at once, each naming file, row and column), so a job never starts on bad data.
The run compiles both versions with the plain-Python matchers, as the CLI does, and stores the
CLI's output files, byte for byte (:func:`api.service.simulation.simulation_outputs`).
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.errors import InvalidRequest, InvalidUpload
from api.service.jobs.kinds import Artifact, JobKind, JobProgress, JobRun
from api.service.simulation import simulation_outputs, stored_policy_to_simulate
from api.service.versions import get_version
from engine.errors import PortfolioInvalid, PortfolioProblem
from engine.portfolio import Portfolio, generate_portfolio, read_portfolio
from engine.simulation.assumptions import DEFAULT_ASSUMPTIONS, load_assumptions
from engine.simulation.simulate import STAGES
from engine.simulation.summary import Assumptions

__all__ = [
    "GENERATE_LIMITS",
    "SIMULATION",
    "TABLES",
    "describe_portfolio",
    "prepare_simulation",
    "run_simulation",
    "upload_name",
]

TABLES = ("customers", "orders", "invoices")
# Bounds of a generated portfolio: (least, most) of each parameter.
GENERATE_LIMITS: Mapping[str, tuple[int, int]] = {
    "customers": (1, 1_000_000),
    "invoices": (0, 10_000_000),
    "years": (1, 10),
    "seed": (0, 2**32 - 1),
}
_PARQUET_MAGIC = b"PAR1"
# The stages a simulation job reports: the portfolio's, then the simulation's own.
_STAGES = ("portfolio", "versions", *STAGES)


def upload_name(table: str, filename: str | None, content: bytes) -> str:
    """The stored name of an uploaded table: ``customers.parquet`` or ``customers.csv`` (by suffix, else by content)."""
    suffix = Path(filename or "").suffix.lower()
    if suffix not in (".csv", ".parquet"):
        suffix = ".parquet" if content[:4] == _PARQUET_MAGIC else ".csv"
    return f"{table}{suffix}"


def describe_portfolio(portfolio: Mapping[str, Any]) -> str:
    """What the summary says the portfolio was (``portfolio.path``): the generator's arguments, or the files."""
    generate = portfolio.get("generate")
    if generate is not None:
        return (
            f"generated: {generate['customers']} customers, {generate['invoices']} invoices, "
            f"{generate['years']} years, seed {generate['seed']}"
        )
    return "uploaded: " + ", ".join(portfolio["upload"][table] for table in TABLES)


def _refused(pointer: str, message: str, code: str) -> InvalidRequest:
    return _invalid(f"{pointer}: {message}", [{"pointer": pointer, "message": message, "code": code}])


def _invalid(message: str, problems: list[dict[str, Any]]) -> InvalidRequest:
    error = InvalidRequest(message)
    error.errors = problems
    return error


def _assumptions(given: Any) -> Assumptions:
    if given is None:
        return DEFAULT_ASSUMPTIONS
    if not isinstance(given, Mapping):
        raise _refused("/assumptions", "the assumptions are an object (see docs/simulation.md)", "object_type")
    # JSON is YAML: the assumptions file's own reader checks them, every problem located.
    return load_assumptions(json.dumps(given, default=str), "assumptions")


def _generate(given: Any) -> dict[str, int]:
    if not isinstance(given, Mapping):
        raise _refused("/portfolio/generate", "give customers, invoices, years and seed", "object_type")
    problems = []
    values: dict[str, int] = {}
    for name, (least, most) in GENERATE_LIMITS.items():
        value = given.get(name, 3 if name == "years" else 1 if name == "seed" else None)
        if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
            message = f"{name} is a whole number from {least:,} to {most:,}"
            problems.append({"pointer": f"/portfolio/generate/{name}", "message": message, "code": "out_of_range"})
        else:
            values[name] = value
    unknown = sorted(set(given) - set(GENERATE_LIMITS))
    problems += [
        {"pointer": f"/portfolio/generate/{name}", "message": "unknown parameter", "code": "unknown_key"}
        for name in unknown
    ]
    if problems:
        raise _invalid(f"the generated portfolio's parameters: {len(problems)} problem(s)", problems)
    return values


def _write_inputs(folder: Path, inputs: Mapping[str, bytes]) -> None:
    for name, content in inputs.items():
        (folder / name).write_bytes(content)


def _read(folder: Path) -> Portfolio:
    """The portfolio in ``folder``; its problems name the files as uploaded, not the temporary folder."""
    try:
        return read_portfolio(folder)
    except PortfolioInvalid as invalid:
        prefix = f"{folder}/"
        problems = tuple(
            PortfolioProblem(p.code, p.file.removeprefix(prefix), p.row, p.column, p.message) for p in invalid.problems
        )
        raise PortfolioInvalid(problems, total=invalid.total) from None


def _check_uploads(inputs: Mapping[str, bytes]) -> dict[str, str]:
    stored = {name.split(".", 1)[0]: name for name in inputs}
    missing = [table for table in TABLES if table not in stored]
    if missing or len(stored) != len(inputs) or set(stored) - set(TABLES):
        raise InvalidUpload(
            f"upload the portfolio as three files: {', '.join(TABLES)} (.csv or .parquet); "
            f"missing: {', '.join(missing) or 'none'}"
        )
    return {table: stored[table] for table in TABLES}


def prepare_simulation(
    uow: AbstractUnitOfWork, params: Mapping[str, Any], inputs: Mapping[str, bytes]
) -> dict[str, Any]:
    """Check a simulation request (versions, as_of, assumptions, the portfolio) and return what the job stores."""
    versions = {role: get_version(uow, str(params[role])) for role in ("baseline", "candidate")}
    _assumptions(params.get("assumptions"))
    as_of = params.get("as_of")
    if as_of is not None:
        try:
            as_of = dt.date.fromisoformat(str(as_of)).isoformat()
        except ValueError:
            raise _refused("/as_of", "a date written YYYY-MM-DD", "date_format") from None
    portfolio = params.get("portfolio") or {}
    if inputs:
        if portfolio.get("generate") is not None:
            raise InvalidUpload("upload a portfolio or ask for a generated one, not both")
        chosen: dict[str, Any] = {"upload": _check_uploads(inputs)}
        with tempfile.TemporaryDirectory(prefix="creditpolicy-upload-") as folder:
            _write_inputs(Path(folder), inputs)
            _read(Path(folder))
    elif "generate" in portfolio:
        chosen = {"generate": _generate(portfolio["generate"])}
    else:
        raise _refused("/portfolio", "upload the portfolio's files, or give {'generate': {...}}", "missing")
    return {
        "baseline": str(params["baseline"]),
        "candidate": str(params["candidate"]),
        "baseline_sha256": versions["baseline"].sha256,
        "candidate_sha256": versions["candidate"].sha256,
        "as_of": as_of,
        "assumptions": params.get("assumptions"),
        "portfolio": chosen,
    }


def _stage_progress(progress: JobProgress, offset: int) -> JobProgress:
    def report(stage: str, done: int, total: int) -> None:
        progress(stage, offset + done, len(_STAGES))

    return report


def run_simulation(job: JobRun) -> list[Artifact]:
    """Generate or unpack the portfolio, simulate both versions on it, and return the CLI's output files."""
    params = job.params
    job.progress("portfolio", 0, len(_STAGES))
    with tempfile.TemporaryDirectory(prefix="creditpolicy-job-") as name:
        folder = Path(name)
        generate = params["portfolio"].get("generate")
        if generate is not None:
            generate_portfolio(out=folder, format="parquet", **generate)
        else:
            _write_inputs(folder, job.inputs)
        portfolio = _read(folder)
    job.progress("versions", 1, len(_STAGES))
    with job.new_uow() as uow:
        baseline, candidate = (
            stored_policy_to_simulate(uow, params[f"{role}_sha256"]) for role in ("baseline", "candidate")
        )
    as_of = params.get("as_of")
    _, outputs = simulation_outputs(
        baseline,
        candidate,
        portfolio,
        as_of=dt.date.fromisoformat(as_of) if as_of else None,
        assumptions=_assumptions(params.get("assumptions")),
        described_as=describe_portfolio(params["portfolio"]),
        progress=_stage_progress(job.progress, 2),
    )
    return [Artifact(output.name, output.media_type, output.content) for output in outputs]


SIMULATION = JobKind(name="simulation", permission="simulate", prepare=prepare_simulation, run=run_simulation)

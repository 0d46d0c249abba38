"""CLI: `creditpolicy test` (policy test cases) and `creditpolicy decide` (one decision, with --explain)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from api.entrypoints.cli.output import err, out, print_table, text_row
from api.errors import InputFileError
from api.service import policy_cases
from api.service.decisions.response import canonical_rates
from engine.coverage import PolicyElement
from engine.decide import DECISION_KINDS
from engine.errors import CompileError, EngineError
from policy.errors import PolicyInvalid

__all__ = ["register"]


def _fail(message: str, code: int) -> typer.Exit:
    err.print(message, markup=False)
    return typer.Exit(code)


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


def _percent(fraction: Decimal) -> str:
    return f"{(fraction * 100).normalize():f} %"


def _element(element: PolicyElement, exercised: bool) -> dict[str, Any]:
    source = element.source
    return {
        "key": element.key,
        "name": element.name,
        "file": source.file,
        "line": source.line,
        "column": source.column,
        "path": element.path_text,
        "exercised": exercised,
    }


def _run_dict(run: policy_cases.CasesFileRun, min_coverage: Decimal | None, with_coverage: bool) -> dict[str, Any]:
    """One cases file as JSON data: its cases, its coverage (every element, exercised or not), or its problem."""
    out: dict[str, Any] = {"cases_file": str(run.file), "ok": run.passes(min_coverage)}
    report, problem = run.report, run.problem
    if report is None:
        issues = getattr(problem, "issues", [])
        out["problem"] = {
            "code": getattr(problem, "code", "invalid"),
            "message": str(problem),
            "issues": [issue.to_dict() for issue in issues if hasattr(issue, "to_dict")],
        }
        return out
    out |= {
        "policy_file": report.policy_file,
        "passed": len(report.outcomes) - len(report.failed),
        "failed": len(report.failed),
        "failures": [
            {"case": o.case_id, "kind": o.kind, "line": o.line, "mismatches": list(o.mismatches)} for o in report.failed
        ],
    }
    if with_coverage:
        cov = report.coverage
        out["coverage"] = {
            "exercised": cov.exercised,
            "total": cov.total,
            "percent": str(cov.percent),
            "policy_min_coverage": None if report.min_coverage is None else str(report.min_coverage),
            "below_policy_min_coverage": report.below_policy_minimum,
            "below_min_coverage": min_coverage is not None and not cov.reaches(min_coverage),
            "elements": [_element(e, e.key in cov.covered) for e in cov.elements],
        }
    return out


def _print_run(run: policy_cases.CasesFileRun, min_coverage: Decimal | None, with_coverage: bool) -> None:
    report = run.report
    if report is None:
        out.print(str(run.problem), markup=False)
        return
    for o in report.failed:
        out.print(f"{run.file}:{o.line} FAIL {o.case_id} [{o.kind}]", markup=False)
        for m in o.mismatches:
            out.print(f"    {m}", markup=False)
    out.print(
        f"{run.file}: {len(report.outcomes) - len(report.failed)} passed, {len(report.failed)} failed", markup=False
    )
    cov = report.coverage
    if with_coverage:
        required = "" if report.min_coverage is None else f"; the policy requires {_percent(report.min_coverage)}"
        line = f"  coverage: {cov.exercised}/{cov.total} policy elements exercised ({cov.percent} %{required})"
        out.print(line, markup=False)
        for element in cov.missing:
            out.print(f"    {element.source} not exercised: {element.name}", markup=False)
    if min_coverage is not None and not cov.reaches(min_coverage):
        out.print(f"  coverage {cov.percent} % is below --min-coverage {_percent(min_coverage)}", markup=False)
    if report.below_policy_minimum and report.min_coverage is not None:
        message = f"  coverage {cov.percent} % is below the policy's min_coverage {_percent(report.min_coverage)}"
        out.print(f"{message}: publishing it would be refused", markup=False)


def test_command(
    path: Path = typer.Argument(Path("rules"), help="A *.cases.yaml file or a directory searched for them."),
    coverage: bool = typer.Option(True, help="Report what of the policy the cases exercised, and what not."),
    min_coverage: float | None = typer.Option(
        None,
        "--min-coverage",
        min=0,
        max=100,
        metavar="PCT",
        help="Fail (exit 1) when the cases of a policy exercise less than PCT percent of its elements.",
    ),
    output_format: OutputFormat = typer.Option(
        OutputFormat.text, "--format", help="text, or json: one document with every case and element."
    ),
) -> None:
    """Run policy test cases (input → expected output) and measure coverage; exit 0 all pass, 1 failures, 2 usage."""
    if min_coverage is not None and not coverage:
        raise _fail("error: --min-coverage needs coverage; leave out --no-coverage", 2)
    try:
        files = policy_cases.find_cases_files(path)
    except InputFileError as exc:
        raise _fail(f"error: {exc}", 2) from None
    if not files:
        raise _fail(f"error: no *.cases.yaml under {path}", 2)
    minimum = None if min_coverage is None else Decimal(str(min_coverage)) / 100
    runs = policy_cases.run_cases_files(files)
    if output_format is OutputFormat.json:
        document = {
            "ok": all(run.passes(minimum) for run in runs),
            "min_coverage": min_coverage,
            "files": [_run_dict(run, minimum, coverage) for run in runs],
        }
        out.print(json.dumps(document, indent=2, ensure_ascii=False), markup=False)
    else:
        for run in runs:
            _print_run(run, minimum, coverage)
    raise typer.Exit(0 if all(run.passes(minimum) for run in runs) else 1)


def _explain(trace: dict[str, Any]) -> None:
    policy = trace["policy"]
    out.print(f"policy {policy['id']} {policy['version']} sha256 {policy['sha256']} ({policy['file']})", markup=False)
    rules = Table("rule fired", "source", title="Rules")
    for r in trace.get("rules_fired", []):
        rules.add_row(*text_row(r["id"], r.get("source")))
    print_table(rules)
    if trace.get("factors"):
        factors = Table("factor", "group", "input", "value", "points", "weight", "weighted", title="Scorecard")
        for f in trace["factors"]:
            row = (f["id"], f["group"], f["input"], str(f["value"]), f["points"], f["weight"], f["weighted"])
            factors.add_row(*text_row(*row))
        print_table(factors)
        out.print(f"score {trace['score']} → grade band {trace['grade_band']}", markup=False)
    limit = trace.get("limit")
    if isinstance(limit, dict) and "methods" in limit:
        steps = Table("step", "detail", "amount", title=f"Limit for grade {limit['grade']}")
        for m in limit["methods"]:
            detail = m["method"] + (f" {m['pct']} of {m['basis']} = {m['basis_value']}" if "pct" in m else "")
            steps.add_row(*text_row("method", detail, m["amount"]))
        steps.add_row(*text_row("base", limit["combine"], limit["base"]))
        for c in limit["caps"]:
            steps.add_row(*text_row("cap", c["cap"] + (" (binds)" if c["bound"] else ""), c["amount"]))
        floor = limit.get("floor")
        rounded = floor["own_limit"] if floor else limit["limit"]
        steps.add_row(*text_row("rounding", f"{limit['rounding']['mode']} to {limit['rounding']['step']}", rounded))
        if floor:  # the API's trace says it as limit.floor and bound_by floor_grade_<grade>
            detail = f"grade {floor['grade']} would grant more for this file ({limit['bound_by']})"
            steps.add_row(*text_row("floor", detail, floor["limit"]))
        steps.add_row(*text_row("limit", f"bound by {limit['bound_by']}", limit["limit"]))
        print_table(steps)
    for key in sorted(set(trace) - {"policy", "rules_fired", "factors", "score", "grade_band", "limit", "kind"}):
        out.print(f"{key}: {json.dumps(trace[key], sort_keys=True, ensure_ascii=False)}", markup=False)


def decide_command(
    kind: str = typer.Argument(..., help=f"One of: {', '.join(DECISION_KINDS)}."),
    policy: Path = typer.Option(..., "--policy", help="The policy YAML file."),
    input_file: Path = typer.Option(..., "--input", help="The decision input as a JSON file."),
    explain: bool = typer.Option(False, "--explain", help="Also print the trace as readable tables."),
) -> None:
    """Evaluate one decision; exit 0 ok, 1 invalid policy, 2 bad arguments or input.

    An input without as_of is decided as of today (UTC), as the API does; stderr says so.
    """
    if kind not in DECISION_KINDS:
        raise _fail(f"error: unknown decision kind {kind!r} (one of {', '.join(DECISION_KINDS)})", 2)
    try:
        decision, day_used = policy_cases.decide_file(kind, policy, input_file, dt.datetime.now(dt.UTC).date())
    except InputFileError as exc:
        raise _fail(f"error: {exc}", 2) from None
    except (PolicyInvalid, CompileError) as exc:
        raise _fail(str(exc), 1) from None
    except EngineError as exc:
        raise _fail(f"error: {input_file}: {exc} [{exc.code}]", 2) from None
    if day_used is not None:
        err.print(f"as_of: {day_used} (today, UTC: the input gives none)", markup=False)
    output = canonical_rates(decision.output())  # rates as the API renders them
    out.print(json.dumps(output, indent=2, sort_keys=True, ensure_ascii=False), markup=False)
    if explain:
        _explain(canonical_rates(decision.trace))


def register(app: typer.Typer) -> None:
    app.command("test")(test_command)
    app.command("decide")(decide_command)

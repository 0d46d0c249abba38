"""CLI: `creditpolicy test` (policy test cases) and `creditpolicy decide` (one decision, with --explain)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from api.entrypoints.cli.output import err, out, print_table, text_row
from api.errors import InputFileError
from api.service import policy_cases
from api.service.decisions.response import canonical_rates
from engine.decide import DECISION_KINDS
from engine.errors import CompileError, EngineError
from policy.errors import PolicyInvalid

__all__ = ["register"]


def _fail(message: str, code: int) -> typer.Exit:
    err.print(message, markup=False)
    return typer.Exit(code)


def test_command(
    path: Path = typer.Argument(Path("rules"), help="A *.cases.yaml file or a directory searched for them."),
    coverage: bool = typer.Option(True, help="Report what of the policy the cases did not exercise."),
) -> None:
    """Run policy test cases (input → expected output); exit 0 all pass, 1 failures, 2 usage."""
    try:
        files = policy_cases.find_cases_files(path)
    except InputFileError as exc:
        raise _fail(f"error: {exc}", 2) from None
    if not files:
        raise _fail(f"error: no *.cases.yaml under {path}", 2)
    failed = 0
    for file in files:
        try:
            report = policy_cases.run_cases_file(file)
        except (PolicyInvalid, InputFileError, EngineError) as exc:
            out.print(str(exc), markup=False)
            failed += 1
            continue
        for o in report.failed:
            out.print(f"{file}:{o.line} FAIL {o.case_id} [{o.kind}]", markup=False)
            for m in o.mismatches:
                out.print(f"    {m}", markup=False)
        passed = len(report.outcomes) - len(report.failed)
        out.print(f"{file}: {passed} passed, {len(report.failed)} failed", markup=False)
        if coverage:
            cov = report.coverage
            share = len(cov.universe) - len(cov.missing)
            out.print(f"  coverage: {share}/{len(cov.universe)} policy elements exercised", markup=False)
            for item in cov.missing:
                out.print(f"    not exercised: {item}", markup=False)
        failed += len(report.failed)
    raise typer.Exit(1 if failed else 0)


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
    """Evaluate one decision; exit 0 ok, 1 invalid policy, 2 bad arguments or input."""
    if kind not in DECISION_KINDS:
        raise _fail(f"error: unknown decision kind {kind!r} (one of {', '.join(DECISION_KINDS)})", 2)
    try:
        decision = policy_cases.decide_file(kind, policy, input_file)
    except InputFileError as exc:
        raise _fail(f"error: {exc}", 2) from None
    except (PolicyInvalid, CompileError) as exc:
        raise _fail(str(exc), 1) from None
    except EngineError as exc:
        raise _fail(f"error: {input_file}: {exc} [{exc.code}]", 2) from None
    output = canonical_rates(decision.output())  # rates as the API renders them
    out.print(json.dumps(output, indent=2, sort_keys=True, ensure_ascii=False), markup=False)
    if explain:
        _explain(canonical_rates(decision.trace))


def register(app: typer.Typer) -> None:
    app.command("test")(test_command)
    app.command("decide")(decide_command)

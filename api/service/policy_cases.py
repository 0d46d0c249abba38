"""Policy files and their test cases: read, compile, decide one input, run ``*.cases.yaml``.

The use cases the CLI's ``test`` and ``decide`` commands call, and the runner that makes
publishing a policy (API, CLI, the first start) run its cases first: a policy whose cases fail, or
exercise less of it than its own ``policy.min_coverage`` asks, is never stored.

None of them decides a live request, so every policy here is compiled onto the plain-Python twin
(``engine.matchers.twin_matcher``): the same compile errors and the same answers as durable-rules,
whose rulesets are never freed, without registering any.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from api.errors import InputFileError
from api.service.versions import CasesVerdict, RunCases
from engine.cases import CaseOutcome, load_cases, run_cases
from engine.compiler import compile_policy
from engine.coverage import Coverage, coverage_of
from engine.decide import Decision, decide
from engine.errors import CompileError, EngineError
from engine.ir import CompiledPolicy
from engine.matchers import twin_matcher
from policy.errors import Issue, PolicyInvalid
from policy.validate import FileReport, LoadedPolicy, load_policy, validate_file

__all__ = [
    "CasesFileRun",
    "CasesReport",
    "cases_beside",
    "cases_file_name",
    "cases_runner",
    "compile_file",
    "compile_text",
    "decide_file",
    "find_cases_files",
    "read_json_file",
    "read_text",
    "run_cases_beside",
    "run_cases_file",
    "run_cases_files",
    "run_cases_for",
    "validate_policy_file",
]


def read_text(path: Path) -> str:
    """A UTF-8 text file, or an error naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path}: cannot be read ({exc})") from None


def read_json_file(path: Path) -> Any:
    """A JSON file, or an error naming line and column of the syntax problem."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{path}:{exc.lineno}:{exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise InputFileError(f"{path}: nested too deeply to be a decision input") from None


def compile_text(text: str, file: str) -> tuple[LoadedPolicy, CompiledPolicy]:
    """Validate and compile policy text (raises PolicyInvalid or CompileError with every problem)."""
    loaded = load_policy(text, file)
    return loaded, compile_policy(loaded, factory=twin_matcher)


def compile_file(path: Path) -> tuple[LoadedPolicy, CompiledPolicy]:
    return compile_text(read_text(path), str(path))


def validate_policy_file(path: Path) -> FileReport:
    """Validate a policy file, then compile it (registering nothing): what the engine refuses, such as a
    policy expanding beyond its budget (``expansion_too_large``), is reported like validation's issues.
    OSError if the file cannot be read."""
    report = validate_file(path)
    if report.loaded is None:
        return report
    try:
        compile_policy(report.loaded, factory=twin_matcher)
    except CompileError as error:  # the errors, and the warnings validation found
        return FileReport(report.file, None, tuple(sorted((*error.issues, *report.issues), key=_in_file_order)))
    return report


def _in_file_order(issue: Issue) -> tuple[int, int]:
    return issue.line, issue.column


def decide_file(kind: str, policy: Path, input_file: Path, today: dt.date) -> tuple[Decision[Any, Any], str | None]:
    """One decision of a policy file on a JSON input file: nothing is stored (``creditpolicy decide``).

    Like the API, an input without ``as_of`` is decided as of ``today``; the day used is returned
    (else ``None``) so the command can say which day it was.
    """
    payload = read_json_file(input_file)
    used = None
    if isinstance(payload, dict) and "as_of" not in payload:
        used = today.isoformat()
        payload = {**payload, "as_of": used}
    _, compiled = compile_file(policy)
    return decide(compiled, kind, payload), used


@dataclass(frozen=True)
class CasesReport:
    """The outcome of one cases file: each case, and what of the policy they covered."""

    cases_file: str
    policy_file: str
    outcomes: list[CaseOutcome]
    coverage: Coverage
    min_coverage: Decimal | None  # the policy's own minimum (policy.min_coverage), if it sets one

    @property
    def failed(self) -> list[CaseOutcome]:
        return [o for o in self.outcomes if not o.passed]

    @property
    def below_policy_minimum(self) -> bool:
        """The cases exercise less of the policy than it requires to be published."""
        return self.min_coverage is not None and not self.coverage.reaches(self.min_coverage)


def run_cases_for(loaded: LoadedPolicy, compiled: CompiledPolicy, cases_text: str, cases_file: str) -> CasesReport:
    cases = load_cases(cases_text, cases_file)
    outcomes = run_cases(compiled, cases)
    coverage = coverage_of(loaded, compiled, (o.covered for o in outcomes))
    return CasesReport(cases_file, loaded.file, outcomes, coverage, loaded.policy.policy.min_coverage)


def run_cases_file(path: Path) -> CasesReport:
    """Run a cases file against the policy it names (resolved beside the cases file)."""
    text = read_text(path)
    cases = load_cases(text, str(path))
    policy_path = path.parent / cases.policy
    if not policy_path.exists():
        raise PolicyInvalid(
            [Issue(str(path), 1, 1, ("policy",), f"policy file {policy_path} not found", "case_policy_missing")]
        )
    loaded, compiled = compile_file(policy_path)
    return run_cases_for(loaded, compiled, text, str(path))


@dataclass(frozen=True)
class CasesFileRun:
    """One cases file of ``creditpolicy test``: its report, or why it could not run."""

    file: Path
    report: CasesReport | None
    problem: PolicyInvalid | InputFileError | EngineError | None

    def passes(self, min_coverage: Decimal | None) -> bool:
        """Every case passed, and the cases exercise enough of the policy: its own minimum and ``min_coverage``."""
        report = self.report
        if report is None or report.failed or report.below_policy_minimum:
            return False
        return min_coverage is None or report.coverage.reaches(min_coverage)


def run_cases_files(files: list[Path]) -> list[CasesFileRun]:
    """Run each cases file; a file that cannot run (invalid policy or cases) is reported, the others still run."""
    runs = []
    for file in files:
        try:
            runs.append(CasesFileRun(file, run_cases_file(file), None))
        except (PolicyInvalid, InputFileError, EngineError) as problem:
            runs.append(CasesFileRun(file, None, problem))
    return runs


def find_cases_files(path: Path) -> list[Path]:
    """A cases file itself, or every ``*.cases.yaml`` under a directory."""
    if path.is_dir():
        return sorted(path.rglob("*.cases.yaml"))
    if path.exists():
        return [path]
    raise InputFileError(f"{path}: no such file or directory")


def cases_file_name(policy_file: str) -> str:
    """The name of the cases file that belongs to a policy file: ``rules/x.yaml`` → ``rules/x.cases.yaml``."""
    return policy_file.removesuffix(".yaml").removesuffix(".yml") + ".cases.yaml"


def cases_beside(policy_path: Path) -> Path | None:
    """The cases file that belongs to a policy file (``x.yaml`` → ``x.cases.yaml``), if any."""
    candidate = policy_path.with_name(cases_file_name(policy_path.name))
    return candidate if candidate.exists() else None


def _verdict(loaded: LoadedPolicy, cases_text: str, cases_file: str) -> CasesVerdict:
    """The failing cases of ``cases_text`` on the policy (or the problems running them), and the coverage."""
    try:
        report = run_cases_for(loaded, compile_policy(loaded, factory=twin_matcher), cases_text, cases_file)
    except PolicyInvalid as invalid:
        return CasesVerdict([str(issue) for issue in invalid.issues], None)
    except CompileError as error:
        return CasesVerdict([str(issue) for issue in error.issues], None)
    except EngineError as error:
        return CasesVerdict([f"{cases_file}: {error} [{error.code}]"], None)
    failures = [f"{cases_file}:{o.line} case {o.case_id} [{o.kind}]: {'; '.join(o.mismatches)}" for o in report.failed]
    return CasesVerdict(failures, report.coverage)


def cases_runner(cases_text: str | None, cases_file: str) -> RunCases:
    """Runs the cases given with a policy (none: nothing to run) when it is published."""

    def run(loaded: LoadedPolicy) -> CasesVerdict:
        return CasesVerdict([], None) if cases_text is None else _verdict(loaded, cases_text, cases_file)

    return run


def run_cases_beside(loaded: LoadedPolicy) -> CasesVerdict:
    """Runs the cases file beside a published policy file (x.yaml → x.cases.yaml), if there is one."""
    path = cases_beside(Path(loaded.file))
    return CasesVerdict([], None) if path is None else _verdict(loaded, read_text(path), str(path))

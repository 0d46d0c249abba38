"""Policy files and their test cases: read, compile, decide one input, run ``*.cases.yaml``.

The use cases the CLI's ``test`` and ``decide`` commands call, and the runner that makes
publishing a policy (API, CLI, the first start) run its cases first: a policy whose cases fail is
never stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.errors import InputFileError
from api.service.versions import RunCases
from engine.cases import CaseOutcome, Coverage, coverage_of, load_cases, run_cases
from engine.compiler import compile_policy
from engine.decide import Decision, decide
from engine.errors import CompileError, EngineError
from engine.ir import CompiledPolicy
from policy.errors import Issue, PolicyInvalid
from policy.validate import LoadedPolicy, load_policy

__all__ = [
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
    "run_cases_for",
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
    return loaded, compile_policy(loaded)


def compile_file(path: Path) -> tuple[LoadedPolicy, CompiledPolicy]:
    return compile_text(read_text(path), str(path))


def decide_file(kind: str, policy: Path, input_file: Path) -> Decision[Any, Any]:
    """One decision of a policy file on a JSON input file: nothing is stored (``creditpolicy decide``)."""
    payload = read_json_file(input_file)
    _, compiled = compile_file(policy)
    return decide(compiled, kind, payload)


@dataclass(frozen=True)
class CasesReport:
    """The outcome of one cases file: each case, and what of the policy they covered."""

    cases_file: str
    policy_file: str
    outcomes: list[CaseOutcome]
    coverage: Coverage

    @property
    def failed(self) -> list[CaseOutcome]:
        return [o for o in self.outcomes if not o.passed]


def run_cases_for(compiled: CompiledPolicy, cases_text: str, cases_file: str, policy_file: str) -> CasesReport:
    cases = load_cases(cases_text, cases_file)
    outcomes = run_cases(compiled, cases)
    return CasesReport(cases_file, policy_file, outcomes, coverage_of(compiled, outcomes))


def run_cases_file(path: Path) -> CasesReport:
    """Run a cases file against the policy it names (resolved beside the cases file)."""
    text = read_text(path)
    cases = load_cases(text, str(path))
    policy_path = path.parent / cases.policy
    if not policy_path.exists():
        raise PolicyInvalid(
            [Issue(str(path), 1, 1, ("policy",), f"policy file {policy_path} not found", "case_policy_missing")]
        )
    _, compiled = compile_file(policy_path)
    return run_cases_for(compiled, text, str(path), str(policy_path))


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


def _failing_cases(loaded: LoadedPolicy, cases_text: str, cases_file: str) -> list[str]:
    """One message per case of ``cases_text`` that fails on the policy (or per problem running them)."""
    try:
        report = run_cases_for(compile_policy(loaded), cases_text, cases_file, loaded.file)
    except PolicyInvalid as invalid:
        return [str(issue) for issue in invalid.issues]
    except CompileError as error:
        return [str(issue) for issue in error.issues]
    except EngineError as error:
        return [f"{cases_file}: {error} [{error.code}]"]
    return [f"{cases_file}:{o.line} case {o.case_id} [{o.kind}]: {'; '.join(o.mismatches)}" for o in report.failed]


def cases_runner(cases_text: str | None, cases_file: str) -> RunCases:
    """Runs the cases given with a policy (none: nothing to run) when it is published."""

    def run(loaded: LoadedPolicy) -> list[str]:
        return [] if cases_text is None else _failing_cases(loaded, cases_text, cases_file)

    return run


def run_cases_beside(loaded: LoadedPolicy) -> list[str]:
    """Runs the cases file beside a published policy file (x.yaml → x.cases.yaml), if there is one."""
    path = cases_beside(Path(loaded.file))
    return [] if path is None else _failing_cases(loaded, read_text(path), str(path))

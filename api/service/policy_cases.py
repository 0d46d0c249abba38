"""Use cases shared by the CLI and the HTTP API: load and compile policies, decide, run cases."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.cases import CaseOutcome, Coverage, coverage_of, load_cases, run_cases
from engine.compiler import compile_policy
from engine.decide import Decision, decide
from engine.ir import CompiledPolicy
from policy.errors import Issue, PolicyInvalid
from policy.validate import LoadedPolicy, load_policy

__all__ = [
    "CasesReport",
    "InputFileError",
    "compile_file",
    "compile_text",
    "decide_with",
    "find_cases_files",
    "read_json_file",
    "run_cases_file",
    "run_cases_for",
]


class InputFileError(Exception):
    """A file given on the command line could not be read or parsed; names the file and place."""

    code = "input_file_error"


def read_text(path: Path) -> str:
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


def compile_text(text: str, file: str) -> tuple[LoadedPolicy, CompiledPolicy]:
    """Validate and compile policy text (raises PolicyInvalid with every problem)."""
    loaded = load_policy(text, file)
    return loaded, compile_policy(loaded)


def compile_file(path: Path) -> tuple[LoadedPolicy, CompiledPolicy]:
    return compile_text(read_text(path), str(path))


def decide_with(compiled: CompiledPolicy, kind: str, payload: Any) -> Decision[Any, Any]:
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


def cases_beside(policy_path: Path) -> Path | None:
    """The cases file that belongs to a policy file (``x.yaml`` → ``x.cases.yaml``), if any."""
    candidate = policy_path.with_name(policy_path.name.removesuffix(".yaml").removesuffix(".yml") + ".cases.yaml")
    return candidate if candidate.exists() else None

"""The shipped policy and its worked cases (rules/standard.yaml, rules/standard.cases.yaml).

The policy validates; every case passes (one test per case id, so a failure names the case); the
cases exercise the whole policy; the plain-Python twin of the rulesets decides exactly as
durable-rules does; decisions are byte-identical on repeat; and ``creditpolicy test`` exits 0 on
the shipped cases, 1 on a broken expectation (naming the case) and 2 on a path that does not exist.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.entrypoints.cli import app
from engine.cases import Case, CasesFile, load_cases, run_cases
from engine.compiler import compile_policy, python_twin
from engine.coverage import coverage_of
from engine.decide import canonical_json, decide
from engine.errors import EngineError
from engine.ir import CompiledPolicy
from engine.rules_adapter import engine_ruleset_count
from policy.validate import LoadedPolicy, load_policy

RULES = Path(__file__).resolve().parents[2] / "rules"
POLICY_FILE = RULES / "standard.yaml"
CASES_FILE = RULES / "standard.cases.yaml"

CASES: CasesFile = load_cases(CASES_FILE.read_text(encoding="utf-8"), str(CASES_FILE))
CASE_IDS = [c.id for c in CASES.cases]


@pytest.fixture(scope="module")
def loaded() -> LoadedPolicy:
    return load_policy(POLICY_FILE.read_text(encoding="utf-8"), str(POLICY_FILE))


@pytest.fixture(scope="module")
def compiled(loaded: LoadedPolicy) -> CompiledPolicy:
    return compile_policy(loaded)


@pytest.fixture(scope="module")
def twin(compiled: CompiledPolicy) -> CompiledPolicy:
    """The same policy matched in plain Python instead of durable-rules."""
    policy = python_twin(compiled)
    for kind in ("grades", "standards", "order", "collection", "settlement"):
        assert type(getattr(policy.rulesets, kind)) is not type(getattr(compiled.rulesets, kind))
    return policy


def _case(case_id: str) -> Case:
    return next(c for c in CASES.cases if c.id == case_id)


def _outcome(policy: CompiledPolicy, case: Case) -> tuple[str, str]:
    """(canonical output, canonical trace) of a case, or the error code it raised."""
    try:
        decision = decide(policy, case.kind, case.input)
    except EngineError as exc:
        return f"error {exc.code}: {exc}", ""
    return canonical_json(decision.output()), canonical_json(decision.trace)


def test_the_shipped_policy_validates(loaded: LoadedPolicy) -> None:
    assert loaded.policy.policy.id == "standard"
    assert CASES.policy == POLICY_FILE.name


def test_case_ids_are_unique_and_every_case_explains_itself() -> None:
    assert len(CASE_IDS) == len(set(CASE_IDS))
    assert all(c.note and c.note.strip() for c in CASES.cases), "every case needs a note"
    assert all((c.expect is None) != (c.expect_error is None) for c in CASES.cases)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_case_passes(compiled: CompiledPolicy, case_id: str) -> None:
    single = CASES.model_copy(update={"cases": [_case(case_id)], "lines": {0: CASES.lines[CASE_IDS.index(case_id)]}})
    [outcome] = run_cases(compiled, single)
    assert outcome.passed, f"{CASES_FILE.name}:{outcome.line} {case_id}:\n  " + "\n  ".join(outcome.mismatches)


def test_coverage_of_the_shipped_cases_is_complete(loaded: LoadedPolicy, compiled: CompiledPolicy) -> None:
    coverage = coverage_of(loaded, compiled, (o.covered for o in run_cases(compiled, CASES)))
    assert [f"{e.source} {e.name}" for e in coverage.missing] == []
    # every factor's bands and ratings are among what the cases must exercise
    bands = [e for e in coverage.elements if ".band." in e.key or ".rating." in e.key]
    assert len(bands) == 52


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_python_twin_decides_like_durable_rules(compiled: CompiledPolicy, twin: CompiledPolicy, case_id: str) -> None:
    case = _case(case_id)
    durable_output, durable_trace = _outcome(compiled, case)
    twin_output, twin_trace = _outcome(twin, case)
    assert twin_output == durable_output
    assert twin_trace == durable_trace


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_a_case_decided_twice_is_byte_identical(compiled: CompiledPolicy, case_id: str) -> None:
    case = _case(case_id)
    first, second = _outcome(compiled, case), _outcome(compiled, case)
    assert first == second


def _run_cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def test_cli_passes_the_shipped_cases() -> None:
    result = _run_cli("test", str(RULES))
    assert result.exit_code == 0, result.output
    assert f"{len(CASE_IDS)} passed, 0 failed" in result.output
    assert "FAIL" not in result.output


def test_cli_fails_and_names_a_case_whose_expectation_is_broken(tmp_path: Path) -> None:
    shutil.copy(POLICY_FILE, tmp_path / POLICY_FILE.name)
    text = CASES_FILE.read_text(encoding="utf-8")
    expectation = 'credit_limit: "543000.00"'  # assess-bb-same-company-as-new-customer, and only it
    assert text.count(expectation) == 1
    (tmp_path / CASES_FILE.name).write_text(text.replace(expectation, 'credit_limit: "544000.00"'), encoding="utf-8")
    result = _run_cli("test", str(tmp_path))
    assert result.exit_code == 1, result.output
    assert "FAIL assess-bb-same-company-as-new-customer" in result.output
    assert result.output.count("FAIL") == 1
    assert "credit_limit: expected '544000.00', got '543000.00'" in result.output
    assert f"{len(CASE_IDS) - 1} passed, 1 failed" in result.output


def test_cli_refuses_a_path_that_does_not_exist(tmp_path: Path) -> None:
    result = _run_cli("test", str(tmp_path / "no-such-rules"))
    assert result.exit_code == 2
    assert "no such file or directory" in result.output


def test_cli_test_and_decide_register_no_ruleset(tmp_path: Path) -> None:
    """Neither command decides a live request: they compile onto the plain-Python twin (durable-rules
    would keep the rulesets of every file they are given for the life of the process)."""
    text = POLICY_FILE.read_text(encoding="utf-8").replace('version: "2026.1"', 'version: "2026.1-local"', 1)
    (tmp_path / POLICY_FILE.name).write_text(text, encoding="utf-8")
    shutil.copy(CASES_FILE, tmp_path / CASES_FILE.name)
    order = tmp_path / "order.json"
    order.write_text(
        '{"customer": {"id": "C-1", "grade": "A", "limit": "1000.00"}, '
        '"order": {"id": "SO-1", "amount": "2000.00", "currency": "CNY"}, "as_of": "2026-06-30"}',
        encoding="utf-8",
    )
    before = engine_ruleset_count()
    tested = _run_cli("test", str(tmp_path))
    decided = _run_cli("decide", "order", "--policy", str(tmp_path / POLICY_FILE.name), "--input", str(order))
    assert (tested.exit_code, decided.exit_code) == (0, 0), tested.output + decided.output
    assert '"outcome": "hold"' in decided.output
    assert engine_ruleset_count() == before

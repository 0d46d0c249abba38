"""`creditpolicy test` measures coverage: what no case exercised, by name and line; --min-coverage; JSON.

The shipped policy and its cases are copied, and one case is changed so that no case reaches the
last band of ``max_days_late`` any more (a customer 90 days late at worst instead of 120): every
case still passes, and exactly that band is reported.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from api.entrypoints.cli import app
from tests.unit.policy.support import edit, position

RULES = Path(__file__).resolve().parents[2] / "rules"
BAND = "{min: 91, points: 0}"  # max_days_late: more than 3 months late at least once
BAND_NAME = "factor max_days_late: band 91 or more → 0 points"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, ["test", *map(str, args)], env={"COLUMNS": "200"})


def copy_rules(folder: Path, *, min_coverage: str | None = None, miss_a_band: bool = False) -> Path:
    """The shipped policy and cases in ``folder``; optionally a policy minimum, and a band no case reaches."""
    folder.mkdir()
    policy = (RULES / "standard.yaml").read_text(encoding="utf-8")
    if min_coverage is not None:
        policy = edit(policy, "  currency: CNY\n", f"  currency: CNY\n  min_coverage: {min_coverage}\n")
    (folder / "standard.yaml").write_text(policy, encoding="utf-8")
    cases = (RULES / "standard.cases.yaml").read_text(encoding="utf-8")
    if miss_a_band:
        # 90 days late scores 15 (the band 61 to under 91): +15 × 7 / 100 = +1.05 on 8.55
        cases = edit(cases, "max_days_late: 120,", "max_days_late: 90,")
        cases = edit(cases, 'score: "8.55"', 'score: "9.60"')
        cases = edit(cases, '- {id: max_days_late, points: "0.00"}', '- {id: max_days_late, points: "15.00"}')
    (folder / "standard.cases.yaml").write_text(cases, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def missing_a_band(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_rules(tmp_path_factory.mktemp("rules") / "missing", miss_a_band=True)


def band_location(folder: Path) -> str:
    line, _ = position((folder / "standard.yaml").read_text(encoding="utf-8"), BAND)
    return f"{folder / 'standard.yaml'}:{line}"


def test_the_band_no_case_reaches_is_named_with_its_line(missing_a_band: Path) -> None:
    result = run(missing_a_band)
    assert result.exit_code == 0, result.output  # no minimum asked: the cases pass
    lines = result.stdout.splitlines()
    assert lines[0].endswith("103 passed, 0 failed")
    assert lines[1] == "  coverage: 165/166 policy elements exercised (99.3 %)"
    assert lines[2:] == [f"    {band_location(missing_a_band)} not exercised: {BAND_NAME}"]


# 165/166 is 99.39… %, shown rounded down: 99.3 % is reached, 99.4 % is not.
@pytest.mark.parametrize(("minimum", "exit_code"), [("99.3", 0), ("99.4", 1)])
def test_min_coverage_fails_the_run_below_it(missing_a_band: Path, minimum: str, exit_code: int) -> None:
    result = run(missing_a_band, "--min-coverage", minimum)
    assert result.exit_code == exit_code, result.output
    below = f"  coverage 99.3 % is below --min-coverage {minimum} %"
    assert (below in result.stdout.splitlines()) == (exit_code == 1)


def test_min_coverage_100_passes_the_complete_shipped_cases() -> None:
    result = run(RULES, "--min-coverage", "100")
    assert result.exit_code == 0, result.output
    assert "  coverage: 166/166 policy elements exercised (100.0 %)" in result.stdout.splitlines()


@pytest.mark.parametrize(
    "args", [["--min-coverage", "101"], ["--min-coverage", "-1"], ["--no-coverage", "--min-coverage", "50"]]
)
def test_a_threshold_outside_0_to_100_or_without_coverage_is_a_usage_error(args: list[str]) -> None:
    result = run(RULES, *args)
    assert result.exit_code == 2, result.output


def test_json_lists_every_element_exercised_or_not(missing_a_band: Path) -> None:
    result = run(missing_a_band, "--format", "json", "--min-coverage", "99.5")
    assert result.exit_code == 1, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    assert (document["ok"], document["min_coverage"]) == (False, 99.5)
    [file] = document["files"]
    assert (file["passed"], file["failed"], file["failures"], file["ok"]) == (103, 0, [], False)
    coverage = file["coverage"]
    assert (coverage["exercised"], coverage["total"], coverage["percent"]) == (165, 166, "99.3")
    assert (coverage["below_min_coverage"], coverage["below_policy_min_coverage"]) == (True, False)
    assert len(coverage["elements"]) == 166
    [missing] = [e for e in coverage["elements"] if not e["exercised"]]
    line, column = position((missing_a_band / "standard.yaml").read_text(encoding="utf-8"), BAND)
    assert missing == {
        "key": "factor.max_days_late.band.5",
        "name": BAND_NAME,
        "file": str(missing_a_band / "standard.yaml"),
        "line": line,
        "column": column,
        "path": "scorecard.factors[1].bands[5]",
        "exercised": False,
    }


def test_json_reports_a_file_that_cannot_run(tmp_path: Path) -> None:
    (tmp_path / "x.cases.yaml").write_text("policy: absent.yaml\ncases: [{id: a, kind: order, input: {}}]\n")
    result = run(tmp_path, "--format", "json")
    assert result.exit_code == 1
    [file] = json.loads(result.stdout)["files"]
    assert file["ok"] is False and file["problem"]["issues"][0]["code"] == "case_policy_missing"


def test_the_policys_own_minimum_fails_the_run_as_publishing_would(tmp_path: Path) -> None:
    strict = copy_rules(tmp_path / "strict", min_coverage="1", miss_a_band=True)
    result = run(strict)
    assert result.exit_code == 1, result.output
    assert "  coverage: 165/166 policy elements exercised (99.3 %; the policy requires 100 %)" in result.stdout
    assert "below the policy's min_coverage 100 %: publishing it would be refused" in result.stdout
    complete = copy_rules(tmp_path / "complete", min_coverage="1")
    assert run(complete).exit_code == 0

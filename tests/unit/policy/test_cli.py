"""`validate` and `schema` commands: output lines and exit codes 0 valid, 1 invalid, 2 usage."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from api.entrypoints.cli.policy_commands import register
from engine.rules_adapter import engine_ruleset_count
from policy.jsonschema import policy_json_schema
from tests.factories import expanding_policy_yaml, minimal_policy_yaml
from tests.unit.policy.support import policy_with

LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+) (?P<path>\S+): (?P<message>.+) \[(?P<code>[a-z_]+)\]$")


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_valid_file_prints_ok_with_id_version_and_hash(app: typer.Typer, tmp_path: Path) -> None:
    file = write(tmp_path, "good.yaml", minimal_policy_yaml())
    result = CliRunner().invoke(app, ["validate", file])
    assert result.exit_code == 0
    assert re.fullmatch(rf"{re.escape(file)}: ok \(policy minimal version 1, sha256 [0-9a-f]{{64}}\)\n", result.stdout)


def test_an_invalid_file_prints_every_error_one_per_line_and_exits_1(app: typer.Typer, tmp_path: Path) -> None:
    text = policy_with("      weight: 25\n", "      weight: 20\n").replace("        letter: 1\n", "        latter: 1\n")
    file = write(tmp_path, "bad.yaml", text)
    result = CliRunner().invoke(app, ["validate", file])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    matches = [LINE.match(line) for line in lines]
    assert all(m is not None and m["file"] == file for m in matches)
    assert sorted(m["code"] for m in matches if m) == ["unknown_step", "weights_sum"]


def test_what_the_policy_expands_to_in_the_engine_is_validated_too(app: typer.Typer, tmp_path: Path) -> None:
    file = write(tmp_path, "wide.yaml", expanding_policy_yaml(rules=45, values=100))
    before = engine_ruleset_count()
    result = CliRunner().invoke(app, ["validate", file])
    assert result.exit_code == 1 and engine_ruleset_count() == before
    (line,) = result.stdout.splitlines()
    match = LINE.match(line)
    assert match is not None and match["code"] == "expansion_too_large"
    assert (match["file"], match["line"], match["col"], match["path"]) == (
        file,
        "116",
        "7",
        "order_rules.rules[0].when",
    )
    assert "9,072 conditions in the rules engine, more than the 8,000" in match["message"]


def test_several_files_are_all_reported(app: typer.Typer, tmp_path: Path) -> None:
    good = write(tmp_path, "good.yaml", minimal_policy_yaml())
    bad = write(tmp_path, "bad.yaml", "policy:\n\tid: x\n")
    result = CliRunner().invoke(app, ["validate", good, bad])
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].startswith(f"{good}: ok")
    assert result.stdout.splitlines()[1].startswith(f"{bad}:2:1 <document>: a tab character")


def test_a_missing_file_is_a_usage_error(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["validate", str(tmp_path / "absent.yaml")])
    assert result.exit_code == 2
    assert "absent.yaml: no such file" in result.stderr
    assert result.stdout == ""


def test_no_file_is_a_usage_error(app: typer.Typer) -> None:
    assert CliRunner().invoke(app, ["validate"]).exit_code == 2


def test_schema_prints_the_json_schema(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == policy_json_schema()


def test_schema_writes_a_file(app: typer.Typer, tmp_path: Path) -> None:
    out = tmp_path / "policy.schema.json"
    result = CliRunner().invoke(app, ["schema", "--output", str(out)])
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(out.read_text(encoding="utf-8"))["$id"] == policy_json_schema()["$id"]


def test_schema_for_another_grade_scale(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["schema", "--grades", "A1, A2,B"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == policy_json_schema(("A1", "A2", "B"))
    for wrong in ("A,,B", "A,A", "1A,B"):
        refused = CliRunner().invoke(app, ["schema", "--grades", wrong])
        assert refused.exit_code == 2 and "--grades" in refused.stderr and refused.stdout == ""


def test_a_warning_is_printed_as_a_warning_and_the_file_is_still_valid(app: typer.Typer, tmp_path: Path) -> None:
    text = policy_with(
        "      method: pct_liquidation_value\n      pct: 0.1\n", "      method: pct_working_capital\n      pct: 0.4\n"
    )
    file = write(tmp_path, "lifted.yaml", text)
    result = CliRunner().invoke(app, ["validate", file])
    assert result.exit_code == 0
    warning, summary = result.stdout.splitlines()
    match = LINE.match(warning)
    assert match is not None and match["path"] == "limits.per_grade.B.pct"
    assert match["message"].startswith("warning: the weaker grade B grants 0.4 of working capital")
    assert match["code"] == "limit_lifted_by_floor"
    assert summary.startswith(f"{file}: ok (policy minimal version 1") and summary.endswith(", 1 warning")

"""The CLI's help and listings: every help text shown whole, tables whole in a pipe, JSON on request."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from rich.table import Table
from typer.core import TyperGroup
from typer.testing import CliRunner

from api.entrypoints.cli import app
from api.entrypoints.cli.output import ListingFormat, print_listing, print_table
from tests.factories import minimal_policy_yaml


def _commands(group: TyperGroup, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """(command path, help text) of every command under ``group``, groups included."""
    for name, command in group.commands.items():
        yield (*path, name), command.help or ""
        if isinstance(command, TyperGroup):
            yield from _commands(command, (*path, name))


COMMANDS = list(_commands(typer.main.get_group(app)))


def _words(text: str) -> str:
    """The words of a text, whatever the wrapping, the panel borders and the code marks."""
    return " ".join(text.replace("`", "").replace("│", " ").split())


@pytest.mark.parametrize(("path", "help_text"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_s_help_shows_its_text_whole(path: tuple[str, ...], help_text: str) -> None:
    # Issue 10: `validate --help` lost "[code]" to Rich markup.
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0
    assert _words(inspect.cleandoc(help_text)) in _words(result.stdout)


def test_the_validate_line_format_survives_in_the_main_help() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert "path: message [code]" in _words(result.stdout)


def test_a_table_in_a_pipe_keeps_every_row_whole(capsys: pytest.CaptureFixture[str]) -> None:
    table = Table("name", "role", "note")
    long = "x" * 150
    table.add_row("erp", "decide", long)
    print_table(table)  # pytest's capture is no terminal: it is a pipe
    lines = capsys.readouterr().out.splitlines()
    assert any(long in line for line in lines)
    assert max(len(line) for line in lines) > 150


def test_a_listing_as_json_has_every_field_of_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    rows: list[dict[str, Any]] = [{"name": "erp", "revoked_at": None}, {"name": "[b]x", "role": "audit"}]
    print_listing(ListingFormat.json, rows, [("name", "name")])
    assert json.loads(capsys.readouterr().out) == rows


def test_a_table_shows_values_as_stored_never_as_markup(capsys: pytest.CaptureFixture[str]) -> None:
    print_listing(ListingFormat.table, [{"name": "[bold]x[/bold]"}], [("name", "name")])
    assert re.search(r"\[bold\]x\[/bold\]", capsys.readouterr().out)


def test_decide_explain_shows_the_floor_step_as_the_trace_does(tmp_path: Path) -> None:
    # Issue 10: the rounding row showed the floored limit and no floor step; the API's trace has it.
    policy = tmp_path / "lifted.yaml"
    b_rule = "      method: pct_liquidation_value\n      pct: 0.1\n"
    lifting = "      method: pct_working_capital\n      pct: 0.4\n"
    policy.write_text(minimal_policy_yaml().replace(b_rule, lifting), encoding="utf-8")
    request = tmp_path / "assess.json"
    credit_file = {
        "payment": {"on_time_ratio": "0.97"},
        "financials": {"current_assets": "1000000.00", "current_liabilities": "500000.00", "net_assets": "1000000.00"},
        "ratings": {"visit_impression": "good"},
    }
    request.write_text(json.dumps({"customer": {"id": "C-1"}, "credit_file": credit_file, "as_of": "2026-06-30"}))
    args = ["decide", "assess", "--policy", str(policy), "--input", str(request), "--explain"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout[: result.stdout.index("\npolicy ")])["credit_limit"] == "200000.00"
    rows = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if line.count("│") == 4}
    assert "150000.00" in rows["rounding"]  # A's own rule: 30 % of working capital 500 000
    assert "grade B would grant more for this file (floor_grade_B)" in rows["floor"]
    assert "200000.00" in rows["floor"] and "200000.00" in rows["limit"]


def test_decide_without_as_of_decides_as_of_today_and_says_so(tmp_path: Path) -> None:
    # Issue 10: as_of defaults to today on the API; the CLI refused such an input.
    import datetime as dt

    policy = tmp_path / "policy.yaml"
    policy.write_text(minimal_policy_yaml(), encoding="utf-8")
    credit_file = {
        "payment": {"on_time_ratio": "0.97"},
        "financials": {"current_assets": "1000000.00", "current_liabilities": "500000.00", "net_assets": "1000000.00"},
        "ratings": {"visit_impression": "good"},
    }
    undated, dated = tmp_path / "undated.json", tmp_path / "dated.json"
    today = dt.datetime.now(dt.UTC).date().isoformat()
    undated.write_text(json.dumps({"customer": {"id": "C-1"}, "credit_file": credit_file}))
    dated.write_text(json.dumps({"customer": {"id": "C-1"}, "credit_file": credit_file, "as_of": today}))
    runs = [
        CliRunner().invoke(app, ["decide", "assess", "--policy", str(policy), "--input", str(path)])
        for path in (undated, dated)
    ]
    assert [run.exit_code for run in runs] == [0, 0], runs[0].output
    assert runs[0].stdout == runs[1].stdout
    assert f"as_of: {today} (today, UTC" in runs[0].stderr
    assert "as_of" not in runs[1].stderr

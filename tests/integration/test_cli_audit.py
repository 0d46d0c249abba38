"""`creditpolicy diff` and `creditpolicy blame` end to end: files or stored versions, every format, exit codes."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner, Result

from api.adapters.db.engine import create_db_engine
from api.adapters.db.migrate import upgrade_database
from api.adapters.db.unit_of_work import UnitOfWork
from api.entrypoints.cli import audit_commands
from api.service import versions
from api.settings import get_settings
from tests.diff_factories import SHIPPED, candidate_yaml, edited, shipped_yaml

app = typer.Typer()
audit_commands.register(app)


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def candidate(tmp_path: Path) -> Path:
    path = tmp_path / "candidate.yaml"
    path.write_text(candidate_yaml(), encoding="utf-8")
    return path


def test_text_one_line_per_change_by_section_plain_in_a_pipe(candidate: Path) -> None:
    result = run("diff", str(SHIPPED), str(candidate))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "diff standard 2026.1 → standard 2026.2"
    assert lines[1].startswith("a  standard 2026.1 (b1cd7e11dad0)  ") and lines[1].endswith(
        "rules/standard.yaml  (file)"
    )
    assert "version: 2026.1 → 2026.2" in lines and "effective from: 2026-01-01 → 2026-07-01" in lines
    assert "Terms" in lines and "  terms BBB: 2/10, n/30 → 2/10, n/20  (a:467 b:472)" in lines
    assert lines.index("Scorecard") < lines.index("Grades") < lines.index("Limits") < lines.index("Terms")
    assert lines[-1] == "12 changes in 6 sections: 2 added, 0 removed, 10 changed"
    assert "\x1b[" not in result.stdout


def test_colours_on_a_terminal(candidate: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(audit_commands, "out", Console(file=screen, force_terminal=True, color_system="standard"))
    assert run("diff", str(SHIPPED), str(candidate)).exit_code == 0
    shown = screen.getvalue()
    assert "\x1b[32m  order rule large_order_below_a added" in shown  # added: green
    assert "\x1b[33m  terms BBB: 2/10, n/30 → 2/10, n/20" in shown  # changed: yellow


def test_exit_code_like_git_diff(candidate: Path, tmp_path: Path) -> None:
    assert run("diff", str(SHIPPED), str(candidate), "--exit-code").exit_code == 1
    reformatted = tmp_path / "same.yaml"
    reformatted.write_text(edited(shipped_yaml(), ('      text: "2/10, n/30"', "      text: '2/10,n/30'")), "utf-8")
    same = run("diff", str(SHIPPED), str(reformatted), "--exit-code")
    assert same.exit_code == 0 and same.stdout.splitlines()[-1] == "no changes: the two versions say the same thing"


def test_json_and_html(candidate: Path) -> None:
    result = run("diff", str(SHIPPED), str(candidate), "--format", "json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["schema"] == "creditpolicy.policy_diff/1" and document["counts"]["changes"] == 12
    assert document["from"]["source"] == "file" and document["to"]["file"] == str(candidate)
    terms = next(s for s in document["sections"] if s["section"] == "terms")["changes"][0]
    assert (terms["element"], terms["old"], terms["new"], terms["new_source"]["line"]) == (
        "terms BBB",
        "2/10, n/30",
        "2/10, n/20",
        472,
    )
    page = run("diff", str(SHIPPED), str(candidate), "--format", "html")
    assert page.exit_code == 0 and page.stdout.startswith("<!DOCTYPE html>") and "terms BBB" in page.stdout


def test_a_side_that_cannot_be_read_or_is_invalid_exits_2(candidate: Path, tmp_path: Path) -> None:
    missing = run("diff", "nope.yaml", str(candidate))
    assert missing.exit_code == 2 and "nope.yaml: no such file" in missing.stderr
    invalid = tmp_path / "bad.yaml"
    invalid.write_text(shipped_yaml().replace("min_grade: CCC", "min_grade: ZZ"), encoding="utf-8")
    refused = run("diff", str(SHIPPED), str(invalid), "--exit-code")
    assert refused.exit_code == 2 and f"{invalid}:" in refused.stderr and "min_grade" in refused.stderr
    assert run("diff", str(SHIPPED), str(candidate), "--format", "pdf").exit_code == 2


@pytest.fixture
def store(empty_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated database holding 2026.1 (published by alice, approved by bob) and 2026.2 (carol, dave)."""
    monkeypatch.setenv("CREDITPOLICY_DATABASE_URL", empty_database_url)
    get_settings.cache_clear()
    upgrade_database(empty_database_url)
    engine = create_db_engine(empty_database_url)
    with UnitOfWork(engine) as uow:
        for text, author, approver in ((shipped_yaml(), "alice", "bob"), (candidate_yaml(), "carol", "dave")):
            record, _ = versions.publish(
                uow, text, "rules/standard.yaml", author, lambda _loaded: versions.CasesVerdict([], None)
            )
            versions.approve(uow, record.sha256, approver, "reviewed with finance")
            versions.activate(uow, record.sha256, approver, "go live")
    engine.dispose()
    yield empty_database_url
    get_settings.cache_clear()


def test_stored_versions_say_their_status_and_period(store: str, candidate: Path) -> None:
    result = run("diff", "2026.1", "2026.2")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1].endswith("(active, in force 2026-01-01 … 2026-06-30)")
    assert "published by alice" in lines[2] and "approved by bob" in lines[2]
    assert lines[3].endswith("(active, in force 2026-07-01 … open end)")
    mixed = run("diff", "2026.1", str(candidate), "--format", "json")
    document = json.loads(mixed.stdout)
    assert (document["from"]["source"], document["to"]["source"], document["identical"]) == ("stored", "file", False)
    assert document["counts"]["metadata"] == 3 and document["counts"]["changes"] == 12
    unknown = run("diff", "2026.1", "9.9")
    assert unknown.exit_code == 2 and "[version_not_found]" in unknown.stderr


def test_blame_text_and_json(store: str) -> None:
    result = run("blame", "standard", "terms BBB")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "blame 'terms BBB' in standard 2026.2 (679a2e5e88a1)"
    assert lines[1] == "  terms BBB: 2/10, n/20  (rules/standard.yaml:471)"
    assert any(
        line.startswith("last changed in standard 2026.2 (679a2e5e88a1), effective 2026-07-01") for line in lines
    )
    assert any(line.startswith("  published by carol 20") and line.endswith(" UTC") for line in lines)
    assert any(line.startswith("  approved by dave ") and line.endswith("UTC: reviewed with finance") for line in lines)
    assert "  terms BBB: 2/10, n/30 → 2/10, n/20  (a:467 b:472)" in lines
    document = json.loads(run("blame", "standard", "limits.per_grade.BB", "--format", "json").stdout)
    assert document["schema"] == "creditpolicy.policy_blame/1"
    assert document["last_changed"]["version"]["version"] == "2026.2"
    assert [e["version"]["version"] for e in document["history"]] == ["2026.2", "2026.1"]
    older = json.loads(run("blame", "standard", "terms BBB", "--at", "2026.1", "--format", "json").stdout)
    assert older["current"][0]["text"] == "2/10, n/30" and older["last_changed"]["introduced"] is True
    unknown = run("blame", "standard", "terms BBBB")
    assert unknown.exit_code == 1 and "[element_not_found]" in unknown.stderr and "'terms BBB'" in unknown.stderr

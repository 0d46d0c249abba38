"""`creditpolicy impact`, `creditpolicy review` and `approve` (which prints the review first) on both databases."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from sqlalchemy import Engine
from typer.testing import CliRunner

from api.adapters.db.unit_of_work import UnitOfWork
from api.entrypoints.cli import impact_commands, version_commands
from api.service import keys
from api.settings import get_settings
from tests.integration.test_impact_service import logged  # noqa: F401  (the fixture)

app = typer.Typer()
impact_commands.register(app)
version_commands.register(app)


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("CREDITPOLICY_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_impact_prints_text_json_and_the_page(cli: CliRunner, logged: dict[str, Any]) -> None:  # noqa: F811
    text = cli.invoke(app, ["impact", "--from", "2026.1", "--to", "2026.7", "--until", "2026-06-30"])
    assert text.exit_code == 0, text.output
    assert "determinism: all 17 decisions reproduce under a, byte for byte" in text.stdout
    assert "approve → hold (CNY " in text.stdout and "fired only under b: order_rules.overdue_ordinary" in text.stdout
    as_json = cli.invoke(app, ["impact", "--from", "2026.1", "--to", "2026.7", "--format", "json", "--kind", "assess"])
    assert json.loads(as_json.stdout)["kinds"]["assess"]["compared"] == 5
    page = cli.invoke(app, ["impact", "--from", "2026.1", "--to", "2026.7", "--format", "html"])
    assert page.stdout.startswith("<!DOCTYPE html>")
    refused = cli.invoke(app, ["impact", "--from", "9.9", "--to", "2026.7"])
    assert refused.exit_code == 1 and "[unknown_policy_version]" in refused.stderr
    bad_kind = cli.invoke(app, ["impact", "--from", "2026.1", "--to", "2026.7", "--kind", "loan"])
    assert bad_kind.exit_code == 1 and "[unknown_decision_kind]" in bad_kind.stderr


def test_approve_prints_the_review_before_approving(cli: CliRunner, engine: Engine, logged: dict[str, Any]) -> None:  # noqa: F811
    with UnitOfWork(engine) as uow:
        key = keys.create_key(uow, "second-approver", "approve")[1]
    review = cli.invoke(app, ["review", "2026.7", "--format", "json"])
    assert json.loads(review.stdout)["diff"]["counts"]["changes"] > 0
    approved = cli.invoke(app, ["approve", "2026.7", "--reason", "read the impact", "--key", key])
    assert approved.exit_code == 0, approved.output
    lines = approved.stdout.splitlines()
    assert lines[0].startswith("review of standard 2026.7") and "approved by second-approver" in lines[-1]
    assert any(line.startswith("diff standard 2026.1 → standard 2026.7") for line in lines)

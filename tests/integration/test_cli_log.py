"""`creditpolicy log` and `creditpolicy replay` on both databases: the API's use cases, JSON in a pipe,
a table or lines on request; exit 0 ok (replay: matches), 1 refused (replay: differs), 2 usage."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from rich.console import Console
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from api.adapters.db.unit_of_work import UnitOfWork
from api.entrypoints.cli import log_commands
from api.service import versions
from api.service.decisions import log_decision
from api.service.decisions.decide import evaluate
from api.service.decisions.envelope import read_envelope
from api.service.keys import Caller
from api.service.policy_cases import run_cases_beside
from api.service.registry import PolicyRegistry
from api.settings import get_settings
from tests.conftest import SHIPPED
from tests.e2e.inputs import body, second_version_yaml

app = typer.Typer()
log_commands.register(app)


@pytest.fixture
def cli(database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """A runner on a database holding the shipped policy in force and 2026.2 approved (not active)."""
    monkeypatch.setenv("CREDITPOLICY_DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "250")  # Rich tables would wrap at the default 80
    get_settings.cache_clear()
    with UnitOfWork(engine) as uow:
        shipped = SHIPPED.read_text(encoding="utf-8")
        for text, file, activate in (
            (shipped, "rules/standard.yaml", True),
            (second_version_yaml(shipped), "candidate.yaml", False),  # no cases beside: the shipped ones expect 30 days
        ):
            record, _ = versions.publish(uow, text, file, "author", run_cases_beside)
            versions.approve(uow, record.sha256, "approver", "reviewed")
            if activate:
                versions.activate(uow, record.sha256, "approver", "go live")
    yield CliRunner()
    get_settings.cache_clear()


def decide(engine: Engine, kind: str, data: dict[str, Any]) -> str:
    """Decide and log as the service does; the decision id."""
    with UnitOfWork(engine) as uow:
        envelope = read_envelope(data)
        prepared = evaluate(uow, PolicyRegistry(), Caller("erp", "decide"), kind, envelope, envelope.request_id, False)
        return log_decision(uow, prepared).decision_id


def run(cli: CliRunner, *args: str) -> Result:
    return cli.invoke(app, list(args))


def test_log_filters_as_the_api_does_and_pipes_whole_entries(cli: CliRunner, engine: Engine) -> None:
    late = body("order", "C-7", as_of="2026-06-30")
    late["order"]["id"] = "SO-7"
    ids = [decide(engine, "order", {**late, "as_of": day}) for day in ("2026-06-01", "2026-06-15")]
    ids.append(decide(engine, "assess", body("assess", "C-7", request_id="erp-7")))
    piped = run(cli, "log", "--order", "SO-7")
    assert piped.exit_code == 0, piped.output
    entries = [json.loads(line) for line in piped.stdout.splitlines()]
    assert [e["decision_id"] for e in entries] == ids[1::-1]
    assert entries[0] == {
        **entries[0],
        "order_id": "SO-7",
        "as_of": "2026-06-15",
        "customer_id": "C-7",
        "kind": "order",
        "policy": {**entries[0]["policy"], "version": "2026.1"},
    }
    by_request = json.loads(run(cli, "log", "--request", "erp-7").stdout)
    assert by_request["decision_id"] == ids[2]
    june = run(cli, "log", "--customer", "C-7", "--as-of-from", "2026-06-10", "--as-of-to", "2026-06-30")
    assert [json.loads(line)["decision_id"] for line in june.stdout.splitlines()] == [ids[2], ids[1]]
    table = run(cli, "log", "--customer", "C-7", "--format", "table")
    assert table.exit_code == 0 and "decided (UTC)" in table.stdout and "SO-7" in table.stdout


def test_log_pages_and_follows_every_page(cli: CliRunner, engine: Engine) -> None:
    ids = [decide(engine, "collection", body("collection", "C-8")) for _ in range(3)]
    first = run(cli, "log", "--customer", "C-8", "--limit", "2")
    assert len(first.stdout.splitlines()) == 2 and first.stderr.startswith("more: --cursor ")
    cursor = first.stderr.split()[-1]
    rest = run(cli, "log", "--customer", "C-8", "--limit", "2", "--cursor", cursor)
    assert [json.loads(line)["decision_id"] for line in rest.stdout.splitlines()] == ids[:1] and rest.stderr == ""
    every = run(cli, "log", "--customer", "C-8", "--limit", "1", "--all")
    assert [json.loads(line)["decision_id"] for line in every.stdout.splitlines()] == ids[::-1]


def test_log_refuses_bad_filters(cli: CliRunner) -> None:
    for args, code in (
        (("--version", "9999.9"), "[unknown_policy_version]"),
        (("--as-of-from", "2026-06-30", "--as-of-to", "2026-06-01"), "[inverted_range]"),
        (("--cursor", "zzz"), "[invalid_cursor]"),
    ):
        refused = run(cli, "log", *args)
        assert refused.exit_code == 1 and code in refused.stderr, (args, refused.output)
    for args in (("--kind", "loan"), ("--since", "yesterday"), ("--as-of-to", "2026-02-30"), ("--format", "xml")):
        assert run(cli, "log", *args).exit_code == 2, args


def test_replay_matches_under_its_own_version_and_shows_what_another_changes(cli: CliRunner, engine: Engine) -> None:
    order = body("order", "C-9")
    order["exposure"]["oldest_overdue_days"] = 25  # held from 20 days in 2026.2, from 30 in 2026.1
    decision_id = decide(engine, "order", order)
    own = run(cli, "replay", decision_id, "--format", "text")
    assert own.exit_code == 0, own.output
    assert own.stdout.splitlines()[1:] == [
        f"replayed under standard 2026.1 ({own.stdout.split('(')[2][:12]}) (its own version)",
        "identical",
    ]
    other = run(cli, "replay", decision_id, "--against", "2026.2", "--format", "text")
    assert other.exit_code == 1
    lines = other.stdout.splitlines()
    assert lines[2:] == [
        "5 differences:",
        "  outcome: approve → hold",
        "  reasons[order_rules.default] removed",
        "  reasons[order_rules.overdue_ordinary] added",
        "  trace.rules_fired[order_rules.default] removed",
        "  trace.rules_fired[order_rules.overdue_ordinary] added",
    ]
    piped = json.loads(run(cli, "replay", decision_id, "--against", "2026.2").stdout)
    assert piped["matches"] is False and piped["differences"][0] == {
        "path": "outcome",
        "change": "changed",
        "old": "approve",
        "new": "hold",
    }
    missing = run(cli, "replay", "no-such-decision")
    assert missing.exit_code == 1 and "[decision_not_found]" in missing.stderr


def test_on_a_terminal_log_draws_a_table_and_replay_writes_lines(
    cli: CliRunner, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    decision_id = decide(engine, "settlement", body("settlement"))
    monkeypatch.setattr(log_commands, "out", Console(force_terminal=True, width=250, color_system=None))
    table = run(cli, "log", "--kind", "settlement")
    assert table.exit_code == 0 and "decided (UTC)" in table.stdout and decision_id in table.stdout
    replayed = run(cli, "replay", decision_id)
    assert replayed.exit_code == 0 and replayed.stdout.splitlines()[-1] == "identical"

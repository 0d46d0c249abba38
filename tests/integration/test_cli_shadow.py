"""`creditpolicy shadow start|end|status|report` on both databases: the use cases the API calls, as keys."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner, Result

from api.adapters.db.engine import create_db_engine
from api.adapters.db.unit_of_work import UnitOfWork
from api.adapters.group_commit import GroupCommitter
from api.entrypoints.cli import shadow_commands, version_commands
from api.service import keys, versions
from api.service.decisions import DecisionWriter, decide_and_log
from api.service.policy_cases import cases_runner, run_cases_beside
from api.service.registry import PolicyRegistry
from api.settings import get_settings
from tests.conftest import SHIPPED
from tests.decision_factories import order_input

app = typer.Typer()
for module in (shadow_commands, version_commands):
    module.register(app)


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("CREDITPOLICY_DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "250")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def run(cli: CliRunner, *args: str) -> Result:
    return cli.invoke(app, list(args))


def test_start_report_status_and_end(cli: CliRunner, database_url: str) -> None:
    engine = create_db_engine(database_url)
    try:
        with UnitOfWork(engine) as uow:
            shipped, _ = versions.publish(
                uow, SHIPPED.read_text(encoding="utf-8"), "rules/standard.yaml", "author", run_cases_beside
            )
            versions.approve(uow, shipped.sha256, "approver", "ok")
            versions.activate(uow, shipped.sha256, "approver", "go")
            text = SHIPPED.read_text(encoding="utf-8").replace('version: "2026.1"', 'version: "2026.2"', 1)
            text = text.replace("exposure.oldest_overdue_days > 30 and", "exposure.oldest_overdue_days > 20 and", 1)
            versions.publish(uow, text, "var/challenger.yaml", "carol", cases_runner(None, ""))
            _, carol = keys.create_key(uow, "carol", "approve")  # an approver who published it
            _, dave = keys.create_key(uow, "dave", "approve")
            _, erin = keys.create_key(uow, "erin", "audit")
        refused = run(cli, "shadow", "start", "2026.2", "--share", "50", "--reason", "mine", "--key", carol)
        assert refused.exit_code == 1 and "[four_eyes]" in refused.stderr
        assert run(cli, "shadow", "start", "2026.2", "--share", "50", "--reason", "x", "--key", erin).exit_code == 1
        started = run(cli, "shadow", "start", "2026.2", "--share", "100", "--reason", "CR-118", "--key", dave)
        assert started.exit_code == 0, started.output
        assert "challenger 2026.2" in started.stdout and "on 100 % of customers, named by dave" in started.stdout
        assert json.loads(run(cli, "shadow", "status", "--format", "json").stdout)[0]["share"] == "100"

        registry = PolicyRegistry()
        committer = GroupCommitter(lambda: UnitOfWork(engine))
        writer = DecisionWriter(
            registry, lambda: UnitOfWork(engine), lambda: UnitOfWork(engine, read_only=True), committer
        )
        caller = keys.Caller("erp", "decide")
        for customer, days in (("C-1", 25), ("C-2", 0)):
            body = order_input(customer_id=customer, oldest_overdue_days=days, overdue_amount="10.00")
            asyncio.run(decide_and_log("order", body, caller, writer))
        committer.close()

        report = run(cli, "shadow", "report", "--policy", "standard")
        assert report.exit_code == 0, report.output
        assert "order: 2 shadowed" in report.stdout and "1 agree (50.00 %)" in report.stdout
        assert "approve → hold: 1 (CNY 100,000.00)" in report.stdout
        document = json.loads(run(cli, "shadow", "report", "--kind", "order", "--format", "json").stdout)
        assert document["kinds"][0]["transitions"][0]["count"] == 1
        assert run(cli, "shadow", "report", "--kind", "loan").exit_code == 1  # unknown_decision_kind

        ended = run(cli, "shadow", "end", "--reason", "done", "--key", dave)
        assert ended.exit_code == 0 and "ended by dave" in ended.stdout
        assert "no challenger in shadow" in run(cli, "shadow", "status").stderr
        again = run(cli, "shadow", "end", "--reason", "done", "--key", dave)
        assert again.exit_code == 1 and "[challenger_not_found]" in again.stderr
        history = json.loads(run(cli, "history", "2026.2", "--format", "json").stdout)
        assert [e["event"] for e in history] == ["published", "challenger_named", "challenger_ended"]
    finally:
        engine.dispose()

"""The store-backed CLI commands end to end on both databases: exit 0 ok, 1 refused (every error a line), 2 usage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from api.adapters.db.engine import create_db_engine
from api.adapters.db.migrate import head_revision
from api.adapters.db.unit_of_work import UnitOfWork
from api.entrypoints.cli import db_commands, key_commands, version_commands
from api.service import keys
from api.settings import get_settings
from tests.integration.policy_texts import broken, policy_text

app = typer.Typer()
for module in (db_commands, key_commands, version_commands):
    module.register(app)


@pytest.fixture
def cli(empty_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """A runner whose commands use the test database, as CREDITPOLICY_DATABASE_URL would tell them."""
    monkeypatch.setenv("CREDITPOLICY_DATABASE_URL", empty_database_url)
    monkeypatch.setenv("COLUMNS", "200")  # Rich tables would wrap at the default 80
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def run(cli: CliRunner, *args: str) -> Result:
    return cli.invoke(app, list(args))


def test_commands_refuse_an_unmigrated_database_until_db_upgrade(cli: CliRunner) -> None:
    refused = run(cli, "keys", "list")
    assert refused.exit_code == 1 and "creditpolicy db upgrade" in refused.stderr
    upgraded = run(cli, "db", "upgrade")
    assert upgraded.exit_code == 0 and f"revision {head_revision()} (was empty)" in upgraded.stdout
    assert run(cli, "db", "upgrade").exit_code == 0
    assert run(cli, "keys", "list").exit_code == 0


def test_keys_create_list_revoke(cli: CliRunner, empty_database_url: str) -> None:
    run(cli, "db", "upgrade")
    created = run(cli, "keys", "create", "--name", "erp", "--role", "decide")
    assert created.exit_code == 0, created.output
    plaintext = created.stdout.splitlines()[0]
    engine = create_db_engine(empty_database_url)
    try:
        with UnitOfWork(engine) as uow:
            assert keys.authenticate(uow, plaintext) == keys.Caller("erp", "decide")
        listed = run(cli, "keys", "list")
        assert "erp" in listed.stdout and plaintext.split("_", 2)[2][:10] not in listed.stdout  # never the secret
        assert run(cli, "keys", "revoke", "erp").exit_code == 0
        with UnitOfWork(engine) as uow:
            assert keys.authenticate(uow, plaintext) is None
    finally:
        engine.dispose()
    bad_role = run(cli, "keys", "create", "--name", "x", "--role", "root")
    assert bad_role.exit_code == 1 and "[unknown_role]" in bad_role.stderr
    assert run(cli, "keys", "revoke", "nobody").exit_code == 1
    assert run(cli, "keys", "create", "--role", "audit").exit_code == 2


def test_publish_approve_activate_versions(cli: CliRunner, tmp_path: Path) -> None:
    run(cli, "db", "upgrade")
    policy = tmp_path / "standard.yaml"
    policy.write_text(policy_text("1", author="Alice"), encoding="utf-8")
    published = run(cli, "publish", str(policy), "--actor", "alice")
    assert published.exit_code == 0 and "published as draft" in published.stdout, published.output
    assert "already stored (draft)" in run(cli, "publish", str(policy), "--actor", "alice").stdout
    four_eyes = run(cli, "approve", "1", "--actor", "alice", "--reason", "mine")
    assert four_eyes.exit_code == 1 and "[four_eyes]" in four_eyes.stderr
    assert run(cli, "approve", "1", "--actor", "bob", "--reason", "checked").exit_code == 0
    activated = run(cli, "activate", "1", "--actor", "bob", "--reason", "go live")
    assert activated.exit_code == 0 and "activated: in force from 2026-01-01" in activated.stdout
    listing = run(cli, "versions", "--policy", "standard")
    assert listing.exit_code == 0 and "active" in listing.stdout and "2026-01-01" in listing.stdout
    history = run(cli, "history", "1")
    assert [w for w in ("published", "approved", "activated") if w in history.stdout] == [
        "published",
        "approved",
        "activated",
    ]
    assert run(cli, "approve", "nope", "--actor", "bob", "--reason", "x").exit_code == 1
    assert run(cli, "approve", "1", "--actor", "bob").exit_code == 2


def test_publish_refusals_print_every_problem(cli: CliRunner, tmp_path: Path) -> None:
    run(cli, "db", "upgrade")
    bad = tmp_path / "bad.yaml"
    bad.write_text(broken(policy_text("1")), encoding="utf-8")
    refused = run(cli, "publish", str(bad), "--actor", "alice")
    assert refused.exit_code == 1
    lines = refused.stderr.splitlines()
    assert "[policy_invalid]" in lines[0] and len(lines) >= 3
    assert all(str(bad) in line for line in lines[1:])
    good = tmp_path / "p.yaml"
    good.write_text(policy_text("1"), encoding="utf-8")
    (tmp_path / "p.cases.yaml").write_text("policy: p.yaml\ncases: []\n", encoding="utf-8")
    failing = run(cli, "publish", str(good), "--actor", "alice")
    assert failing.exit_code == 1 and "[policy_tests_failed]" in failing.stderr
    assert run(cli, "publish", str(tmp_path / "missing.yaml"), "--actor", "alice").exit_code == 1
    assert "no policy versions stored" in run(cli, "versions").stderr

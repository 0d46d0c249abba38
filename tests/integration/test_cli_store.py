"""The store-backed CLI commands end to end on both databases: exit 0 ok, 1 refused (every error a line), 2 usage."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from api.adapters.db.engine import create_db_engine
from api.adapters.db.migrate import head_revision
from api.adapters.db.unit_of_work import UnitOfWork
from api.entrypoints.cli import case_commands, db_commands, key_commands, version_commands
from api.service import keys
from api.settings import get_settings
from tests.integration.policy_texts import broken, policy_text

app = typer.Typer()
for module in (db_commands, key_commands, version_commands, case_commands):
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
    admin = create_key(cli, "first-admin", "admin")  # an empty store's first admin needs no key
    created = run(cli, "keys", "create", "--name", "erp", "--role", "decide", "--key", admin)
    assert created.exit_code == 0, created.output
    plaintext = created.stdout.splitlines()[0]
    engine = create_db_engine(empty_database_url)
    try:
        with UnitOfWork(engine) as uow:
            assert keys.authenticate(uow, plaintext) == keys.Caller("erp", "decide")
        listed = run(cli, "keys", "list")
        assert "erp" in listed.stdout and plaintext.split("_", 2)[2][:10] not in listed.stdout  # never the secret
        assert run(cli, "keys", "revoke", "erp", "--key", admin).exit_code == 0
        with UnitOfWork(engine) as uow:
            assert keys.authenticate(uow, plaintext) is None
    finally:
        engine.dispose()
    bad_role = run(cli, "keys", "create", "--name", "x", "--role", "root", "--key", admin)
    assert bad_role.exit_code == 1 and "[unknown_role]" in bad_role.stderr
    assert run(cli, "keys", "revoke", "nobody", "--key", admin).exit_code == 1
    assert run(cli, "keys", "create", "--role", "audit").exit_code == 2


def create_key(cli: CliRunner, name: str, role: str, *by: str) -> str:
    """A new key's plaintext, created with ``by`` (``--key``, the admin's) or, for a first admin, without."""
    created = run(cli, "keys", "create", "--name", name, "--role", role, *(("--key", by[0]) if by else ()))
    assert created.exit_code == 0, created.output
    return created.stdout.splitlines()[0]


def test_keys_are_managed_by_an_admin_key_and_the_first_admin_needs_none(cli: CliRunner) -> None:
    # Issue 10: key management on the CLI acts as an admin key, as POST /v1/keys does.
    run(cli, "db", "upgrade")
    admin = create_key(cli, "root", "admin")
    again = run(cli, "keys", "create", "--name", "second", "--role", "admin")
    assert again.exit_code == 1 and "[not_authenticated]" in again.stderr  # an admin exists now
    not_first = run(cli, "keys", "create", "--name", "sneaky", "--role", "decide")
    assert not_first.exit_code == 1 and "[not_authenticated]" in not_first.stderr
    erp = create_key(cli, "erp", "decide", admin)
    by_decide = run(cli, "keys", "create", "--name", "x", "--role", "admin", "--key", erp)
    assert by_decide.exit_code == 1 and "[forbidden]" in by_decide.stderr and "role admin" in by_decide.stderr
    revoke = run(cli, "keys", "revoke", "erp")
    assert revoke.exit_code == 1 and "[not_authenticated]" in revoke.stderr
    assert run(cli, "keys", "revoke", "root", "--key", admin).exit_code == 0
    # No active admin left: the store may get a first admin again (documented recovery).
    assert create_key(cli, "root2", "admin").startswith("cp_")


def test_publish_approve_activate_versions(cli: CliRunner, tmp_path: Path) -> None:
    run(cli, "db", "upgrade")
    admin = create_key(cli, "admin", "admin")
    alice = create_key(cli, "alice", "author", admin)
    bob = create_key(cli, "bob", "approve", admin)
    alices_approver = create_key(cli, "Alice", "approve", admin)  # the author named in the file
    policy = tmp_path / "standard.yaml"
    policy.write_text(policy_text("1", author="Alice"), encoding="utf-8")
    published = run(cli, "publish", str(policy), "--key", alice)
    assert published.exit_code == 0 and "published as draft by alice" in published.stdout, published.output
    assert "already stored (draft)" in run(cli, "publish", str(policy), "--key", alice).stdout
    four_eyes = run(cli, "approve", "1", "--key", alices_approver, "--reason", "mine")
    assert four_eyes.exit_code == 1 and "[four_eyes]" in four_eyes.stderr
    assert run(cli, "approve", "1", "--key", bob, "--reason", "checked").exit_code == 0
    activated = run(cli, "activate", "1", "--key", bob, "--reason", "go live")
    assert activated.exit_code == 0 and "activated by bob: in force from 2026-01-01" in activated.stdout
    listing = run(cli, "versions", "--policy", "standard")
    assert listing.exit_code == 0 and "active" in listing.stdout and "2026-01-01" in listing.stdout
    history = run(cli, "history", "1")
    assert [w for w in ("published", "approved", "activated") if w in history.stdout] == [
        "published",
        "approved",
        "activated",
    ]
    events = json.loads(run(cli, "history", "1", "--format", "json").stdout)
    assert [(e["event"], e["actor"]) for e in events] == [
        ("published", "alice"),
        ("approved", "bob"),
        ("activated", "bob"),
    ]
    assert run(cli, "approve", "nope", "--key", bob, "--reason", "x").exit_code == 1
    assert run(cli, "approve", "1", "--key", bob).exit_code == 2


def test_store_changing_commands_act_as_a_key_checked_like_the_api(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 10: `--actor carol2` used to approve carol's draft; now only a key the store knows acts.
    run(cli, "db", "upgrade")
    admin = create_key(cli, "admin", "admin")
    carol = create_key(cli, "carol", "author", admin)
    policy = tmp_path / "standard.yaml"
    policy.write_text(policy_text("1", author="Carol"), encoding="utf-8")
    no_key = run(cli, "publish", str(policy))
    assert no_key.exit_code == 1 and "[not_authenticated]" in no_key.stderr and "role author" in no_key.stderr
    forged = run(cli, "publish", str(policy), "--key", "cp_0123456789ab_" + "x" * 43)
    assert forged.exit_code == 1 and "[not_authenticated]" in forged.stderr
    monkeypatch.setenv("CREDITPOLICY_API_KEY", carol)  # the environment names the key as well
    get_settings.cache_clear()
    assert run(cli, "publish", str(policy)).exit_code == 0
    for step in (("approve", "1"), ("activate", "1"), ("retire", "1")):
        refused = run(cli, *step, "--reason", "mine")  # carol's key has role author
        assert refused.exit_code == 1 and "[forbidden]" in refused.stderr and "role approve" in refused.stderr
    assert run(cli, "approve", "1", "--reason", "x", "--actor", "carol2").exit_code == 2  # no such option any more
    versions_json = json.loads(run(cli, "versions", "--format", "json").stdout)
    assert [(v["version"], v["status"], v["created_by"]) for v in versions_json] == [("1", "draft", "carol")]


def test_listings_print_whole_rows_in_a_pipe(cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    run(cli, "db", "upgrade")
    admin = create_key(cli, "admin", "admin")
    author = create_key(cli, "an-author-with-a-rather-long-name-for-a-key", "author", admin)
    policy = tmp_path / "standard.yaml"
    long_author = "Credit Management Department of the Northern Region Trading Company"
    policy.write_text(policy_text("1", author=long_author), encoding="utf-8")
    assert run(cli, "publish", str(policy), "--key", author).exit_code == 0
    listing = run(cli, "versions")
    row = next(line for line in listing.stdout.splitlines() if "draft" in line)
    assert long_author in row and "an-author-with-a-rather-long-name-for-a-key" in row
    keys_json = json.loads(run(cli, "keys", "list", "--format", "json").stdout)
    assert [(k["name"], k["role"], k["active"]) for k in keys_json] == [
        ("admin", "admin", True),
        ("an-author-with-a-rather-long-name-for-a-key", "author", True),
    ]
    assert json.loads(run(cli, "cases", "--format", "json").stdout) == []


def test_publish_refusals_print_every_problem(cli: CliRunner, tmp_path: Path) -> None:
    run(cli, "db", "upgrade")
    alice = create_key(cli, "alice", "author", create_key(cli, "admin", "admin"))
    bad = tmp_path / "bad.yaml"
    bad.write_text(broken(policy_text("1")), encoding="utf-8")
    refused = run(cli, "publish", str(bad), "--key", alice)
    assert refused.exit_code == 1
    lines = refused.stderr.splitlines()
    assert "[policy_invalid]" in lines[0] and len(lines) >= 3
    assert all(str(bad) in line for line in lines[1:])
    good = tmp_path / "p.yaml"
    good.write_text(policy_text("1"), encoding="utf-8")
    (tmp_path / "p.cases.yaml").write_text("policy: p.yaml\ncases: []\n", encoding="utf-8")
    failing = run(cli, "publish", str(good), "--key", alice)
    assert failing.exit_code == 1 and "[policy_tests_failed]" in failing.stderr
    assert run(cli, "publish", str(tmp_path / "missing.yaml"), "--key", alice).exit_code == 1
    assert "no policy versions stored" in run(cli, "versions").stderr


ONE_ORDER_CASE = """\
policy: p.yaml
cases:
  - id: small-order-approved
    kind: order
    input:
      customer: {id: C-1, grade: A, limit: "1000000.00"}
      order: {id: SO-1, amount: "1000.00", currency: EUR}
      as_of: 2026-06-30
    expect: {outcome: approve}
"""


def test_publish_refuses_a_policy_its_cases_exercise_less_than_its_min_coverage(cli: CliRunner, tmp_path: Path) -> None:
    run(cli, "db", "upgrade")
    alice = create_key(cli, "alice", "author", create_key(cli, "root", "admin"))
    policy = tmp_path / "p.yaml"
    text = policy_text("1", min_coverage="0.5")
    policy.write_text(text, encoding="utf-8")
    alone = run(cli, "publish", str(policy), "--key", alice)
    assert alone.exit_code == 1 and "[policy_coverage_too_low]" in alone.stderr.splitlines()[0]
    assert "published without cases" in alone.stderr
    (tmp_path / "p.cases.yaml").write_text(ONE_ORDER_CASE, encoding="utf-8")
    refused = run(cli, "publish", str(policy), "--key", alice)
    assert refused.exit_code == 1
    lines = refused.stderr.splitlines()
    assert "[policy_coverage_too_low]" in lines[0]
    line = text.splitlines().index("  min_coverage: 0.5") + 1
    assert lines[1] == (
        f"{policy}:{line}:3 policy.min_coverage: the test cases exercise 1 of 58 policy elements (1.7 %), "
        "below the 50 % the policy requires [coverage_below_minimum]"
    )
    assert len(lines) == 2 + 57 and all(ln.endswith("[element_not_exercised]") for ln in lines[2:])
    band = text.splitlines().index("        - min: 1") + 1
    assert f"{policy}:{band}:11 scorecard.factors[1].bands[1]: not exercised by any case: factor current_ratio: " in (
        "\n".join(lines)
    )
    assert "no policy versions stored" in run(cli, "versions").stderr
    policy.write_text(policy_text("1", min_coverage="0.01"), encoding="utf-8")  # 1 of 58 is 1.7 %
    published = run(cli, "publish", str(policy), "--key", alice)
    assert published.exit_code == 0 and "published as draft" in published.stdout, published.output

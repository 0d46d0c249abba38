"""The Alembic migrations create exactly the schema api.adapters.db.tables describes, on both databases."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from api.adapters.db.engine import create_db_engine
from api.adapters.db.migrate import alembic_config, check_database, current_revision, head_revision, upgrade_database
from api.adapters.db.tables import metadata
from api.errors import DatabaseNotReady

ROOT = Path(__file__).resolve().parents[2]
TABLES = {
    "policy_versions",
    "lifecycle_events",
    "api_keys",
    "decisions",
    "credit_cases",
    "webhooks",
    "webhook_deliveries",
    "grade_history",
    "customers",
    "change_counters",
    "challengers",
    "jobs",
    "job_inputs",
    "job_artifacts",
}


def test_migrations_apply_and_match_the_tables_module(engine: Engine) -> None:
    assert current_revision(engine) == head_revision() == "0007"
    assert TABLES <= set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), metadata)
    assert differences == []
    check_database(engine)


def test_upgrade_is_safe_to_repeat(database_url: str, engine: Engine) -> None:
    upgrade_database(database_url)
    upgrade_database(engine)
    assert current_revision(engine) == head_revision()


def test_an_empty_database_is_refused_until_upgraded(empty_database_url: str) -> None:
    engine = create_db_engine(empty_database_url)
    try:
        with pytest.raises(DatabaseNotReady, match="creditpolicy db upgrade") as refused:
            check_database(engine)
        assert refused.value.code == "database_not_ready"
        upgrade_database(engine)
        check_database(engine)
    finally:
        engine.dispose()


def test_downgrade_removes_everything_and_upgrade_restores_it(engine: Engine) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert not TABLES & set(inspect(engine).get_table_names())
    upgrade_database(engine)
    assert TABLES <= set(inspect(engine).get_table_names())


def test_replicas_starting_together_migrate_once(empty_database_url: str) -> None:
    # Service processes started at once each migrate on start: one migrates, the others wait for
    # it and find the schema done (PostgreSQL: an advisory lock; SQLite: the write lock). Processes,
    # not threads: Alembic's migration context is one per process.
    script = "import sys; from api.adapters.db.migrate import upgrade_database; upgrade_database(sys.argv[1])"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    starts = [
        subprocess.Popen([sys.executable, "-c", script, empty_database_url], env=env, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    failures = [process.communicate(timeout=120)[1].decode() for process in starts]
    assert [process.returncode for process in starts] == [0, 0, 0], failures
    engine = create_db_engine(empty_database_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_0005_lets_the_simulate_role_and_challenger_events_in_and_still_refuses_others(engine: Engine) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    now = "2026-12-01 00:00:00.000000"
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO api_keys (name, role, key_prefix, key_hash, created_at)"
                " VALUES ('analyst', 'simulate', 'p0005', 'h', :now)"
            ),
            {"now": now},
        )
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO api_keys (name, role, key_prefix, key_hash, created_at)"
                " VALUES ('nobody', 'superuser', 'p0005b', 'h', :now)"
            ),
            {"now": now},
        )
    checks = {
        check["name"]: check["sqltext"]
        for table in ("api_keys", "lifecycle_events")
        for check in inspect(engine).get_check_constraints(table)
    }
    assert "simulate" in checks["ck_api_keys_role"]
    assert "challenger_named" in checks["ck_lifecycle_events_event"]
    assert "challenger_ended" in checks["ck_lifecycle_events_event"]


def test_0006_jobs_refuse_unknown_statuses_and_take_their_files_with_them(engine: Engine) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    job = (
        "INSERT INTO jobs (id, kind, status, params_json, created_by, created_at, progress_done, progress_total,"
        " attempts) VALUES (:id, 'simulation', :status, '{}', 'analyst', '2026-12-01 00:00:00.000000', 0, 0, 0)"
    )
    files = {
        "job_inputs": "INSERT INTO job_inputs (job_id, name, content) VALUES ('j-0006', 'a.csv', :c)",
        "job_artifacts": "INSERT INTO job_artifacts (job_id, name, media_type, content)"
        " VALUES ('j-0006', 'a.csv', 'text/csv', :c)",
    }
    with engine.begin() as connection:
        connection.execute(text(job), {"id": "j-0006", "status": "queued"})
        for insert in files.values():
            connection.execute(text(insert), {"c": b"\x00\xff"})
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text(job), {"id": "j-0006b", "status": "paused"})
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM jobs WHERE id = 'j-0006'"))
        left = [connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() for table in files]
    assert left == [0, 0]

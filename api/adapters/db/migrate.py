"""Apply and check the Alembic migrations shipped inside the package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from api.adapters.db.engine import READ_ONLY_OPTION, create_db_engine
from api.errors import DatabaseNotReady

__all__ = [
    "MIGRATIONS_DIR",
    "alembic_config",
    "check_database",
    "current_revision",
    "head_revision",
    "upgrade_database",
]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The PostgreSQL advisory lock upgrades hold, with the schema's hash as second key (any int4
# constant, the same in every process: "cpmg").
MIGRATION_LOCK = 0x63706D67


def alembic_config() -> Config:
    """An Alembic configuration pointing at the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade_database(target: str | Engine, revision: str = "head") -> None:
    """Migrate the database at ``target`` (a URL or an engine) to ``revision``; safe to repeat."""
    engine = create_db_engine(target) if isinstance(target, str) else target
    try:
        config = alembic_config()
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Replicas started together migrate one after the other: the second waits here
                # until the first committed, then finds the schema at head and does nothing.
                # (SQLite needs no lock: the transaction begins IMMEDIATE, holding the write lock.)
                # The lock is per schema, so deployments (or test runs) in other schemas never wait.
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key, hashtext(current_schema()))"), {"key": MIGRATION_LOCK}
                )
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        if isinstance(target, str):
            engine.dispose()


def head_revision() -> str | None:
    """The newest migration this code ships."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty database."""
    # Read-only: on SQLite a connection would otherwise begin with BEGIN IMMEDIATE and wait for the writers.
    with engine.connect() as connection:
        connection.execution_options(**{READ_ONLY_OPTION: True})
        return MigrationContext.configure(connection).get_current_revision()


def check_database(engine: Engine) -> None:
    """Raise :class:`DatabaseNotReady` unless the database is at the newest migration."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        found = "no schema" if current is None else f"schema revision {current}"
        raise DatabaseNotReady(f"the database has {found}, this version needs {head}: run `creditpolicy db upgrade`")

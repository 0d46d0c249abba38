"""Engines for SQLite (the embedded default) and PostgreSQL, configured so both behave alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url

__all__ = ["READ_ONLY_OPTION", "create_db_engine"]

# Execution option a read-only unit of work sets, so SQLite need not take the write lock.
READ_ONLY_OPTION = "creditpolicy_read_only"


def create_db_engine(url: str | URL, *, echo: bool = False) -> Engine:
    """An engine for ``url``; a SQLite file's directory is created, PostgreSQL gets pre-ping pooling."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, echo)
    return create_engine(parsed, echo=echo, pool_pre_ping=True)


def _sqlite_engine(url: URL, echo: bool) -> Engine:
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, emit BEGIN (the sqlite3 module defers it past
        # the first SELECT, so a read-then-write unit of work would not be one transaction).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # IMMEDIATE takes the write lock up front: a writer waits (busy timeout) instead of
        # failing with SQLITE_BUSY when it upgrades a read snapshot that another writer changed.
        read_only = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection: Any, _record: Any) -> None:
        # A COMMIT refused by a deferred foreign key leaves SQLite's transaction open (PostgreSQL
        # ends it) while SQLAlchemy thinks it ended: roll it back so the write lock is released.
        if dbapi_connection is not None and dbapi_connection.in_transaction:
            dbapi_connection.rollback()

    return engine

"""Engines for SQLite (the embedded default) and PostgreSQL, configured so both behave alike."""

from __future__ import annotations

import threading
from collections import deque
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url

__all__ = ["READ_ONLY_OPTION", "create_db_engine"]

# Execution option a read-only unit of work sets, so SQLite need not take the write lock.
READ_ONLY_OPTION = "creditpolicy_read_only"


def create_db_engine(url: str | URL, *, echo: bool = False, queue_writers: bool = False) -> Engine:
    """An engine for ``url``; a SQLite file's directory is created, PostgreSQL gets pre-ping pooling.

    ``queue_writers`` (SQLite; the service sets it) makes this process's write transactions wait
    in line for each other instead of in SQLite's busy handler (see :func:`_queue_writers`).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, echo=echo, pool_pre_ping=True)
    engine = _sqlite_engine(parsed, echo)
    if queue_writers:
        _queue_writers(engine)
    return engine


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


def _queue_writers(engine: Engine) -> None:
    """Make this process's write transactions on SQLite wait in line for each other.

    SQLite has one writer at a time, and a second ``BEGIN IMMEDIATE`` waits in SQLite's busy
    handler, which polls with sleeps of 1 to 100 ms: under 32 concurrent requests that turns a
    millisecond of work into seconds of tail latency. A lock taken before BEGIN and released at
    commit or rollback queues the threads instead (other processes still meet the busy timeout).
    Read-only units of work do not take it: in WAL mode readers never wait for the writer. The
    lock is not reentrant: one thread never holds two write transactions of this engine at once.
    """
    lock = _FifoLock()

    def begin(connection: Connection) -> None:
        if not connection.get_execution_options().get(READ_ONLY_OPTION, False):
            lock.acquire()
            connection.info[_HOLDS_LOCK] = True

    def end(connection: Connection) -> None:
        if connection.info.pop(_HOLDS_LOCK, False):
            lock.release()

    event.listen(engine, "begin", begin, insert=True)  # before the listener that sends BEGIN IMMEDIATE
    event.listen(engine, "commit", end)
    event.listen(engine, "rollback", end)


_HOLDS_LOCK = "creditpolicy_holds_write_lock"


class _FifoLock:
    """A lock handed to waiters in arrival order (``threading.Lock`` lets some wait for seconds)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._waiters: deque[threading.Lock] = deque()
        self._held = False

    def acquire(self) -> None:
        with self._guard:
            if not self._held:
                self._held = True
                return
            baton = threading.Lock()
            baton.acquire()
            self._waiters.append(baton)
        baton.acquire()  # released by the holder's release(): the lock passes straight to us

    def release(self) -> None:
        with self._guard:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._held = False

"""Readiness's probe: can the database take a write now? Answered within a second or two.

Readiness used to read only: a SQLite file the service cannot write (opened read-only, a full
disk) was reported ready, and a file locked by another process made the check wait out the
30-second busy timeout of the service's own connections. The probe opens a connection of its own
(never one of the pool's, which may all be busy, nor the process's writer queue) with a short
timeout, and:

* on SQLite, takes the write lock (``BEGIN IMMEDIATE``, waiting at most the timeout), writes (a
  table created and rolled back: it needs no schema) and rolls back;
* on PostgreSQL, asks whether a transaction may write (``transaction_read_only`` is on for a
  standby and under ``default_transaction_read_only``), with a statement timeout.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Engine

from api.errors import DatabaseUnavailable, NotReady

__all__ = ["probe_writes"]


def probe_writes(engine: Engine, timeout: float) -> None:
    """Return if the database of ``engine`` takes a write now; :class:`NotReady` saying why if not.

    :class:`DatabaseUnavailable` if it cannot be reached at all. Gives up after about ``timeout``
    seconds (at least 2 to connect to PostgreSQL: libpq counts whole seconds).
    """
    dialect = engine.dialect
    args, params = dialect.create_connect_args(engine.url)
    if dialect.name == "sqlite":
        params = {**params, "timeout": timeout}
    else:
        params = {**params, "connect_timeout": max(2, math.ceil(timeout))}
    try:
        connection = dialect.connect(*args, **params)
    except dialect.loaded_dbapi.Error as error:
        raise DatabaseUnavailable(f"the database does not answer: {error}") from None
    try:
        if dialect.name == "sqlite":
            _probe_sqlite(connection, dialect.loaded_dbapi, timeout)
        else:
            _probe_postgresql(connection, dialect.loaded_dbapi, timeout)
    finally:
        connection.close()


def _probe_sqlite(connection: Any, dbapi: Any, timeout: float) -> None:
    connection.isolation_level = None  # BEGIN and ROLLBACK are sent as written
    try:
        connection.execute("BEGIN IMMEDIATE")
    except dbapi.OperationalError as error:
        if "locked" in str(error) or "busy" in str(error):
            raise NotReady(
                f"the database is locked: no write lock within {timeout:g} s (another process holds it)"
            ) from None
        raise NotReady(f"the database cannot be written: {error}") from None
    try:
        connection.execute("CREATE TABLE creditpolicy_readiness_probe (x INTEGER)")
    except dbapi.Error as error:
        raise NotReady(f"the database cannot be written: {error}") from None
    finally:
        connection.execute("ROLLBACK")


def _probe_postgresql(connection: Any, dbapi: Any, timeout: float) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = {max(1, round(timeout * 1000))}")
            cursor.execute("SELECT current_setting('transaction_read_only')")
            (read_only,) = cursor.fetchone()
        connection.rollback()
    except dbapi.OperationalError as error:
        raise NotReady(f"the database did not answer within {timeout:g} s: {error}") from None
    if read_only == "on":
        raise NotReady(
            "the database accepts no writes: transactions are read-only (a standby, or default_transaction_read_only)"
        )

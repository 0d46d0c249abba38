"""Statements run on the database driver's cursor, for the few that every decision runs.

SQLAlchemy's execution path (events, the compiled cache, parameter processing, the result proxy)
costs ~100 µs of CPU per statement — more than SQLite takes to run it, and a decision holds the
GIL, so that time is taken from every other request. The statements on the decision path are
compiled once per dialect and run on the DBAPI cursor of the unit of work's own connection, in its
transaction:

* parameters go through the columns' own bind processors (their ``dialect_impl``), so a
  row is stored exactly as the Core path stores it (UTC timestamps, exact money as text on SQLite);
* driver errors are wrapped as SQLAlchemy's (``DBAPIError.instance``), so a unique violation is
  an ``IntegrityError`` and a lost connection an ``OperationalError``, as anywhere else, and a
  value a column type refuses is a ``StatementError``, as the Core path reports it;
* the transaction is begun through SQLAlchemy first, so SQLite's ``BEGIN IMMEDIATE`` and the
  writer queue (``api.entrypoints.http.app.queue_sqlite_writers``) apply as they do to every statement.

Results are returned raw (driver values): only statements whose results need no type
processing (existence checks, counts) read through here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Column, Connection, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

__all__ = ["DriverStatement"]


class _Compiled:
    def __init__(self, statement: ClauseElement, dialect: Dialect, table: Table) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        self.sql = compiled.string
        names = compiled.positiontup  # bind names in order for positional paramstyles (qmark), else None
        self.names: Sequence[str] | None = list(names) if names is not None else None
        # Values bound by the statement itself (a LIMIT), by bind name; the caller's values go over them.
        self.defaults = {k: b.effective_value for k, b in compiled.binds.items() if k not in table.c}
        self.processors: dict[str, Callable[[Any], Any]] = {}
        for name in compiled.binds:
            column: Column[Any] | None = table.c.get(name)
            processor = column.type.dialect_impl(dialect).bind_processor(dialect) if column is not None else None
            if processor is not None:
                self.processors[name] = processor

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        processors = self.processors
        if self.defaults:
            values = {**self.defaults, **values}
        if self.names is not None:
            return [processors[n](values[n]) if n in processors else values[n] for n in self.names]
        return {n: (processors[n](v) if n in processors else v) for n, v in values.items()}


class DriverStatement:
    """A Core statement on ``table`` run on the driver's cursor (module doc); compiled once per dialect.

    Bind parameters are named after ``table``'s columns (an ``insert(table)`` binds them all).
    """

    def __init__(self, statement: ClauseElement, table: Table) -> None:
        self._statement = statement
        self._table = table
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _Compiled(self._statement, dialect, self._table)
        return compiled

    def execute(self, connection: Connection, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run in ``connection``'s transaction (begun if it is not); the rows (driver values), if any."""
        compiled = self._for(connection.dialect)
        parameters = _processed(compiled, values)
        with _cursor(connection, compiled.sql, parameters) as cursor:
            cursor.execute(compiled.sql, parameters)
            return list(cursor.fetchall()) if cursor.description is not None else []

    def bind(self, connection: Connection, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        """``values`` as the driver takes them, for :meth:`execute_many`; a value the columns refuse
        raises here (StatementError), as an insert would."""
        return _processed(self._for(connection.dialect), values)

    def execute_many(self, connection: Connection, bound: Sequence[Sequence[Any] | dict[str, Any]]) -> None:
        """Run once per row of :meth:`bind` values in one driver call (``executemany``), in
        ``connection``'s transaction."""
        compiled = self._for(connection.dialect)
        with _cursor(connection, compiled.sql, bound) as cursor:
            cursor.executemany(compiled.sql, bound)


def _processed(compiled: _Compiled, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
    try:
        return compiled.parameters(values)
    except Exception as error:  # a value the column type refuses: as the Core path reports it
        raise StatementError(str(error), compiled.sql, dict(values), error) from error


@contextmanager
def _cursor(connection: Connection, sql: str, parameters: Any) -> Iterator[Any]:
    """A driver cursor in ``connection``'s transaction, its errors wrapped as SQLAlchemy's."""
    if not connection.in_transaction():
        connection.begin()  # through SQLAlchemy: its begin events (BEGIN IMMEDIATE on SQLite) apply
    cursor = connection.connection.cursor()
    dbapi_error = connection.dialect.loaded_dbapi.Error
    try:
        yield cursor
    except dbapi_error as error:
        raise DBAPIError.instance(sql, parameters, error, dbapi_error, dialect=connection.dialect) from error
    finally:
        cursor.close()

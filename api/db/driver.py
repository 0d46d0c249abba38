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
  writer queue (``api.http.app.queue_sqlite_writers``) apply as they do to every statement.

Results are returned raw (driver values): only statements whose results need no type
processing (existence checks, counts) read through here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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
        if not connection.in_transaction():
            connection.begin()  # through SQLAlchemy: its begin events (BEGIN IMMEDIATE on SQLite) apply
        compiled = self._for(connection.dialect)
        try:
            parameters = compiled.parameters(values)
        except Exception as error:  # a value the column type refuses: as the Core path reports it
            raise StatementError(str(error), compiled.sql, dict(values), error) from error
        cursor = connection.connection.cursor()
        try:
            cursor.execute(compiled.sql, parameters)
            return list(cursor.fetchall()) if cursor.description is not None else []
        except connection.dialect.loaded_dbapi.Error as error:
            raise DBAPIError.instance(
                compiled.sql, parameters, error, connection.dialect.loaded_dbapi.Error, dialect=connection.dialect
            ) from error
        finally:
            cursor.close()

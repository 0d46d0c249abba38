"""Statements on the driver's cursor store and fail exactly as the Core path does, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from api.adapters.db import tables
from api.adapters.db.driver import DriverStatement
from api.adapters.db.records import CreditCaseRecord
from api.adapters.db.sql import _row
from api.adapters.db.unit_of_work import UnitOfWork
from tests.integration.conftest import UowFactory
from tests.integration.test_store import case, decision

ODD_TIME = dt.datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=dt.timezone(dt.timedelta(hours=8)))
CASE_ON_DRIVER = DriverStatement(insert(tables.credit_cases), tables.credit_cases)
ANY_CASE = DriverStatement(
    select(tables.credit_cases.c.case_id).where(tables.credit_cases.c.customer_id == "C1").limit(1),
    tables.credit_cases,
)


def stored(engine: Engine, table: str, key: str, value: str) -> dict[str, Any]:
    """A row as the database holds it: every column read back as text, no type processing."""
    with engine.connect() as connection:
        columns = [c.name for c in tables.metadata.tables[table].columns if c.name != key]
        listed = ", ".join(f"CAST({c} AS TEXT) AS {c}" for c in columns)
        row = connection.execute(text(f"SELECT {listed} FROM {table} WHERE {key} = :v"), {"v": value}).one()
        return dict(row._mapping)


def test_a_row_written_on_the_driver_is_stored_as_core_stores_it(engine: Engine, make_uow: UowFactory) -> None:
    on_core = decision(1, request_id="core", at=ODD_TIME)
    on_driver = replace(decision(2, request_id="driver", at=ODD_TIME), request_id="core-twin")
    with make_uow() as uow, engine.connect() as connection:
        uow.decisions.add(on_driver)  # the repository's insert runs on the driver
        uow.commit()
        connection.execute(insert(tables.decisions), _row(on_core))
        connection.commit()
    core_row = stored(engine, "decisions", "decision_id", on_core.decision_id)
    driver_row = stored(engine, "decisions", "decision_id", on_driver.decision_id)
    assert {**driver_row, "request_id": "core"} == core_row
    with make_uow() as uow:
        assert uow.decisions.get(on_driver.decision_id) == on_driver  # read back through Core: the same record


def test_exact_money_is_stored_as_core_stores_it(engine: Engine, make_uow: UowFactory) -> None:
    with make_uow() as uow:
        uow.decisions.add(decision(1))
        uow.commit()
    with engine.connect() as connection:
        record = case("K-core", decision(1).decision_id, order="PO-core")
        connection.execute(insert(tables.credit_cases), _row(record))
        twin: CreditCaseRecord = replace(record, case_id="K-driver", order_ref="PO-driver")
        CASE_ON_DRIVER.execute(connection, _row(twin))
        connection.commit()
    core_row = stored(engine, "credit_cases", "case_id", "K-core")
    driver_row = stored(engine, "credit_cases", "case_id", "K-driver")
    assert {**driver_row, "order_ref": "PO-core"} == core_row
    with engine.connect() as connection:
        assert ANY_CASE.execute(connection, {}) in ([("K-core",)], [("K-driver",)])  # the statement's own LIMIT bound


def test_driver_errors_are_sqlalchemy_errors(engine: Engine, make_uow: UowFactory) -> None:
    with make_uow() as uow, pytest.raises(StatementError, match="timezone-aware"):
        uow.decisions.add(decision(2, at=dt.datetime(2026, 3, 1, 8, 0)))  # naive: refused by the column type
    on_driver = DriverStatement(insert(tables.decisions), tables.decisions)
    with engine.connect() as connection:
        on_driver.execute(connection, _row(decision(1)))
        with pytest.raises(IntegrityError):  # the driver's own error, wrapped as Core wraps it
            on_driver.execute(connection, _row(decision(1)))


def test_a_driver_statement_first_in_a_unit_of_work_is_in_its_transaction(engine: Engine) -> None:
    """The driver path begins the transaction through SQLAlchemy (BEGIN IMMEDIATE on SQLite), so
    leaving the unit of work without commit rolls the row back instead of it being autocommitted."""
    with UnitOfWork(engine) as uow:
        uow.decisions.add(decision(7))
    with UnitOfWork(engine) as uow:
        assert uow.decisions.get(decision(7).decision_id) is None

"""Store fixtures: every test gets a fresh, migrated database — a SQLite file, and a throwaway
PostgreSQL schema when CREDITPOLICY_TEST_POSTGRES_URL is set (skipped, saying how, otherwise)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from api.adapters.db.engine import create_db_engine
from api.adapters.db.migrate import upgrade_database
from api.adapters.db.unit_of_work import UnitOfWork

POSTGRES_ENV = "CREDITPOLICY_TEST_POSTGRES_URL"
REQUIRE_ENV = "CREDITPOLICY_REQUIRE_POSTGRES"  # CI sets it: PostgreSQL tests must run, never skip
ENABLE_POSTGRES = f"set {POSTGRES_ENV}=postgresql+psycopg://postgres@127.0.0.1:5432/test to run"

UowFactory = Callable[[], UnitOfWork]


def with_search_path(url: str, schema: str) -> str:
    """``url`` with libpq options putting ``schema`` first on the search path, so the URL alone isolates a run."""
    return make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


@contextlib.contextmanager
def throwaway_database(backend: str, directory: Path, prefix: str = "t") -> Iterator[str]:
    """A database without any table: a new SQLite file in ``directory``, or a new PostgreSQL schema
    named ``<prefix>_<random>`` that is dropped afterwards (skipped, saying how, without PostgreSQL)."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'creditpolicy.db'}"
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        _unavailable(ENABLE_POSTGRES)
    schema = f"{prefix}_{secrets.token_hex(6)}"
    admin = create_engine(base)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except OperationalError as exc:
        admin.dispose()
        _unavailable(f"PostgreSQL at {make_url(base).render_as_string()} is unreachable ({exc.orig})")
    try:
        yield with_search_path(base, schema)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database without any table: a new SQLite file, or a new PostgreSQL schema dropped afterwards."""
    with throwaway_database(request.param, tmp_path_factory.mktemp("db")) as url:
        yield url


def _unavailable(why: str) -> NoReturn:
    """Skip, saying how to enable the PostgreSQL tests; fail instead where CI requires them."""
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{why} ({REQUIRE_ENV} is set: the PostgreSQL tests must run)")
    pytest.skip(why)


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """A database migrated to the newest schema."""
    upgrade_database(empty_database_url)
    return empty_database_url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(database_url)
    yield engine
    engine.dispose()


class FailingCommit(UnitOfWork):
    """A unit of work whose commit fails after its rows were written: the database went away."""

    def commit(self) -> None:
        raise OperationalError("COMMIT", {}, Exception("injected: connection lost at commit"))


class TickingClock:
    """A clock that advances one second per reading, so events get distinct, ordered times."""

    def __init__(self, start: dt.datetime = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(seconds=1)
        return self.now


@pytest.fixture
def clock() -> TickingClock:
    return TickingClock()


@pytest.fixture
def make_uow(engine: Engine, clock: TickingClock) -> UowFactory:
    """Opens a new unit of work on the test database (use it in a ``with``)."""
    return lambda: UnitOfWork(engine, clock=clock)

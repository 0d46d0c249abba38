"""The unit of work: one transaction, repositories bound to it, committed only when asked."""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine

from api.db.engine import READ_ONLY_OPTION
from api.db.repository import (
    CaseRepository,
    CustomerRepository,
    DecisionRepository,
    EventRepository,
    GradeHistoryRepository,
    KeyRepository,
    VersionRepository,
    WebhookRepository,
)
from api.db.sql import (
    SqlCaseRepository,
    SqlCustomerRepository,
    SqlDecisionRepository,
    SqlEventRepository,
    SqlGradeHistoryRepository,
    SqlKeyRepository,
    SqlVersionRepository,
    SqlWebhookRepository,
)

__all__ = ["AbstractUnitOfWork", "Clock", "UnitOfWork", "utc_now"]

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    """The current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


class AbstractUnitOfWork(abc.ABC):
    """``with uow: ...; uow.commit()`` — leaving the block without commit rolls everything back."""

    versions: VersionRepository
    events: EventRepository
    keys: KeyRepository
    decisions: DecisionRepository
    cases: CaseRepository
    webhooks: WebhookRepository
    grades: GradeHistoryRepository
    customers: CustomerRepository

    def __init__(self, clock: Clock = utc_now) -> None:
        self.clock = clock

    def now(self) -> dt.datetime:
        """The unit of work's clock; services stamp records with it so tests can pin time."""
        return self.clock()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None:
        """Make everything done so far durable; the unit of work stays usable."""

    @abc.abstractmethod
    def rollback(self) -> None:
        """Discard everything since the last commit; the unit of work stays usable."""


class UnitOfWork(AbstractUnitOfWork):
    """The SQLAlchemy unit of work: one connection, one transaction at a time (begun on first use)."""

    def __init__(self, engine: Engine, *, read_only: bool = False, clock: Clock = utc_now) -> None:
        super().__init__(clock)
        self._engine = engine
        self._read_only = read_only
        self._connection: Connection | None = None

    def __enter__(self) -> Self:
        connection = self._engine.connect()
        if self._read_only:
            connection = connection.execution_options(**{READ_ONLY_OPTION: True})
        self._connection = connection
        self.versions = SqlVersionRepository(connection)
        self.events = SqlEventRepository(connection)
        self.keys = SqlKeyRepository(connection)
        self.decisions = SqlDecisionRepository(connection)
        self.cases = SqlCaseRepository(connection)
        self.webhooks = SqlWebhookRepository(connection)
        self.grades = SqlGradeHistoryRepository(connection)
        self.customers = SqlCustomerRepository(connection)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._connection is not None:
            self._connection.close()  # rolls back whatever was not committed
            self._connection = None

    def _live(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("the unit of work is used outside its `with` block")
        return self._connection

    def commit(self) -> None:
        self._live().commit()

    def rollback(self) -> None:
        self._live().rollback()

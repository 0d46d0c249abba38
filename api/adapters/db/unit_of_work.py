"""The unit of work: one transaction, repositories bound to it, committed only when asked."""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine

from api.adapters.db.changes import SqlChangeRepository
from api.adapters.db.engine import READ_ONLY_OPTION
from api.adapters.db.jobs import SqlJobRepository
from api.adapters.db.repository import (
    CaseRepository,
    ChallengerRepository,
    ChangeRepository,
    CustomerRepository,
    DecisionRepository,
    EventRepository,
    GradeHistoryRepository,
    JobRepository,
    KeyRepository,
    ShadowRepository,
    VersionRepository,
    WebhookRepository,
)
from api.adapters.db.sql import (
    SqlCaseRepository,
    SqlChallengerRepository,
    SqlCustomerRepository,
    SqlDecisionRepository,
    SqlEventRepository,
    SqlGradeHistoryRepository,
    SqlKeyRepository,
    SqlShadowRepository,
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
    changes: ChangeRepository
    challengers: ChallengerRepository
    shadows: ShadowRepository
    jobs: JobRepository

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


# The SQL repositories by attribute name: a unit of work builds each on first use.
_SQL_REPOSITORIES: dict[str, Callable[[Connection], object]] = {
    "versions": SqlVersionRepository,
    "events": SqlEventRepository,
    "keys": SqlKeyRepository,
    "decisions": SqlDecisionRepository,
    "cases": SqlCaseRepository,
    "webhooks": SqlWebhookRepository,
    "grades": SqlGradeHistoryRepository,
    "customers": SqlCustomerRepository,
    "changes": SqlChangeRepository,
    "challengers": SqlChallengerRepository,
    "shadows": SqlShadowRepository,
    "jobs": SqlJobRepository,
}


class UnitOfWork(AbstractUnitOfWork):
    """The SQLAlchemy unit of work: one connection, one transaction at a time (begun on first use).

    The connection is taken from the pool when a repository is first used, not on entering the
    block: a decision whose policy timeline is cached reads nothing, and then costs no checkout.
    """

    def __init__(self, engine: Engine, *, read_only: bool = False, clock: Clock = utc_now) -> None:
        super().__init__(clock)
        self._engine = engine
        self._read_only = read_only
        self._connection: Connection | None = None
        self._log: SqlDecisionRepository | None = None
        self._open = False

    def __enter__(self) -> Self:
        self._open = True
        return self

    def __getattr__(self, name: str) -> object:
        # Only called for attributes not set yet: the repositories, built on first use.
        factory = _SQL_REPOSITORIES.get(name)
        if factory is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        repository = factory(self._connect())
        setattr(self, name, repository)
        if isinstance(repository, SqlDecisionRepository):
            self._log = repository  # flushed at commit even if a test wraps the attribute
        elif isinstance(repository, SqlShadowRepository):
            repository.before_read = self._flush_log  # shadows are read from the log's rows
        return repository

    def _flush_log(self) -> None:
        if self._log is not None:
            self._log.flush()

    def _connect(self) -> Connection:
        if not self._open:
            raise RuntimeError("the unit of work is used outside its `with` block")
        if self._connection is None:
            connection = self._engine.connect()
            if self._read_only:
                connection = connection.execution_options(**{READ_ONLY_OPTION: True})
            self._connection = connection
        return self._connection

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._open = False
        if self._log is not None:
            self._log.discard()
            self._log = None
        for name in _SQL_REPOSITORIES:
            self.__dict__.pop(name, None)
        if self._connection is not None:
            self._connection.close()  # rolls back whatever was not committed
            self._connection = None

    def commit(self) -> None:
        if self._connection is not None:
            self._flush_log()  # the log's rows are written together, just before the commit
            self._connection.commit()

    def rollback(self) -> None:
        if self._log is not None:
            self._log.discard()
        cases = self.__dict__.get("cases")
        if isinstance(cases, SqlCaseRepository):
            cases.forget()
        if self._connection is not None:
            self._connection.rollback()

"""Hearing of changes any process committed (:mod:`api.adapters.db.changes`): one thread per process.

* **PostgreSQL** — ``LISTEN creditpolicy_changes`` on a connection of the thread's own (not the
  pool's). A notification is read as soon as it arrives; the connection is pinged every
  :data:`PING_SECONDS` when nothing arrives. When it breaks (the database restarted, the network
  dropped it) the thread reconnects with backoff, from :data:`FIRST_RETRY_SECONDS` doubling up to
  :data:`MAX_RETRY_SECONDS`. Through a pooler, the pool must be in session mode: LISTEN needs its
  session.
* **SQLite** — the processes serving one file (``serve --workers N``, the CLI) cannot notify each
  other: the thread reads ``change_counters`` every :data:`POLL_SECONDS` (a read-only statement:
  in WAL mode it never waits for a writer) and reports the topics whose serial moved.

Either way it tells its :class:`ChangeHandlers`: ``changed(topic)`` for each change heard,
``resynchronised()`` when it starts listening — at start and after every reconnection, since a
change may have been missed meanwhile — and ``lost()`` when it stops hearing.
"""

from __future__ import annotations

import logging
import os
import selectors
import threading
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from api.adapters.db.changes import CHANNEL
from api.adapters.db.unit_of_work import UnitOfWork

__all__ = [
    "FIRST_RETRY_SECONDS",
    "MAX_RETRY_SECONDS",
    "PING_SECONDS",
    "POLL_SECONDS",
    "ChangeHandlers",
    "ChangeListener",
    "CounterPoller",
    "NotificationListener",
    "start_change_listener",
]

log = logging.getLogger("creditpolicy.changes")

POLL_SECONDS = 0.25  # SQLite: a change is heard within this (plus the poll itself, ~0.1 ms)
PING_SECONDS = 5.0  # PostgreSQL: a quiet listening connection is checked this often
FIRST_RETRY_SECONDS = 0.1
MAX_RETRY_SECONDS = 2.0
# libpq options of the listening connection (the URL may override them): TCP keepalives, so a
# connection the network silently dropped is noticed in ~25 s even between pings (a ping on a dead
# socket waits for the keepalives too), and a bounded connect, so an unreachable host is retried.
CONNECTION_OPTIONS = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "connect_timeout": 10,
}


class ChangeHandlers(Protocol):
    """What a listener tells: the caches of the process (:class:`api.service.changes.CacheInvalidation`)."""

    def changed(self, topic: str) -> None: ...

    def resynchronised(self) -> None: ...

    def lost(self) -> None: ...


class ChangeListener:
    """A daemon thread hearing of changes: :meth:`start` it, :meth:`stop` wakes it and waits for its end."""

    via = ""  # how it hears: shown by /readyz

    def __init__(self, handlers: ChangeHandlers, name: str) -> None:
        self._handlers = handlers
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.live = False  # listening now: every committed change will be heard
        self.resynchronisations = 0  # times it started listening (1 + reconnections)

    def start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> bool:
        """Whether its thread runs (from start until stop)."""
        return self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._thread.ident is not None:  # started
            self._wake()
            self._thread.join(timeout)
        if not self._thread.is_alive():
            self._release()

    def _wake(self) -> None:
        """Interrupt a wait of the thread (it then sees it is stopping)."""

    def _release(self) -> None:
        """Free what the thread waited on, once it has ended."""

    def _run(self) -> None:
        raise NotImplementedError

    def _up(self) -> None:
        if self.resynchronisations:
            log.warning("%s: listening again; every cached version timeline and key is dropped", self.via)
        self._handlers.resynchronised()
        self.live = True
        self.resynchronisations += 1

    def _down(self, error: Exception) -> None:
        if self.live:
            log.warning("%s lost (%s); reconnecting", self.via, error)
            self.live = False
            self._handlers.lost()


class NotificationListener(ChangeListener):
    """PostgreSQL: LISTEN on a connection of its own, reconnecting with backoff."""

    via = f"LISTEN {CHANNEL}"

    def __init__(self, engine: Engine, handlers: ChangeHandlers, *, ping_seconds: float = PING_SECONDS) -> None:
        super().__init__(handlers, "change-listener")
        _, params = engine.dialect.create_connect_args(engine.url)
        params.pop("context", None)  # SQLAlchemy's type adapters: the listener reads plain text
        # Named, so it is told apart in pg_stat_activity (one per service process).
        self._params: dict[str, Any] = {**CONNECTION_OPTIONS, "application_name": "creditpolicy-changes", **params}
        self.backend_pid: int | None = None  # the server process of the listening connection
        self._ping_seconds = ping_seconds
        self._wake_read, self._wake_write = os.pipe()

    def _wake(self) -> None:
        os.write(self._wake_write, b"x")  # the pipe is closed only by _release, after the thread ended

    def _release(self) -> None:
        os.close(self._wake_read)
        os.close(self._wake_write)

    def _run(self) -> None:
        import psycopg  # only PostgreSQL deployments need it

        delay = FIRST_RETRY_SECONDS
        try:
            while not self._stopping.is_set():
                heard_before = self.resynchronisations
                try:
                    self._listen(psycopg)
                except psycopg.Error as error:
                    self._down(error)
                except Exception as error:  # noqa: BLE001 - a bug must not end the listening for good
                    log.exception("%s failed", self.via)
                    self._down(error)
                if self.resynchronisations > heard_before:
                    delay = FIRST_RETRY_SECONDS  # it was listening: the next outage starts its backoff anew
                if self._stopping.wait(delay):
                    break
                delay = min(delay * 2, MAX_RETRY_SECONDS)
        finally:
            self.live = False

    def _listen(self, psycopg: Any) -> None:
        """Listen until stopped (returns) or the connection breaks (raises psycopg.Error)."""
        with psycopg.connect(**self._params, autocommit=True) as connection:
            schema = connection.execute("SELECT current_schema()").fetchone()[0]
            prefix = f"{schema}:"

            def heard(notification: Any) -> None:
                if notification.payload.startswith(prefix):  # other schemas' changes are not ours
                    self._handlers.changed(notification.payload[len(prefix) :])

            connection.add_notify_handler(heard)
            connection.execute(f"LISTEN {CHANNEL}")
            self.backend_pid = connection.info.backend_pid
            self._up()  # after LISTEN: whatever commits from now on is heard
            with selectors.DefaultSelector() as selector:
                selector.register(connection.fileno(), selectors.EVENT_READ)
                selector.register(self._wake_read, selectors.EVENT_READ)
                while True:
                    selector.select(self._ping_seconds)
                    if self._stopping.is_set():
                        return
                    # Reads what arrived (each notification goes to ``heard``) and proves the
                    # connection alive; a closed one raises here.
                    connection.execute("SELECT 1")


class CounterPoller(ChangeListener):
    """SQLite: reads the change counters every ``interval`` seconds."""

    via = "polling change_counters"

    def __init__(self, engine: Engine, handlers: ChangeHandlers, *, interval: float = POLL_SECONDS) -> None:
        super().__init__(handlers, "change-poller")
        self._engine = engine
        self._interval = interval

    def _run(self) -> None:
        seen: dict[str, int] = {}
        try:
            while True:
                try:
                    with UnitOfWork(self._engine, read_only=True) as uow:
                        serials = uow.changes.serials()
                except SQLAlchemyError as error:
                    self._down(error)
                except Exception as error:  # noqa: BLE001 - a bug must not end the polling for good
                    log.exception("%s failed", self.via)
                    self._down(error)
                else:
                    if not self.live:
                        self._up()
                    else:
                        for topic in sorted(serials.keys() | seen.keys()):
                            if serials.get(topic) != seen.get(topic):
                                self._handlers.changed(topic)
                    seen = serials
                if self._stopping.wait(self._interval):
                    return
        finally:
            self.live = False


def start_change_listener(engine: Engine, handlers: ChangeHandlers) -> ChangeListener:
    """Start the listener that suits the database of ``engine``; stop it before disposing the engine."""
    if engine.dialect.name == "postgresql":
        listener: ChangeListener = NotificationListener(engine, handlers)
    else:
        listener = CounterPoller(engine, handlers)
    listener.start()
    return listener

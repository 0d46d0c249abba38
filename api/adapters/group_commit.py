"""Group commit: the writes of concurrent requests stored in one transaction and committed once.

A logged decision is a few inserts and a commit. Committed one by one, every decision pays for a
transaction of its own (BEGIN, a WAL write on SQLite, a WAL flush and its round trips on
PostgreSQL) and, since decisions are evaluated on the event loop, the loop would wait for each.
Instead one writer thread per process takes every store step that is waiting, runs them in
arrival order in one unit of work, commits once, and only then releases their results.

Guarantees (tested in ``tests/integration/test_group_commit.py``):

* **Nothing is released before it is durable.** A result reaches its caller only after the
  transaction that holds its writes committed: "logged before returned" holds for every member
  of a group.
* **In order, each seeing the ones before.** The steps of a group run one after another in the
  order they were submitted, in one transaction, so the second order of a group sees the case the
  first one opened.
* **One bad step never takes the others down.** If any step of a group raises, or the commit
  fails, the group is rolled back and every one of its steps runs again *alone* — its own unit
  of work, commit and retries — so each gets its own result or its own error. Under light load
  a group has one member and goes straight to that path: nothing changes for a lone request.
* **A cancelled caller changes nothing.** A step whose caller went away (client disconnected) is
  still stored; only its result is dropped.

A step may come with a ``prepare`` that announces, before any step of its group runs, what it
will read (the order a decision looks up a credit case for): the group's unit of work then reads
it for every step at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from api.adapters.db.unit_of_work import AbstractUnitOfWork

__all__ = ["GroupCommitter"]

T = TypeVar("T")
log = logging.getLogger("creditpolicy.group_commit")

MAX_GROUP = 64  # steps per transaction: bounds the work lost and redone when a group fails


@dataclass(frozen=True)
class _Step(Generic[T]):
    store: Callable[[AbstractUnitOfWork], T]  # writes in the group's unit of work, never commits
    alone: Callable[[], T]  # the same step in a transaction of its own, committed (with its retries)
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[T]
    prepare: Callable[[AbstractUnitOfWork], None] | None = None  # announces what ``store`` will read


class GroupCommitter:
    """One writer thread storing the steps submitted to it, a group per transaction.

    ``new_uow`` opens the read-write units of work the groups run in; it is called in the writer
    thread. The thread starts on the first submission and stops on :meth:`close` (a later
    submission starts it again).
    """

    def __init__(
        self,
        new_uow: Callable[[], AbstractUnitOfWork],
        *,
        max_group: int = MAX_GROUP,
        on_count: Callable[[str, int], None] | None = None,
    ) -> None:
        if max_group < 1:
            raise ValueError("max_group must be at least 1")
        self._new_uow = new_uow
        self.max_group = max_group
        # Told (name, amount) as each counter below grows, in the writer thread: /metrics keeps its
        # own counters from it, which prometheus_client adds up across worker processes.
        self._on_count = on_count
        self._queue: queue.SimpleQueue[_Step[Any] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        # Read by /metrics and the tests (written by the writer thread only).
        self.groups = 0  # groups of two or more steps committed together
        self.grouped_steps = 0  # steps those groups held
        self.lone_steps = 0  # steps run in a transaction of their own (alone, or after their group failed)
        self.failed_groups = 0  # groups rolled back and run again step by step

    async def submit(
        self,
        store: Callable[[AbstractUnitOfWork], T],
        alone: Callable[[], T],
        prepare: Callable[[AbstractUnitOfWork], None] | None = None,
    ) -> T:
        """Run ``store`` in the next group (or ``alone`` if the group fails); its result once committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._start()
        self._queue.put(_Step(store, alone, loop, future, prepare))
        return await future

    def counters(self) -> dict[str, int]:
        """What the writer did so far (for /metrics)."""
        return {
            "groups": self.groups,
            "grouped_steps": self.grouped_steps,
            "lone_steps": self.lone_steps,
            "failed_groups": self.failed_groups,
        }

    def close(self, timeout: float = 30.0) -> None:
        """Store what was submitted, then stop the writer thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
                self._thread.start()

    # --- the writer thread ---------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group: list[_Step[Any]] = [first]
            stop = False
            while len(group) < self.max_group:
                try:
                    step = self._queue.get_nowait()
                except queue.Empty:
                    break
                if step is None:
                    stop = True
                    break
                group.append(step)
            self._commit(group)
            if stop:
                return

    def _commit(self, group: list[_Step[Any]]) -> None:
        if len(group) == 1:
            self._alone(group[0])
            return
        try:
            with self._new_uow() as uow:
                for step in group:
                    if step.prepare is not None:
                        step.prepare(uow)
                results = [step.store(uow) for step in group]
                uow.commit()
        except Exception as error:  # noqa: BLE001 - any failure: each step gets its own answer alone
            log.debug("group of %d failed (%s: %s); storing each alone", len(group), type(error).__name__, error)
            self._count("failed_groups", 1)
            for step in group:
                self._alone(step)
            return
        self._count("groups", 1)
        self._count("grouped_steps", len(group))
        _settle_all([(step, result, None) for step, result in zip(group, results, strict=True)])

    def _count(self, name: str, amount: int) -> None:
        setattr(self, name, getattr(self, name) + amount)
        if self._on_count is not None:
            self._on_count(name, amount)

    def _alone(self, step: _Step[Any]) -> None:
        self._count("lone_steps", 1)
        try:
            result = step.alone()
        except Exception as error:  # noqa: BLE001 - handed to the caller, raised there
            _settle_all([(step, None, error)])
            return
        _settle_all([(step, result, None)])


def _settle_all(settled: list[tuple[_Step[Any], Any, BaseException | None]]) -> None:
    """Hand results to their callers: one wake-up of each event loop for the whole group."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Step[Any], Any, BaseException | None]]] = {}
    for entry in settled:
        by_loop.setdefault(entry[0].loop, []).append(entry)
    for loop, entries in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: no one is waiting
            loop.call_soon_threadsafe(_settle, entries)


def _settle(entries: list[tuple[_Step[Any], Any, BaseException | None]]) -> None:
    for step, result, error in entries:
        if step.future.done():  # the caller was cancelled: the step is stored, its result dropped
            continue
        if error is not None:
            step.future.set_exception(error)
        else:
            step.future.set_result(result)

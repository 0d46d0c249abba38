"""The group committer on SQLite and PostgreSQL: groups form, nothing is released before its commit,
steps see the ones before them, a failing step or commit never takes the others down."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from api.adapters.db.unit_of_work import AbstractUnitOfWork, UnitOfWork
from api.adapters.group_commit import GroupCommitter
from api.errors import DuplicateRecord
from tests.integration.conftest import FailingCommit
from tests.integration.test_store import decision


def logged(engine: Engine, n: int) -> bool:
    """Whether decision n is committed, seen from another connection."""
    with engine.connect() as connection:
        found = connection.execute(
            text("SELECT count(*) FROM decisions WHERE decision_id = :d"), {"d": decision(n).decision_id}
        )
        return bool(found.scalar_one())


class Steps:
    """Store steps writing decision n, and their alone twins (own unit of work, committed)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.ran: list[tuple[str, int]] = []

    def store(self, n: int) -> Callable[[AbstractUnitOfWork], int]:
        def step(uow: AbstractUnitOfWork) -> int:
            self.ran.append(("group", n))
            uow.decisions.add(decision(n))
            return n

        return step

    def alone(self, n: int) -> Callable[[], int]:
        def step() -> int:
            self.ran.append(("alone", n))
            with UnitOfWork(self.engine) as uow:
                uow.decisions.add(decision(n))
                uow.commit()
            return n

        return step


async def hold_the_writer(committer: GroupCommitter, release: threading.Event) -> asyncio.Future[Any]:
    """Submit a step that keeps the writer busy until ``release`` (alone, as the first step is), so
    the submissions that follow queue up and form one group."""
    held = asyncio.ensure_future(committer.submit(lambda uow: release.wait(10), lambda: release.wait(10)))
    await asyncio.sleep(0.05)  # the writer has taken it
    return held


async def queue_behind_a_held_step(
    committer: GroupCommitter, submissions: list[tuple[Callable[[AbstractUnitOfWork], Any], Callable[[], Any]]]
) -> list[Any]:
    """Submit one step that holds the writer, then ``submissions``, then let go: they form one group."""
    release = threading.Event()
    first = await hold_the_writer(committer, release)
    futures = [asyncio.ensure_future(committer.submit(store, alone)) for store, alone in submissions]
    await asyncio.sleep(0.05)  # all are queued
    release.set()
    await first
    return await asyncio.gather(*futures, return_exceptions=True)


def test_concurrent_steps_are_committed_in_one_group_and_released_after_it(engine: Engine) -> None:
    steps = Steps(engine)
    committer = GroupCommitter(lambda: UnitOfWork(engine))
    seen_committed: list[bool] = []

    async def submit(n: int) -> int:
        result = await committer.submit(steps.store(n), steps.alone(n))
        seen_committed.append(logged(engine, n))  # the moment the caller has it, the row is durable
        return result

    async def run() -> list[Any]:
        release = threading.Event()
        first = await hold_the_writer(committer, release)
        tasks = [asyncio.ensure_future(submit(n)) for n in range(1, 21)]
        await asyncio.sleep(0.05)
        release.set()
        await first
        return await asyncio.gather(*tasks)

    try:
        assert asyncio.run(run()) == list(range(1, 21))
    finally:
        committer.close()
    assert seen_committed == [True] * 20
    assert steps.ran == [("group", n) for n in range(1, 21)]  # in submission order, none alone
    assert committer.counters()["groups"] == 1 and committer.counters()["grouped_steps"] == 20


def test_a_step_sees_the_writes_of_the_steps_before_it_in_its_group(engine: Engine) -> None:
    committer = GroupCommitter(lambda: UnitOfWork(engine))

    def first(uow: AbstractUnitOfWork) -> str:
        uow.decisions.add(decision(1))
        return "wrote"

    def second(uow: AbstractUnitOfWork) -> bool:
        return uow.decisions.get(decision(1).decision_id) is not None  # not committed yet, same transaction

    try:
        results = asyncio.run(queue_behind_a_held_step(committer, [(first, lambda: "alone"), (second, lambda: False)]))
    finally:
        committer.close()
    assert results == ["wrote", True]
    assert committer.counters()["failed_groups"] == 0


def test_a_failing_step_gets_its_error_and_the_others_are_stored(engine: Engine) -> None:
    steps = Steps(engine)
    with UnitOfWork(engine) as uow:
        uow.decisions.add(decision(2, request_id="taken"))
        uow.commit()

    def clash(uow: AbstractUnitOfWork) -> int:
        uow.decisions.add(decision(3, request_id="taken"))  # the unique key: the group's transaction is void
        return 3

    def clash_alone() -> int:
        with UnitOfWork(engine) as uow:
            clash(uow)
            uow.commit()
            return 3

    committer = GroupCommitter(lambda: UnitOfWork(engine))
    try:
        results = asyncio.run(
            queue_behind_a_held_step(
                committer,
                [(steps.store(1), steps.alone(1)), (clash, clash_alone), (steps.store(4), steps.alone(4))],
            )
        )
    finally:
        committer.close()
    assert results[0] == 1 and results[2] == 4
    assert isinstance(results[1], DuplicateRecord)
    assert logged(engine, 1) and logged(engine, 4) and not logged(engine, 3)
    # The group ran, failed at its commit (the log writes its rows there), and every step ran again alone.
    assert steps.ran == [("group", 1), ("group", 4), ("alone", 1), ("alone", 4)]
    assert committer.counters()["failed_groups"] == 1


def test_a_failed_commit_releases_nothing_from_the_group(engine: Engine) -> None:
    """The group's commit fails: no step is answered from it; each is stored alone (here: fails too)."""
    committer = GroupCommitter(lambda: FailingCommit(engine))

    def alone_failing(n: int) -> Callable[[], int]:
        def step() -> int:
            with FailingCommit(engine) as uow:
                uow.decisions.add(decision(n))
                uow.commit()
            return n

        return step

    steps = Steps(engine)
    try:
        results = asyncio.run(
            queue_behind_a_held_step(committer, [(steps.store(n), alone_failing(n)) for n in (1, 2, 3)])
        )
    finally:
        committer.close()
    assert all(isinstance(r, OperationalError) for r in results)
    assert not any(logged(engine, n) for n in (1, 2, 3))


def test_a_cancelled_caller_changes_nothing_and_close_drains_the_queue(engine: Engine) -> None:
    steps = Steps(engine)
    committer = GroupCommitter(lambda: UnitOfWork(engine))

    async def run() -> None:
        release = threading.Event()
        first = await hold_the_writer(committer, release)
        gone = asyncio.ensure_future(committer.submit(steps.store(1), steps.alone(1)))
        kept = asyncio.ensure_future(committer.submit(steps.store(2), steps.alone(2)))
        await asyncio.sleep(0.05)
        gone.cancel()  # the client went away while its decision waited for the group
        release.set()
        await first
        assert await kept == 2
        with pytest.raises(asyncio.CancelledError):
            await gone

    try:
        asyncio.run(run())
    finally:
        committer.close()
    assert logged(engine, 1) and logged(engine, 2)  # stored all the same: the log may hold unread decisions
    # After close, a submission starts the writer again.
    assert asyncio.run(committer.submit(steps.store(5), steps.alone(5))) == 5
    committer.close()
    assert logged(engine, 5)


def test_a_lone_step_runs_in_its_own_transaction(engine: Engine) -> None:
    steps = Steps(engine)
    committer = GroupCommitter(lambda: UnitOfWork(engine))
    try:
        assert asyncio.run(committer.submit(steps.store(1), steps.alone(1))) == 1
    finally:
        committer.close()
    assert steps.ran == [("alone", 1)] and committer.counters() == {
        "groups": 0,
        "grouped_steps": 0,
        "lone_steps": 1,
        "failed_groups": 0,
    }


def test_max_group_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        GroupCommitter(lambda: None, max_group=0)  # type: ignore[arg-type,return-value]

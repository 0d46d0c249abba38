"""Jobs on the in-memory store with a fake clock: claims, leases, attempts, cancel, and the callers' use cases."""

from __future__ import annotations

import datetime as dt
import queue as queue_module
import threading

import pytest

from api.adapters.db.memory import InMemoryUnitOfWork, MemoryDatabase
from api.adapters.db.records import JobRecord
from api.adapters.db.repository import JobClaim
from api.errors import JobFinished, JobNotFinished, JobNotFound, MissingPermission
from api.service.jobs import queue
from api.service.jobs.worker import ChildTask, JobWorker, execute_attempt
from api.service.keys import Caller
from tests.job_kinds import COUNTING, FAILING, TEST_KINDS, inline_launcher

ANALYST = Caller("analyst", "simulate")
START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
KINDS = tuple(TEST_KINDS)


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db() -> MemoryDatabase:
    return MemoryDatabase()


def uow_of(db: MemoryDatabase, clock: FakeClock) -> InMemoryUnitOfWork:
    return InMemoryUnitOfWork(db, clock=clock)


def submit(db: MemoryDatabase, clock: FakeClock, kind: str = "counting", **params: object) -> JobRecord:
    with uow_of(db, clock) as uow:
        job = queue.submit_job(uow, TEST_KINDS, kind, ANALYST, params, {})
    clock.advance(0.001)  # jobs submitted one after the other
    return job


def claim(
    db: MemoryDatabase, clock: FakeClock, owner: str, lease: float = 10, max_attempts: int = 3
) -> JobRecord | None:
    with uow_of(db, clock) as uow:
        now = clock()
        taken = uow.jobs.claim(JobClaim(owner, now, now + dt.timedelta(seconds=lease), max_attempts, KINDS))
        uow.commit()
    return taken


def heartbeat(db: MemoryDatabase, clock: FakeClock, job: JobRecord, lease: float = 10) -> bool:
    with uow_of(db, clock) as uow:
        assert job.lease_owner is not None
        held = uow.jobs.heartbeat(
            job.id,
            job.lease_owner,
            job.attempts,
            now=clock(),
            lease_until=clock() + dt.timedelta(seconds=lease),
            progress=("working", 1, 3),
        )
        uow.commit()
    return held


def stored(db: MemoryDatabase, job_id: str) -> JobRecord:
    return db.jobs[job_id]


def test_claims_take_the_oldest_queued_job_each_once(db: MemoryDatabase, clock: FakeClock) -> None:
    first, second = submit(db, clock), submit(db, clock)
    a, b = claim(db, clock, "a"), claim(db, clock, "b")
    assert a is not None and b is not None
    assert (a.id, b.id) == (first.id, second.id)
    assert (a.status, a.lease_owner, a.attempts, a.started_at, a.progress_stage) == (
        "running",
        "a",
        1,
        clock(),
        "starting",
    )
    assert claim(db, clock, "c") is None


def test_a_heartbeat_keeps_the_lease_and_a_silent_worker_loses_it(db: MemoryDatabase, clock: FakeClock) -> None:
    job = submit(db, clock)
    first_claim = clock()
    taken = claim(db, clock, "a", lease=10)
    assert taken is not None
    clock.advance(8)
    assert heartbeat(db, clock, taken, lease=10)
    assert stored(db, job.id).progress_done == 1
    clock.advance(8)  # 16 s after the claim, 8 after the heartbeat: still leased
    assert claim(db, clock, "b") is None
    clock.advance(2.001)  # the lease expired: worker a is presumed dead
    again = claim(db, clock, "b")
    assert again is not None and (again.id, again.lease_owner, again.attempts) == (job.id, "b", 2)
    assert again.started_at == first_claim  # when the job first started, not this attempt
    assert not heartbeat(db, clock, taken)  # a is back: its lease is gone, it must stop
    with uow_of(db, clock) as uow:
        assert not uow.jobs.finish(job.id, "a", 1, now=clock(), status="succeeded")
        assert uow.jobs.finish(job.id, "b", 2, now=clock(), status="succeeded")
        uow.commit()
    assert stored(db, job.id).status == "succeeded"


def test_a_job_whose_workers_keep_dying_is_abandoned_after_the_last_attempt(
    db: MemoryDatabase, clock: FakeClock
) -> None:
    job = submit(db, clock)
    for attempt in (1, 2, 3):
        taken = claim(db, clock, f"w{attempt}", max_attempts=3)
        assert taken is not None and taken.attempts == attempt
        clock.advance(11)
    assert claim(db, clock, "w4", max_attempts=3) is None
    failed = stored(db, job.id)
    assert (failed.status, failed.error_code, failed.lease_owner) == ("failed", "job_abandoned", None)
    assert "3 times" in (failed.error_message or "")


def test_a_released_job_is_queued_again_without_counting_the_attempt(db: MemoryDatabase, clock: FakeClock) -> None:
    job = submit(db, clock)
    taken = claim(db, clock, "a")
    assert taken is not None
    with uow_of(db, clock) as uow:
        assert uow.jobs.release(job.id, "a", 1, now=clock(), counted=False)
        uow.commit()
    assert (stored(db, job.id).status, stored(db, job.id).attempts) == ("queued", 0)
    again = claim(db, clock, "b")
    assert again is not None and again.attempts == 1
    with uow_of(db, clock) as uow:  # a child that died: the lease expires now, the attempt counts
        assert uow.jobs.release(job.id, "b", 1, now=clock(), counted=True)
        uow.commit()
    clock.advance(0.001)
    third = claim(db, clock, "c")
    assert third is not None and third.attempts == 2


def test_a_cancelled_job_loses_its_lease(db: MemoryDatabase, clock: FakeClock) -> None:
    job = submit(db, clock)
    taken = claim(db, clock, "a")
    assert taken is not None
    with uow_of(db, clock) as uow:
        view = queue.cancel_job(uow, TEST_KINDS, ANALYST, job.id)
    assert view.job.status == "cancelled"
    assert not heartbeat(db, clock, taken)
    with uow_of(db, clock) as uow:
        with pytest.raises(JobFinished):
            queue.cancel_job(uow, TEST_KINDS, ANALYST, job.id)
        with pytest.raises(JobNotFinished) as refused:
            queue.get_artifact(uow, TEST_KINDS, ANALYST, job.id, "ran.txt")
    assert refused.value.code == "job_not_succeeded"


def test_the_worker_runs_a_job_and_stores_its_artifacts_and_progress(db: MemoryDatabase, clock: FakeClock) -> None:
    job = submit(db, clock)
    new_uow = lambda: uow_of(db, clock)  # noqa: E731
    worker = JobWorker("memory://", new_uow, TEST_KINDS, owner="w", clock=clock, launch=inline_launcher(new_uow))
    assert worker.run_once(threading.Event())
    assert not worker.run_once(threading.Event())
    done = stored(db, job.id)
    assert (done.status, done.attempts, done.finished_at, done.lease_owner) == ("succeeded", 1, clock(), None)
    assert (done.progress_stage, done.progress_done, done.progress_total) == ("done", 1, 1)
    with uow_of(db, clock) as uow:
        view = queue.get_job(uow, TEST_KINDS, ANALYST, job.id)
        artifact = queue.get_artifact(uow, TEST_KINDS, ANALYST, job.id, "ran.txt")
    assert [(a.name, a.size) for a in view.artifacts] == [("ran.txt", len(job.id))]
    assert artifact.content == job.id.encode()


def test_only_a_finished_job_is_deleted_and_its_files_with_it(db: MemoryDatabase, clock: FakeClock) -> None:
    job = submit(db, clock)
    with uow_of(db, clock) as uow:
        with pytest.raises(JobNotFinished):  # queued: cancel it first
            queue.delete_job(uow, TEST_KINDS, ANALYST, job.id)
    new_uow = lambda: uow_of(db, clock)  # noqa: E731
    worker = JobWorker("memory://", new_uow, TEST_KINDS, owner="w", clock=clock, launch=inline_launcher(new_uow))
    assert worker.run_once(threading.Event())
    assert db.job_artifacts[job.id]
    with uow_of(db, clock) as uow:
        with pytest.raises(JobNotFound):  # a role that may not run the kind sees no such job
            queue.delete_job(uow, TEST_KINDS, Caller("auditor", "audit"), job.id)
        queue.delete_job(uow, TEST_KINDS, ANALYST, job.id)
    assert job.id not in db.jobs and job.id not in db.job_artifacts and job.id not in db.job_inputs
    with uow_of(db, clock) as uow, pytest.raises(JobNotFound):
        queue.delete_job(uow, TEST_KINDS, ANALYST, job.id)


@pytest.mark.parametrize(("coded", "code"), [(True, "version_not_found"), (False, "job_failed")])
def test_a_failing_job_fails_with_a_code(db: MemoryDatabase, clock: FakeClock, coded: bool, code: str) -> None:
    job = submit(db, clock, "failing", coded=coded)
    new_uow = lambda: uow_of(db, clock)  # noqa: E731
    taken = claim(db, clock, "w")
    assert taken is not None
    task = ChildTask("memory://", job.id, "w", 1, FAILING)
    assert execute_attempt(task, new_uow, lambda *_: None)
    failed = stored(db, job.id)
    assert (failed.status, failed.error_code) == ("failed", code)
    assert (failed.progress_stage, failed.progress_done, failed.progress_total) == ("failing", 1, 2)
    with uow_of(db, clock) as uow:
        assert queue.get_job(uow, TEST_KINDS, ANALYST, job.id).artifacts == []


def test_an_attempt_whose_lease_is_gone_runs_nothing(db: MemoryDatabase, clock: FakeClock) -> None:
    job = submit(db, clock)
    assert claim(db, clock, "a") is not None
    task = ChildTask("memory://", job.id, "someone-else", 1, COUNTING)
    assert not execute_attempt(task, lambda: uow_of(db, clock), lambda *_: None)
    assert stored(db, job.id).status == "running"


def test_callers_see_only_the_kinds_their_role_may_run(db: MemoryDatabase, clock: FakeClock) -> None:
    job = submit(db, clock)
    auditor = Caller("auditor", "audit")
    with uow_of(db, clock) as uow:
        with pytest.raises(JobNotFound):
            queue.get_job(uow, TEST_KINDS, auditor, job.id)
        assert queue.list_jobs(uow, TEST_KINDS, auditor).items == []
        with pytest.raises(MissingPermission):
            queue.submit_job(uow, TEST_KINDS, "counting", auditor, {}, {})
        listed = queue.list_jobs(uow, TEST_KINDS, ANALYST, status="queued")
    assert [j.id for j in listed.items] == [job.id]
    shown = queue.job_to_dict(queue.JobView(job, []))
    assert (shown["params"], shown["created_by"], shown["error"], shown["artifacts"]) == ({}, "analyst", None, [])


def test_the_listing_pages_newest_first(db: MemoryDatabase, clock: FakeClock) -> None:
    ids = [submit(db, clock).id for _ in range(5)]
    seen: list[str] = []
    cursor = None
    with uow_of(db, clock) as uow:
        while True:
            page = queue.list_jobs(uow, TEST_KINDS, ANALYST, limit=2, cursor=cursor)
            seen += [j.id for j in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
    assert seen == ids[::-1]


class DeadChild:
    """A child killed before it stored anything (``kill -9``, out of memory)."""

    exitcode = -9
    progress: queue_module.Queue[tuple[str, int, int]] = queue_module.Queue()

    def join(self, timeout: float | None = None) -> None:
        return None

    def is_alive(self) -> bool:
        return False

    def kill(self) -> None:
        return None


def test_a_job_whose_child_dies_or_never_starts_is_tried_again_with_the_attempt_counted(
    db: MemoryDatabase, clock: FakeClock
) -> None:
    job = submit(db, clock)
    new_uow = lambda: uow_of(db, clock)  # noqa: E731

    def dies(task: ChildTask) -> tuple[DeadChild, queue_module.Queue[tuple[str, int, int]]]:
        return DeadChild(), DeadChild.progress

    def cannot_start(task: ChildTask) -> tuple[DeadChild, queue_module.Queue[tuple[str, int, int]]]:
        raise OSError("fork: Resource temporarily unavailable")

    for launch, attempt in ((dies, 1), (cannot_start, 2)):
        clock.advance(0.001)
        assert JobWorker("memory://", new_uow, TEST_KINDS, owner="w", clock=clock, launch=launch).run_once()
        released = stored(db, job.id)
        assert (released.status, released.attempts) == ("running", attempt)
        assert released.lease_expires_at is not None and released.lease_expires_at < clock()
    clock.advance(0.001)
    worker = JobWorker("memory://", new_uow, TEST_KINDS, owner="w", clock=clock, launch=inline_launcher(new_uow))
    assert worker.run_once()
    assert (stored(db, job.id).status, stored(db, job.id).attempts) == ("succeeded", 3)

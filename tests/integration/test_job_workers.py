"""Job workers on SQLite and PostgreSQL: each job runs exactly once with racing workers, and a killed worker's
job is taken over once its lease expires."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from api.adapters.db.engine import create_db_engine
from api.adapters.db.records import JobRecord
from api.adapters.db.repository import JobClaim, JobQuery
from api.adapters.db.unit_of_work import UnitOfWork
from api.service.jobs import queue
from api.service.jobs.worker import JobWorker, WorkerConfig
from api.service.keys import Caller
from tests.job_kinds import TEST_KINDS, inline_launcher

ROOT = Path(__file__).resolve().parents[2]
ANALYST = Caller("analyst", "simulate")


@pytest.fixture
def engines(database_url: str) -> Iterator[list[Engine]]:
    """Two engines on the database, as two processes or replicas would have."""
    made = [create_db_engine(database_url, queue_writers=True) for _ in range(2)]
    yield made
    for engine in made:
        engine.dispose()


def submit(engine: Engine, kind: str, **params: object) -> JobRecord:
    with UnitOfWork(engine) as uow:
        return queue.submit_job(uow, TEST_KINDS, kind, ANALYST, params, {})


def job(engine: Engine, job_id: str) -> JobRecord:
    with UnitOfWork(engine) as uow:
        found = uow.jobs.get(job_id)
    assert found is not None
    return found


def test_racing_workers_run_each_job_exactly_once(database_url: str, engines: list[Engine], tmp_path: Path) -> None:
    record = tmp_path / "runs.txt"
    jobs = [submit(engines[0], "counting", record=str(record), n=n).id for n in range(24)]
    start = threading.Barrier(2)

    def queued() -> bool:
        with UnitOfWork(engines[0], read_only=True) as uow:
            return bool(uow.jobs.list(JobQuery(status="queued", limit=1)))

    def work(index: int) -> None:
        def new_uow() -> UnitOfWork:
            return UnitOfWork(engines[index])

        worker = JobWorker(database_url, new_uow, TEST_KINDS, owner=f"w{index}", launch=inline_launcher(new_uow))
        start.wait()
        while worker.run_once() or queued():
            pass

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    runs = Counter(record.read_text().splitlines())
    assert sorted(runs) == sorted(jobs) and set(runs.values()) == {1}  # each job's run, once
    for job_id in jobs:
        stored = job(engines[1], job_id)
        assert (stored.status, stored.attempts) == ("succeeded", 1)
    with UnitOfWork(engines[1]) as uow:
        assert all(len(uow.jobs.artifacts(job_id)) == 1 for job_id in jobs)


def test_an_expired_job_is_taken_over_and_abandoned_after_the_last_attempt(engines: list[Engine]) -> None:
    queued = submit(engines[0], "counting")
    now = dt.datetime.now(dt.UTC)
    for attempt in (1, 2):
        with UnitOfWork(engines[attempt % 2]) as uow:
            claim = JobClaim(f"w{attempt}", now, now + dt.timedelta(seconds=5), 2, tuple(TEST_KINDS))
            taken = uow.jobs.claim(claim)
            assert taken is not None and (taken.id, taken.attempts) == (queued.id, attempt)
            assert uow.jobs.claim(claim) is None  # leased: nobody else takes it
            uow.commit()
        now += dt.timedelta(seconds=6)
    with UnitOfWork(engines[0]) as uow:
        assert uow.jobs.claim(JobClaim("w3", now, now + dt.timedelta(seconds=5), 2, tuple(TEST_KINDS))) is None
        uow.commit()
    failed = job(engines[1], queued.id)
    assert (failed.status, failed.error_code, failed.attempts) == ("failed", "job_abandoned", 2)


WORKER_SCRIPT = """
import sys, threading
from api.adapters.db.engine import create_db_engine
from api.adapters.db.unit_of_work import UnitOfWork
from api.service.jobs.worker import JobWorker, WorkerConfig
from tests.job_kinds import TEST_KINDS

engine = create_db_engine(sys.argv[1])
config = WorkerConfig(lease_seconds=float(sys.argv[2]), poll_seconds=0.1)
worker = JobWorker(sys.argv[1], lambda: UnitOfWork(engine), TEST_KINDS, owner="doomed", config=config)
worker.run_forever(threading.Event())
"""


def wait_until(what: str, check: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        time.sleep(0.05)


@pytest.mark.slow  # two interpreters and two children start: ~12 s
def test_a_job_whose_worker_is_killed_is_taken_over_after_its_lease(
    database_url: str, engines: list[Engine], tmp_path: Path
) -> None:
    lease = 1.5
    record = tmp_path / "runs.txt"
    sleepy = submit(engines[0], "sleepy", seconds=1.5, record=str(record))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    doomed = subprocess.Popen([sys.executable, "-c", WORKER_SCRIPT, database_url, str(lease)], cwd=ROOT, env=env)
    try:
        # Running in the doomed worker's child, and far enough along to have reported progress.
        wait_until("the job runs", lambda: job(engines[0], sleepy.id).progress_done >= 2)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=10)
    finally:
        if doomed.poll() is None:
            doomed.kill()
    killed_at = time.monotonic()
    taken = job(engines[0], sleepy.id)
    assert (taken.status, taken.lease_owner, taken.attempts) == ("running", "doomed", 1)

    def new_uow() -> UnitOfWork:
        return UnitOfWork(engines[1])

    config = WorkerConfig(lease_seconds=lease, poll_seconds=0.1)
    survivor = JobWorker(database_url, new_uow, TEST_KINDS, owner="survivor", config=config)
    assert survivor.claim() is None  # the lease still holds
    stop = threading.Event()
    thread = threading.Thread(target=survivor.run_forever, args=(stop,))
    thread.start()
    try:
        wait_until("the job is done", lambda: job(engines[0], sleepy.id).finished, timeout=90)
    finally:
        stop.set()
        thread.join(timeout=30)
    done = job(engines[0], sleepy.id)
    assert (done.status, done.attempts) == ("succeeded", 2)
    assert time.monotonic() - killed_at >= lease - 0.5  # not before the lease expired
    with UnitOfWork(engines[0]) as uow:
        artifact = uow.jobs.artifact(sleepy.id, "ran.txt")
    assert artifact is not None
    # One run finished: the survivor's child. The doomed worker's child stopped when it saw its parent gone.
    assert record.read_text().splitlines() == [artifact.content.decode()]


def running_worker(
    database_url: str, engine: Engine, config: WorkerConfig
) -> tuple[JobWorker, threading.Event, threading.Thread]:
    def new_uow() -> UnitOfWork:
        return UnitOfWork(engine)

    worker = JobWorker(database_url, new_uow, TEST_KINDS, owner="w", config=config)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,))
    thread.start()
    return worker, stop, thread


def test_a_cancelled_job_s_child_is_stopped_and_stores_nothing(
    database_url: str, engines: list[Engine], tmp_path: Path
) -> None:
    record = tmp_path / "runs.txt"
    sleepy = submit(engines[0], "sleepy", seconds=30, record=str(record))
    _, stop, thread = running_worker(database_url, engines[1], WorkerConfig(lease_seconds=5, poll_seconds=0.1))
    try:
        wait_until("the job runs", lambda: job(engines[0], sleepy.id).progress_done >= 1)
        with UnitOfWork(engines[0]) as uow:
            assert queue.cancel_job(uow, TEST_KINDS, ANALYST, sleepy.id).job.status == "cancelled"
        # The worker kills the child at its next heartbeat, and is free for the next job at once.
        counting = submit(engines[0], "counting")
        wait_until("the next job ran", lambda: job(engines[0], counting.id).finished, timeout=30)
    finally:
        stop.set()
        thread.join(timeout=30)
    cancelled = job(engines[0], sleepy.id)
    assert (cancelled.status, cancelled.lease_owner) == ("cancelled", None)
    with UnitOfWork(engines[0]) as uow:
        assert uow.jobs.artifacts(sleepy.id) == []
    assert not record.exists()  # the sleeper never finished
    assert multiprocessing.active_children() == []  # its process is gone


def test_a_stopping_worker_queues_its_job_again_without_counting_the_attempt(
    database_url: str, engines: list[Engine]
) -> None:
    sleepy = submit(engines[0], "sleepy", seconds=30)
    config = WorkerConfig(lease_seconds=5, poll_seconds=0.1, shutdown_grace_seconds=0.5)
    _, stop, thread = running_worker(database_url, engines[1], config)
    try:
        wait_until("the job runs", lambda: job(engines[0], sleepy.id).progress_done >= 1)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    requeued = job(engines[0], sleepy.id)
    assert (requeued.status, requeued.attempts, requeued.lease_owner) == ("queued", 0, None)
    assert multiprocessing.active_children() == []

"""The job worker every service process runs: claim a job, run it in a child process, keep its lease.

Each service process starts ``CREDITPOLICY_JOB_WORKERS`` worker threads (1 by default; 0: this
process runs none). A worker thread does no work of its own: it polls the database for a job it
may claim (a cheap read; the claim itself only when there is one), claims it — the job turns
``running``, leased to this worker for ``CREDITPOLICY_JOB_LEASE_SECONDS`` — and starts a **child
process** (``multiprocessing`` spawn: a fresh interpreter that builds its own database engine from
the URL) to run it. A simulation is seconds of CPU: in a child it competes with the decisions for
a core, not for this process's GIL or its event loop.

While the child runs, the thread renews the lease and writes the progress the child reports, about
once a second. The child writes the end of the attempt itself — the artifacts with the status
``succeeded``, or ``failed`` with the error's code — in one transaction, and only if the lease is
still its own (owner and attempt), so an attempt's results are stored once or not at all.

What can go wrong, and what happens:

* the worker's process dies (``kill -9``, a lost host): nobody renews the lease; once it expires,
  any worker on the database claims the job again (``attempts`` + 1). A child left without its
  parent stops at its next progress report, and could not store anything anyway: the lease is
  no longer its own. After ``CREDITPOLICY_JOB_MAX_ATTEMPTS`` attempts the job fails as
  ``job_abandoned``;
* the child dies (killed, out of memory): the worker expires the lease at once, so the job is
  claimed again with the attempt counted (the same bound applies);
* the job is cancelled (``POST /v1/jobs/{id}:cancel``): the next heartbeat finds the lease gone
  and the worker kills the child;
* the service stops: the workers stop claiming; a running child gets
  ``CREDITPOLICY_JOB_SHUTDOWN_GRACE_SECONDS`` to finish, then is killed and its job queued again
  without counting the attempt (another process, or this one restarted, takes it).

With several processes or replicas on one database every job runs once at a time and its results
are stored once: claims are exclusive (:mod:`api.adapters.db.jobs`) and every write after the claim
is conditional on the lease.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import multiprocessing
import os
import queue
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from api.adapters.db.engine import create_db_engine
from api.adapters.db.records import JobArtifactRecord, JobRecord
from api.adapters.db.repository import JobClaim
from api.adapters.db.unit_of_work import Clock, UnitOfWork, utc_now
from api.errors import ServiceError
from api.service.jobs.kinds import JobKind, JobKinds, JobProgress, JobRun, UowFactory
from engine.errors import EngineError
from policy.errors import PolicyError

__all__ = [
    "ChildTask",
    "JobWorker",
    "JobWorkers",
    "WorkerConfig",
    "execute_attempt",
    "run_child",
    "spawn_child",
    "worker_owner",
]

log = logging.getLogger("creditpolicy.jobs")

EXIT_ORPHANED = 3  # the child's parent died: it stops, its lease is no longer renewed
_MESSAGE_LIMIT = 4000  # of an error message stored on the job


@dataclass(frozen=True)
class WorkerConfig:
    """How a worker claims and keeps jobs (api.settings: ``CREDITPOLICY_JOB_*``)."""

    lease_seconds: float = 60.0
    poll_seconds: float = 1.0
    max_attempts: int = 3
    shutdown_grace_seconds: float = 10.0
    nice: int = 10  # the child's CPU priority below the server's: decisions first, jobs with what is left

    @property
    def heartbeat_seconds(self) -> float:
        """How often a running job's lease is renewed and its progress written: well inside the lease."""
        return min(1.0, self.lease_seconds / 3)


@dataclass(frozen=True)
class ChildTask:
    """What the child process is told: where the database is, which attempt of which job, of what kind."""

    database_url: str
    job_id: str
    owner: str
    attempt: int
    kind: JobKind
    nice: int | None = None  # the niceness the child runs at (None: the worker's own)


class Child(Protocol):
    """A started child (``multiprocessing.Process`` is one)."""

    @property
    def exitcode(self) -> int | None: ...

    def join(self, timeout: float | None = None) -> None: ...

    def is_alive(self) -> bool: ...

    def kill(self) -> None: ...


class ProgressQueue(Protocol):
    def get_nowait(self) -> Any: ...

    def put(self, item: Any) -> None: ...


# Starts the child of one attempt; it reports (stage, done, total) tuples on the queue it is given.
Launcher = Callable[[ChildTask], tuple[Child, ProgressQueue]]


def worker_owner(index: int) -> str:
    """The name a worker leases jobs under: host, process and thread index (shown on the job as ``worker``)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{index}"


# --- the child --------------------------------------------------------------------------------------
def spawn_child(task: ChildTask) -> tuple[Child, ProgressQueue]:
    """A fresh interpreter running :func:`run_child` (spawn, not fork: the server's threads, locks and
    connections are not copied into it)."""
    context = multiprocessing.get_context("spawn")
    progress = context.Queue()
    process = context.Process(target=run_child, args=(task, progress), name=f"job-{task.job_id}", daemon=True)
    process.start()
    if task.nice is not None and process.pid is not None:
        # At once, from here: the child's imports (Polars, NumPy, the app) are seconds of CPU too.
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, process.pid, task.nice)
    return process, progress


def run_child(task: ChildTask, progress: ProgressQueue) -> None:
    """The child process's entry: its own engine on the database, one attempt of the job."""
    parent = os.getppid()
    if task.nice is not None:
        _lower_priority(task.nice)

    def report(stage: str, done: int, total: int) -> None:
        if os.getppid() != parent:  # the worker died: its lease will expire, another worker takes over
            os._exit(EXIT_ORPHANED)
        progress.put((stage, done, total))

    engine = create_db_engine(task.database_url)
    try:
        execute_attempt(task, lambda: UnitOfWork(engine), report)
    finally:
        engine.dispose()


def _lower_priority(target: int) -> None:
    """Run every thread of this process at niceness ``target``.

    Linux keeps a priority per thread: the worker set the child's main thread's as it started it,
    and this makes sure of every thread started since (Polars' pool among them).
    """
    tasks = Path("/proc/self/task")
    for thread in sorted(int(t.name) for t in tasks.iterdir()) if tasks.is_dir() else [0]:
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            os.setpriority(os.PRIO_PROCESS, thread, target)


def _error_of(error: Exception) -> tuple[str, str]:
    code = str(getattr(error, "code", "job_failed"))
    return code, str(error)[:_MESSAGE_LIMIT]


def execute_attempt(task: ChildTask, new_uow: UowFactory, report: JobProgress) -> bool:
    """Run one attempt of a job and store how it ended, if the lease is still this attempt's; whether it was."""
    with new_uow() as uow:
        job = uow.jobs.get(task.job_id)
        inputs = uow.jobs.inputs(task.job_id)
    if job is None or (job.status, job.lease_owner, job.attempts) != ("running", task.owner, task.attempt):
        return False
    artifacts: tuple[JobArtifactRecord, ...] = ()
    error: tuple[str, str] | None = None
    last: list[tuple[str, int, int]] = []

    def progress(stage: str, done: int, total: int) -> None:
        last[:] = [(stage, done, total)]
        report(stage, done, total)

    try:
        produced = task.kind.run(JobRun(job.id, json.loads(job.params_json), inputs, progress, new_uow))
        artifacts = tuple(JobArtifactRecord(job.id, a.name, a.media_type, len(a.content), a.content) for a in produced)
    except (ServiceError, EngineError, PolicyError) as refused:
        error = _error_of(refused)
    except Exception:
        log.exception("job %s (%s) failed", job.id, job.kind)
        error = ("job_failed", "an unexpected error ended the job; it has been logged")
    with new_uow() as uow:
        stored = uow.jobs.finish(
            job.id,
            task.owner,
            task.attempt,
            now=uow.now(),
            status="failed" if error else "succeeded",
            error=error,
            artifacts=artifacts,
            progress=_final_progress(last[0] if last else None, failed=error is not None),
        )
        uow.commit()
    return stored


def _final_progress(last: tuple[str, int, int] | None, *, failed: bool) -> tuple[str, int, int] | None:
    """What the job's progress says once it ended: where it stopped, or every step done."""
    if last is None:
        return None
    stage, done, total = last
    return (stage, done, total) if failed else ("done", total, total)


# --- the worker thread ---------------------------------------------------------------------------------
class JobWorker:
    """One worker: claims jobs of ``kinds`` one at a time and supervises the child running each."""

    def __init__(
        self,
        database_url: str,
        new_uow: UowFactory,
        kinds: JobKinds,
        *,
        owner: str,
        config: WorkerConfig = WorkerConfig(),
        clock: Clock = utc_now,
        launch: Launcher = spawn_child,
        new_read_uow: UowFactory | None = None,
    ) -> None:
        self.database_url = database_url
        self.new_uow = new_uow
        # Polls read through it: on SQLite a read-only unit of work does not take the write lock.
        self.new_read_uow = new_read_uow or new_uow
        self.kinds = kinds
        self.owner = owner
        self.config = config
        self.clock = clock
        self.launch = launch

    def run_forever(self, stop: threading.Event) -> None:
        """Claim and run jobs until ``stop`` is set; a database that fails is retried at the next poll."""
        while not stop.is_set():
            try:
                ran = self.run_once(stop)
            except Exception:  # the database went away: try again later, never die
                log.exception("job worker %s: claiming failed", self.owner)
                ran = False
            if not ran:
                stop.wait(self.config.poll_seconds)

    def claim(self) -> JobRecord | None:
        """Claim the next job, if there is one (a read first: polling an idle queue writes nothing)."""
        now = self.clock()
        kinds = tuple(self.kinds)
        with self.new_read_uow() as uow:
            if not uow.jobs.has_claimable(now, kinds):
                return None
        with self.new_uow() as uow:
            claim = JobClaim(
                owner=self.owner,
                now=now,
                lease_until=now + _seconds(self.config.lease_seconds),
                max_attempts=self.config.max_attempts,
                kinds=kinds,
            )
            job = uow.jobs.claim(claim)
            uow.commit()
        return job

    def run_once(self, stop: threading.Event | None = None) -> bool:
        """Claim one job and run it to its end (or until ``stop`` and the grace period); whether there was one."""
        job = self.claim()
        if job is None:
            return False
        log.info("job %s (%s): attempt %d by %s", job.id, job.kind, job.attempts, self.owner)
        nice = min(19, os.getpriority(os.PRIO_PROCESS, 0) + self.config.nice) if self.config.nice else None
        task = ChildTask(self.database_url, job.id, self.owner, job.attempts, self.kinds[job.kind], nice)
        try:
            child, progress = self.launch(task)
        except Exception:  # no process could be started: the job is tried again, the attempt counted
            log.exception("job %s: the child process could not start", job.id)
            self._release(task, counted=True)
            return True
        try:
            self._supervise(task, child, progress, stop or threading.Event())
        finally:
            if child.is_alive():  # supervising failed: never leave a child running unwatched
                _kill(child)
        return True

    def _supervise(self, task: ChildTask, child: Child, progress: ProgressQueue, stop: threading.Event) -> None:
        beat = self.config.heartbeat_seconds
        next_beat = time.monotonic() + beat
        deadline: float | None = None
        latest: tuple[str, int, int] | None = None
        while True:
            child.join(timeout=min(beat, 0.2))
            latest = _drain(progress) or latest
            if not child.is_alive():
                break
            if stop.is_set() and deadline is None:
                deadline = time.monotonic() + self.config.shutdown_grace_seconds
            if deadline is not None and time.monotonic() > deadline:
                _kill(child)
                self._release(task, counted=False)
                log.info("job %s: queued again, this worker is stopping", task.job_id)
                return
            if time.monotonic() >= next_beat:
                if not self._heartbeat(task, latest):
                    _kill(child)  # cancelled, or the lease was lost: nothing it does may be stored
                    log.info("job %s: lease gone (cancelled?), child stopped", task.job_id)
                    return
                next_beat = time.monotonic() + beat
        if child.exitcode != 0:
            # Died without storing its end: expire the lease now, so the job is tried again (counted).
            log.warning("job %s: child exited with %s", task.job_id, child.exitcode)
            self._release(task, counted=True)

    def _heartbeat(self, task: ChildTask, progress: tuple[str, int, int] | None) -> bool:
        """Renew the lease; False if it is gone. A database that fails now is tried again at the next beat:
        if the lease expires meanwhile, the child's results are refused anyway."""
        now = self.clock()
        try:
            with self.new_uow() as uow:
                held = uow.jobs.heartbeat(
                    task.job_id,
                    task.owner,
                    task.attempt,
                    now=now,
                    lease_until=now + _seconds(self.config.lease_seconds),
                    progress=progress,
                )
                uow.commit()
        except Exception:
            log.exception("job %s: heartbeat failed", task.job_id)
            return True
        return held

    def _release(self, task: ChildTask, *, counted: bool) -> None:
        try:
            with self.new_uow() as uow:
                uow.jobs.release(task.job_id, task.owner, task.attempt, now=self.clock(), counted=counted)
                uow.commit()
        except Exception:  # the lease then simply expires: the job is claimed again all the same
            log.exception("job %s: releasing the lease failed", task.job_id)


def _seconds(seconds: float) -> dt.timedelta:
    return dt.timedelta(seconds=seconds)


def _drain(progress: ProgressQueue) -> tuple[str, int, int] | None:
    latest = None
    while True:
        try:
            latest = progress.get_nowait()
        except (queue.Empty, OSError, ValueError, EOFError):
            return latest


def _kill(child: Child) -> None:
    with contextlib.suppress(OSError):
        child.kill()
    child.join(timeout=10)


class JobWorkers:
    """The worker threads of one process, started together and stopped together."""

    def __init__(self, workers: Sequence[JobWorker]) -> None:
        self.workers = list(workers)
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=w.run_forever, args=(self._stop,), name=f"job-worker-{i}", daemon=True)
            for i, w in enumerate(self.workers)
        ]

    def start(self) -> JobWorkers:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop claiming; wait for the running children to finish (or be released after the grace period)."""
        self._stop.set()
        for worker, thread in zip(self.workers, self._threads, strict=True):
            thread.join(timeout if timeout is not None else worker.config.shutdown_grace_seconds + 15)

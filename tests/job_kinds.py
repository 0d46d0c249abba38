"""Job kinds for the tests of the job machinery, and a launcher that runs an attempt in the calling thread.

The kinds are module-level so that a spawned child process imports them by name, as it does the
real ones. Each run can leave a mark — a line (the job's id, or the process's) appended to the file named in
``params["record"]`` — so a test counts the runs of a job across threads and processes.
"""

from __future__ import annotations

import os
import queue
import time
from collections.abc import Callable, Mapping
from typing import Any

from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.errors import VersionNotFound
from api.service.jobs.kinds import Artifact, JobKind, JobKinds, JobRun
from api.service.jobs.worker import ChildTask, Launcher, ProgressQueue, execute_attempt

__all__ = ["COUNTING", "FAILING", "SLEEPY", "TEST_KINDS", "InlineChild", "inline_launcher"]


def prepare_as_given(uow: AbstractUnitOfWork, params: Mapping[str, Any], inputs: Mapping[str, bytes]) -> dict[str, Any]:
    return dict(params)


def _record(params: Mapping[str, Any], mark: str) -> None:
    record = params.get("record")
    if record:
        with open(record, "a", encoding="utf-8") as marks:  # one short append: atomic across processes
            marks.write(f"{mark}\n")


def run_counting(job: JobRun) -> list[Artifact]:
    _record(job.params, job.job_id)
    job.progress("counting", 1, 1)
    return [Artifact("ran.txt", "text/plain", job.job_id.encode())]


def run_sleepy(job: JobRun) -> list[Artifact]:
    steps = max(1, round(float(job.params["seconds"]) * 10))
    for step in range(steps):
        time.sleep(0.1)
        job.progress("sleeping", step + 1, steps)
    _record(job.params, str(os.getpid()))
    return [Artifact("ran.txt", "text/plain", str(os.getpid()).encode())]


def run_failing(job: JobRun) -> list[Artifact]:
    job.progress("failing", 1, 2)
    if job.params.get("coded"):
        raise VersionNotFound("no policy version matches 'nope'")
    raise RuntimeError("a defect")


COUNTING = JobKind("counting", "simulate", prepare_as_given, run_counting)
SLEEPY = JobKind("sleepy", "simulate", prepare_as_given, run_sleepy)
FAILING = JobKind("failing", "simulate", prepare_as_given, run_failing)
TEST_KINDS = JobKinds((COUNTING, SLEEPY, FAILING))


class InlineChild:
    """A "child" that has run its attempt (in the calling thread) by the time it is returned."""

    def __init__(self, task: ChildTask, new_uow: Callable[[], AbstractUnitOfWork]) -> None:
        self.progress: queue.Queue[tuple[str, int, int]] = queue.Queue()
        try:
            execute_attempt(task, new_uow, lambda stage, done, total: self.progress.put((stage, done, total)))
            self.exitcode: int | None = 0
        except Exception:  # the store failed under it: what a crashed child looks like to its worker
            self.exitcode = 1

    def join(self, timeout: float | None = None) -> None:
        return None

    def is_alive(self) -> bool:
        return False

    def kill(self) -> None:
        return None


def inline_launcher(new_uow: Callable[[], AbstractUnitOfWork]) -> Launcher:
    def launch(task: ChildTask) -> tuple[InlineChild, ProgressQueue]:
        child = InlineChild(task, new_uow)
        return child, child.progress

    return launch

"""Job kinds: what the job machinery runs, and the one place a new kind is plugged in.

A job is long work a caller submits and comes back for (a simulation over a portfolio; the
impact of a version over the decision log). The machinery is the same for every kind — a row in
``jobs``, claimed by one worker of one service process, run in a child process, its results
stored as artifacts (:mod:`api.service.jobs.queue`, :mod:`api.service.jobs.worker`) — and a kind
only says four things, in a :class:`JobKind`:

``name``
    what ``jobs.kind`` holds (at most 32 characters), e.g. ``"simulation"``;
``permission``
    the permission (:data:`api.service.keys.PERMISSIONS`) needed to create a job of the kind and
    to read it (status, artifacts, cancel); the roles holding it should also hold ``read_jobs``,
    which the job routes require before they look at the job;
``prepare(uow, params, inputs) -> params``
    runs in the request, before any job exists: validates the parameters and the uploaded input
    files (raise the service's or the engine's coded errors: the caller gets a 4xx and nothing is
    stored), and returns the parameters to store (JSON-able; resolve what may change — a version
    label — to what cannot, its sha256);
``run(job) -> artifacts``
    runs in the worker's child process (a fresh interpreter: it must be a module-level function,
    which the child imports by name) with a :class:`JobRun` — the stored parameters, the input
    files, a progress callback and units of work on the database — and returns the files the job
    produced. A coded error it raises fails the job with that code; anything else fails it as
    ``job_failed``, its traceback logged.

Adding a kind is a few lines: write ``prepare`` and ``run`` (as :mod:`api.service.jobs.simulation`
and :mod:`api.service.jobs.impact` do), then add it to :func:`api.service.jobs.default_kinds`::

    IMPACT = JobKind(name="impact", permission="impact", prepare=prepare_impact, run=run_impact)

    def default_kinds() -> JobKinds:
        return JobKinds((SIMULATION, IMPACT))

and a route that calls :func:`api.service.jobs.queue.submit_job` with the kind's name (see
``POST /v1/simulations`` and ``POST /v1/impact/jobs`` in :mod:`api.entrypoints.http.routes.jobs`).
The listing, status, artifact and cancel routes, the worker, leases and retries serve the new kind unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from api.adapters.db.unit_of_work import AbstractUnitOfWork

__all__ = ["Artifact", "JobKind", "JobKinds", "JobProgress", "JobRun", "UowFactory"]

UowFactory = Callable[[], AbstractUnitOfWork]
# (stage, done, total): what the job's page shows while it runs.
JobProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Artifact:
    """One file a job produced: its name (as in ``/v1/jobs/{id}/artifacts/{name}``), media type and bytes."""

    name: str
    media_type: str
    content: bytes


@dataclass(frozen=True)
class JobRun:
    """What a kind's ``run`` is given in the worker's child process."""

    job_id: str
    params: Mapping[str, Any]
    inputs: Mapping[str, bytes]
    progress: JobProgress
    new_uow: UowFactory


Prepare = Callable[[AbstractUnitOfWork, Mapping[str, Any], Mapping[str, bytes]], dict[str, Any]]
Run = Callable[[JobRun], list[Artifact]]


@dataclass(frozen=True)
class JobKind:
    """A kind of job: its name, the permission it needs, how to validate a request and how to run it."""

    name: str
    permission: str
    prepare: Prepare
    run: Run


class JobKinds(Mapping[str, JobKind]):
    """The kinds a service knows, by name (read-only once built)."""

    def __init__(self, kinds: Iterable[JobKind]) -> None:
        self._kinds = {kind.name: kind for kind in kinds}

    def __getitem__(self, name: str) -> JobKind:
        return self._kinds[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._kinds)

    def __len__(self) -> int:
        return len(self._kinds)

    def readable_by(self, can: Callable[[str], bool]) -> tuple[str, ...]:
        """The names of the kinds whose permission ``can`` grants."""
        return tuple(name for name, kind in self._kinds.items() if can(kind.permission))

"""The callers' use cases of jobs: submit, read, list, fetch an artifact, cancel, delete.

A job is created ``queued`` in one transaction with its input files, after its kind's ``prepare``
accepted the request; a worker (:mod:`api.service.jobs.worker`) runs it. A caller sees only the
jobs of the kinds whose permission its role holds: another kind's job is "not found" to it, as
if it did not exist.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from api.adapters.db.records import JobArtifactRecord, JobRecord
from api.adapters.db.repository import JobQuery
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.errors import ArtifactNotFound, InvalidQuery, JobFinished, JobNotFinished, JobNotFound
from api.service.jobs.kinds import JobKinds
from api.service.keys import Caller, permit
from api.service.pagination import Page, decode_cursor, encode_cursor

__all__ = [
    "MAX_PAGE",
    "JobView",
    "cancel_job",
    "get_artifact",
    "get_job",
    "job_to_dict",
    "list_jobs",
    "submit_job",
]

MAX_PAGE = 200
_JOB_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class JobView:
    """A job and the artifacts it produced so far (none until it succeeded)."""

    job: JobRecord
    artifacts: list[JobArtifactRecord]


def submit_job(
    uow: AbstractUnitOfWork,
    kinds: JobKinds,
    kind: str,
    caller: Caller,
    params: Mapping[str, Any],
    inputs: Mapping[str, bytes],
) -> JobRecord:
    """Validate the request with the kind's ``prepare`` and queue the job with its inputs, in one transaction."""
    job_kind = kinds[kind]
    permit(caller, job_kind.permission)
    prepared = job_kind.prepare(uow, params, inputs)
    job = JobRecord(
        id=str(uuid.uuid4()),
        kind=kind,
        status="queued",
        params_json=json.dumps(prepared, sort_keys=True, separators=(",", ":")),
        created_by=caller.name,
        created_at=uow.now(),
    )
    uow.jobs.add(job, dict(inputs))
    uow.commit()
    return job


def _readable(uow: AbstractUnitOfWork, kinds: JobKinds, caller: Caller, job_id: str) -> JobRecord:
    job = uow.jobs.get(job_id) if _JOB_ID.fullmatch(job_id) else None
    if job is None or job.kind not in kinds or not caller.can(kinds[job.kind].permission):
        raise JobNotFound(f"no job has id {job_id!r}")
    return job


def get_job(uow: AbstractUnitOfWork, kinds: JobKinds, caller: Caller, job_id: str) -> JobView:
    """One job, with its artifacts' names, media types and sizes once it succeeded."""
    job = _readable(uow, kinds, caller, job_id)
    return JobView(job, uow.jobs.artifacts(job.id) if job.status == "succeeded" else [])


def list_jobs(
    uow: AbstractUnitOfWork,
    kinds: JobKinds,
    caller: Caller,
    *,
    status: str | None = None,
    kind: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[JobRecord]:
    """The jobs of the kinds the caller may read, newest first, a page at a time."""
    readable = kinds.readable_by(caller.can)
    if kind is not None and kind not in readable:
        known = ", ".join(readable) or "none"
        raise InvalidQuery(
            f"no job kind {kind!r} for role {caller.role} (kinds: {known})",
            [{"parameter": "kind", "in": "query", "message": f"kinds: {known}", "code": "unknown_kind"}],
        )
    after = decode_cursor(cursor, _JOB_ID) if cursor else None
    found: list[JobRecord] = []
    for name in (kind,) if kind else readable:
        found += uow.jobs.list(JobQuery(status=status, kind=name, limit=limit + 1, after=after))
    found = sorted(found, key=lambda j: (j.created_at, j.id), reverse=True)
    page = found[:limit]
    more = len(found) > limit
    return Page(page, encode_cursor(page[-1].created_at, page[-1].id) if more and page else None)


def get_artifact(uow: AbstractUnitOfWork, kinds: JobKinds, caller: Caller, job_id: str, name: str) -> JobArtifactRecord:
    """One artifact of a job that succeeded; 409 while it is queued or running, or if it failed or was cancelled."""
    job = _readable(uow, kinds, caller, job_id)
    if not job.finished:
        raise JobNotFinished(f"job {job_id} is {job.status}: its artifacts exist once it has succeeded")
    if job.status != "succeeded":
        raise JobNotFinished(f"job {job_id} {job.status}: it has no artifacts", code="job_not_succeeded")
    artifact = uow.jobs.artifact(job.id, name)
    if artifact is None:
        names = ", ".join(a.name for a in uow.jobs.artifacts(job.id))
        raise ArtifactNotFound(f"job {job_id} has no artifact {name!r} (it has {names})")
    return artifact


def cancel_job(uow: AbstractUnitOfWork, kinds: JobKinds, caller: Caller, job_id: str) -> JobView:
    """Cancel a queued or running job (its worker stops it at its next heartbeat); 409 once it finished."""
    job = _readable(uow, kinds, caller, job_id)
    if job.finished:
        raise JobFinished(f"job {job_id} already {job.status}")
    cancelled = uow.jobs.cancel(job.id, uow.now())
    uow.commit()
    if cancelled is None or cancelled.status != "cancelled":  # it finished in between
        raise JobFinished(f"job {job_id} already {cancelled.status if cancelled else 'gone'}")
    return JobView(cancelled, [])


def delete_job(uow: AbstractUnitOfWork, kinds: JobKinds, caller: Caller, job_id: str) -> None:
    """Delete a finished job with its input files and artifacts (what it keeps in the database); 409 while
    it is queued or running: cancel it first."""
    job = _readable(uow, kinds, caller, job_id)
    if not job.finished:
        raise JobNotFinished(f"job {job_id} is {job.status}: cancel it before deleting it")
    if not uow.jobs.delete(job.id):  # another caller deleted it in between
        raise JobNotFound(f"no job has id {job_id!r}")
    uow.commit()


def job_to_dict(view: JobView, base: str = "/v1/jobs") -> dict[str, Any]:
    """The job as the API and the CLI show it."""
    job = view.job
    error = None if job.error_code is None else {"code": job.error_code, "message": job.error_message or ""}
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "params": json.loads(job.params_json),
        "created_by": job.created_by,
        "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "progress": {"stage": job.progress_stage, "done": job.progress_done, "total": job.progress_total},
        "attempts": job.attempts,
        "worker": job.lease_owner,  # the worker holding the lease while it runs
        "heartbeat_at": job.heartbeat_at.isoformat() if job.heartbeat_at else None,
        "error": error,
        "artifacts": [
            {"name": a.name, "media_type": a.media_type, "size": a.size, "href": f"{base}/{job.id}/artifacts/{a.name}"}
            for a in view.artifacts
        ],
    }

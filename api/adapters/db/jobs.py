"""Jobs, their inputs and artifacts in ``jobs``, ``job_inputs``, ``job_artifacts`` (SQLAlchemy Core).

Claiming is the one delicate part. On PostgreSQL the candidate row is selected ``FOR UPDATE SKIP
LOCKED``: concurrent claimers each lock a different job and never wait for one another. On SQLite
a write transaction holds the database's only write lock (``BEGIN IMMEDIATE``), so claims are
already one at a time. On both, the UPDATE that takes the job repeats the claimable condition:
whatever happened between the SELECT and it, a job is taken by one claimer or by none.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, and_, delete, func, insert, literal, or_, select, tuple_, update

from api.adapters.db import tables as t
from api.adapters.db.records import JobArtifactRecord, JobRecord
from api.adapters.db.repository import JobClaim, JobQuery

__all__ = ["ABANDONED", "STARTING", "SqlJobRepository"]

ABANDONED = "job_abandoned"
STARTING = "starting"  # the progress stage of a job just claimed, until its process reports
_CANDIDATES = 8  # rows looked at per claim: enough to step over the few a concurrent claimer took
_c = t.jobs.c


def _job(row: Row[Any]) -> JobRecord:
    return JobRecord(**row._mapping)


def _claimable(now: dt.datetime, kinds: tuple[str, ...]) -> ColumnElement[bool]:
    expired = and_(_c.status == "running", _c.lease_expires_at < now)
    return and_(_c.kind.in_(kinds), or_(_c.status == "queued", expired))


def _held(job_id: str, owner: str, attempt: int) -> ColumnElement[bool]:
    return and_(_c.id == job_id, _c.status == "running", _c.lease_owner == owner, _c.attempts == attempt)


def abandoned_message(attempts: int) -> str:
    return f"the job was started {attempts} times and its worker stopped each time before it finished; given up"


class SqlJobRepository:
    """Jobs in ``jobs``; their files in ``job_inputs`` and ``job_artifacts``."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add(self, job: JobRecord, inputs: dict[str, bytes]) -> None:
        self._c.execute(insert(t.jobs).values(vars(job)))
        if inputs:
            rows = [{"job_id": job.id, "name": name, "content": content} for name, content in inputs.items()]
            self._c.execute(insert(t.job_inputs), rows)

    def get(self, job_id: str) -> JobRecord | None:
        row = self._c.execute(select(t.jobs).where(_c.id == job_id)).first()
        return None if row is None else _job(row)

    def inputs(self, job_id: str) -> dict[str, bytes]:
        i = t.job_inputs.c
        rows = self._c.execute(select(i.name, i.content).where(i.job_id == job_id).order_by(i.name))
        return {name: bytes(content) for name, content in rows.tuples()}

    def has_claimable(self, now: dt.datetime, kinds: tuple[str, ...]) -> bool:
        return self._c.execute(select(_c.id).where(_claimable(now, kinds)).limit(1)).first() is not None

    def claim(self, claim: JobClaim) -> JobRecord | None:
        candidates = (
            select(_c.id, _c.attempts)
            .where(_claimable(claim.now, claim.kinds))
            .order_by(_c.created_at, _c.id)
            .limit(_CANDIDATES)
        )
        if self._c.dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        for job_id, attempts in self._c.execute(candidates).tuples().all():
            if attempts >= claim.max_attempts:
                self._abandon(job_id, claim)
                continue
            taken = self._c.execute(
                update(t.jobs)
                .where(_c.id == job_id, _claimable(claim.now, claim.kinds), _c.attempts == attempts)
                .values(
                    status="running",
                    lease_owner=claim.owner,
                    lease_expires_at=claim.lease_until,
                    heartbeat_at=claim.now,
                    attempts=attempts + 1,
                    started_at=func.coalesce(_c.started_at, claim.now),
                    progress_done=0,
                    progress_stage=STARTING,
                )
            )
            if taken.rowcount == 1:
                return self.get(job_id)
        return None

    def _abandon(self, job_id: str, claim: JobClaim) -> None:
        self._c.execute(
            update(t.jobs)
            .where(_c.id == job_id, _c.status == "running", _c.lease_expires_at < claim.now)
            .values(
                status="failed",
                finished_at=claim.now,
                lease_owner=None,
                lease_expires_at=None,
                error_code=ABANDONED,
                error_message=abandoned_message(claim.max_attempts),
            )
        )

    def heartbeat(
        self,
        job_id: str,
        owner: str,
        attempt: int,
        *,
        now: dt.datetime,
        lease_until: dt.datetime,
        progress: tuple[str, int, int] | None,
    ) -> bool:
        values: dict[str, Any] = {"lease_expires_at": lease_until, "heartbeat_at": now}
        if progress is not None:
            values.update(progress_stage=progress[0][:100], progress_done=progress[1], progress_total=progress[2])
        result = self._c.execute(update(t.jobs).where(_held(job_id, owner, attempt)).values(values))
        return result.rowcount == 1

    def finish(
        self,
        job_id: str,
        owner: str,
        attempt: int,
        *,
        now: dt.datetime,
        status: str,
        error: tuple[str, str] | None = None,
        artifacts: tuple[JobArtifactRecord, ...] = (),
        progress: tuple[str, int, int] | None = None,
    ) -> bool:
        values: dict[str, Any] = {
            "status": status,
            "finished_at": now,
            "lease_owner": None,
            "lease_expires_at": None,
            "error_code": error[0] if error else None,
            "error_message": error[1] if error else None,
        }
        if progress is not None:
            values.update(progress_stage=progress[0][:100], progress_done=progress[1], progress_total=progress[2])
        if self._c.execute(update(t.jobs).where(_held(job_id, owner, attempt)).values(values)).rowcount != 1:
            return False
        a = t.job_artifacts.c
        self._c.execute(delete(t.job_artifacts).where(a.job_id == job_id))
        if artifacts:
            rows = [
                {"job_id": job_id, "name": x.name, "media_type": x.media_type, "content": x.content} for x in artifacts
            ]
            self._c.execute(insert(t.job_artifacts), rows)
        return True

    def release(self, job_id: str, owner: str, attempt: int, *, now: dt.datetime, counted: bool) -> bool:
        values: dict[str, Any] = (
            {"lease_expires_at": now - dt.timedelta(microseconds=1)}
            if counted
            else {"status": "queued", "lease_owner": None, "lease_expires_at": None, "attempts": attempt - 1}
        )
        return self._c.execute(update(t.jobs).where(_held(job_id, owner, attempt)).values(values)).rowcount == 1

    def cancel(self, job_id: str, now: dt.datetime) -> JobRecord | None:
        self._c.execute(
            update(t.jobs)
            .where(_c.id == job_id, _c.status.in_(("queued", "running")))
            .values(status="cancelled", finished_at=now, lease_owner=None, lease_expires_at=None)
        )
        return self.get(job_id)

    def delete(self, job_id: str) -> bool:
        # Conditional on the status, so a job a worker is still running is never deleted under it;
        # its input files and artifacts go with it (ON DELETE CASCADE, on SQLite too: foreign keys on).
        finished = ("succeeded", "failed", "cancelled")
        result = self._c.execute(delete(t.jobs).where(_c.id == job_id, _c.status.in_(finished)))
        return result.rowcount == 1

    def artifacts(self, job_id: str) -> list[JobArtifactRecord]:
        a = t.job_artifacts.c
        rows = self._c.execute(
            select(a.job_id, a.name, a.media_type, func.length(a.content).label("size"))
            .where(a.job_id == job_id)
            .order_by(a.name)
        )
        return [JobArtifactRecord(**row._mapping) for row in rows]

    def artifact(self, job_id: str, name: str) -> JobArtifactRecord | None:
        a = t.job_artifacts.c
        row = self._c.execute(select(a.media_type, a.content).where(a.job_id == job_id, a.name == name)).first()
        if row is None:
            return None
        content = bytes(row.content)
        return JobArtifactRecord(job_id, name, row.media_type, len(content), content)

    def list(self, query: JobQuery) -> list[JobRecord]:
        statement = select(t.jobs).order_by(_c.created_at.desc(), _c.id.desc()).limit(query.limit)
        if query.status is not None:
            statement = statement.where(_c.status == query.status)
        if query.kind is not None:
            statement = statement.where(_c.kind == query.kind)
        if query.after is not None:
            at, job_id = query.after
            after = tuple_(literal(at, _c.created_at.type), literal(job_id, _c.id.type))
            statement = statement.where(tuple_(_c.created_at, _c.id) < after)
        return [_job(row) for row in self._c.execute(statement)]

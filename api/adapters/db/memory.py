"""In-memory repositories and unit of work: the fake for unit tests, with the same unique keys as the tables."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Self

from api.adapters.db.jobs import ABANDONED, STARTING, abandoned_message
from api.adapters.db.records import (
    ApiKeyRecord,
    ChallengerRecord,
    CreditCaseRecord,
    CustomerRecord,
    DecisionRecord,
    GradeRecord,
    JobArtifactRecord,
    JobRecord,
    LifecycleEventRecord,
    LoggedInput,
    NewGrade,
    NewVersion,
    ShadowRecord,
    VersionRecord,
    WebhookDeliveryRecord,
    WebhookRecord,
)
from api.adapters.db.repository import DecisionQuery, JobClaim, JobQuery, LogScan, ShadowQuery
from api.adapters.db.unit_of_work import AbstractUnitOfWork, Clock, utc_now
from api.errors import CaseNotFound, DuplicateRecord, KeyNotFound, VersionNotFound

__all__ = ["InMemoryUnitOfWork", "MemoryDatabase"]


@dataclass
class MemoryDatabase:
    """The committed state; records are frozen, so copying the containers copies the database."""

    versions: dict[int, VersionRecord] = field(default_factory=dict)
    events: list[LifecycleEventRecord] = field(default_factory=list)
    keys: dict[str, ApiKeyRecord] = field(default_factory=dict)
    decisions: dict[str, DecisionRecord] = field(default_factory=dict)
    cases: dict[str, CreditCaseRecord] = field(default_factory=dict)
    webhooks: dict[int, WebhookRecord] = field(default_factory=dict)
    deliveries: dict[int, WebhookDeliveryRecord] = field(default_factory=dict)
    grades: list[GradeRecord] = field(default_factory=list)
    customers: dict[str, CustomerRecord] = field(default_factory=dict)
    changes: dict[str, int] = field(default_factory=dict)  # topic -> serial
    challengers: dict[str, ChallengerRecord] = field(default_factory=dict)
    jobs: dict[str, JobRecord] = field(default_factory=dict)
    job_inputs: dict[str, dict[str, bytes]] = field(default_factory=dict)
    job_artifacts: dict[str, dict[str, JobArtifactRecord]] = field(default_factory=dict)
    next_id: int = 1

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    @property
    def shadows(self) -> dict[str, ShadowRecord]:
        """The shadows kept in the log rows, by decision id (read from them, like the SQL store does)."""
        return {k: ShadowRecord.logged(r) for k, r in self.decisions.items() if r.shadow_json is not None}

    def snapshot(self) -> MemoryDatabase:
        return MemoryDatabase(**{k: copy.copy(v) for k, v in vars(self).items()})


class _Versions:
    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db

    def add(self, version: NewVersion, status: str = "draft") -> VersionRecord:
        for v in self._db.versions.values():
            if v.sha256 == version.sha256 or (v.policy_id, v.label) == (version.policy_id, version.label):
                raise DuplicateRecord(f"policy version {version.policy_id} {version.label} is already stored")
        record = VersionRecord(id=self._db.new_id(), status=status, **vars(version))
        self._db.versions[record.id] = record
        return record

    def get(self, version_id: int) -> VersionRecord | None:
        return self._db.versions.get(version_id)

    def get_by_sha256(self, sha256: str) -> VersionRecord | None:
        return next((v for v in self._db.versions.values() if v.sha256 == sha256), None)

    def find_by_label(self, label: str, policy_id: str | None = None) -> list[VersionRecord]:
        return [v for v in self._db.versions.values() if v.label == label and policy_id in (None, v.policy_id)]

    def find_by_sha256_prefix(self, prefix: str) -> list[VersionRecord]:
        return [v for v in self._db.versions.values() if v.sha256.startswith(prefix)]

    def list(self, policy_id: str | None = None, *, for_update: bool = False) -> list[VersionRecord]:
        found = [v for v in self._db.versions.values() if policy_id in (None, v.policy_id)]
        return sorted(found, key=lambda v: (v.policy_id, v.effective_from, v.id))

    def set_status(
        self, version_id: int, status: str, *, only_from: Collection[str] | None = None
    ) -> VersionRecord | None:
        if version_id not in self._db.versions:
            raise VersionNotFound(f"no policy version with id {version_id}")
        if only_from is not None and self._db.versions[version_id].status not in only_from:
            return None
        record = self._db.versions[version_id] = replace(self._db.versions[version_id], status=status)
        return record


class _Events:
    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db

    def add(self, version_id: int, event: str, actor: str, reason: str, at: dt.datetime) -> LifecycleEventRecord:
        record = LifecycleEventRecord(self._db.new_id(), version_id, event, actor, reason, at)
        self._db.events.append(record)
        return record

    def for_version(self, version_id: int) -> list[LifecycleEventRecord]:
        return [e for e in self._db.events if e.version_id == version_id]

    def list(self, policy_id: str | None = None) -> list[LifecycleEventRecord]:
        return [e for e in self._db.events if policy_id in (None, self._db.versions[e.version_id].policy_id)]


class _Keys:
    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db

    def add(self, name: str, role: str, key_prefix: str, key_hash: str, created_at: dt.datetime) -> ApiKeyRecord:
        if name in self._db.keys or self.get_by_prefix(key_prefix):
            raise DuplicateRecord(f"API key {name!r} is already stored")
        record = ApiKeyRecord(self._db.new_id(), name, role, key_prefix, key_hash, created_at, None)
        self._db.keys[name] = record
        return record

    def get_by_name(self, name: str) -> ApiKeyRecord | None:
        return self._db.keys.get(name)

    def get_by_prefix(self, key_prefix: str) -> ApiKeyRecord | None:
        return next((k for k in self._db.keys.values() if k.key_prefix == key_prefix), None)

    def list(self) -> list[ApiKeyRecord]:
        return sorted(self._db.keys.values(), key=lambda k: k.name)

    def revoke(self, name: str, at: dt.datetime) -> ApiKeyRecord:
        if name not in self._db.keys:
            raise KeyNotFound(f"no API key is named {name!r}")
        key = self._db.keys[name]
        if key.revoked_at is None:
            key = self._db.keys[name] = replace(key, revoked_at=at)
        return key


class _Decisions:
    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db

    def add(self, decision: DecisionRecord) -> None:
        if decision.decision_id in self._db.decisions or (
            decision.request_id is not None and self.get_by_request_id(decision.request_id)
        ):
            raise DuplicateRecord(
                f"decision {decision.decision_id} (request_id {decision.request_id}) is already stored"
            )
        self._db.decisions[decision.decision_id] = decision

    def get(self, decision_id: str) -> DecisionRecord | None:
        return self._db.decisions.get(decision_id)

    def get_by_request_id(self, request_id: str) -> DecisionRecord | None:
        return next((d for d in self._db.decisions.values() if d.request_id == request_id), None)

    def query(self, query: DecisionQuery) -> list[DecisionRecord]:
        def wanted(d: DecisionRecord) -> bool:
            pairs = (
                (query.customer_id, d.customer_id),
                (query.order_id, d.order_id),
                (query.request_id, d.request_id),
                (query.kind, d.kind),
                (query.outcome, d.outcome),
                (query.policy_sha256, d.policy_sha256),
            )
            if any(want is not None and want != have for want, have in pairs):
                return False
            if query.since is not None and d.created_at < query.since:
                return False
            if query.until is not None and d.created_at >= query.until:
                return False
            if query.as_of_from is not None and d.as_of < query.as_of_from:
                return False
            if query.as_of_to is not None and d.as_of > query.as_of_to:
                return False
            if query.after is not None:
                key = (d.created_at, d.decision_id)
                return key < query.after if query.newest_first else key > query.after
            return True

        found = sorted(filter(wanted, self._db.decisions.values()), key=lambda d: (d.created_at, d.decision_id))
        if query.newest_first:
            found.reverse()
        return found[: query.limit]

    def _scanned(self, scan: LogScan, *, by_version: bool) -> list[DecisionRecord]:
        return sorted(
            (
                d
                for d in self._db.decisions.values()
                if scan.kind in (None, d.kind)
                and (scan.as_of_from is None or d.as_of >= scan.as_of_from)
                and (scan.as_of_to is None or d.as_of <= scan.as_of_to)
                and (not by_version or scan.policy_sha256 in (None, d.policy_sha256))
            ),
            key=lambda d: d.decision_id,
        )

    def count_by_version(self, scan: LogScan) -> list[tuple[str, str, str, int]]:
        counts: dict[tuple[str, str, str], int] = {}
        for d in self._scanned(scan, by_version=False):
            key = (d.kind, d.policy_sha256, d.policy_label)
            counts[key] = counts.get(key, 0) + 1
        return [(*key, count) for key, count in sorted(counts.items())]

    def scan(self, scan: LogScan, page_size: int) -> Iterator[list[LoggedInput]]:
        found = self._scanned(scan, by_version=True)
        for start in range(0, len(found), page_size):
            yield [
                LoggedInput(d.decision_id, d.kind, d.as_of, d.created_at, d.input_json, d.output_json)
                for d in found[start : start + page_size]
            ]


class _Cases:
    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db

    def add(self, case: CreditCaseRecord) -> None:
        if case.case_id in self._db.cases or (
            case.status == "open" and self.find_open(case.customer_id, case.order_ref)
        ):
            raise DuplicateRecord(f"an open credit case for order {case.order_ref} of customer {case.customer_id}")
        self._db.cases[case.case_id] = case

    def get(self, case_id: str, *, for_update: bool = False) -> CreditCaseRecord | None:
        return self._db.cases.get(case_id)

    def find_open(self, customer_id: str, order_ref: str) -> CreditCaseRecord | None:
        return next(
            (
                c
                for c in self._db.cases.values()
                if (c.customer_id, c.order_ref, c.status) == (customer_id, order_ref, "open")
            ),
            None,
        )

    def expect(self, customer_id: str, order_ref: str) -> None:
        """Nothing to prepare: every look-up is a scan of memory."""

    def latest_for_order(self, customer_id: str, order_ref: str) -> CreditCaseRecord | None:
        found = [c for c in self._db.cases.values() if (c.customer_id, c.order_ref) == (customer_id, order_ref)]
        return max(found, key=lambda c: (c.opened_at, c.case_id), default=None)

    def list(
        self,
        status: str | None = None,
        customer_id: str | None = None,
        limit: int = 100,
        after: tuple[dt.datetime, str] | None = None,
    ) -> list[CreditCaseRecord]:
        found = [
            c
            for c in self._db.cases.values()
            if status in (None, c.status)
            and customer_id in (None, c.customer_id)
            and (after is None or (c.opened_at, c.case_id) < after)
        ]
        return sorted(found, key=lambda c: (c.opened_at, c.case_id), reverse=True)[:limit]

    def resolve(
        self,
        case_id: str,
        *,
        status: str,
        resolved_by: str,
        resolved_at: dt.datetime,
        reason: str,
        release_until: dt.date | None = None,
        release_amount_max: Decimal | None = None,
    ) -> CreditCaseRecord:
        if case_id not in self._db.cases:
            raise CaseNotFound(f"no credit case {case_id}")
        record = self._db.cases[case_id] = replace(
            self._db.cases[case_id],
            status=status,
            resolved_by=resolved_by,
            resolved_at=resolved_at,
            reason=reason,
            release_until=release_until,
            release_amount_max=release_amount_max,
        )
        return record


class _Webhooks:
    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db

    def add(
        self, url: str, events: Sequence[str], created_by: str, created_at: dt.datetime, secret: str | None = None
    ) -> WebhookRecord:
        record = WebhookRecord(self._db.new_id(), url, tuple(events), created_by, created_at, secret)
        self._db.webhooks[record.id] = record
        return record

    def get(self, webhook_id: int) -> WebhookRecord | None:
        return self._db.webhooks.get(webhook_id)

    def for_event(self, event: str) -> list[WebhookRecord]:
        return [w for w in self.list() if event in w.events]

    def remove(self, webhook_id: int) -> bool:
        for delivery in [d for d in self._db.deliveries.values() if d.webhook_id == webhook_id]:
            del self._db.deliveries[delivery.id]
        return self._db.webhooks.pop(webhook_id, None) is not None

    def add_delivery(
        self, webhook_id: int, event: str, payload_json: str, created_at: dt.datetime
    ) -> WebhookDeliveryRecord:
        record = WebhookDeliveryRecord(
            self._db.new_id(), webhook_id, event, payload_json, created_at, 0, next_attempt_at=created_at
        )
        self._db.deliveries[record.id] = record
        return record

    def due_deliveries(self, now: dt.datetime, limit: int = 100) -> list[WebhookDeliveryRecord]:
        due = [
            d
            for d in self._db.deliveries.values()
            if d.delivered_at is None and d.next_attempt_at is not None and d.next_attempt_at <= now
        ]
        return sorted(due, key=lambda d: (d.next_attempt_at, d.id))[:limit]

    def claim_delivery(self, delivery_id: int, now: dt.datetime, lease_until: dt.datetime) -> bool:
        delivery = self._db.deliveries.get(delivery_id)
        if delivery is None or delivery not in self.due_deliveries(now, limit=len(self._db.deliveries)):
            return False
        self._db.deliveries[delivery_id] = replace(
            delivery, attempts=delivery.attempts + 1, next_attempt_at=lease_until
        )
        return True

    def finish_attempt(
        self,
        delivery_id: int,
        *,
        delivered_at: dt.datetime | None,
        last_error: str | None,
        next_attempt_at: dt.datetime | None,
    ) -> None:
        if delivery_id in self._db.deliveries:
            self._db.deliveries[delivery_id] = replace(
                self._db.deliveries[delivery_id],
                delivered_at=delivered_at,
                last_error=last_error,
                next_attempt_at=next_attempt_at,
            )

    def deliveries(self, webhook_id: int | None = None, limit: int = 100) -> list[WebhookDeliveryRecord]:
        found = [d for d in self._db.deliveries.values() if webhook_id in (None, d.webhook_id)]
        return sorted(found, key=lambda d: d.id)[:limit]

    def list(self) -> list[WebhookRecord]:
        return sorted(self._db.webhooks.values(), key=lambda w: w.id)


class _Grades:
    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db

    def add(self, grade: NewGrade) -> GradeRecord:
        record = GradeRecord(**vars(grade), id=self._db.new_id())
        self._db.grades.append(record)
        return record

    def for_customer(self, customer_id: str) -> list[GradeRecord]:
        found = (g for g in self._db.grades if g.customer_id == customer_id)
        return sorted(found, key=lambda g: (g.as_of, g.decided_at, g.id))


class _Customers:
    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db

    def get(self, customer_id: str) -> CustomerRecord | None:
        return self._db.customers.get(customer_id)

    def upsert(self, customer: CustomerRecord) -> None:
        stored = self._db.customers.get(customer.customer_id)
        if stored is None or stored.as_of <= customer.as_of:
            self._db.customers[customer.customer_id] = customer

    def due(self, on: dt.date, limit: int = 1000) -> list[CustomerRecord]:
        found = [c for c in self._db.customers.values() if c.next_review is not None and c.next_review <= on]
        return sorted(found, key=lambda c: (c.next_review, c.customer_id))[:limit]


class _Changes:
    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db

    def announce(self, topic: str) -> None:
        self._db.changes[topic] = self._db.changes.get(topic, 0) + 1

    def serials(self) -> dict[str, int]:
        return dict(self._db.changes)


class _Challengers:
    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db

    def get(self, policy_id: str, *, for_update: bool = False) -> ChallengerRecord | None:
        return self._db.challengers.get(policy_id)

    def add(self, challenger: ChallengerRecord) -> None:
        if challenger.policy_id in self._db.challengers:
            raise DuplicateRecord(f"a challenger of policy {challenger.policy_id} is already stored")
        self._db.challengers[challenger.policy_id] = challenger

    def remove(self, policy_id: str) -> bool:
        return self._db.challengers.pop(policy_id, None) is not None

    def list(self) -> list[ChallengerRecord]:
        return [self._db.challengers[k] for k in sorted(self._db.challengers)]


class _Shadows:
    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db

    def _matching(self, query: ShadowQuery) -> list[ShadowRecord]:
        found = [
            r
            for r in self._db.shadows.values()
            if query.policy_id in (None, r.policy_id)
            and query.kind in (None, r.kind)
            and (query.since is None or r.created_at >= query.since)
            and (query.until is None or r.created_at < query.until)
        ]
        return sorted(found, key=lambda r: (r.created_at, r.decision_id))

    def scan(self, query: ShadowQuery) -> Iterator[ShadowRecord]:
        for record in self._matching(query):
            yield replace(record, challenger_output_json=None, differences_json=None)

    def samples(self, query: ShadowQuery, limit: int) -> list[ShadowRecord]:
        return [r for r in reversed(self._matching(query)) if not r.agree][:limit]


class _Jobs:
    def __init__(self, db: MemoryDatabase) -> None:
        self._db = db

    def add(self, job: JobRecord, inputs: dict[str, bytes]) -> None:
        if job.id in self._db.jobs:
            raise DuplicateRecord(f"job {job.id} is already stored")
        self._db.jobs[job.id] = job
        self._db.job_inputs[job.id] = dict(inputs)

    def get(self, job_id: str) -> JobRecord | None:
        return self._db.jobs.get(job_id)

    def inputs(self, job_id: str) -> dict[str, bytes]:
        return dict(sorted(self._db.job_inputs.get(job_id, {}).items()))

    def _claimable(self, now: dt.datetime, kinds: tuple[str, ...]) -> list[JobRecord]:
        found = [
            j
            for j in self._db.jobs.values()
            if j.kind in kinds
            and (
                j.status == "queued"
                or (j.status == "running" and j.lease_expires_at is not None and j.lease_expires_at < now)
            )
        ]
        return sorted(found, key=lambda j: (j.created_at, j.id))

    def has_claimable(self, now: dt.datetime, kinds: tuple[str, ...]) -> bool:
        return bool(self._claimable(now, kinds))

    def claim(self, claim: JobClaim) -> JobRecord | None:
        for job in self._claimable(claim.now, claim.kinds):
            if job.attempts >= claim.max_attempts:
                self._db.jobs[job.id] = replace(
                    job,
                    status="failed",
                    finished_at=claim.now,
                    lease_owner=None,
                    lease_expires_at=None,
                    error_code=ABANDONED,
                    error_message=abandoned_message(claim.max_attempts),
                )
                continue
            taken = replace(
                job,
                status="running",
                lease_owner=claim.owner,
                lease_expires_at=claim.lease_until,
                heartbeat_at=claim.now,
                attempts=job.attempts + 1,
                started_at=job.started_at or claim.now,
                progress_done=0,
                progress_stage=STARTING,
            )
            self._db.jobs[job.id] = taken
            return taken
        return None

    def _held(self, job_id: str, owner: str, attempt: int) -> JobRecord | None:
        job = self._db.jobs.get(job_id)
        if job is None or (job.status, job.lease_owner, job.attempts) != ("running", owner, attempt):
            return None
        return job

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
        job = self._held(job_id, owner, attempt)
        if job is None:
            return False
        job = replace(job, lease_expires_at=lease_until, heartbeat_at=now)
        if progress is not None:
            job = replace(job, progress_stage=progress[0][:100], progress_done=progress[1], progress_total=progress[2])
        self._db.jobs[job_id] = job
        return True

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
        job = self._held(job_id, owner, attempt)
        if job is None:
            return False
        self._db.jobs[job_id] = replace(
            job,
            status=status,
            finished_at=now,
            lease_owner=None,
            lease_expires_at=None,
            error_code=error[0] if error else None,
            error_message=error[1] if error else None,
        )
        if progress is not None:
            self._db.jobs[job_id] = replace(
                self._db.jobs[job_id],
                progress_stage=progress[0][:100],
                progress_done=progress[1],
                progress_total=progress[2],
            )
        self._db.job_artifacts[job_id] = {a.name: replace(a, job_id=job_id, size=len(a.content)) for a in artifacts}
        return True

    def release(self, job_id: str, owner: str, attempt: int, *, now: dt.datetime, counted: bool) -> bool:
        job = self._held(job_id, owner, attempt)
        if job is None:
            return False
        self._db.jobs[job_id] = (
            replace(job, lease_expires_at=now - dt.timedelta(microseconds=1))
            if counted
            else replace(job, status="queued", lease_owner=None, lease_expires_at=None, attempts=attempt - 1)
        )
        return True

    def cancel(self, job_id: str, now: dt.datetime) -> JobRecord | None:
        job = self._db.jobs.get(job_id)
        if job is not None and job.status in ("queued", "running"):
            job = replace(job, status="cancelled", finished_at=now, lease_owner=None, lease_expires_at=None)
            self._db.jobs[job_id] = job
        return job

    def delete(self, job_id: str) -> bool:
        job = self._db.jobs.get(job_id)
        if job is None or not job.finished:
            return False
        del self._db.jobs[job_id]
        self._db.job_inputs.pop(job_id, None)
        self._db.job_artifacts.pop(job_id, None)
        return True

    def artifacts(self, job_id: str) -> list[JobArtifactRecord]:
        stored = self._db.job_artifacts.get(job_id, {})
        return [replace(a, content=b"") for _, a in sorted(stored.items())]

    def artifact(self, job_id: str, name: str) -> JobArtifactRecord | None:
        return self._db.job_artifacts.get(job_id, {}).get(name)

    def list(self, query: JobQuery) -> list[JobRecord]:
        found = [
            j
            for j in self._db.jobs.values()
            if query.status in (None, j.status)
            and query.kind in (None, j.kind)
            and (query.after is None or (j.created_at, j.id) < query.after)
        ]
        return sorted(found, key=lambda j: (j.created_at, j.id), reverse=True)[: query.limit]


class InMemoryUnitOfWork(AbstractUnitOfWork):
    """Works on a private copy of ``database``; ``commit`` publishes the copy, ``rollback`` discards it."""

    def __init__(self, database: MemoryDatabase | None = None, *, clock: Clock = utc_now) -> None:
        super().__init__(clock)
        self.database = database if database is not None else MemoryDatabase()
        self.commits = 0
        self._bind(self.database.snapshot())

    def _bind(self, working: MemoryDatabase) -> None:
        self._working = working
        self.versions = _Versions(working)
        self.events = _Events(working)
        self.keys = _Keys(working)
        self.decisions = _Decisions(working)
        self.cases = _Cases(working)
        self.webhooks = _Webhooks(working)
        self.grades = _Grades(working)
        self.customers = _Customers(working)
        self.changes = _Changes(working)
        self.challengers = _Challengers(working)
        self.shadows = _Shadows(working)
        self.jobs = _Jobs(working)

    def __enter__(self) -> Self:
        self._bind(self.database.snapshot())
        return self

    def commit(self) -> None:
        for name, value in vars(self._working).items():
            setattr(self.database, name, value)
        self.commits += 1
        self._bind(self.database.snapshot())

    def rollback(self) -> None:
        self._bind(self.database.snapshot())

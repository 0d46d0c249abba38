"""The repositories a unit of work exposes, as protocols; SQL (``sql``) and memory (``memory``) implement them.

Inserts that would break a unique key raise :class:`api.errors.DuplicateRecord` — the insert, or
for the decision log, which writes its rows together, the next read of the log or the commit;
after that the unit of work must be rolled back before it is used again (PostgreSQL aborts the
transaction).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

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

__all__ = [
    "CaseRepository",
    "ChallengerRepository",
    "ChangeRepository",
    "CustomerRepository",
    "DecisionQuery",
    "DecisionRepository",
    "LogScan",
    "EventRepository",
    "GradeHistoryRepository",
    "JobClaim",
    "JobQuery",
    "JobRepository",
    "KeyRepository",
    "ShadowQuery",
    "ShadowRepository",
    "VersionRepository",
    "WebhookRepository",
]


class VersionRepository(Protocol):
    """Stored policy versions; content never changes after ``add``, only ``status`` does."""

    def add(self, version: NewVersion, status: str = "draft") -> VersionRecord: ...

    def get(self, version_id: int) -> VersionRecord | None: ...

    def get_by_sha256(self, sha256: str) -> VersionRecord | None: ...

    def find_by_label(self, label: str, policy_id: str | None = None) -> list[VersionRecord]: ...

    def find_by_sha256_prefix(self, prefix: str) -> list[VersionRecord]: ...

    def list(self, policy_id: str | None = None, *, for_update: bool = False) -> list[VersionRecord]:
        """By policy, then effective_from, then id; ``for_update`` locks the rows (PostgreSQL)."""
        ...

    def set_status(
        self, version_id: int, status: str, *, only_from: Collection[str] | None = None
    ) -> VersionRecord | None:
        """Set the status; with ``only_from``, only if the stored status is one of them, else None and
        nothing changes (a concurrent writer moved the version first: each transition happens once)."""
        ...


class EventRepository(Protocol):
    """The append-only lifecycle log of policy versions."""

    def add(self, version_id: int, event: str, actor: str, reason: str, at: dt.datetime) -> LifecycleEventRecord: ...

    def for_version(self, version_id: int) -> list[LifecycleEventRecord]:
        """Oldest first."""
        ...

    def list(self, policy_id: str | None = None) -> list[LifecycleEventRecord]:
        """Every event (of one policy's versions), oldest first."""
        ...


class KeyRepository(Protocol):
    """API keys: a name, a role and the sha256 of the secret."""

    def add(self, name: str, role: str, key_prefix: str, key_hash: str, created_at: dt.datetime) -> ApiKeyRecord: ...

    def get_by_name(self, name: str) -> ApiKeyRecord | None: ...

    def get_by_prefix(self, key_prefix: str) -> ApiKeyRecord | None: ...

    def list(self) -> list[ApiKeyRecord]: ...

    def revoke(self, name: str, at: dt.datetime) -> ApiKeyRecord:
        """Set revoked_at unless already set; the key must exist."""
        ...


@dataclass(frozen=True)
class DecisionQuery:
    """Filters (all given must hold) and a keyset page of the log; ``after`` is the (created_at, decision_id)
    of the last row seen."""

    customer_id: str | None = None
    order_id: str | None = None
    request_id: str | None = None
    kind: str | None = None
    outcome: str | None = None
    since: dt.datetime | None = None  # created_at, inclusive
    until: dt.datetime | None = None  # created_at, exclusive
    as_of_from: dt.date | None = None  # inclusive
    as_of_to: dt.date | None = None  # inclusive
    policy_sha256: str | None = None
    limit: int = 100
    after: tuple[dt.datetime, str] | None = None
    newest_first: bool = True


@dataclass(frozen=True)
class LogScan:
    """The logged decisions an impact run reads: about days ``as_of_from`` .. ``as_of_to`` (both inclusive,
    None: open), of one kind or all, decided by one version or any."""

    kind: str | None = None
    as_of_from: dt.date | None = None
    as_of_to: dt.date | None = None
    policy_sha256: str | None = None


class DecisionRepository(Protocol):
    """The append-only decision log."""

    def add(self, decision: DecisionRecord) -> None: ...

    def get(self, decision_id: str) -> DecisionRecord | None: ...

    def get_by_request_id(self, request_id: str) -> DecisionRecord | None: ...

    def query(self, query: DecisionQuery) -> list[DecisionRecord]: ...

    def count_by_version(self, scan: LogScan) -> list[tuple[str, str, str, int]]:
        """How many decisions of ``scan`` each (kind, policy_sha256, policy_label) made (``policy_sha256`` ignored)."""
        ...

    def scan(self, scan: LogScan, page_size: int) -> Iterator[list[LoggedInput]]:
        """The decisions of ``scan`` in pages of at most ``page_size``, in no particular order (one streamed read)."""
        ...


class CaseRepository(Protocol):
    """Credit cases opened by held orders; at most one open case per (customer, order reference)."""

    def add(self, case: CreditCaseRecord) -> None: ...

    def get(self, case_id: str, *, for_update: bool = False) -> CreditCaseRecord | None:
        """``for_update`` locks the row (PostgreSQL) so concurrent resolutions run one after the other."""
        ...

    def find_open(self, customer_id: str, order_ref: str) -> CreditCaseRecord | None: ...

    def latest_for_order(self, customer_id: str, order_ref: str) -> CreditCaseRecord | None:
        """The most recently opened case of the order, whatever its status."""
        ...

    def expect(self, customer_id: str, order_ref: str) -> None:
        """Announce an order ``latest_for_order`` will be asked about in this transaction: the store
        may read every announced order at once (a group of decisions asks one question, not one each)."""
        ...

    def list(
        self,
        status: str | None = None,
        customer_id: str | None = None,
        limit: int = 100,
        after: tuple[dt.datetime, str] | None = None,
    ) -> list[CreditCaseRecord]:
        """Newest first; ``after`` is the (opened_at, case_id) of the last case of the previous page."""
        ...

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
    ) -> CreditCaseRecord: ...


class WebhookRepository(Protocol):
    """URLs to notify of case events, and the outbox of deliveries to them."""

    def add(
        self, url: str, events: Sequence[str], created_by: str, created_at: dt.datetime, secret: str | None = None
    ) -> WebhookRecord: ...

    def get(self, webhook_id: int) -> WebhookRecord | None: ...

    def for_event(self, event: str) -> list[WebhookRecord]: ...

    def remove(self, webhook_id: int) -> bool:
        """Delete the webhook and its deliveries (delivered or not)."""
        ...

    def add_delivery(
        self, webhook_id: int, event: str, payload_json: str, created_at: dt.datetime
    ) -> WebhookDeliveryRecord:
        """Queue an event for a webhook, due at once."""
        ...

    def due_deliveries(self, now: dt.datetime, limit: int = 100) -> list[WebhookDeliveryRecord]:
        """Undelivered rows whose next attempt is at or before ``now``, oldest first."""
        ...

    def claim_delivery(self, delivery_id: int, now: dt.datetime, lease_until: dt.datetime) -> bool:
        """Count an attempt and push the next one to ``lease_until``, if still due; False if another worker won."""
        ...

    def finish_attempt(
        self,
        delivery_id: int,
        *,
        delivered_at: dt.datetime | None,
        last_error: str | None,
        next_attempt_at: dt.datetime | None,
    ) -> None:
        """Record how a claimed attempt ended."""
        ...

    def deliveries(self, webhook_id: int | None = None, limit: int = 100) -> list[WebhookDeliveryRecord]:
        """The outbox (of one webhook), oldest first."""
        ...

    def list(self) -> list[WebhookRecord]: ...


class GradeHistoryRepository(Protocol):
    """Every assessment of a customer, append-only."""

    def add(self, grade: NewGrade) -> GradeRecord: ...

    def for_customer(self, customer_id: str) -> list[GradeRecord]:
        """In as_of order; assessments of one day in the order they were decided."""
        ...


class CustomerRepository(Protocol):
    """The latest assessment per customer."""

    def get(self, customer_id: str) -> CustomerRecord | None: ...

    def upsert(self, customer: CustomerRecord) -> None:
        """Store the customer's latest assessment, unless the stored one is about a later day (``as_of``):
        an assessment arriving late does not replace a newer one. Atomic: concurrent writers agree."""
        ...

    def due(self, on: dt.date, limit: int = 1000) -> list[CustomerRecord]:
        """Customers whose next review is on or before ``on``, most overdue first."""
        ...


class ChangeRepository(Protocol):
    """What changed in the state every service process caches (policy version statuses, API keys)."""

    def announce(self, topic: str) -> None:
        """Record, in this transaction, that ``topic`` changed: every process hears of it once committed."""
        ...

    def serials(self) -> dict[str, int]:
        """How many changes of each topic were committed (topics never announced are absent)."""
        ...


class ChallengerRepository(Protocol):
    """The challenger of each policy (at most one: the policy id is the key)."""

    def get(self, policy_id: str, *, for_update: bool = False) -> ChallengerRecord | None: ...

    def add(self, challenger: ChallengerRecord) -> None:
        """Store it; DuplicateRecord if the policy has one (a concurrent naming won)."""
        ...

    def remove(self, policy_id: str) -> bool:
        """Delete the policy's challenger; False if it had none."""
        ...

    def list(self) -> list[ChallengerRecord]:
        """Every challenger, by policy id."""
        ...


@dataclass(frozen=True)
class ShadowQuery:
    """Which shadows (shadowed log rows) a report reads (all given must hold)."""

    policy_id: str | None = None
    kind: str | None = None
    since: dt.datetime | None = None  # created_at, inclusive
    until: dt.datetime | None = None  # created_at, exclusive


class ShadowRepository(Protocol):
    """What the challengers decided beside live decisions: read from the log rows of the decisions
    they shadowed (written with them: :attr:`DecisionRecord.shadow_json`)."""

    def scan(self, query: ShadowQuery) -> Iterator[ShadowRecord]:
        """Every matching row, oldest first, streamed; without ``challenger_output_json`` and
        ``differences_json`` (None), which a report only reads for its samples."""
        ...

    def samples(self, query: ShadowQuery, limit: int) -> list[ShadowRecord]:
        """Up to ``limit`` rows where the two differ or the challenger failed, newest first, in full."""
        ...


@dataclass(frozen=True)
class JobQuery:
    """Filters and a keyset page of the jobs, newest first; ``after`` is the (created_at, id) of the last row seen."""

    status: str | None = None
    kind: str | None = None
    limit: int = 50
    after: tuple[dt.datetime, str] | None = None


@dataclass(frozen=True)
class JobClaim:
    """Who takes a job and until when: a worker's lease, renewed by its heartbeats."""

    owner: str
    now: dt.datetime
    lease_until: dt.datetime
    max_attempts: int
    kinds: tuple[str, ...]


class JobRepository(Protocol):
    """Jobs, their input files and their artifacts.

    Every change of a claimed job is conditional on the claim (owner and attempt): a worker that
    lost its lease (it stalled, another worker took the job over, the job was cancelled) changes
    nothing, so each attempt's results are written at most once and only by the lease holder.
    """

    def add(self, job: JobRecord, inputs: dict[str, bytes]) -> None: ...

    def get(self, job_id: str) -> JobRecord | None: ...

    def inputs(self, job_id: str) -> dict[str, bytes]: ...

    def claim(self, claim: JobClaim) -> JobRecord | None:
        """Take the oldest job of ``kinds`` that is queued, or running with an expired lease (its worker
        died), if it has attempts left: running, leased to ``owner``, one more attempt. None if none.

        Expired jobs without attempts left are failed (``job_abandoned``) on the way. Concurrent
        claimers never take the same job: PostgreSQL skips rows another claimer holds (``FOR
        UPDATE SKIP LOCKED``), and every store re-checks the condition in the UPDATE itself.
        """
        ...

    def has_claimable(self, now: dt.datetime, kinds: tuple[str, ...]) -> bool:
        """Whether :meth:`claim` may find anything (a read, cheap enough to poll)."""
        ...

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
        """Renew the lease and record progress (stage, done, total); False if the lease is no longer ours."""
        ...

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
        """End the attempt (succeeded or failed), with its artifacts and last progress; False if not ours."""
        ...

    def release(self, job_id: str, owner: str, attempt: int, *, now: dt.datetime, counted: bool) -> bool:
        """Give the lease up so that the next claim takes the job again: ``counted``, the attempt stays
        counted (its process died: the lease just expires now); otherwise (a worker shutting down)
        the job is queued again as if this attempt had never begun."""
        ...

    def cancel(self, job_id: str, now: dt.datetime) -> JobRecord | None:
        """Cancel a queued or running job (its worker finds its lease gone); the job as it now stands."""
        ...

    def delete(self, job_id: str) -> bool:
        """Delete a finished job with its input files and artifacts; False if it is not finished (or gone)."""
        ...

    def artifacts(self, job_id: str) -> list[JobArtifactRecord]:
        """The artifacts' names, media types and sizes (without their content), by name."""
        ...

    def artifact(self, job_id: str, name: str) -> JobArtifactRecord | None: ...

    def list(self, query: JobQuery) -> list[JobRecord]: ...

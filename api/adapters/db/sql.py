"""The repositories on SQLAlchemy Core; each works inside the connection (and transaction) it is given."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, fields
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    Select,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from api.adapters.db import tables as t
from api.adapters.db.records import (
    ApiKeyRecord,
    ChallengerRecord,
    CreditCaseRecord,
    CustomerRecord,
    DecisionRecord,
    GradeRecord,
    LifecycleEventRecord,
    LoggedInput,
    LoggedShadow,
    NewGrade,
    NewVersion,
    ShadowRecord,
    VersionRecord,
    WebhookDeliveryRecord,
    WebhookRecord,
)
from api.adapters.db.repository import DecisionQuery, LogScan, ShadowQuery
from api.errors import CaseNotFound, DuplicateRecord, KeyNotFound, VersionNotFound

__all__ = [
    "SqlCaseRepository",
    "SqlChallengerRepository",
    "SqlCustomerRepository",
    "SqlDecisionRepository",
    "SqlEventRepository",
    "SqlGradeHistoryRepository",
    "SqlKeyRepository",
    "SqlShadowRepository",
    "SqlVersionRepository",
    "SqlWebhookRepository",
    "log_statement",
]


def _is_unique_violation(error: IntegrityError) -> bool:
    # psycopg reports SQLSTATE 23505; sqlite3 only says so in its message.
    return getattr(error.orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(error.orig)


@contextmanager
def _unique(what: str) -> Iterator[None]:
    """Turn a unique-key violation into DuplicateRecord, naming what clashed; other integrity errors are bugs."""
    try:
        yield
    except IntegrityError as exc:
        if not _is_unique_violation(exc):
            raise
        raise DuplicateRecord(f"{what} is already stored") from exc


def _version(row: Row[Any]) -> VersionRecord:
    return VersionRecord(**row._mapping)


class SqlVersionRepository:
    """Policy versions in ``policy_versions``."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add(self, version: NewVersion, status: str = "draft") -> VersionRecord:
        values = {**asdict(version), "status": status}
        with _unique(f"policy version {version.policy_id} {version.label} ({version.sha256[:12]})"):
            new_id = self._c.execute(
                insert(t.policy_versions).values(values).returning(t.policy_versions.c.id)
            ).scalar_one()
        return VersionRecord(id=new_id, **values)

    def get(self, version_id: int) -> VersionRecord | None:
        row = self._c.execute(select(t.policy_versions).where(t.policy_versions.c.id == version_id)).first()
        return _version(row) if row else None

    def get_by_sha256(self, sha256: str) -> VersionRecord | None:
        row = self._c.execute(select(t.policy_versions).where(t.policy_versions.c.sha256 == sha256)).first()
        return _version(row) if row else None

    def find_by_label(self, label: str, policy_id: str | None = None) -> list[VersionRecord]:
        query = select(t.policy_versions).where(t.policy_versions.c.label == label)
        if policy_id is not None:
            query = query.where(t.policy_versions.c.policy_id == policy_id)
        return [_version(r) for r in self._c.execute(query.order_by(t.policy_versions.c.id))]

    def find_by_sha256_prefix(self, prefix: str) -> list[VersionRecord]:
        # Hashes are lowercase hex, so a range on the unique index finds prefixes without LIKE escaping.
        query = select(t.policy_versions).where(
            t.policy_versions.c.sha256 >= prefix, t.policy_versions.c.sha256 < prefix + "g"
        )
        return [_version(r) for r in self._c.execute(query.order_by(t.policy_versions.c.id))]

    def list(self, policy_id: str | None = None, *, for_update: bool = False) -> list[VersionRecord]:
        c = t.policy_versions.c
        query = select(t.policy_versions).order_by(c.policy_id, c.effective_from, c.id)
        if policy_id is not None:
            query = query.where(c.policy_id == policy_id)
        if for_update:
            query = query.with_for_update()
        return [_version(r) for r in self._c.execute(query)]

    def set_status(
        self, version_id: int, status: str, *, only_from: Collection[str] | None = None
    ) -> VersionRecord | None:
        c = t.policy_versions.c
        statement = update(t.policy_versions).where(c.id == version_id).values(status=status)
        if only_from is not None:
            # Re-checked after a concurrent writer's commit (PostgreSQL re-reads the locked row):
            # of two writers moving the same version, the second finds it moved and changes nothing.
            statement = statement.where(c.status.in_(list(only_from)))
        changed = self._c.execute(statement).rowcount
        record = self.get(version_id)
        if record is None:
            raise VersionNotFound(f"no policy version with id {version_id}")
        return record if changed else None


class SqlEventRepository:
    """Lifecycle events in ``lifecycle_events``."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add(self, version_id: int, event: str, actor: str, reason: str, at: dt.datetime) -> LifecycleEventRecord:
        values: dict[str, Any] = {"version_id": version_id, "event": event, "actor": actor, "reason": reason, "at": at}
        new_id = self._c.execute(
            insert(t.lifecycle_events).values(values).returning(t.lifecycle_events.c.id)
        ).scalar_one()
        return LifecycleEventRecord(id=new_id, **values)

    def for_version(self, version_id: int) -> list[LifecycleEventRecord]:
        query = select(t.lifecycle_events).where(t.lifecycle_events.c.version_id == version_id)
        return [LifecycleEventRecord(**r._mapping) for r in self._c.execute(query.order_by(t.lifecycle_events.c.id))]

    def list(self, policy_id: str | None = None) -> list[LifecycleEventRecord]:
        query = select(t.lifecycle_events).order_by(t.lifecycle_events.c.id)
        if policy_id is not None:
            versions = select(t.policy_versions.c.id).where(t.policy_versions.c.policy_id == policy_id)
            query = query.where(t.lifecycle_events.c.version_id.in_(versions))
        return [LifecycleEventRecord(**r._mapping) for r in self._c.execute(query)]


class SqlKeyRepository:
    """API keys in ``api_keys``."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add(self, name: str, role: str, key_prefix: str, key_hash: str, created_at: dt.datetime) -> ApiKeyRecord:
        values: dict[str, Any] = {
            "name": name,
            "role": role,
            "key_prefix": key_prefix,
            "key_hash": key_hash,
            "created_at": created_at,
        }
        with _unique(f"API key {name!r}"):
            new_id = self._c.execute(insert(t.api_keys).values(values).returning(t.api_keys.c.id)).scalar_one()
        return ApiKeyRecord(id=new_id, revoked_at=None, **values)

    def _one(self, query: Select[Any]) -> ApiKeyRecord | None:
        row = self._c.execute(query).first()
        return ApiKeyRecord(**row._mapping) if row else None

    def get_by_name(self, name: str) -> ApiKeyRecord | None:
        return self._one(select(t.api_keys).where(t.api_keys.c.name == name))

    def get_by_prefix(self, key_prefix: str) -> ApiKeyRecord | None:
        return self._one(select(t.api_keys).where(t.api_keys.c.key_prefix == key_prefix))

    def list(self) -> list[ApiKeyRecord]:
        return [ApiKeyRecord(**r._mapping) for r in self._c.execute(select(t.api_keys).order_by(t.api_keys.c.name))]

    def revoke(self, name: str, at: dt.datetime) -> ApiKeyRecord:
        c = t.api_keys.c
        self._c.execute(update(t.api_keys).where(c.name == name, c.revoked_at.is_(None)).values(revoked_at=at))
        record = self.get_by_name(name)
        if record is None:
            raise KeyNotFound(f"no API key is named {name!r}")
        return record


def _decision(row: Row[Any]) -> DecisionRecord:
    return DecisionRecord(**row._mapping)


def _row(record: Any) -> dict[str, Any]:
    """A flat record's fields (``dataclasses.asdict`` deep-copies every value: 0.3 ms a decision)."""
    return {f.name: getattr(record, f.name) for f in fields(record)}


# Statements on the decision path are built once: building a statement per call (and its cache
# key) cost more than running it on SQLite.
_INSERT_DECISION = insert(t.decisions)
_DECISION_BY_REQUEST_ID = select(t.decisions).where(t.decisions.c.request_id == bindparam("request_id"))
_INSERT_CASE = insert(t.credit_cases)
_OPEN_CASE = select(t.credit_cases).where(
    t.credit_cases.c.customer_id == bindparam("customer_id"),
    t.credit_cases.c.order_ref == bindparam("order_ref"),
    t.credit_cases.c.status == "open",
)
_LATEST_CASE = (
    select(t.credit_cases)
    .where(
        t.credit_cases.c.customer_id == bindparam("customer_id"), t.credit_cases.c.order_ref == bindparam("order_ref")
    )
    .order_by(t.credit_cases.c.opened_at.desc(), t.credit_cases.c.case_id.desc())
    .limit(1)
)


class SqlDecisionRepository:
    """The decision log in ``decisions``.

    Rows added are written together (one ``executemany``: on PostgreSQL one round trip for a
    group of decisions instead of one each) when the unit of work commits, or before any read of
    the log, so the transaction always reads its own writes. A clashing ``decision_id`` or
    ``request_id`` raises DuplicateRecord there (the repository contract allows either place).
    """

    def __init__(self, connection: Connection) -> None:
        self._c = connection
        self._pending: list[dict[str, Any]] = []
        self._pending_ids: list[str] = []

    def add(self, decision: DecisionRecord) -> None:
        self._pending.append(_row(decision))
        self._pending_ids.append(decision.decision_id)

    def flush(self) -> None:
        """Write the rows added since the last flush."""
        if not self._pending:
            return
        rows, ids = self._pending, self._pending_ids
        self._pending, self._pending_ids = [], []
        what = ids[0] if len(ids) == 1 else f"one of {len(ids)} decisions"
        with _unique(f"decision {what} (its decision_id or request_id)"):
            self._c.execute(_INSERT_DECISION, rows)

    def discard(self) -> None:
        """Forget the rows not written yet (the transaction is rolled back)."""
        self._pending, self._pending_ids = [], []

    def get(self, decision_id: str) -> DecisionRecord | None:
        self.flush()
        row = self._c.execute(select(t.decisions).where(t.decisions.c.decision_id == decision_id)).first()
        return _decision(row) if row else None

    def get_by_request_id(self, request_id: str) -> DecisionRecord | None:
        self.flush()
        row = self._c.execute(_DECISION_BY_REQUEST_ID, {"request_id": request_id}).first()
        return _decision(row) if row else None

    def query(self, query: DecisionQuery) -> list[DecisionRecord]:
        self.flush()
        return [_decision(r) for r in self._c.execute(log_statement(query))]

    def count_by_version(self, scan: LogScan) -> list[tuple[str, str, str, int]]:
        self.flush()
        c = t.decisions.c
        statement = (
            select(c.kind, c.policy_sha256, c.policy_label, func.count())
            .where(*_scan_conditions(scan, by_version=False))
            .group_by(c.kind, c.policy_sha256, c.policy_label)
            .order_by(c.kind, c.policy_sha256, c.policy_label)
        )
        return [(kind, sha256, label, int(count)) for kind, sha256, label, count in self._c.execute(statement)]

    def scan(self, scan: LogScan, page_size: int) -> Iterator[list[LoggedInput]]:
        # One query read as it streams (a server-side cursor on PostgreSQL; SQLite steps its cursor
        # row by row): one pass over the log whatever its size, ``page_size`` rows in memory at a time.
        self.flush()
        c = t.decisions.c
        columns = (c.decision_id, c.kind, c.as_of, c.created_at, c.input_json, c.output_json)
        statement = select(*columns).where(*_scan_conditions(scan, by_version=True))
        result = self._c.execution_options(stream_results=True, yield_per=page_size).execute(statement)
        try:
            for rows in result.partitions(page_size):
                yield [LoggedInput(*row) for row in rows]
        finally:
            result.close()


def _scan_conditions(scan: LogScan, *, by_version: bool) -> list[Any]:
    c = t.decisions.c
    conditions: list[Any] = []
    if scan.kind is not None:
        conditions.append(c.kind == scan.kind)
    if scan.as_of_from is not None:
        conditions.append(c.as_of >= scan.as_of_from)
    if scan.as_of_to is not None:
        conditions.append(c.as_of <= scan.as_of_to)
    if by_version and scan.policy_sha256 is not None:
        conditions.append(c.policy_sha256 == scan.policy_sha256)
    return conditions


def log_statement(query: DecisionQuery) -> Select[Any]:
    """The SELECT of a page of the log: each filter has an index ending in (created_at, decision_id), so
    the page is read in index order from the cursor on (migration 0003)."""
    c = t.decisions.c
    conditions: list[Any] = [
        column == value
        for column, value in (
            (c.customer_id, query.customer_id),
            (c.order_id, query.order_id),
            (c.request_id, query.request_id),
            (c.kind, query.kind),
            (c.outcome, query.outcome),
            (c.policy_sha256, query.policy_sha256),
        )
        if value is not None
    ]
    if query.since is not None:
        conditions.append(c.created_at >= query.since)
    if query.until is not None:
        conditions.append(c.created_at < query.until)
    if query.as_of_from is not None:
        conditions.append(c.as_of >= query.as_of_from)
    if query.as_of_to is not None:
        conditions.append(c.as_of <= query.as_of_to)
    if query.after is not None:
        # A row value, not an OR of two comparisons: both databases then seek the index to the
        # cursor instead of reading every row above it.
        at, decision_id = query.after
        key = tuple_(c.created_at, c.decision_id)
        after = tuple_(literal(at, c.created_at.type), literal(decision_id, c.decision_id.type))
        conditions.append(key < after if query.newest_first else key > after)
    order = (c.created_at.desc(), c.decision_id.desc()) if query.newest_first else (c.created_at, c.decision_id)
    return select(t.decisions).where(*conditions).order_by(*order).limit(query.limit)


def _case(row: Row[Any]) -> CreditCaseRecord:
    return CreditCaseRecord(**row._mapping)


class SqlCaseRepository:
    """Credit cases in ``credit_cases``.

    Orders announced with :meth:`expect` are looked up together at the first :meth:`latest_for_order`:
    one query for a group of decisions tells which of their orders have no case at all (almost all),
    and only the others are read one by one. What this transaction learnt is forgotten on rollback.
    """

    def __init__(self, connection: Connection) -> None:
        self._c = connection
        self._expected: set[tuple[str, str]] = set()
        self._without_case: set[tuple[str, str]] = set()

    def add(self, case: CreditCaseRecord) -> None:
        with _unique(f"an open credit case for order {case.order_ref} of customer {case.customer_id}"):
            self._c.execute(_INSERT_CASE, _row(case))
        self._without_case.discard((case.customer_id, case.order_ref))

    def expect(self, customer_id: str, order_ref: str) -> None:
        self._expected.add((customer_id, order_ref))

    def forget(self) -> None:
        """Drop what this transaction learnt (it was rolled back)."""
        self._expected.clear()
        self._without_case.clear()

    def _read_expected(self) -> None:
        keys, self._expected = self._expected, set()
        c = t.credit_cases.c
        pairs = tuple_(c.customer_id, c.order_ref)
        with_case = {
            tuple(row) for row in self._c.execute(select(c.customer_id, c.order_ref).where(pairs.in_(list(keys))))
        }
        self._without_case |= keys - with_case

    def get(self, case_id: str, *, for_update: bool = False) -> CreditCaseRecord | None:
        query = select(t.credit_cases).where(t.credit_cases.c.case_id == case_id)
        if for_update:
            query = query.with_for_update()
        row = self._c.execute(query).first()
        return _case(row) if row else None

    def find_open(self, customer_id: str, order_ref: str) -> CreditCaseRecord | None:
        row = self._c.execute(_OPEN_CASE, {"customer_id": customer_id, "order_ref": order_ref}).first()
        return _case(row) if row else None

    def latest_for_order(self, customer_id: str, order_ref: str) -> CreditCaseRecord | None:
        if self._expected:
            self._read_expected()
        if (customer_id, order_ref) in self._without_case:
            return None
        row = self._c.execute(_LATEST_CASE, {"customer_id": customer_id, "order_ref": order_ref}).first()
        return _case(row) if row else None

    def list(
        self,
        status: str | None = None,
        customer_id: str | None = None,
        limit: int = 100,
        after: tuple[dt.datetime, str] | None = None,
    ) -> list[CreditCaseRecord]:
        c = t.credit_cases.c
        query = select(t.credit_cases).order_by(c.opened_at.desc(), c.case_id.desc()).limit(limit)
        if status is not None:
            query = query.where(c.status == status)
        if customer_id is not None:
            query = query.where(c.customer_id == customer_id)
        if after is not None:
            at, case_id = after
            query = query.where(or_(c.opened_at < at, and_(c.opened_at == at, c.case_id < case_id)))
        return [_case(r) for r in self._c.execute(query)]

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
        values = {
            "status": status,
            "resolved_by": resolved_by,
            "resolved_at": resolved_at,
            "reason": reason,
            "release_until": release_until,
            "release_amount_max": release_amount_max,
        }
        self._c.execute(update(t.credit_cases).where(t.credit_cases.c.case_id == case_id).values(values))
        record = self.get(case_id)
        if record is None:
            raise CaseNotFound(f"no credit case {case_id}")
        return record


def _webhook(row: Row[Any]) -> WebhookRecord:
    values = dict(row._mapping)
    return WebhookRecord(**{**values, "events": tuple(json.loads(values["events"]))})


class SqlWebhookRepository:
    """Registered webhooks in ``webhooks``."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add(
        self, url: str, events: Sequence[str], created_by: str, created_at: dt.datetime, secret: str | None = None
    ) -> WebhookRecord:
        values = {
            "url": url,
            "events": json.dumps(list(events)),
            "created_by": created_by,
            "created_at": created_at,
            "secret": secret,
        }
        new_id = self._c.execute(insert(t.webhooks).values(values).returning(t.webhooks.c.id)).scalar_one()
        return WebhookRecord(new_id, url, tuple(events), created_by, created_at, secret)

    def get(self, webhook_id: int) -> WebhookRecord | None:
        row = self._c.execute(select(t.webhooks).where(t.webhooks.c.id == webhook_id)).first()
        return _webhook(row) if row else None

    def for_event(self, event: str) -> list[WebhookRecord]:
        # Few rows, and JSON stays opaque TEXT for portability, so filter here rather than in SQL.
        return [hook for hook in self.list() if event in hook.events]

    def remove(self, webhook_id: int) -> bool:
        # Explicit rather than relying on ON DELETE CASCADE, which SQLite honours only with foreign_keys=ON.
        self._c.execute(delete(t.webhook_deliveries).where(t.webhook_deliveries.c.webhook_id == webhook_id))
        return self._c.execute(delete(t.webhooks).where(t.webhooks.c.id == webhook_id)).rowcount > 0

    def add_delivery(
        self, webhook_id: int, event: str, payload_json: str, created_at: dt.datetime
    ) -> WebhookDeliveryRecord:
        values: dict[str, Any] = {
            "webhook_id": webhook_id,
            "event": event,
            "payload_json": payload_json,
            "created_at": created_at,
            "attempts": 0,
            "next_attempt_at": created_at,
        }
        new_id = self._c.execute(
            insert(t.webhook_deliveries).values(values).returning(t.webhook_deliveries.c.id)
        ).scalar_one()
        return WebhookDeliveryRecord(id=new_id, **values)

    def due_deliveries(self, now: dt.datetime, limit: int = 100) -> list[WebhookDeliveryRecord]:
        c = t.webhook_deliveries.c
        query = (
            select(t.webhook_deliveries)
            .where(c.delivered_at.is_(None), c.next_attempt_at <= now)
            .order_by(c.next_attempt_at, c.id)
            .limit(limit)
        )
        return [WebhookDeliveryRecord(**r._mapping) for r in self._c.execute(query)]

    def claim_delivery(self, delivery_id: int, now: dt.datetime, lease_until: dt.datetime) -> bool:
        c = t.webhook_deliveries.c
        # The WHERE is re-checked after a concurrent claim commits (PostgreSQL), so one worker wins.
        statement = (
            update(t.webhook_deliveries)
            .where(c.id == delivery_id, c.delivered_at.is_(None), c.next_attempt_at <= now)
            .values(attempts=c.attempts + 1, next_attempt_at=lease_until)
        )
        return self._c.execute(statement).rowcount == 1

    def finish_attempt(
        self,
        delivery_id: int,
        *,
        delivered_at: dt.datetime | None,
        last_error: str | None,
        next_attempt_at: dt.datetime | None,
    ) -> None:
        values = {"delivered_at": delivered_at, "last_error": last_error, "next_attempt_at": next_attempt_at}
        self._c.execute(update(t.webhook_deliveries).where(t.webhook_deliveries.c.id == delivery_id).values(values))

    def deliveries(self, webhook_id: int | None = None, limit: int = 100) -> list[WebhookDeliveryRecord]:
        c = t.webhook_deliveries.c
        query = select(t.webhook_deliveries).order_by(c.id).limit(limit)
        if webhook_id is not None:
            query = query.where(c.webhook_id == webhook_id)
        return [WebhookDeliveryRecord(**r._mapping) for r in self._c.execute(query)]

    def list(self) -> list[WebhookRecord]:
        return [_webhook(r) for r in self._c.execute(select(t.webhooks).order_by(t.webhooks.c.id))]


class SqlGradeHistoryRepository:
    """Assessments in ``grade_history``."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add(self, grade: NewGrade) -> GradeRecord:
        values = _row(grade)
        new_id = self._c.execute(insert(t.grade_history).values(values).returning(t.grade_history.c.id)).scalar_one()
        return GradeRecord(id=new_id, **values)

    def for_customer(self, customer_id: str) -> list[GradeRecord]:
        c = t.grade_history.c
        query = select(t.grade_history).where(c.customer_id == customer_id).order_by(c.as_of, c.decided_at, c.id)
        return [GradeRecord(**r._mapping) for r in self._c.execute(query)]


class SqlCustomerRepository:
    """Customer snapshots in ``customers``."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get(self, customer_id: str) -> CustomerRecord | None:
        row = self._c.execute(select(t.customers).where(t.customers.c.customer_id == customer_id)).first()
        return CustomerRecord(**row._mapping) if row else None

    def upsert(self, customer: CustomerRecord) -> None:
        values = asdict(customer)
        dialect = postgresql if self._c.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(t.customers).values(values)
        changes = {k: getattr(statement.excluded, k) for k in values if k != "customer_id"}
        # One statement, so two concurrent assessments of a customer leave the later-dated one.
        newer = t.customers.c.as_of <= statement.excluded.as_of
        self._c.execute(statement.on_conflict_do_update(index_elements=["customer_id"], set_=changes, where=newer))

    def due(self, on: dt.date, limit: int = 1000) -> list[CustomerRecord]:
        c = t.customers.c
        query = select(t.customers).where(c.next_review <= on).order_by(c.next_review, c.customer_id).limit(limit)
        return [CustomerRecord(**r._mapping) for r in self._c.execute(query)]


class SqlChallengerRepository:
    """Challengers in ``challengers``."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get(self, policy_id: str, *, for_update: bool = False) -> ChallengerRecord | None:
        query = select(t.challengers).where(t.challengers.c.policy_id == policy_id)
        if for_update:
            query = query.with_for_update()
        row = self._c.execute(query).first()
        return ChallengerRecord(**row._mapping) if row else None

    def add(self, challenger: ChallengerRecord) -> None:
        with _unique(f"a challenger of policy {challenger.policy_id}"):
            self._c.execute(insert(t.challengers).values(_row(challenger)))

    def remove(self, policy_id: str) -> bool:
        return self._c.execute(delete(t.challengers).where(t.challengers.c.policy_id == policy_id)).rowcount > 0

    def list(self) -> list[ChallengerRecord]:
        query = select(t.challengers).order_by(t.challengers.c.policy_id)
        return [ChallengerRecord(**r._mapping) for r in self._c.execute(query)]


# A shadow is read from its log row: the columns ShadowRecord.logged takes (not the JSON of the
# input, output and trace, which a report never reads).
_SHADOW_COLUMNS = [getattr(t.decisions.c, name) for name in LoggedShadow._fields]


def _shadow_conditions(query: ShadowQuery) -> list[Any]:
    c = t.decisions.c
    conditions: list[Any] = [c.shadow_agree.is_not(None)]
    conditions += [
        column == value for column, value in ((c.policy_id, query.policy_id), (c.kind, query.kind)) if value is not None
    ]
    if query.since is not None:
        conditions.append(c.created_at >= query.since)
    if query.until is not None:
        conditions.append(c.created_at < query.until)
    return conditions


class SqlShadowRepository:
    """The challengers' decisions, read from the log rows of the decisions they shadowed
    (``decisions.shadow_agree`` and ``shadow_json``), which the decision log writes."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection
        # Writes the log rows added but not written yet, so a read sees them (set by the unit of work).
        self.before_read: Callable[[], None] = lambda: None

    def scan(self, query: ShadowQuery) -> Iterator[ShadowRecord]:
        self.before_read()
        c = t.decisions.c
        statement = select(*_SHADOW_COLUMNS).where(*_shadow_conditions(query)).order_by(c.created_at, c.decision_id)
        # Streamed in chunks: a report over millions of rows never holds them all.
        for row in self._c.execute(statement, execution_options={"yield_per": 2000}):
            yield ShadowRecord.logged(LoggedShadow(*row), detail=False)

    def samples(self, query: ShadowQuery, limit: int) -> list[ShadowRecord]:
        self.before_read()
        c = t.decisions.c
        statement = (
            select(*_SHADOW_COLUMNS)
            .where(*_shadow_conditions(query), c.shadow_agree.is_(False))
            .order_by(c.created_at.desc(), c.decision_id.desc())
            .limit(limit)
        )
        return [ShadowRecord.logged(LoggedShadow(*row)) for row in self._c.execute(statement)]

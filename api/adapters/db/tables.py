"""The tables, as SQLAlchemy Core metadata; migrations create them, this module only describes them.

JSON is stored as TEXT (portable, and the service never queries inside it); timestamps are UTC
(:class:`UTCDateTime`); money and scores are exact (:class:`ExactDecimal`); dates are ISO dates.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from api.adapters.db.types import ExactDecimal, UTCDateTime

__all__ = [
    "API_KEY_ROLES",
    "CASE_STATUSES",
    "JOB_STATUSES",
    "LIFECYCLE_EVENTS",
    "VERSION_STATUSES",
    "api_keys",
    "challengers",
    "change_counters",
    "credit_cases",
    "customers",
    "decisions",
    "grade_history",
    "job_artifacts",
    "job_inputs",
    "jobs",
    "lifecycle_events",
    "metadata",
    "policy_versions",
    "WEBHOOK_EVENTS",
    "webhook_deliveries",
    "webhooks",
]

VERSION_STATUSES = ("draft", "approved", "active", "retired")
LIFECYCLE_EVENTS = (
    "published",
    "approved",
    "activated",
    "retired",
    "rolled_back",
    "challenger_named",
    "challenger_ended",
)
API_KEY_ROLES = ("decide", "author", "approve", "audit", "simulate", "admin")
CASE_STATUSES = ("open", "released", "rejected")
WEBHOOK_EVENTS = ("case.opened", "case.released", "case.rejected")
JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")

# Named constraints make migrations reproducible across SQLite and PostgreSQL.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _decision_fk() -> ForeignKey:
    # Checked at commit, not per statement (migration 0002): the decision service learns the final
    # outcome from the case it opens, so it logs the decision after the case row is written.
    return ForeignKey("decisions.decision_id", deferrable=True, initially="DEFERRED")


policy_versions = Table(
    "policy_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("policy_id", String(64), nullable=False),
    Column("label", String(64), nullable=False),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("source_text", Text, nullable=False),
    Column("source_file", String(500), nullable=False),
    Column("canonical_json", Text, nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("effective_to", Date, nullable=True),
    Column("author", String(200), nullable=False),
    Column("change_note", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("policy_id", "label"),
    CheckConstraint(_one_of("status", VERSION_STATUSES), name="status"),
    Index(None, "policy_id", "status"),
)

lifecycle_events = Table(
    "lifecycle_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version_id", Integer, ForeignKey("policy_versions.id"), nullable=False, index=True),
    Column("event", String(16), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    CheckConstraint(_one_of("event", LIFECYCLE_EVENTS), name="event"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("key_prefix", String(16), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    CheckConstraint(_one_of("role", API_KEY_ROLES), name="role"),
)


def _log_order(column: str) -> Index:
    """An index answering "the newest decisions with this ``column``", a page at a time (migration 0003):
    the log is read newest first by (created_at, decision_id), from the cursor on, so no sort is needed."""
    return Index(None, column, "created_at", "decision_id")


decisions = Table(
    "decisions",
    metadata,
    Column("decision_id", String(36), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("request_id", String(200), nullable=True, unique=True),
    Column("request_hash", String(64), nullable=True),
    Column("customer_id", String(64), nullable=True),
    Column("order_id", String(64), nullable=True),  # order decisions: the order's id (from the input)
    # The day the decision is about. Every row has it (written with the decision, backfilled by 0003);
    # nullable only because SQLite cannot add NOT NULL without rebuilding the table, which the
    # foreign keys into the log forbid inside a migration's transaction.
    Column("as_of", Date, nullable=True),
    Column("outcome", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("caller", String(100), nullable=False),
    Column("policy_id", String(64), nullable=False),
    Column("policy_sha256", String(64), nullable=False),
    Column("policy_label", String(64), nullable=False),
    Column("input_json", Text, nullable=False),
    Column("output_json", Text, nullable=False),
    Column("trace_json", Text, nullable=True),
    # What a challenger decided in shadow beside this decision (migration 0007): whether the whole
    # outputs agree, and the rest as compact JSON (api.adapters.db.records.shadow_json). Both None:
    # not shadowed. In the log row, not a row of its own: a second row cost the live path ~20 µs.
    # No index: a shadow report reads a period of the log by the created_at index.
    Column("shadow_agree", Boolean, nullable=True),
    Column("shadow_json", Text, nullable=True),
    Index(None, "created_at", "decision_id"),
    _log_order("customer_id"),
    _log_order("order_id"),
    _log_order("kind"),
    _log_order("outcome"),
    _log_order("policy_sha256"),
    Index(None, "as_of"),
)

credit_cases = Table(
    "credit_cases",
    metadata,
    Column("case_id", String(36), primary_key=True),
    Column("customer_id", String(64), nullable=False),
    Column("order_ref", String(200), nullable=False),
    Column("order_amount", ExactDecimal, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("decision_id", String(36), _decision_fk(), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("resolved_by", String(100), nullable=True),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("reason", Text, nullable=True),
    Column("release_until", Date, nullable=True),
    Column("release_amount_max", ExactDecimal, nullable=True),
    CheckConstraint(_one_of("status", CASE_STATUSES), name="status"),
    Index(None, "customer_id", "order_ref"),
    # At most one open case per order: a re-submitted order under a new id finds this one.
    Index(
        "uq_credit_cases_open_order",
        "customer_id",
        "order_ref",
        unique=True,
        sqlite_where=text("status = 'open'"),
        postgresql_where=text("status = 'open'"),
    ),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("url", String(2000), nullable=False),
    Column("events", Text, nullable=False),  # JSON list of event names
    Column("created_by", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("secret", String(100), nullable=True),  # HMAC signing key (migration 0002), see WebhookRecord
)

# The outbox: one row per (event, webhook), written in the transaction of the case change.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("webhook_id", Integer, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("event", String(32), nullable=False),
    Column("payload_json", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=True, index=True),
    Column("delivered_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    CheckConstraint(_one_of("event", WEBHOOK_EVENTS), name="event"),
)

# Every assessment of a customer (migration 0003; before it, only those that changed the grade).
# Which of them changed the grade, limit or eligibility is read in as_of order (api.service.grades).
grade_history = Table(
    "grade_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(64), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("grade", String(64), nullable=False),
    Column("score", ExactDecimal, nullable=False),
    Column("credit_limit", ExactDecimal, nullable=True),  # null only on rows from before 0003 with no decision
    Column("eligible", Boolean, nullable=True),  # likewise
    Column("policy_sha256", String(64), nullable=False),
    Column("decided_at", UTCDateTime, nullable=False),
    Column("next_review", Date, nullable=True),
    Column("decision_id", String(36), _decision_fk(), nullable=True),
    Index(None, "customer_id", "as_of"),
)

# The latest assessment of each customer (the latest as_of); `reviews due` reads next_review from here.
customers = Table(
    "customers",
    metadata,
    Column("customer_id", String(64), primary_key=True),
    Column("grade", String(64), nullable=False),
    Column("score", ExactDecimal, nullable=False),
    Column("credit_limit", ExactDecimal, nullable=False),  # "limit" is an SQL keyword
    Column("next_review", Date, nullable=True, index=True),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("as_of", Date, nullable=False),
)

# How many times each kind of shared state changed (policy version statuses, API keys), bumped in
# the transaction of the change (migration 0003): the service processes on one SQLite file poll it
# to know when to drop what they cached; on PostgreSQL the change is also sent with NOTIFY.
change_counters = Table(
    "change_counters",
    metadata,
    Column("topic", String(32), primary_key=True),
    Column("serial", Integer, nullable=False),
)

# The challenger of each policy's active version (migration 0007): at most one per policy (the
# key), evaluated in shadow on ``share`` percent of the customers; naming and ending it are
# lifecycle events of the challenger version (api.service.shadow).
challengers = Table(
    "challengers",
    metadata,
    Column("policy_id", String(64), primary_key=True),
    Column("champion_version_id", Integer, ForeignKey("policy_versions.id"), nullable=False),
    Column("challenger_version_id", Integer, ForeignKey("policy_versions.id"), nullable=False),
    Column("share", ExactDecimal, nullable=False),  # percent of the customers, 0 < share <= 100
    Column("named_by", String(100), nullable=False),
    Column("named_at", UTCDateTime, nullable=False),
    Column("reason", Text, nullable=False),
)

# Jobs run by the service's workers (migration 0006): simulations, and any kind registered in
# api.service.jobs. A worker claims a queued job (or one whose lease expired: its worker died) by
# taking the lease; the results are written with the final status, in one transaction.
jobs = Table(
    "jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("params_json", Text, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime, nullable=True),  # the first claim
    Column("finished_at", UTCDateTime, nullable=True),
    Column("progress_done", Integer, nullable=False),
    Column("progress_total", Integer, nullable=False),
    Column("progress_stage", String(100), nullable=True),
    Column("lease_owner", String(100), nullable=True),  # host:pid:worker of the worker running it
    Column("lease_expires_at", UTCDateTime, nullable=True),
    Column("heartbeat_at", UTCDateTime, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("error_code", String(64), nullable=True),
    Column("error_message", Text, nullable=True),
    CheckConstraint(_one_of("status", JOB_STATUSES), name="status"),
    Index(None, "status", "created_at"),  # what workers claim: the oldest queued (or expired) first
    Index(None, "created_at", "id"),  # the listing, newest first
    Index(None, "kind", "created_at", "id"),
)

# What a job was given (uploaded portfolio files) and what it produced: in the database, so any
# replica on any host runs the job and serves its results.
job_inputs = Table(
    "job_inputs",
    metadata,
    Column("job_id", String(36), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("content", LargeBinary, nullable=False),
)

job_artifacts = Table(
    "job_artifacts",
    metadata,
    Column("job_id", String(36), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("media_type", String(100), nullable=False),
    Column("content", LargeBinary, nullable=False),
)

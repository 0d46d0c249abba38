"""What the repositories hand out: frozen dataclasses, one per table row, free of SQLAlchemy."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

__all__ = [
    "ApiKeyRecord",
    "ChallengerRecord",
    "CreditCaseRecord",
    "CustomerRecord",
    "DecisionRecord",
    "GradeRecord",
    "JobArtifactRecord",
    "JobRecord",
    "LifecycleEventRecord",
    "LoggedInput",
    "LoggedShadow",
    "NewGrade",
    "NewVersion",
    "ShadowRecord",
    "VersionRecord",
    "WebhookDeliveryRecord",
    "WebhookRecord",
    "shadow_json",
]


@dataclass(frozen=True)
class NewVersion:
    """A policy version about to be stored (the id and status come from the store)."""

    policy_id: str
    label: str
    sha256: str
    source_text: str
    source_file: str
    canonical_json: str
    effective_from: dt.date
    effective_to: dt.date | None
    author: str
    change_note: str
    created_by: str
    created_at: dt.datetime


@dataclass(frozen=True)
class VersionRecord:
    """One stored, immutable policy version and its current lifecycle status."""

    id: int
    policy_id: str
    label: str
    sha256: str
    source_text: str
    source_file: str
    canonical_json: str
    effective_from: dt.date
    effective_to: dt.date | None  # None: open-ended
    author: str
    change_note: str
    status: str  # draft | approved | active | retired
    created_by: str
    created_at: dt.datetime

    def covers(self, day: dt.date) -> bool:
        """Whether ``day`` lies in [effective_from, effective_to]."""
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def overlaps(self, other: VersionRecord) -> bool:
        """Whether the two effective ranges share at least one day."""
        starts_before_other_ends = other.effective_to is None or self.effective_from <= other.effective_to
        ends_after_other_starts = self.effective_to is None or other.effective_from <= self.effective_to
        return starts_before_other_ends and ends_after_other_starts


@dataclass(frozen=True)
class LifecycleEventRecord:
    """Who did what to which version, when and why."""

    id: int
    version_id: int
    event: str  # published | approved | activated | retired | rolled_back | challenger_named | challenger_ended
    actor: str
    reason: str
    at: dt.datetime


@dataclass(frozen=True)
class ApiKeyRecord:
    """An API key as stored: never the secret, only its prefix and sha256."""

    id: int
    name: str
    role: str
    key_prefix: str
    key_hash: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class DecisionRecord:
    """One logged decision; the JSON columns hold exactly what was received, returned and traced."""

    decision_id: str
    kind: str
    request_id: str | None
    request_hash: str | None
    customer_id: str | None
    order_id: str | None  # the order's id, for order decisions: what an auditor looks an order up by
    as_of: dt.date  # the day the decision is about (it chose the version in force)
    outcome: str
    created_at: dt.datetime
    caller: str
    policy_id: str
    policy_sha256: str
    policy_label: str
    input_json: str
    output_json: str
    trace_json: str | None
    # What a challenger decided in shadow beside it (see ShadowRecord): whether the outputs agree,
    # and the rest as :func:`shadow_json` text. Both None: no challenger shadowed it.
    shadow_agree: bool | None = None
    shadow_json: str | None = None


class LoggedInput(NamedTuple):
    """The part of a logged decision an impact run reads (a tuple: 100,000 of them are read per run)."""

    decision_id: str
    kind: str
    as_of: dt.date
    created_at: dt.datetime
    input_json: str
    output_json: str


@dataclass(frozen=True)
class CreditCaseRecord:
    """A held order waiting for, or resolved by, a credit manager."""

    case_id: str
    customer_id: str
    order_ref: str
    order_amount: Decimal
    currency: str
    status: str  # open | released | rejected
    decision_id: str
    opened_at: dt.datetime
    resolved_by: str | None = None
    resolved_at: dt.datetime | None = None
    reason: str | None = None
    release_until: dt.date | None = None
    release_amount_max: Decimal | None = None


@dataclass(frozen=True)
class WebhookRecord:
    """A URL an order system registered to be told about case events."""

    id: int
    url: str
    events: tuple[str, ...]
    created_by: str
    created_at: dt.datetime
    # The HMAC-SHA256 signing key. Kept in clear because signing needs the key itself (a hash
    # could only verify); None only for rows registered before migration 0002.
    secret: str | None = None


@dataclass(frozen=True)
class WebhookDeliveryRecord:
    """One event queued for one webhook (the outbox), written in the transaction that caused it."""

    id: int
    webhook_id: int
    event: str
    payload_json: str
    created_at: dt.datetime
    attempts: int = 0
    next_attempt_at: dt.datetime | None = None  # None: delivered, or given up after the last attempt
    delivered_at: dt.datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class NewGrade:
    """What one assessment gave a customer, as of a day, about to be stored in the grade history."""

    customer_id: str
    as_of: dt.date  # the day assessed: the history is in this order, not in the order decisions arrive
    grade: str
    score: Decimal
    # None only on rows stored before migration 0003 without a logged decision to read them from.
    credit_limit: Decimal | None
    eligible: bool | None
    policy_sha256: str
    decided_at: dt.datetime
    next_review: dt.date | None
    decision_id: str | None


@dataclass(frozen=True)
class GradeRecord(NewGrade):
    """One assessment in a customer's grade history, as stored."""

    id: int


@dataclass(frozen=True)
class CustomerRecord:
    """The latest assessment of a customer: the one about the latest day (``as_of``), not the last to arrive."""

    customer_id: str
    grade: str
    score: Decimal
    credit_limit: Decimal
    next_review: dt.date | None
    updated_at: dt.datetime
    as_of: dt.date


@dataclass(frozen=True)
class ChallengerRecord:
    """The challenger of a policy's active version: evaluated in shadow on ``share`` percent of the customers."""

    policy_id: str
    champion_version_id: int  # the active version it was named beside
    challenger_version_id: int
    share: Decimal  # percent, 0 < share <= 100, at most two decimals
    named_by: str
    named_at: dt.datetime
    reason: str


@dataclass(frozen=True)
class ShadowRecord:
    """What the challenger decided beside one live decision (``decision_id``: the champion's log row)."""

    decision_id: str
    policy_id: str
    kind: str
    customer_id: str
    champion_sha256: str
    challenger_sha256: str
    challenger_label: str
    champion_outcome: str
    challenger_outcome: str | None  # None: the challenger failed (error_code says how)
    agree: bool  # the whole outputs are equal, compared as a replay compares them
    error_code: str | None
    challenger_output_json: str | None
    differences_json: str | None  # when they differ: [{path, change, old, new}, …]
    order_amount: str | None  # orders: exact decimal text, as decided about
    currency: str | None
    champion_limit: str | None  # assessments: the limit each version gave, exact decimal text
    challenger_limit: str | None
    created_at: dt.datetime

    @classmethod
    def logged(
        cls,
        decision: DecisionRecord | LoggedShadow,
        *,
        detail: bool = True,
    ) -> ShadowRecord:
        """The shadow kept in a log row (one with ``shadow_json``); ``detail=False`` leaves out the
        challenger's output and the differences (None), which a report only reads for its samples."""
        if decision.shadow_json is None or decision.shadow_agree is None:
            raise ValueError(f"decision {decision.decision_id} was not shadowed")
        kept = json.loads(decision.shadow_json)
        return cls(
            decision_id=decision.decision_id,
            policy_id=decision.policy_id,
            kind=decision.kind,
            customer_id=decision.customer_id or "",
            champion_sha256=decision.policy_sha256,
            challenger_sha256=kept["sha256"],
            challenger_label=kept["label"],
            champion_outcome=kept["champion"],
            challenger_outcome=kept.get("challenger"),
            agree=decision.shadow_agree,
            error_code=kept.get("error"),
            challenger_output_json=kept.get("output") if detail else None,
            differences_json=kept.get("differences") if detail else None,
            order_amount=kept.get("amount"),
            currency=kept.get("currency"),
            champion_limit=kept.get("champion_limit"),
            challenger_limit=kept.get("challenger_limit"),
            created_at=decision.created_at,
        )


class LoggedShadow(NamedTuple):
    """The part of a logged decision its shadow is read from (a report reads a period of them)."""

    decision_id: str
    policy_id: str
    kind: str
    customer_id: str | None
    policy_sha256: str
    created_at: dt.datetime
    shadow_agree: bool | None
    shadow_json: str | None


# Compact, and built once: json.dumps with separators builds an encoder per call.
_compact = json.JSONEncoder(separators=(",", ":")).encode


def shadow_json(
    *,
    challenger_sha256: str,
    challenger_label: str,
    champion_outcome: str,
    challenger_outcome: str | None,
    error_code: str | None,
    challenger_output_json: str | None,
    differences_json: str | None,
    order_amount: str | None,
    currency: str | None,
    champion_limit: str | None,
    challenger_limit: str | None,
) -> str:
    """A shadow's fields that its log row does not already hold (policy, kind, customer, champion's
    sha256, time), as kept in ``decisions.shadow_json``; :meth:`ShadowRecord.logged` reads them back.

    The champion's outcome is kept: it is the engine's, which the logged one (a hook's, say: an
    order held for a case) may differ from. The output and the differences are kept as the JSON
    text they were written as, so they read back byte for byte.
    """
    kept = {
        "sha256": challenger_sha256,
        "label": challenger_label,
        "champion": champion_outcome,
        "challenger": challenger_outcome,
        "error": error_code,
        "amount": order_amount,
        "currency": currency,
        "champion_limit": champion_limit,
        "challenger_limit": challenger_limit,
        "output": challenger_output_json,
        "differences": differences_json,
    }
    # What is None is left out (read back as None): an agreeing order's shadow is ~130 bytes, not ~230.
    return _compact({key: value for key, value in kept.items() if value is not None})


@dataclass(frozen=True)
class JobRecord:
    """A job run by a service worker: what it is, where it stands, who holds its lease."""

    id: str
    kind: str
    status: str  # queued | running | succeeded | failed | cancelled
    params_json: str
    created_by: str
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    progress_done: int = 0
    progress_total: int = 0
    progress_stage: str | None = None
    lease_owner: str | None = None
    lease_expires_at: dt.datetime | None = None
    heartbeat_at: dt.datetime | None = None
    attempts: int = 0
    error_code: str | None = None
    error_message: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed", "cancelled")


@dataclass(frozen=True)
class JobArtifactRecord:
    """A file a job produced (``content`` is empty when only the listing was asked for)."""

    job_id: str
    name: str
    media_type: str
    size: int
    content: bytes = b""

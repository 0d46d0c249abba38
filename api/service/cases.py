"""Credit cases: a held order waits for a credit manager (role ``approve``), who releases or rejects it.

An order is identified, for its case, by customer and **order reference** (``order.reference``,
else ``order.id``), so re-submitting it under a new order id finds the same case.
:func:`apply_case_policy` runs inside every order decision's transaction, after the policy
decided, and may change the outcome:

====================================  ==========================================  ================
what is stored for the order          and the policy says                         the answer
====================================  ==========================================  ================
anything                              reject                                      reject (policy)
an open case                          approve or hold                             hold (the case)
latest case rejected                  approve or hold                             reject (the case)
latest case released, re-check        hold                                        approve
within its release terms
latest case released, terms exceeded  hold                                        hold, new case
nothing (or a release), policy holds  hold                                        hold, new case
====================================  ==========================================  ================

* **A policy reject is final.** A release covers the risk the manager looked at, not a later
  blacklisting or a fall below the credit standards, so a release never turns a reject into an
  approve, and an open case never softens one either.
* **Release terms** are fixed when the case is released, from the release tolerance of the policy
  version that held the order: the re-check may ask up to ``amount × (1 + amount_pct)`` (cents
  rounded down, same currency) until ``release date + days`` (``as_of`` of the re-check, inclusive).
  So a released order is not blocked again at delivery for a small price change; a larger
  change, another currency or a later date is checked afresh, and if the policy holds it again a
  new case opens.
* **A rejection is final for the order reference**: the order system must raise a new order.
* **An open case holds** every re-check of its order, even one the policy would now approve: the
  manager is looking at it, and a re-submission must not slip past them.

Case events (``case.opened``, ``case.released``, ``case.rejected``) go to the webhook outbox in
the same transaction (:mod:`api.webhooks`).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from api.adapters.db.records import CreditCaseRecord, VersionRecord
from api.adapters.db.tables import CASE_STATUSES
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.errors import CaseNotFound, CaseNotOpen, InvalidRequest, ReasonRequired, VersionNotFound
from api.service.pagination import Page, decode_cursor, encode_cursor
from api.service.webhooks import enqueue_event
from engine.ir import CompiledPolicy
from engine.models import OrderRequest, OrderResult

__all__ = [
    "CASE_EFFECTS",
    "CaseEffect",
    "ReleaseTolerance",
    "apply_case_policy",
    "case_to_dict",
    "get_case",
    "list_cases",
    "order_reference",
    "reject_case",
    "release_case",
]

CENT = Decimal("0.01")
CASE_EFFECTS = ("opened", "held_by_open_case", "released_within_tolerance", "rejected_by_case")
MAX_REASON_LENGTH = 2000
MAX_ACTOR_LENGTH = 100  # the width of credit_cases.resolved_by
MAX_PAGE = 500

CompileVersion = Callable[[VersionRecord], CompiledPolicy]
_CASE_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")  # str(uuid4())
# Control characters other than tab and line breaks; PostgreSQL cannot even store NUL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class ReleaseTolerance:
    """How far a re-check of a released order may go: up to +``amount_pct`` for ``days`` days."""

    amount_pct: Decimal
    days: int

    @classmethod
    def of(cls, compiled: CompiledPolicy) -> ReleaseTolerance:
        return cls(compiled.order_rules.release_amount_pct, compiled.order_rules.release_days)


@dataclass(frozen=True)
class CaseEffect:
    """What the case policy did to an order decision: the final outcome, extra reasons, the case touched."""

    outcome: str
    reasons: list[dict[str, str]]  # {rule, reason, outcome}, to append to the policy's reasons
    case: dict[str, str] | None  # {case_id, status, effect}; None when no case played a part


def order_reference(request: OrderRequest) -> str:
    """The order's business reference, which identifies it for its credit case."""
    return request.order.reference or request.order.id


def _effect(case: CreditCaseRecord, outcome: str, effect: str, reason: str) -> CaseEffect:
    return CaseEffect(
        outcome=outcome,
        reasons=[{"rule": f"case.{case.case_id}", "reason": reason, "outcome": outcome}],
        case={"case_id": case.case_id, "status": case.status, "effect": effect},
    )


def _covered_by_release(case: CreditCaseRecord, request: OrderRequest) -> bool:
    if case.release_until is None or case.release_amount_max is None:
        return False
    return (
        request.order.currency == case.currency
        and request.order.amount <= case.release_amount_max
        and request.as_of <= case.release_until
    )


def apply_case_policy(
    uow: AbstractUnitOfWork,
    compiled: CompiledPolicy,
    request: OrderRequest,
    result: OrderResult,
    *,
    decision_id: str,
    caller: str,
) -> CaseEffect:
    """Apply the credit cases of the order to the policy's outcome (module doc); opens a case on a new hold.

    Runs in the decision's unit of work and does not commit. The case row refers to
    ``decision_id``, which the caller logs in the same transaction, before or after this call
    (the foreign key is checked at commit). ``compiled`` is the deciding policy: its release
    tolerance is not needed here, because a case's release terms are fixed when it is released.
    Two concurrent first holds of one order: the second raises DuplicateRecord (409) and its
    retry finds the open case.
    """
    if result.outcome == "reject":
        return CaseEffect("reject", [], None)
    customer_id, reference = request.customer.id, order_reference(request)
    latest = uow.cases.latest_for_order(customer_id, reference)
    if latest is not None and latest.status == "open":
        return _effect(latest, "hold", "held_by_open_case", "HELD_BY_OPEN_CASE")
    if latest is not None and latest.status == "rejected":
        return _effect(latest, "reject", "rejected_by_case", "REJECTED_BY_CASE")
    if result.outcome != "hold":
        return CaseEffect(result.outcome, [], None)
    if latest is not None and _covered_by_release(latest, request):
        return _effect(latest, "approve", "released_within_tolerance", "RELEASED_BY_CASE")
    case = CreditCaseRecord(
        case_id=str(uuid.uuid4()),
        customer_id=customer_id,
        order_ref=reference,
        order_amount=request.order.amount,
        currency=request.order.currency,
        status="open",
        decision_id=decision_id,
        opened_at=uow.now(),
    )
    uow.cases.add(case)
    enqueue_event(uow, "case.opened", {"case": case_to_dict(case), "decided_by": caller}, case.opened_at)
    return _effect(case, "hold", "opened", "CASE_OPENED")


# --- resolving a case -----------------------------------------------------------------------
def _reason(value: str | None) -> str:
    value = (value or "").strip()
    if not value:
        raise ReasonRequired("a reason is required: it is the audit trail of the credit decision")
    if len(value) > MAX_REASON_LENGTH:
        raise InvalidRequest(f"the reason is longer than {MAX_REASON_LENGTH} characters", code="reason_too_long")
    if _CONTROL.search(value):
        raise InvalidRequest("the reason contains control characters", code="invalid_reason")
    return value


def _actor(value: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_ACTOR_LENGTH or _CONTROL.search(value):
        raise InvalidRequest(f"the actor must be 1 to {MAX_ACTOR_LENGTH} characters", code="invalid_actor")
    return value


def _stored_case(uow: AbstractUnitOfWork, case_id: str, *, for_update: bool = False) -> CreditCaseRecord:
    # Ids this service never hands out are not looked up (and a NUL never reaches PostgreSQL).
    case = uow.cases.get(case_id, for_update=for_update) if _CASE_ID.match(case_id) else None
    if case is None:
        raise CaseNotFound(f"no credit case {case_id!r}")
    return case


def _open_case(uow: AbstractUnitOfWork, case_id: str) -> CreditCaseRecord:
    # Locked, so of two managers resolving the case at once the second sees the first's result.
    case = _stored_case(uow, case_id, for_update=True)
    if case.status != "open":
        raise CaseNotOpen(
            f"credit case {case_id} is already {case.status} (by {case.resolved_by}); a resolution is final"
        )
    return case


def _tolerance_of_case(
    uow: AbstractUnitOfWork, case: CreditCaseRecord, compile_version: CompileVersion
) -> ReleaseTolerance:
    """The release tolerance of the policy version that held the order."""
    decision = uow.decisions.get(case.decision_id)
    version = uow.versions.get_by_sha256(decision.policy_sha256) if decision is not None else None
    if version is None:
        raise VersionNotFound(f"the policy version that held credit case {case.case_id} is not stored")
    return ReleaseTolerance.of(compile_version(version))


def release_case(
    uow: AbstractUnitOfWork,
    case_id: str,
    actor: str,
    reason: str,
    *,
    tolerance: ReleaseTolerance | None = None,
    compile_version: CompileVersion | None = None,
) -> CreditCaseRecord:
    """Release an open case: its order, and re-checks within the release terms, are approved. Commits.

    The release terms come from ``tolerance``, else from the version that held the order, compiled
    by ``compile_version`` (the caller's registry: the service compiles a version once).
    """
    actor, reason = _actor(actor), _reason(reason)
    case = _open_case(uow, case_id)
    if tolerance is None:
        if compile_version is None:
            raise TypeError("release_case needs the release tolerance or a way to compile the holding version")
        tolerance = _tolerance_of_case(uow, case, compile_version)
    now = uow.now()
    record = uow.cases.resolve(
        case_id,
        status="released",
        resolved_by=actor,
        resolved_at=now,
        reason=reason,
        release_until=now.astimezone(dt.UTC).date() + dt.timedelta(days=tolerance.days),
        # Rounded down: the amount released never exceeds what the tolerance allows.
        release_amount_max=(case.order_amount * (1 + tolerance.amount_pct)).quantize(CENT, rounding=ROUND_DOWN),
    )
    enqueue_event(uow, "case.released", {"case": case_to_dict(record)}, now)
    uow.commit()
    return record


def reject_case(uow: AbstractUnitOfWork, case_id: str, actor: str, reason: str) -> CreditCaseRecord:
    """Reject an open case: its order, under any order id, is rejected from now on. Commits."""
    actor, reason = _actor(actor), _reason(reason)
    _open_case(uow, case_id)
    now = uow.now()
    record = uow.cases.resolve(case_id, status="rejected", resolved_by=actor, resolved_at=now, reason=reason)
    enqueue_event(uow, "case.rejected", {"case": case_to_dict(record)}, now)
    uow.commit()
    return record


# --- reading --------------------------------------------------------------------------------
def get_case(uow: AbstractUnitOfWork, case_id: str) -> CreditCaseRecord:
    """One case; raises CaseNotFound."""
    return _stored_case(uow, case_id)


def list_cases(
    uow: AbstractUnitOfWork,
    *,
    status: str | None = None,
    customer_id: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[CreditCaseRecord]:
    """Cases newest first, filtered by status and customer, a page of ``limit`` at a time."""
    if status is not None and status not in CASE_STATUSES:
        raise InvalidRequest(
            f"unknown case status {status!r}; one of {', '.join(CASE_STATUSES)}", code="invalid_status"
        )
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}", code="invalid_limit")
    after = decode_cursor(cursor, _CASE_ID) if cursor else None
    found = uow.cases.list(status=status, customer_id=customer_id, limit=limit + 1, after=after)
    items = found[:limit]
    return Page(items, encode_cursor(items[-1].opened_at, items[-1].case_id) if len(found) > limit else None)


def case_to_dict(case: CreditCaseRecord) -> dict[str, Any]:
    """The JSON form of a case (money as strings, dates and times ISO 8601), for the API and webhooks."""

    def text(value: object) -> str | None:
        if value is None:
            return None
        return value.isoformat() if isinstance(value, dt.date) else str(value)

    return {
        "case_id": case.case_id,
        "customer_id": case.customer_id,
        "order_ref": case.order_ref,
        "order_amount": text(case.order_amount),
        "currency": case.currency,
        "status": case.status,
        "decision_id": case.decision_id,
        "opened_at": text(case.opened_at),
        "resolved_by": case.resolved_by,
        "resolved_at": text(case.resolved_at),
        "reason": case.reason,
        "release_until": text(case.release_until),
        "release_amount_max": text(case.release_amount_max),
    }

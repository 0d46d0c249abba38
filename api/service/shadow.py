"""Live champion–challenger: an approver names a challenger for a policy's active version, and ends it.

The **champion** is the policy's active version in force today when the challenger is named. The
**challenger** is another stored version of the same policy that is a *draft* or *approved*: not
active (it would be deciding already) and not retired (taken out of use on purpose). Naming it is
a lifecycle step and follows the rules of the others:

* **Four eyes**: the approver naming it must be neither the key that published the challenger nor
  the author its file names (``four_eyes``), as for approving it.
* **At most one per policy** (``challenger_exists``): end it before naming another (or another share).
* **Recorded**: ``challenger_named`` on the challenger version (its reason records the share and
  the champion), ``challenger_ended`` when it ends — by :func:`end_challenger`, or by the
  lifecycle itself (:func:`api.service.versions.activate` of any version of the policy, or
  retiring the champion or the challenger, ends it: the comparison it was named for is over).
* **Heard everywhere**: the step announces the ``versions`` topic in its transaction, so every
  process (replicas, workers) drops its cached challenger within a second (:mod:`.changes`).

While it runs, every live decision the champion makes about a customer in the share is evaluated
under the challenger too, in shadow (:mod:`api.service.decisions.shadow`).

**The share** is a percentage with at most two decimals, 0 < share ≤ 100. A customer is in it
when ``int.from_bytes(sha256(f"{policy_id}:{customer_id}")[:8]) % 10_000 < share × 100``: the
same customer is always shadowed or never (for one policy), whichever process decides, and a
larger share keeps every customer a smaller one had. Decisions about no customer (settlement)
are not shadowed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from api.adapters.db.records import ChallengerRecord, VersionRecord
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.errors import ChallengerNotFound, ChallengerRefused, DuplicateRecord, FourEyes, InvalidRequest
from api.service import changes, versions
from api.service.jsontext import iso

__all__ = [
    "SHARE_BUCKETS",
    "ChallengerState",
    "end_challenger",
    "get_challenger",
    "in_share",
    "list_challengers",
    "name_challenger",
    "parse_share",
    "share_bucket",
]

SHARE_BUCKETS = 10_000  # a share of 1 % is 100 buckets; 0.01 % is one
_CENT = Decimal("0.01")


def parse_share(value: str | Decimal | int) -> Decimal:
    """A share in percent: above 0, at most 100, at most two decimals (``invalid_share`` otherwise)."""
    try:
        share = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        share = Decimal("NaN")
    if not share.is_finite() or not Decimal(0) < share <= 100 or share.quantize(_CENT) != share:
        raise InvalidRequest(
            f"share {value!r} is not a percentage above 0 and at most 100 with at most two decimals",
            code="invalid_share",
        )
    return share


def share_bucket(policy_id: str, customer_id: str) -> int:
    """The customer's bucket (0..9,999) for the policy: the first 8 bytes of a sha256, mod 10,000."""
    digest = hashlib.sha256(f"{policy_id}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % SHARE_BUCKETS


def in_share(threshold: int, policy_id: str, customer_id: str) -> bool:
    """Whether a customer is shadowed under a share of ``threshold`` buckets (the share × 100)."""
    return threshold >= SHARE_BUCKETS or share_bucket(policy_id, customer_id) < threshold


def _share_text(share: Decimal) -> str:
    return f"{share.normalize():f}"


@dataclass(frozen=True)
class ChallengerState:
    """A policy's challenger with both versions it compares."""

    record: ChallengerRecord
    champion: VersionRecord
    challenger: VersionRecord

    def content(self) -> dict[str, Any]:
        def version(v: VersionRecord) -> dict[str, Any]:
            return {"version": v.label, "sha256": v.sha256, "status": v.status}

        return {
            "policy_id": self.record.policy_id,
            "champion": version(self.champion),
            "challenger": version(self.challenger),
            "share": _share_text(self.record.share),
            "named_by": self.record.named_by,
            "named_at": iso(self.record.named_at),
            "reason": self.record.reason,
        }


def _state(uow: AbstractUnitOfWork, record: ChallengerRecord) -> ChallengerState:
    champion = uow.versions.get(record.champion_version_id)
    challenger = uow.versions.get(record.challenger_version_id)
    if champion is None or challenger is None:  # versions are never deleted
        raise ChallengerNotFound(f"the challenger of policy {record.policy_id} names a version that is gone")
    return ChallengerState(record, champion, challenger)


def name_challenger(
    uow: AbstractUnitOfWork,
    policy_id: str,
    ref: str,
    share: str | Decimal | int,
    actor: str,
    reason: str,
    *,
    timeline: versions.TimelineCache | None = None,
) -> ChallengerState:
    """Run version ``ref`` in shadow beside the active version of ``policy_id`` on ``share`` percent of customers."""
    actor, reason = versions.checked_actor(actor), versions.checked_reason(reason)
    percent = parse_share(share)
    challenger = versions.get_version(uow, ref, policy_id)
    # Locks the policy's versions, so a concurrent activation or naming runs before or after this one.
    uow.versions.list(policy_id, for_update=True)
    today = uow.now().date()
    champion = next((p.version for p in versions.in_force(uow, policy_id) if p.covers(today)), None)
    if champion is None:
        raise ChallengerRefused(
            f"policy {policy_id} has no active version in force today to shadow", code="challenger_not_eligible"
        )
    if challenger.status not in ("draft", "approved"):
        raise ChallengerRefused(
            f"{versions.name_of(challenger)} is {challenger.status}; a challenger is a draft or approved version "
            f"(the champion is {versions.name_of(champion)})",
            code="challenger_not_eligible",
        )
    if versions.same_person(actor, challenger.created_by) or versions.same_person(actor, challenger.author):
        raise FourEyes(
            f"{actor} published or wrote {versions.name_of(challenger)}; another person must name it challenger"
        )
    running = uow.challengers.get(policy_id, for_update=True)
    if running is not None:
        raise _exists(uow, running)
    now = uow.now()
    record = ChallengerRecord(policy_id, champion.id, challenger.id, percent, actor, now, reason)
    try:
        uow.challengers.add(record)
    except DuplicateRecord:  # a concurrent naming won
        uow.rollback()
        running = uow.challengers.get(policy_id)
        if running is None:
            raise
        raise _exists(uow, running) from None
    why = f"share {_share_text(percent)} % beside {versions.name_of(champion)}: {reason}"
    uow.events.add(challenger.id, "challenger_named", actor, why, now)
    _committed(uow, policy_id, timeline)
    return ChallengerState(record, champion, challenger)


def _exists(uow: AbstractUnitOfWork, running: ChallengerRecord) -> ChallengerRefused:
    state = _state(uow, running)
    return ChallengerRefused(
        f"policy {running.policy_id} already has challenger {versions.name_of(state.challenger)} "
        f"(share {_share_text(running.share)} %); end it first"
    )


def end_challenger(
    uow: AbstractUnitOfWork,
    policy_id: str,
    actor: str,
    reason: str,
    *,
    timeline: versions.TimelineCache | None = None,
) -> ChallengerState:
    """Stop the shadow of ``policy_id``; its rows stay for the report."""
    actor, reason = versions.checked_actor(actor), versions.checked_reason(reason)
    record = uow.challengers.get(policy_id, for_update=True)
    if record is None:
        raise ChallengerNotFound(f"policy {policy_id} has no challenger in shadow")
    state = _state(uow, record)
    versions.end_challenger_of(uow, policy_id, actor, reason)
    _committed(uow, policy_id, timeline)
    return state


def get_challenger(uow: AbstractUnitOfWork, policy_id: str) -> ChallengerState:
    """The challenger of ``policy_id`` (``challenger_not_found`` if it has none)."""
    record = uow.challengers.get(policy_id)
    if record is None:
        raise ChallengerNotFound(f"policy {policy_id} has no challenger in shadow")
    return _state(uow, record)


def list_challengers(uow: AbstractUnitOfWork) -> list[ChallengerState]:
    """Every challenger in shadow, by policy id."""
    return [_state(uow, record) for record in uow.challengers.list()]


def _committed(uow: AbstractUnitOfWork, policy_id: str, timeline: versions.TimelineCache | None) -> None:
    uow.changes.announce(changes.VERSIONS)
    uow.commit()
    if timeline is not None:
        timeline.forget(policy_id)

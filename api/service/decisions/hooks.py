"""What the service adds to a decision of each kind when storing it: the one place per kind.

The engine decides; the service then applies what lives in the store, in the decision's own unit
of work, before its log row is written:

* **order** — the credit-case policy (:mod:`api.service.cases`): an open case holds, a rejected
  case rejects, a release within its tolerance approves, a new hold opens a case (and queues its
  webhook events). The response gets a ``case`` member and the case's reasons.
* **assess** — the grade history (:mod:`api.service.grades`): the assessment joins the customer's
  history (in as_of order) and, unless a later-dated one is stored, becomes its latest.

Settlement and collection decisions are logged as the engine made them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from api.adapters.db.records import VersionRecord
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.service.cases import apply_case_policy, order_reference
from api.service.grades import record_assessment
from engine.ir import CompiledPolicy

__all__ = ["HOOKS", "READS", "HookEffect", "StoreContext"]


@dataclass(frozen=True)
class StoreContext:
    """A decision about to be logged: what a hook may read. ``request`` and ``result`` are the kind's models."""

    request: Any
    result: Any
    compiled: CompiledPolicy
    version: VersionRecord
    caller: str
    decision_id: str  # the log row, written after the hooks in the same transaction
    at: dt.datetime


@dataclass(frozen=True)
class HookEffect:
    """What a hook changed: the headline, reasons to add, members to add to the response, events queued."""

    outcome: str | None = None  # replaces the engine's headline when set
    reasons: tuple[dict[str, Any], ...] = ()
    members: Mapping[str, Any] = field(default_factory=dict)  # added to the response before "decision"
    events: bool = False  # webhook events were queued: deliver them after the commit


def _order(uow: AbstractUnitOfWork, context: StoreContext) -> HookEffect:
    effect = apply_case_policy(
        uow, context.compiled, context.request, context.result, decision_id=context.decision_id, caller=context.caller
    )
    opened = effect.case is not None and effect.case.get("effect") == "opened"
    return HookEffect(effect.outcome, tuple(effect.reasons), {"case": effect.case}, events=opened)


def _assess(uow: AbstractUnitOfWork, context: StoreContext) -> HookEffect:
    record_assessment(
        uow,
        context.result,
        as_of=context.request.as_of,
        policy_sha256=context.version.sha256,
        decision_id=context.decision_id,
        at=context.at,
    )
    return HookEffect()


def _order_reads(uow: AbstractUnitOfWork, request: Any) -> None:
    uow.cases.expect(request.customer.id, order_reference(request))


StoreHook = Callable[[AbstractUnitOfWork, StoreContext], HookEffect]
HOOKS: Mapping[str, StoreHook] = MappingProxyType({"order": _order, "assess": _assess})
# What a kind's hook will read, announced before the steps of a group run (read for all at once).
READS: Mapping[str, Callable[[AbstractUnitOfWork, Any], None]] = MappingProxyType({"order": _order_reads})

"""The challenger evaluated in shadow beside a live decision: decided, compared, never returned.

:func:`shadow_of` runs inside :func:`~api.service.decisions.decide.evaluate`, after the champion
decided, for a decision that

* the policy's **champion** made (the version the challenger was named beside: a decision under an
  older version, pinned or by ``as_of``, is not compared with it), and
* is about a **customer in the share** (:func:`api.service.shadow.in_share`; a decision about
  no customer — a settlement — is not shadowed).

The challenger decides the same parsed request on its plain-Python twin (``twin_matcher``: the
same plan as durable-rules, answers proven equal by the differential tests). Measured here on
the bench's order (timeit, 3,000 calls), the twin decides it in ~15–25 µs and durable-rules in
~44 µs; and the twin registers no ruleset, so a challenger costs no slot of
``CREDITPOLICY_MAX_LIVE_VERSIONS`` nor memory that is never returned.

The two outputs are compared as a replay against another version compares them
(:mod:`.compare`: list items by identity, the ``policy`` member and rule sources ignored): they
*agree* when nothing else differs. The result (:class:`ShadowResult`) is written by
:func:`~api.service.decisions.decide.store_decision` into the transaction of the champion's
log row, as two of its columns (``shadow_agree`` and the compact ``shadow_json``) — no row and no
commit of its own.

**Isolation.** Nothing here reaches the answer: the challenger's result is never returned, opens
no credit case, writes no grade history and sends no webhook (no hook runs for it). Whatever it
raises is caught and recorded as the shadow's ``error_code`` (an engine or service error's own code,
``challenger_failed`` for anything else); the live decision goes on as if there were no challenger.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from api.adapters.db.records import VersionRecord, shadow_json
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.errors import ServiceError
from api.service.decisions.compare import IDENTITIES, compare
from api.service.decisions.response import canonical_rates
from api.service.jsontext import dumps
from api.service.registry import LiveChallenger, PolicyRegistry
from api.service.shadow import in_share
from engine.decide import Decision, decide
from engine.decisions import DecisionKind
from engine.errors import EngineError

__all__ = ["CHALLENGER_FAILED", "MAX_DIFFERENCES", "ShadowResult", "shadow_of"]

log = logging.getLogger("creditpolicy.shadow")

CHALLENGER_FAILED = "challenger_failed"  # the error code of a challenger that raised something uncoded
MAX_DIFFERENCES = 20  # differences kept per row: enough to read why, bounded for a row per decision


@dataclass(frozen=True, slots=True)
class ShadowResult:
    """What the challenger decided beside one live decision, as its log row will keep it."""

    agree: bool  # the whole outputs are equal, compared as a replay compares them
    error_code: str | None  # the challenger failed: how
    json: str  # the rest (api.adapters.db.records.shadow_json), built here, where a failure is caught

    @property
    def status(self) -> str:
        """``agree``, ``differ`` or ``error:<code>`` (for /metrics)."""
        return f"error:{self.error_code}" if self.error_code is not None else "agree" if self.agree else "differ"


def shadow_of(
    uow: AbstractUnitOfWork,
    registry: PolicyRegistry,
    version: VersionRecord,
    kind: DecisionKind[Any, Any],
    request: Any,
    decision: Decision[Any, Any],
    output: dict[str, Any],
) -> ShadowResult | None:
    """The challenger's decision beside ``decision`` (whose logged ``output`` is given), if the policy has
    one and the customer is in its share."""
    try:
        challenger = registry.challenger(uow, version.policy_id)
    except Exception:  # noqa: BLE001 - reading the challenger must never fail the live decision
        log.warning("the challenger of policy %s could not be read", version.policy_id, exc_info=True)
        return None
    if challenger is None or challenger.champion_sha256 != version.sha256:
        return None
    customer_id = kind.customer_id(request)
    if customer_id is None or not in_share(challenger.threshold, version.policy_id, customer_id):
        return None
    try:
        return _evaluated(challenger, kind, request, decision, output, customer_id)
    except Exception as error:  # noqa: BLE001 - whatever the challenger does, the live decision stands
        if isinstance(error, EngineError | ServiceError):
            code = str(error.code)
        else:
            code = CHALLENGER_FAILED
            log.warning("challenger %s failed", challenger.version.label, exc_info=True)
        return _failed(challenger, kind, request, decision, customer_id, code)


def _evaluated(
    challenger: LiveChallenger,
    kind: DecisionKind[Any, Any],
    request: Any,
    decision: Decision[Any, Any],
    output: dict[str, Any],
    customer: str,
) -> ShadowResult:
    if challenger.compiled is None:
        return _failed(challenger, kind, request, decision, customer, challenger.unusable or CHALLENGER_FAILED)
    other = decide(challenger.compiled, kind, request)
    theirs = canonical_rates(other.output())
    # Equal but for what a comparison with another version ignores (the policy member, rule
    # sources): nothing differs, and the walk pairing list items (~20 µs) is not needed.
    if _equal_but_sources({**theirs, "policy": output.get("policy")}, output):
        differences = []
    else:
        differences = compare(output, theirs, IDENTITIES[kind.name], other_version=True)
    agree = not differences
    amount, currency = _order_figures(kind, request)
    text = shadow_json(
        challenger_sha256=challenger.version.sha256,
        challenger_label=challenger.version.label,
        champion_outcome=decision.outcome[:32],
        challenger_outcome=other.outcome[:32],
        error_code=None,
        # When they agree, the challenger's output is the logged one but for its policy member
        # and rule sources: storing it again would only cost the live path its bytes.
        challenger_output_json=None if agree else dumps(theirs),
        differences_json=None if agree else dumps([d.content() for d in differences[:MAX_DIFFERENCES]]),
        order_amount=amount,
        currency=currency,
        champion_limit=_limit(kind, decision),
        challenger_limit=_limit(kind, other),
    )
    return ShadowResult(agree, None, text)


def _failed(
    challenger: LiveChallenger,
    kind: DecisionKind[Any, Any],
    request: Any,
    decision: Decision[Any, Any],
    customer: str,
    code: str,
) -> ShadowResult:
    amount, currency = _order_figures(kind, request)
    code = code[:64]
    text = shadow_json(
        challenger_sha256=challenger.version.sha256,
        challenger_label=challenger.version.label,
        champion_outcome=decision.outcome[:32],
        challenger_outcome=None,
        error_code=code,
        challenger_output_json=None,
        differences_json=None,
        order_amount=amount,
        currency=currency,
        champion_limit=_limit(kind, decision),
        challenger_limit=None,
    )
    return ShadowResult(False, code, text)


def _equal_but_sources(left: Any, right: Any) -> bool:
    """Plain equality, except that members named ``source`` (a rule's ``file:line``) are not compared.

    Equal here means :func:`.compare` finds no difference; unequal (items in another order, say)
    leaves the answer to it.
    """
    if left == right:
        return True
    kind = type(left)
    if kind is not type(right):
        return False
    if kind is dict:
        if left.keys() != right.keys():
            return False
        return all(key == "source" or _equal_but_sources(value, right[key]) for key, value in left.items())
    if kind is list:
        return len(left) == len(right) and all(_equal_but_sources(a, b) for a, b in zip(left, right, strict=True))
    return False


def _order_figures(kind: DecisionKind[Any, Any], request: Any) -> tuple[str | None, str | None]:
    if kind.name != "order":
        return None, None
    return str(request.order.amount), str(request.order.currency)


def _limit(kind: DecisionKind[Any, Any], decision: Decision[Any, Any]) -> str | None:
    return str(decision.result.credit_limit) if kind.name == "assess" else None

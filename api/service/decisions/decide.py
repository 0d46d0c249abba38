"""The decision use case: :func:`decide_and_log`, from a request body to a logged, answered decision.

Read top to bottom, a decision is: take the body apart (:mod:`.envelope`), find the version that
decides (the pinned one or the one in force on ``as_of``, compiled once per content hash by the
registry), evaluate it (the engine, pure), then store it — the kind's hook (:mod:`.hooks`: the
credit case of an order, the grade history of an assessment) and the log row — and answer.

Guarantees:

* **Logged before it is returned.** The log row (input, full response, trace — the trace always,
  even when not returned) is written in the transaction that produces the response, and the
  transaction commits before the response leaves: a caller never holds a decision the log lacks.
* **Idempotent** (:mod:`.idempotency`): a ``request_id`` answered before returns that answer
  byte for byte — also when the request would be refused now — and writes nothing.
* **A challenger in shadow** (:mod:`.shadow`): when the policy has one and the customer is in its
  share, the challenger decides the same request too; its result is written beside the log row,
  in the same transaction, and nothing of it reaches the answer.
* **Stored in groups, answered one by one.** The writer (:class:`DecisionWriter`) hands the store
  step to the group committer (:mod:`api.adapters.group_commit`), which stores the decisions of
  concurrent requests in one transaction and releases each answer after that commit; a step whose
  group fails is stored again alone, with the retries of :func:`log_decision`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from api.adapters.db.records import DecisionRecord, VersionRecord
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.adapters.group_commit import GroupCommitter
from api.errors import (
    AmbiguousVersionRef,
    DuplicateRecord,
    NoActiveVersion,
    RefusedField,
    ServiceError,
    VersionNotApproved,
    VersionNotFound,
)
from api.service.decisions.envelope import Envelope, dated, read_envelope
from api.service.decisions.hooks import HOOKS, READS, StoreContext
from api.service.decisions.idempotency import stored_answer
from api.service.decisions.response import DecisionResponse, canonical_rates
from api.service.decisions.shadow import ShadowResult, shadow_of
from api.service.jsontext import canonical, dumps, iso
from api.service.keys import Caller
from api.service.registry import PolicyRegistry
from engine.decide import Decision, decide, kind_named, parse_request
from engine.errors import EngineError
from engine.ir import CompiledPolicy

__all__ = [
    "DecisionWriter",
    "PreparedDecision",
    "VersionChoice",
    "decide_and_log",
    "evaluate",
    "log_decision",
    "store_decision",
]

_ATTEMPTS = 3  # a concurrent writer can take a unique key at most once per key; retrying twice is plenty
UowFactory = Callable[[], AbstractUnitOfWork]
# Which version decides a request about ``as_of`` that pins ``pinned`` (None: the one in force).
VersionChoice = Callable[[AbstractUnitOfWork, dt.date, str | None], tuple[VersionRecord, CompiledPolicy]]


@dataclass(frozen=True)
class PreparedDecision:
    """A decision evaluated (pure: nothing written yet) and everything storing it needs."""

    decision: Decision[Any, Any]
    caller: Caller
    request_id: str | None
    digest: str
    explain: bool
    version: VersionRecord
    compiled: CompiledPolicy
    input_json: str
    trace_json: str
    output: dict[str, Any]  # the engine's output as logged (rates canonical)
    shadow: ShadowResult | None = None  # the challenger's decision, kept in the log row

    @property
    def kind(self) -> str:
        return self.decision.kind.name


class DecisionWriter:
    """The ports a decision needs: the policy registry, units of work, and the group committer.

    ``new_uow`` and ``new_read_uow`` open read-write and read-only units of work; they are called
    each time, so a test can swap what they open.
    """

    def __init__(
        self,
        registry: PolicyRegistry,
        new_uow: UowFactory,
        new_read_uow: UowFactory,
        committer: GroupCommitter,
    ) -> None:
        self.registry = registry
        self.new_uow = new_uow
        self.new_read_uow = new_read_uow
        self.committer = committer

    async def write(self, prepared: PreparedDecision) -> DecisionResponse:
        """Store a prepared decision with the next group (alone if the group fails); its answer once committed."""
        reads, request = READS.get(prepared.kind), prepared.decision.request
        prepare = None if reads is None else lambda uow: reads(uow, request)
        return await self.committer.submit(
            partial(store_decision, prepared=prepared), partial(self._alone, prepared), prepare
        )

    def _alone(self, prepared: PreparedDecision) -> DecisionResponse:
        try:
            with self.new_uow() as uow:
                return log_decision(uow, prepared)
        except Exception:
            if prepared.shadow is None:
                raise
        # The decision could not be stored with its shadow (its log row refused the shadow's
        # columns, say): store it without (the shadow must never cost a live decision), and say
        # so in /metrics.
        with self.new_uow() as uow:
            response = log_decision(uow, replace(prepared, shadow=None))
        return replace(response, shadow="error:shadow_write_failed")


async def decide_and_log(
    kind: str, body: Any, caller: Caller, writer: DecisionWriter, *, explain: bool = False
) -> DecisionResponse:
    """Decide a request body of ``kind`` for ``caller`` and log it; the answer, once committed.

    A body the service refuses raises its error (engine or service), unless its ``request_id``
    was answered before with this very body: then that answer, replayed.
    """
    envelope = read_envelope(body)
    with writer.new_read_uow() as uow:  # reads only if the version timeline must be refreshed
        try:
            prepared = evaluate(uow, writer.registry, caller, kind, envelope, envelope.request_id, explain)
        except (EngineError, ServiceError):
            stored = stored_answer(uow, kind, envelope.request_id, envelope.digest, explain)
            if stored is not None:
                return stored
            raise
    return await writer.write(prepared)


def evaluate(
    uow: AbstractUnitOfWork,
    registry: PolicyRegistry,
    caller: Caller,
    kind: str,
    envelope: Envelope,
    request_id: str | None,
    explain: bool,
    *,
    choose: VersionChoice | None = None,
) -> PreparedDecision:
    """Parse and evaluate a decision; ``uow`` is only read (which version decides). Nothing is written.

    ``choose`` picks the deciding version instead of the live rule (a dry run's: see
    :meth:`~api.service.registry.PolicyRegistry.for_dry_run`).
    """
    handler = kind_named(kind)
    envelope = dated(envelope, uow.now().date())  # as_of left out: today (UTC), logged as the day used
    request = parse_request(handler, envelope.payload)
    version, compiled = _deciding_version(uow, registry, caller, handler.as_of(request), envelope.pinned, choose)
    decision = decide(compiled, handler, request)
    output = canonical_rates(decision.output())
    # A dry run (``choose`` given) decides nothing live: its challenger would shadow nothing.
    shadow = None if choose is not None else shadow_of(uow, registry, version, handler, request, decision, output)
    return PreparedDecision(
        decision=decision,
        caller=caller,
        request_id=request_id,
        digest=envelope.digest,
        explain=explain,
        version=version,
        compiled=compiled,
        input_json=envelope.text,
        trace_json=canonical(canonical_rates(decision.trace)),
        output=output,
        shadow=shadow,
    )


def _deciding_version(
    uow: AbstractUnitOfWork,
    registry: PolicyRegistry,
    caller: Caller,
    as_of: dt.date,
    pinned: str | None,
    choose: VersionChoice | None = None,
) -> tuple[VersionRecord, CompiledPolicy]:
    """The version named by the body; what it names wrongly is a 422 pointing at the field."""
    try:
        if choose is not None:
            return choose(uow, as_of, pinned)
        return registry.for_request(uow, None, as_of, pinned, allow_draft=caller.can("publish"))
    except NoActiveVersion as error:
        raise RefusedField(error.message, code=error.code, pointer="/as_of") from None
    except VersionNotFound as error:
        raise RefusedField(error.message, code="unknown_policy_version", pointer="/policy_version") from None
    except AmbiguousVersionRef as error:
        raise RefusedField(error.message, code="ambiguous_policy_version", pointer="/policy_version") from None
    except VersionNotApproved as error:
        raise RefusedField(error.message, code=error.code, pointer="/policy_version") from None


def store_decision(uow: AbstractUnitOfWork, prepared: PreparedDecision, *, log: bool = True) -> DecisionResponse:
    """Write a prepared decision (its kind's hook, then its log row) in ``uow``; the answer. No commit.

    ``log=False`` (a dry run, whose transaction is always rolled back) writes no log row: the
    hook still runs, so the answer is the one a real decision would get.

    A ``request_id`` logged before (or by a concurrent request) makes the log insert raise
    DuplicateRecord, as does a concurrent first hold of the same order: the caller rolls back and
    retries (:func:`log_decision`), then seeing what the other request stored.
    """
    decision, version = prepared.decision, prepared.version
    output = prepared.output
    decision_id = str(uuid.uuid4())
    created_at = uow.now()
    outcome = decision.outcome
    reasons = list(output.get("reasons") or []) or [
        {"rule": fired["id"], "reason": "RULE_FIRED", "source": fired.get("source"), "outcome": None}
        for fired in decision.trace.get("rules_fired", [])
    ]
    members: dict[str, Any] = {}
    events = False
    hook = HOOKS.get(prepared.kind)
    if hook is not None:
        # The case and grade rows refer to the log row, inserted after them: the foreign keys are
        # checked at commit, so the response (which holds the case) can be logged whole.
        context = StoreContext(
            decision.request, decision.result, prepared.compiled, version, prepared.caller.name, decision_id, created_at
        )
        effect = hook(uow, context)
        outcome = effect.outcome or outcome
        reasons += effect.reasons
        members.update(effect.members)
        events = effect.events
    response = {
        "decision_id": decision_id,
        "kind": prepared.kind,
        "request_id": prepared.request_id,
        "created_at": iso(created_at),
        "as_of": decision.kind.as_of(decision.request).isoformat(),
        "policy": {"id": version.policy_id, "version": version.label, "sha256": version.sha256},
        "outcome": outcome,
        "reasons": reasons,
        **members,
        "decision": output,
    }
    output_json = dumps(response)
    if log:
        uow.decisions.add(_log_row(prepared, decision_id, outcome, created_at, output_json))
    return DecisionResponse(
        decision_id,
        prepared.kind,
        outcome,
        (version.policy_id, version.label, version.sha256),
        output_json,
        prepared.trace_json if prepared.explain else None,
        replayed=False,
        events=events,
        shadow=None if prepared.shadow is None else prepared.shadow.status,
    )


def _log_row(
    prepared: PreparedDecision, decision_id: str, outcome: str, created_at: dt.datetime, output_json: str
) -> DecisionRecord:
    decision, version, shadow = prepared.decision, prepared.version, prepared.shadow
    return DecisionRecord(
        decision_id=decision_id,
        kind=prepared.kind,
        request_id=prepared.request_id,
        request_hash=prepared.digest,
        customer_id=decision.kind.customer_id(decision.request),
        order_id=decision.kind.order_id(decision.request),
        as_of=decision.kind.as_of(decision.request),
        outcome=outcome,
        created_at=created_at,
        caller=prepared.caller.name,
        policy_id=version.policy_id,
        policy_sha256=version.sha256,
        policy_label=version.label,
        input_json=prepared.input_json,
        output_json=output_json,
        trace_json=prepared.trace_json,
        shadow_agree=None if shadow is None else shadow.agree,
        shadow_json=None if shadow is None else shadow.json,
    )


def log_decision(uow: AbstractUnitOfWork, prepared: PreparedDecision) -> DecisionResponse:
    """Store a prepared decision in its own transaction and commit it; the answer.

    Insert first, look up on conflict: a new request_id (the usual case) costs no extra query,
    and the unique key on request_id settles concurrent requests with one id.
    """
    for attempt in range(_ATTEMPTS):
        try:
            response = store_decision(uow, prepared)
            uow.commit()
            return response
        except DuplicateRecord:
            # Logged before or by a concurrent request, or a concurrent order opened the same case:
            # the transaction is void after a unique-key failure. Answer from what is stored, or
            # store again (now seeing the other request's case).
            uow.rollback()
            stored = stored_answer(uow, prepared.kind, prepared.request_id, prepared.digest, prepared.explain)
            if stored is not None:
                return stored
            if attempt == _ATTEMPTS - 1:
                raise
        except (EngineError, ServiceError):
            uow.rollback()
            stored = stored_answer(uow, prepared.kind, prepared.request_id, prepared.digest, prepared.explain)
            if stored is not None:
                return stored
            raise
    raise AssertionError("unreachable")  # pragma: no cover

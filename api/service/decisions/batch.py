"""Batches: up to :data:`MAX_BATCH` decisions of one kind in one call and one transaction, or a dry run of them.

Each request is decided and logged exactly as a single decision of its kind is (the same
evaluation, the same hook, the same log row); a refused one gets its error in place and the others
are still decided. Requests without their own ``request_id`` get ``<batch request_id>/<index>``
when the batch has one, so a repeated batch replays request by request. Nothing here branches on the kind:
its handler (:mod:`engine.decisions`) and its hook (:mod:`.hooks`) make the difference; only the
name of the body's list (:data:`BATCH_MEMBERS`) is the kind's.

**Dry runs** (``dry_run=True``) decide the same way in the same kind of transaction — the hooks
run, so an order held under an open case is held, a hold "opens" a case, and a second order of
the batch sees the first one's case, exactly as in a real batch — and then roll it back: no log
row (none is even written), no credit case, no grade history, no webhook, no idempotency entry.
A ``request_id`` is echoed but neither looked up nor recorded: a dry run always decides afresh.
Each answer says so (:func:`dry_answer`): ``decision_id`` is null, ``dry_run`` is true, and a case
the decision would open has no id. A dry run may name the version that decides (``version``:
any status, drafts included, evaluated offline); without one, each request is decided by the
version a live decision would use (:meth:`~api.service.registry.PolicyRegistry.for_dry_run`).

Who may do what (:func:`batch_permission`): a real batch needs ``decide``; a dry run ``dry_run``
(roles decide and simulate); naming a version ``simulate`` — so an order system can check what it
would be answered, and only analysts run versions that decide nothing live.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from types import MappingProxyType
from typing import Any

from api.adapters.db.records import VersionRecord
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.errors import AmbiguousVersionRef, DuplicateRecord, RefusedField, ServiceError, VersionNotFound
from api.service.decisions.decide import evaluate, store_decision
from api.service.decisions.envelope import read_envelope
from api.service.decisions.idempotency import stored_answer
from api.service.decisions.response import DecisionResponse
from api.service.jsontext import dumps
from api.service.keys import Caller, permit
from api.service.registry import PolicyRegistry
from api.service.versions import get_version
from engine.decide import kind_named
from engine.errors import EngineError, InputInvalid

__all__ = [
    "BATCH_MEMBERS",
    "MAX_BATCH",
    "BatchItemResult",
    "BatchResponse",
    "batch_permission",
    "check_batch",
    "decide_batch",
    "dry_answer",
]

MAX_BATCH = 1000
_ATTEMPTS = 3
# The member of a batch body that lists its requests, by kind: error pointers start with it.
BATCH_MEMBERS: Mapping[str, str] = MappingProxyType(
    {"order": "orders", "assess": "assessments", "settlement": "settlements", "collection": "collections"}
)


@dataclass(frozen=True)
class BatchItemResult:
    """One request of a batch: its decision, or the error that refused it (rendered by the entrypoint)."""

    index: int
    member: str  # the body's list it stands in ("orders", ...)
    response: DecisionResponse | None = None
    error: EngineError | ServiceError | None = None

    @property
    def pointer(self) -> str:
        """Where the request is in the batch body: error pointers are relative to it."""
        return f"/{self.member}/{self.index}"


@dataclass(frozen=True)
class BatchResponse:
    """Every request's result, in the order given."""

    request_id: str | None
    items: list[BatchItemResult]
    dry_run: bool = False

    @property
    def decided(self) -> int:
        return sum(1 for i in self.items if i.response is not None)

    @property
    def events(self) -> bool:
        """Webhook events were queued (a case opened) and committed: deliver them after the commit."""
        return not self.dry_run and any(item.response is not None and item.response.events for item in self.items)


def batch_permission(dry_run: bool, version: str | None) -> str:
    """The permission a batch needs: ``decide``; a dry run ``dry_run``; naming a version ``simulate``."""
    if version is not None:
        return "simulate"
    return "dry_run" if dry_run else "decide"


def check_batch(caller: Caller, dry_run: bool, version: str | None) -> None:
    """Refuse a batch the caller may not ask for (403), or a version named for a real batch (422)."""
    permit(caller, batch_permission(dry_run, version))
    if version is not None and not dry_run:
        message = "`version` names the version a dry run decides by: add `dry_run=true`"
        raise RefusedField(message, code="version_needs_dry_run", parameter="version")


def decide_batch(
    uow: AbstractUnitOfWork,
    registry: PolicyRegistry,
    caller: Caller,
    kind: str,
    bodies: Sequence[Any],
    *,
    request_id: str | None = None,
    explain: bool = False,
    dry_run: bool = False,
    version: str | None = None,
) -> BatchResponse:
    """Decide every request of ``kind`` in one transaction: committed, each logged like a single
    decision; or, as a dry run, rolled back (see the module doc)."""
    check_batch(caller, dry_run, version)
    kind, member = kind_named(kind).name, BATCH_MEMBERS[kind]
    if len(bodies) > MAX_BATCH:
        message = f"at most {MAX_BATCH} {member}"
        raise InputInvalid([{"pointer": f"/{member}", "message": message, "code": "too_long"}])
    named = _named_version(uow, registry, version) if version is not None else None
    for attempt in range(_ATTEMPTS):
        try:
            if dry_run:
                opened: set[str] = set()  # the cases this dry run opens, rolled back: never named by id
                items = [
                    _dry_item(uow, registry, caller, kind, member, index, body, request_id, explain, named, opened)
                    for index, body in enumerate(bodies)
                ]
                uow.rollback()  # what the hooks wrote (cases, grades, webhook events) never commits
            else:
                items = [
                    _decide_item(uow, registry, caller, kind, member, index, body, request_id, explain)
                    for index, body in enumerate(bodies)
                ]
                uow.commit()
        except DuplicateRecord:
            uow.rollback()  # a concurrent writer took a key: start again from what it stored
            if attempt == _ATTEMPTS - 1:
                raise
            continue
        return BatchResponse(request_id, items, dry_run=dry_run)
    raise AssertionError("unreachable")  # pragma: no cover


def _named_version(uow: AbstractUnitOfWork, registry: PolicyRegistry, ref: str) -> VersionRecord:
    """The version ``?version=`` names (any status), compiled offline once: one that does not compile is a 409."""
    try:
        named = get_version(uow, ref, registry.default_policy_id)
    except VersionNotFound as error:
        raise RefusedField(error.message, code="unknown_policy_version", parameter="version") from None
    except AmbiguousVersionRef as error:
        raise RefusedField(error.message, code="ambiguous_policy_version", parameter="version") from None
    registry.offline(named)
    return named


def _item_id(envelope_id: str | None, batch_request_id: str | None, index: int) -> str | None:
    return envelope_id or (f"{batch_request_id}/{index}" if batch_request_id else None)


def _decide_item(
    uow: AbstractUnitOfWork,
    registry: PolicyRegistry,
    caller: Caller,
    kind: str,
    member: str,
    index: int,
    body: Any,
    batch_request_id: str | None,
    explain: bool,
) -> BatchItemResult:
    try:
        envelope = read_envelope(body)
        item_id = _item_id(envelope.request_id, batch_request_id, index)
        replayed = stored_answer(uow, kind, item_id, envelope.digest, explain)
        if replayed is not None:
            return BatchItemResult(index, member, response=replayed)
        prepared = evaluate(uow, registry, caller, kind, envelope, item_id, explain)
        return BatchItemResult(index, member, response=store_decision(uow, prepared))
    except DuplicateRecord:
        raise
    except (EngineError, ServiceError) as error:
        return BatchItemResult(index, member, error=error)


def _dry_item(
    uow: AbstractUnitOfWork,
    registry: PolicyRegistry,
    caller: Caller,
    kind: str,
    member: str,
    index: int,
    body: Any,
    batch_request_id: str | None,
    explain: bool,
    named: VersionRecord | None,
    opened: set[str],
) -> BatchItemResult:
    choose = partial(registry.for_dry_run, named=named, allow_draft=caller.can("simulate") or caller.can("publish"))
    try:
        envelope = read_envelope(body)
        item_id = _item_id(envelope.request_id, batch_request_id, index)
        prepared = evaluate(uow, registry, caller, kind, envelope, item_id, explain, choose=choose)
        return BatchItemResult(index, member, response=dry_answer(store_decision(uow, prepared, log=False), opened))
    except DuplicateRecord:
        raise
    except (EngineError, ServiceError) as error:
        return BatchItemResult(index, member, error=error)


def dry_answer(response: DecisionResponse, opened: set[str]) -> DecisionResponse:
    """A decision's answer marked as a dry run's: ``decision_id`` null and ``dry_run`` true, no events.

    A case the dry run opened (its id joins ``opened``) was rolled back: wherever it shows — the
    decision that opened it, a later one of the batch it held — it has no id, and its reason names
    the rule ``case``. Cases that exist keep theirs.
    """
    content: dict[str, Any] = json.loads(response.output_json)  # written by dumps: no Decimal in it
    case = content.get("case")
    if isinstance(case, dict):
        if case.get("effect") == "opened":
            opened.add(case["case_id"])
        if case.get("case_id") in opened:
            rule = f"case.{case['case_id']}"
            content["case"] = {**case, "case_id": None}
            content["reasons"] = [{**r, "rule": "case"} if r.get("rule") == rule else r for r in content["reasons"]]
    marked = {"decision_id": None, "dry_run": True, **{k: v for k, v in content.items() if k != "decision_id"}}
    return replace(response, decision_id="", output_json=dumps(marked), events=False)

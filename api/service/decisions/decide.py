"""Decisions as a service: decide and log in one transaction, idempotent replays, the log, reproduction.

A decision is made in two steps: :func:`prepare_decision` evaluates it (pure; it only reads which
version decides) and :func:`store_decision` writes its case, grade and log rows in a unit of work
without committing — the HTTP layer hands that step to the group committer
(:mod:`api.group_commit`), which stores concurrent decisions in one transaction, or, alone,
:func:`log_decision` stores and commits it with the retries below.

A decision request is the engine's input model plus two optional top-level fields:
``request_id`` (idempotency) and ``policy_version`` (pin a version instead of deciding by
``as_of``). The response::

    {decision_id, kind, request_id, created_at, policy: {id, version, sha256},
     outcome, reasons: [{rule, reason, source, outcome}], case (orders only),
     decision: <the engine's output, unchanged>, trace (with ?explain=true)}

``outcome`` is the headline: the order outcome (after the credit-case policy), the grade, the
settlement status, or the next collection step (``none``). ``reasons`` are the engine's reasons
plus those of the case policy; a decision without any (a settlement, an eligible assessment)
lists the rules that fired.

Guarantees:

* **Logged before it is returned.** The log row (input, full response, trace — the trace always,
  even when not returned) is written in the transaction that produces the response, and the
  transaction commits before the response leaves: a caller never holds a decision the log lacks.
* **Idempotent.** A ``request_id`` seen before with the same body (sha256 of its canonical JSON)
  returns the stored response byte for byte and writes nothing; with another body it is
  ``request_id_reused`` (409). Two concurrent requests with one id: the second insert hits the
  unique key, rolls back, and answers from the row the first one stored.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from api.adapters.db.records import DecisionRecord, VersionRecord
from api.adapters.db.repository import DecisionQuery
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.errors import (
    AmbiguousVersionRef,
    Conflict,
    DuplicateRecord,
    InvalidRequest,
    NoActiveVersion,
    NotFound,
    ServiceError,
    VersionNotFound,
)
from api.service.cases import apply_case_policy
from api.service.grades import record_assessment
from api.service.keys import Caller
from api.service.registry import PolicyRegistry, VersionNotApproved
from api.service.versions import get_version
from engine.decide import Decision, decide, json_pointer, parse_request
from engine.errors import EngineError
from engine.errors import InputInvalid as InvalidBody
from engine.ir import CompiledPolicy
from engine.models import AssessRequest, AssessResult, OrderRequest, OrderResult

__all__ = [
    "MAX_BATCH",
    "BatchItemResult",
    "BatchResponse",
    "DecisionResponse",
    "LogPage",
    "ReplayResponse",
    "RequestIdReused",
    "PreparedDecision",
    "log_decision",
    "prepare_decision",
    "store_decision",
    "dumps",
    "iso",
    "decide_batch",
    "get_decision",
    "query_log",
    "replay",
]

MAX_BATCH = 1000
MAX_DEPTH = 32  # deeper JSON is no decision input; refusing it early keeps hashing and parsing cheap
_ENVELOPE = ("request_id", "policy_version")
_ATTEMPTS = 3  # a concurrent writer can take a unique key at most once per key; retrying twice is plenty


class RequestIdReused(Conflict):
    """A request_id was used before with a different body."""

    code = "request_id_reused"


class RefusedField(InvalidRequest):
    """A well-formed body field the service cannot serve: no version in force on ``as_of``, an unknown pin."""

    def __init__(self, message: str, *, code: str, pointer: str) -> None:
        super().__init__(message, code=code)
        self.errors = [{"pointer": pointer, "message": message, "code": code}]


class DecisionNotFound(NotFound):
    """No logged decision has that id."""

    code = "decision_not_found"


def dumps(data: Any) -> str:
    """Compact JSON in insertion order: the exact bytes returned and stored."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def iso(at: dt.datetime) -> str:
    """A timestamp as ISO 8601 in UTC with a ``Z``, as every response writes it."""
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def canonical(data: Any) -> str:
    """Canonical JSON (sorted keys): what request hashes and replay comparisons are computed on."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


@dataclass(frozen=True)
class DecisionResponse:
    """A decision as returned: the stored response text, the trace text when explained, and whether replayed."""

    decision_id: str
    kind: str
    outcome: str
    policy: tuple[str, str, str]  # id, version label, sha256
    output_json: str
    trace_json: str | None
    replayed: bool
    events: bool = False  # webhook events were queued (a case opened): deliver them after the commit

    def body(self) -> bytes:
        """The response bytes; the trace is spliced in as the last member, so replays match byte for byte."""
        if self.trace_json is None:
            return self.output_json.encode("utf-8")
        return (self.output_json[:-1] + ',"trace":' + self.trace_json + "}").encode("utf-8")

    def content(self) -> dict[str, Any]:
        """The response as data."""
        data: dict[str, Any] = json.loads(self.output_json)
        if self.trace_json is not None:
            data["trace"] = json.loads(self.trace_json)
        return data


def _from_record(record: DecisionRecord, *, explain: bool, replayed: bool) -> DecisionResponse:
    return DecisionResponse(
        decision_id=record.decision_id,
        kind=record.kind,
        outcome=record.outcome,
        policy=(record.policy_id, record.policy_label, record.policy_sha256),
        output_json=record.output_json,
        trace_json=record.trace_json if explain else None,
        replayed=replayed,
    )


# --- the request envelope -------------------------------------------------------------------------
def _refused_part(value: Any, pointer: str = "", depth: int = 0) -> tuple[str, str, str] | None:
    """The first part of a body no decision input can hold: nesting past MAX_DEPTH, a NUL character
    (PostgreSQL cannot store one; SQLite can, and both must answer alike), or text that is not
    Unicode (a lone surrogate such as ``\\ud800``, which JSON can spell but UTF-8 cannot encode)."""
    if depth > MAX_DEPTH:
        return pointer, f"nested deeper than {MAX_DEPTH} levels", "too_deep"
    if isinstance(value, str):
        return _refused_text(value, pointer)
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        if isinstance(key, str) and (problem := _refused_text(key, pointer)) is not None:
            return pointer, f"a member name {problem[1]}", problem[2]
        found = _refused_part(item, pointer + json_pointer((key,)), depth + 1)
        if found is not None:
            return found
    return None


def _refused_text(text: str, pointer: str) -> tuple[str, str, str] | None:
    if "\x00" in text:
        return pointer, "contains a NUL character", "nul_character"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return pointer, "is not valid Unicode (a lone surrogate)", "invalid_unicode"
    return None


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether any part of a JSON value lies deeper than ``limit`` (walks containers only: cheap)."""
    stack = [(value, 0)]
    while stack:
        container, depth = stack.pop()
        children = container.values() if type(container) is dict else container
        if children and depth >= limit:
            return True
        stack.extend((child, depth + 1) for child in children if type(child) is dict or type(child) is list)
    return False


@dataclass(frozen=True)
class _Body:
    """A decision body taken apart: the engine input, the envelope, and the canonical text and its hash."""

    payload: dict[str, Any]
    request_id: str | None
    pinned: str | None
    text: str  # canonical JSON of the whole body: logged as the decision's input
    digest: str  # its sha256: what an idempotent replay is compared by


def _read_body(body: Any) -> _Body:
    """Split a body into the engine input and the optional request_id and policy_version; refuse
    what no input can hold (:func:`_refused_part`), pointing at it."""
    if not isinstance(body, dict):
        raise InvalidBody([{"pointer": "", "message": "the body must be a JSON object", "code": "dict_type"}])
    # The usual body is clean: prove it cheaply (the canonical text is needed anyway; JSON writes
    # a NUL as \u0000 and UTF-8 cannot encode a lone surrogate), and walk it for the pointer only
    # when something is suspect.
    text = canonical(body) if not _deeper_than(body, MAX_DEPTH) else None
    try:
        encoded = text.encode("utf-8") if text is not None else None
    except UnicodeEncodeError:
        encoded = None
    if text is None or encoded is None or "\\u0000" in text:
        refused = _refused_part(body)
        if refused is not None:
            raise InvalidBody([{"pointer": refused[0], "message": refused[1], "code": refused[2]}])
    if text is None or encoded is None:  # pragma: no cover - _refused_part finds whatever failed above
        raise InvalidBody([{"pointer": "", "message": "the body cannot be stored", "code": "invalid_body"}])
    problems = []
    found: dict[str, str | None] = {}
    for name, longest in zip(_ENVELOPE, (200, 100), strict=True):
        value = body.get(name)
        if value is not None and not (isinstance(value, str) and 0 < len(value.strip()) <= longest):
            message = f"must be a non-empty string of at most {longest} characters"
            problems.append({"pointer": f"/{name}", "message": message, "code": f"invalid_{name}"})
        found[name] = value.strip() if isinstance(value, str) else None
    if problems:
        raise InvalidBody(problems)
    payload = {k: v for k, v in body.items() if k not in _ENVELOPE}
    digest = hashlib.sha256(encoded).hexdigest()
    return _Body(payload, found["request_id"], found["policy_version"], text, digest)


# --- what a decision produces ---------------------------------------------------------------------
def _outcome(kind: str, output: Mapping[str, Any]) -> str:
    if kind == "order":
        return str(output["outcome"])
    if kind == "assess":
        return str(output["grade"])
    if kind == "settlement":
        return str(output["status"])
    step = output.get("next_step")
    return str(step["step"]) if step else "none"


def _plain(item: Any) -> Any:
    return item.model_dump(mode="json") if isinstance(item, BaseModel) else item


def _reasons(decision: Decision[Any, Any], output: Mapping[str, Any]) -> list[Any]:
    reasons = list(output.get("reasons") or [])
    if reasons:
        return reasons
    return [
        {"rule": fired["id"], "reason": "RULE_FIRED", "source": fired.get("source"), "outcome": None}
        for fired in decision.trace.get("rules_fired", [])
    ]


def _customer_id(request: BaseModel) -> str | None:
    customer = getattr(request, "customer", None)
    return getattr(customer, "id", None)


@dataclass(frozen=True)
class PreparedDecision:
    """A decision evaluated (pure: nothing written yet) and everything storing it needs.

    Evaluating and storing are apart so the service can evaluate on the event loop and hand the
    store step to the group committer (:mod:`api.group_commit`), which stores the decisions of
    concurrent requests in one transaction.
    """

    kind: str
    caller: Caller
    request: BaseModel
    request_id: str | None
    digest: str
    explain: bool
    version: VersionRecord
    compiled: CompiledPolicy
    decision: Decision[Any, Any]
    output: dict[str, Any]
    input_json: str
    trace_json: str


def prepare_decision(
    uow: AbstractUnitOfWork,
    registry: PolicyRegistry,
    caller: Caller,
    kind: str,
    body: Any,
    *,
    request_id: str | None = None,
    explain: bool = False,
) -> PreparedDecision | DecisionResponse:
    """Evaluate a decision body (``request_id`` may also come in the body); nothing is written.

    ``uow`` is only read (which version decides). A body the service refuses raises the error,
    unless its ``request_id`` was answered before with this very body: an idempotent request gets
    its original answer whatever changed since (its version retired, say), as a DecisionResponse.
    """
    read = _read_body(body)
    request_id = read.request_id or request_id
    try:
        return _evaluate(uow, registry, caller, kind, read, request_id, explain)
    except (EngineError, ServiceError):
        stored = _stored(uow, kind, request_id, read.digest, explain)
        if stored is not None:
            return stored
        raise


def _evaluate(
    uow: AbstractUnitOfWork,
    registry: PolicyRegistry,
    caller: Caller,
    kind: str,
    body: _Body,
    request_id: str | None,
    explain: bool,
) -> PreparedDecision:
    request = parse_request(kind, body.payload)
    as_of: dt.date = request.as_of  # type: ignore[attr-defined]  # every input model has as_of
    version, compiled = _deciding_version(uow, registry, caller, as_of, body.pinned)
    decision = decide(compiled, kind, request)
    return PreparedDecision(
        kind=kind,
        caller=caller,
        request=request,
        request_id=request_id,
        digest=body.digest,
        explain=explain,
        version=version,
        compiled=compiled,
        decision=decision,
        output=decision.output(),
        input_json=body.text,
        trace_json=canonical(decision.trace),
    )


def store_decision(uow: AbstractUnitOfWork, prepared: PreparedDecision) -> DecisionResponse:
    """Write a prepared decision (its case, grade and log rows) in ``uow``; the response. No commit.

    A ``request_id`` logged before (or by a concurrent request) makes the log insert raise
    DuplicateRecord, as does a concurrent first hold of the same order: the caller rolls back and
    retries (:func:`log_decision`), then seeing what the other request stored.
    """
    kind, request, decision, output, version = (
        prepared.kind,
        prepared.request,
        prepared.decision,
        prepared.output,
        prepared.version,
    )
    decision_id = str(uuid.uuid4())
    created_at = uow.now()
    outcome = _outcome(kind, output)
    reasons = _reasons(decision, output)
    extra: dict[str, Any] = {}
    events = False
    # The case and grade rows refer to the log row, inserted after them: the foreign keys are
    # checked at commit, so the response (which holds the case) can be logged whole.
    if isinstance(request, OrderRequest) and isinstance(decision.result, OrderResult):
        effect = apply_case_policy(
            uow, prepared.compiled, request, decision.result, decision_id=decision_id, caller=prepared.caller.name
        )
        outcome = effect.outcome
        reasons += [_plain(r) for r in effect.reasons]
        extra["case"] = effect.case
        events = effect.case is not None and effect.case.get("effect") == "opened"
    if isinstance(request, AssessRequest) and isinstance(decision.result, AssessResult):
        record_assessment(uow, decision.result, policy_sha256=version.sha256, decision_id=decision_id, at=created_at)
    response = {
        "decision_id": decision_id,
        "kind": kind,
        "request_id": prepared.request_id,
        "created_at": iso(created_at),
        "policy": {"id": version.policy_id, "version": version.label, "sha256": version.sha256},
        "outcome": outcome,
        "reasons": reasons,
        **extra,
        "decision": output,
    }
    output_json = dumps(response)
    uow.decisions.add(
        DecisionRecord(
            decision_id=decision_id,
            kind=kind,
            request_id=prepared.request_id,
            request_hash=prepared.digest,
            customer_id=_customer_id(request),
            outcome=outcome,
            created_at=created_at,
            caller=prepared.caller.name,
            policy_id=version.policy_id,
            policy_sha256=version.sha256,
            policy_label=version.label,
            input_json=prepared.input_json,
            output_json=output_json,
            trace_json=prepared.trace_json,
        )
    )
    return DecisionResponse(
        decision_id,
        kind,
        outcome,
        (version.policy_id, version.label, version.sha256),
        output_json,
        prepared.trace_json if prepared.explain else None,
        replayed=False,
        events=events,
    )


def _deciding_version(
    uow: AbstractUnitOfWork, registry: PolicyRegistry, caller: Caller, as_of: dt.date, pinned: str | None
) -> tuple[VersionRecord, CompiledPolicy]:
    """The version named by the body; what it names wrongly is a 422 pointing at the field."""
    try:
        return registry.for_request(uow, None, as_of, pinned, allow_draft=caller.can("publish"))
    except NoActiveVersion as error:
        raise RefusedField(error.message, code=error.code, pointer="/as_of") from None
    except (VersionNotFound, AmbiguousVersionRef) as error:
        code = "unknown_policy_version" if isinstance(error, VersionNotFound) else "ambiguous_policy_version"
        raise RefusedField(error.message, code=code, pointer="/policy_version") from None
    except VersionNotApproved as error:
        raise RefusedField(error.message, code=error.code, pointer="/policy_version") from None


def _stored(
    uow: AbstractUnitOfWork, kind: str, request_id: str | None, digest: str, explain: bool
) -> DecisionResponse | None:
    """The stored response of an earlier request with this id and body; 409 for another body."""
    if request_id is None:
        return None
    stored = uow.decisions.get_by_request_id(request_id)
    if stored is None:
        return None
    if stored.request_hash != digest or stored.kind != kind:
        raise RequestIdReused(
            f"request_id {request_id!r} was used at {iso(stored.created_at)} for another "
            f"{'request' if stored.kind == kind else stored.kind + ' decision'}; use a new request_id"
        )
    return _from_record(stored, explain=explain, replayed=True)


def log_decision(uow: AbstractUnitOfWork, prepared: PreparedDecision) -> DecisionResponse:
    """Store a prepared decision in its own transaction and commit it; the response.

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
            stored = _stored(uow, prepared.kind, prepared.request_id, prepared.digest, prepared.explain)
            if stored is not None:
                return stored
            if attempt == _ATTEMPTS - 1:
                raise
        except (EngineError, ServiceError):
            uow.rollback()
            stored = _stored(uow, prepared.kind, prepared.request_id, prepared.digest, prepared.explain)
            if stored is not None:
                return stored
            raise
    raise AssertionError("unreachable")  # pragma: no cover


# --- batches --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchItemResult:
    """One order of a batch: its decision, or the error that refused it (rendered by the HTTP layer)."""

    index: int
    response: DecisionResponse | None = None
    error: EngineError | ServiceError | None = None

    @property
    def pointer(self) -> str:
        """Where the order is in the batch body: error pointers are relative to it."""
        return f"/orders/{self.index}"


@dataclass(frozen=True)
class BatchResponse:
    """Every order's result, in the order given."""

    request_id: str | None
    items: list[BatchItemResult]

    @property
    def decided(self) -> int:
        return sum(1 for i in self.items if i.response is not None)


def decide_batch(
    uow: AbstractUnitOfWork,
    registry: PolicyRegistry,
    caller: Caller,
    orders: Sequence[Any],
    *,
    request_id: str | None = None,
    explain: bool = False,
) -> BatchResponse:
    """Decide up to :data:`MAX_BATCH` orders in one transaction; each is logged like a single decision.

    A refused order gets its error in place and the others are still decided. Orders without
    their own ``request_id`` get ``<batch request_id>/<index>`` when the batch has one, so a
    repeated batch replays order by order.
    """
    if len(orders) > MAX_BATCH:
        raise InvalidBody([{"pointer": "/orders", "message": f"at most {MAX_BATCH} orders", "code": "too_long"}])
    for attempt in range(_ATTEMPTS):
        try:
            items = [
                _batch_item(uow, registry, caller, index, body, request_id, explain)
                for index, body in enumerate(orders)
            ]
            uow.commit()
        except DuplicateRecord:
            uow.rollback()  # a concurrent writer took a key: start again from what it stored
            if attempt == _ATTEMPTS - 1:
                raise
            continue
        return BatchResponse(request_id, items)
    raise AssertionError("unreachable")  # pragma: no cover


def _batch_item(
    uow: AbstractUnitOfWork,
    registry: PolicyRegistry,
    caller: Caller,
    index: int,
    body: Any,
    batch_request_id: str | None,
    explain: bool,
) -> BatchItemResult:
    try:
        read = _read_body(body)
        item_id = read.request_id or (f"{batch_request_id}/{index}" if batch_request_id else None)
        replayed = _stored(uow, "order", item_id, read.digest, explain)
        if replayed is not None:
            return BatchItemResult(index, response=replayed)
        prepared = _evaluate(uow, registry, caller, "order", read, item_id, explain)
        return BatchItemResult(index, response=store_decision(uow, prepared))
    except DuplicateRecord:
        raise
    except (EngineError, ServiceError) as error:
        return BatchItemResult(index, error=error)


# --- the log --------------------------------------------------------------------------------------
class InvalidCursor(InvalidRequest):
    """A page cursor that this service did not hand out."""

    code = "invalid_cursor"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.errors = [{"parameter": "cursor", "in": "query", "message": message, "code": self.code}]


def _summary(record: DecisionRecord) -> dict[str, Any]:
    return {
        "decision_id": record.decision_id,
        "kind": record.kind,
        "request_id": record.request_id,
        "customer_id": record.customer_id,
        "outcome": record.outcome,
        "created_at": iso(record.created_at),
        "caller": record.caller,
        "policy": {"id": record.policy_id, "version": record.policy_label, "sha256": record.policy_sha256},
    }


def get_decision(uow: AbstractUnitOfWork, decision_id: str) -> dict[str, Any]:
    """A logged decision in full: what came in, what went out, the trace."""
    record = uow.decisions.get(decision_id)
    if record is None:
        raise DecisionNotFound(f"no logged decision has id {decision_id!r}")
    return {
        **_summary(record),
        "request_hash": record.request_hash,
        "input": json.loads(record.input_json),
        "response": json.loads(record.output_json),
        "trace": json.loads(record.trace_json) if record.trace_json else None,
    }


@dataclass(frozen=True)
class LogPage:
    """One page of the log, newest first; ``next_cursor`` fetches the next (None on the last page)."""

    items: list[dict[str, Any]]
    next_cursor: str | None


def _cursor(record: DecisionRecord) -> str:
    raw = json.dumps([record.created_at.isoformat(), record.decision_id]).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _after(cursor: str) -> tuple[dt.datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, decision_id = json.loads(raw)
        when = dt.datetime.fromisoformat(at)
        if when.tzinfo is None or not isinstance(decision_id, str) or not decision_id.isprintable():
            raise ValueError(cursor)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise InvalidCursor("the cursor is not one this service returned; start again without it") from None
    return when, decision_id


def _utc(at: dt.datetime | None) -> dt.datetime | None:
    """In UTC, the zone of every stored timestamp (no offset reads as UTC); clamped at the calendar's ends."""
    if at is None:
        return None
    if at.tzinfo is None:
        return at.replace(tzinfo=dt.UTC)
    try:
        return at.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01T00:00+05:00 is before the first representable instant
        return (dt.datetime.min if at.year == 1 else dt.datetime.max).replace(tzinfo=dt.UTC)


def query_log(
    uow: AbstractUnitOfWork,
    *,
    customer_id: str | None = None,
    kind: str | None = None,
    outcome: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    policy_version: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> LogPage:
    """Logged decisions matching every filter given, newest first, ``limit`` at a time."""
    sha256 = get_version(uow, policy_version).sha256 if policy_version else None
    since, until = _utc(since), _utc(until)
    query = DecisionQuery(
        customer_id=customer_id,
        kind=kind,
        outcome=outcome,
        since=since,
        until=until,
        policy_sha256=sha256,
        limit=limit + 1,  # one more tells whether there is a next page
        after=_after(cursor) if cursor else None,
    )
    found = uow.decisions.query(query)
    page = found[:limit]
    return LogPage([_summary(r) for r in page], _cursor(page[-1]) if len(found) > limit else None)


# --- reproduction ---------------------------------------------------------------------------------
def differences(old: Any, new: Any, pointer: str = "") -> Iterator[dict[str, Any]]:
    """Every leaf where two JSON values differ, as ``{pointer, old, new}`` (absent is None)."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys()):
            yield from differences(old.get(key), new.get(key), pointer + json_pointer((key,)))
    elif isinstance(old, list) and isinstance(new, list):
        for index in range(max(len(old), len(new))):
            yield from differences(
                old[index] if index < len(old) else None, new[index] if index < len(new) else None, f"{pointer}/{index}"
            )
    elif old != new or type(old) is not type(new):
        yield {"pointer": pointer, "old": old, "new": new}


def _ref(version: VersionRecord) -> dict[str, str]:
    return {"id": version.policy_id, "version": version.label, "sha256": version.sha256}


@dataclass(frozen=True)
class ReplayResponse:
    """A logged decision evaluated again: under its own version it must match exactly."""

    decision_id: str
    kind: str
    logged_under: dict[str, str]
    replayed_under: dict[str, str]
    same_version: bool
    matches: bool
    differences: list[dict[str, Any]]
    decision: dict[str, Any] | None
    error: dict[str, str] | None = None

    def content(self) -> dict[str, Any]:
        return dict(vars(self))


def replay(
    uow: AbstractUnitOfWork, registry: PolicyRegistry, decision_id: str, against: str | None = None
) -> ReplayResponse:
    """Evaluate a logged input again under its own version, or ``against`` another (writes nothing).

    Under its own version the engine output must be byte-identical (canonical JSON) to the logged
    one. Under another version the differences show what that version would have decided; the
    ``/policy`` member, which names the version, is left out of them. A version may be a draft
    here: "what would this draft change" is what an approver asks before approving it.
    """
    record = uow.decisions.get(decision_id)
    if record is None:
        raise DecisionNotFound(f"no logged decision has id {decision_id!r}")
    payload = _read_body(json.loads(record.input_json)).payload
    own = get_version(uow, record.policy_sha256)
    version = own if against is None else get_version(uow, against, record.policy_id)
    old = json.loads(record.output_json)["decision"]
    same = version.sha256 == own.sha256
    new: dict[str, Any] | None = None
    refused: dict[str, str] | None = None
    try:
        new = decide(registry.compiled(version), record.kind, payload).output()
    except EngineError as error:  # the other version refuses the input: that is the difference
        refused = {"code": error.code, "message": error.message}
    found = list(differences(old, new))
    if not same:
        found = [d for d in found if not (d["pointer"] + "/").startswith("/policy/")]
    return ReplayResponse(
        decision_id=record.decision_id,
        kind=record.kind,
        logged_under=_ref(own),
        replayed_under=_ref(version),
        same_version=same,
        matches=new is not None and (canonical(old) == canonical(new) if same else not found),
        differences=found,
        decision=new,
        error=refused,
    )

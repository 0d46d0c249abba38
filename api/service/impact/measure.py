"""The auditor's use case :func:`measure_impact`: what version B would have decided on the decisions version A logged.

Given only a unit of work on the database (and a registry for compiled policies), so a CLI, a
route or a background job call it alike; ``progress(done, total)`` is called after every page.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from api.adapters.db.records import VersionRecord
from api.adapters.db.repository import LogScan
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.errors import AmbiguousVersionRef, InvalidRequest, RefusedField, VersionNotFound, VersionUnusable
from api.service.decisions.compare import IDENTITIES, TRACE_IDENTITIES, compare
from api.service.decisions.envelope import ENVELOPE_FIELDS
from api.service.decisions.response import canonical_rates
from api.service.impact.evaluate import Finding, Pair, evaluate_page
from api.service.impact.tally import sample_ids, tally_kind
from api.service.jsontext import loads
from api.service.registry import PolicyRegistry
from api.service.versions import get_version
from engine.compiler import compile_policy
from engine.decide import DECISION_KINDS, decide, kind_named
from engine.errors import EngineError
from engine.ir import CompiledPolicy
from engine.matchers import twin_matcher
from policy.errors import PolicyInvalid
from policy.validate import load_policy

__all__ = [
    "MAX_SAMPLE",
    "MAX_TOP",
    "ImpactReport",
    "ImpactRequest",
    "Progress",
    "Sample",
    "impact_request",
    "measure_impact",
    "stored_version",
]

Progress = Callable[[int, int], None]  # (decisions done, decisions in all)
PAGE_SIZE = 20_000  # rows of the log per read: ~60 MB of JSON text at most
MAX_SAMPLE = 50
MAX_TOP = 100
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class ImpactRequest:
    """What to measure: ``from_ref`` decided, ``to_ref`` (or a policy text) is the candidate.

    ``since``/``until`` bound the day each decision is about (its ``as_of``), both inclusive;
    ``kind`` keeps one decision kind; ``sample`` decisions per transition are explained rule by
    rule; ``top`` rows in each list of largest changes.
    """

    from_ref: str
    to_ref: str | None = None
    to_text: str | None = None  # a policy file's text instead of a stored version (the CLI's B)
    to_file: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    kind: str | None = None
    sample: int = 3
    top: int = 10
    page_size: int = PAGE_SIZE


@dataclass(frozen=True)
class Side:
    """One version of the comparison: its name, and the compiled form both evaluators use."""

    policy_id: str
    version: str
    sha256: str
    status: str | None  # None: a policy file
    source: str  # "stored" or "file:<path>"
    compiled: CompiledPolicy

    def content(self) -> dict[str, Any]:
        return {
            "policy_id": self.policy_id,
            "version": self.version,
            "sha256": self.sha256,
            "status": self.status,
            "source": self.source,
            "currency": self.compiled.meta.currency,
        }


@dataclass(frozen=True)
class Sample:
    """One decision that changes, explained: what differs in the decision and which rules fired differently."""

    kind: str
    transition: tuple[str, str]
    decision_id: str
    customer_id: str | None
    as_of: str
    differences: tuple[str, ...]
    fired_only_under_from: tuple[str, ...]
    fired_only_under_to: tuple[str, ...]
    refused: dict[str, str] | None = None


@dataclass
class ImpactReport:
    """The impact of B over the decisions A logged in the period (see :mod:`api.service.impact`)."""

    request: ImpactRequest
    from_side: Side
    to_side: Side
    measured_at: dt.datetime
    decided_by_from: int = 0
    not_decided_by_from: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    per_decision: int = 0
    kinds: dict[str, dict[str, Any]] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def reproduced(self) -> int:
        return self.decided_by_from - len(self.findings)


def stored_version(uow: AbstractUnitOfWork, ref: str, pointer: str) -> VersionRecord:
    """The stored version ``ref`` names (drafts too), refused as a field of the request (``/from``, ``/to``)."""
    try:
        return get_version(uow, ref)
    except VersionNotFound as error:
        raise RefusedField(error.message, code="unknown_policy_version", pointer=pointer) from None
    except AmbiguousVersionRef as error:
        raise RefusedField(error.message, code="ambiguous_policy_version", pointer=pointer) from None


def _stored(uow: AbstractUnitOfWork, ref: str, pointer: str, registry: PolicyRegistry) -> tuple[VersionRecord, Side]:
    record = stored_version(uow, ref, pointer)
    # The twin, never durable rulesets: drafts and replays register nothing (their memory is never freed).
    compiled = registry.offline(record)
    side = Side(record.policy_id, record.label, record.sha256, record.status, "stored", compiled)
    return record, side


def _from_text(text: str, file: str) -> Side:
    try:
        compiled = compile_policy(load_policy(text, file), factory=twin_matcher)
    except (PolicyInvalid, EngineError) as error:
        raise VersionUnusable(f"{file} does not compile: {error}") from None
    meta = compiled.meta
    return Side(meta.policy_id, meta.version, meta.sha256, None, f"file:{file}", compiled)


def _refused(pointer: str, message: str, code: str) -> InvalidRequest:
    error = InvalidRequest(f"{pointer}: {message}")
    error.errors = [{"pointer": pointer, "message": message, "code": code}]
    return error


def _date(fields: Mapping[str, Any], name: str) -> dt.date | None:
    value = fields.get(name)
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    try:
        if isinstance(value, str) and _ISO_DAY.fullmatch(value):
            return dt.date.fromisoformat(value)
    except ValueError:
        pass  # 2026-02-30: refused below
    raise _refused(f"/{name}", "a date written YYYY-MM-DD", "date_format")


def _whole(fields: Mapping[str, Any], name: str, default: int) -> int:
    value = fields.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _refused(f"/{name}", "a whole number", "integer_type")
    return value


def _ref(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or not value.strip():
        raise _refused(f"/{name}", "name a stored version: a label, a sha256 or 8+ of its first hex digits", "missing")
    return value


def impact_request(
    fields: Mapping[str, Any], *, to_text: str | None = None, to_file: str | None = None
) -> ImpactRequest:
    """The request ``POST /v1/impact``'s body asks for, checked; the one reading of it (route, CLI, impact job).

    ``fields`` as in the body: ``from``, ``to`` (left out when ``to_text`` gives the candidate's
    policy text instead, the CLI's file), ``since`` and ``until`` (dates or ISO text), ``kind``,
    ``sample`` and ``top``. Refused, with the field named: a missing version, a date that is not
    one, an inverted range, an unknown kind, a sample or top out of bounds.
    """
    request = ImpactRequest(
        from_ref=_ref(fields, "from"),
        to_ref=None if to_text is not None else _ref(fields, "to"),
        to_text=to_text,
        to_file=to_file,
        since=_date(fields, "since"),
        until=_date(fields, "until"),
        kind=None if fields.get("kind") is None else str(fields["kind"]),
        sample=_whole(fields, "sample", 3),
        top=_whole(fields, "top", 10),
    )
    _check(request)
    return request


def _check(request: ImpactRequest) -> None:
    if request.kind is not None:
        kind_named(request.kind)  # an unknown kind is refused, naming the known ones
    if request.since is not None and request.until is not None and request.until < request.since:
        message = f"until ({request.until}) must fall on or after since ({request.since})"
        raise RefusedField(message, code="inverted_range", pointer="/until")
    if not 0 <= request.sample <= MAX_SAMPLE:
        raise InvalidRequest(f"sample must be 0 to {MAX_SAMPLE}", code="invalid_limit")
    if not 1 <= request.top <= MAX_TOP:
        raise InvalidRequest(f"top must be 1 to {MAX_TOP}", code="invalid_limit")
    if (request.to_ref is None) == (request.to_text is None):
        raise InvalidRequest("name the candidate: a stored version or a policy text, one of them")


def measure_impact(
    uow: AbstractUnitOfWork, registry: PolicyRegistry, request: ImpactRequest, progress: Progress | None = None
) -> ImpactReport:
    """Evaluate again, under ``from`` and under ``to``, every decision ``from`` logged in the period; the report.

    Reads only. Each record must first reproduce under ``from`` (else it is a finding, left out);
    the rest are compared and summed per kind, and ``sample`` decisions per transition explained.
    """
    started = dt.datetime.now(dt.UTC)
    _check(request)
    record_a, side_a = _stored(uow, request.from_ref, "/from", registry)
    if request.to_ref is not None:
        side_b = _stored(uow, request.to_ref, "/to", registry)[1]
    else:
        side_b = _from_text(request.to_text or "", request.to_file or "candidate.yaml")
    pair = Pair.of(side_a.compiled, side_b.compiled)
    scan = LogScan(request.kind, request.since, request.until, record_a.sha256)
    report = ImpactReport(request, side_a, side_b, started)
    for kind, sha256, label, count in uow.decisions.count_by_version(scan):
        if sha256 == record_a.sha256:
            report.decided_by_from += count
        else:
            report.not_decided_by_from.append({"kind": kind, "version": label, "sha256": sha256, "decisions": count})
    tables: dict[str, list[pl.DataFrame]] = {kind: [] for kind in DECISION_KINDS}
    done = 0
    if progress is not None:
        progress(0, report.decided_by_from)
    for page in uow.decisions.scan(scan, request.page_size):
        by_kind: dict[str, list[Any]] = {}
        for row in page:
            by_kind.setdefault(row.kind, []).append(row)
        for kind, rows in by_kind.items():
            evaluated = evaluate_page(kind, rows, pair)
            if evaluated.fields.height:
                tables[kind].append(evaluated.fields)
            report.findings += evaluated.findings
            report.per_decision += evaluated.per_decision
        done += len(page)
        if progress is not None:
            progress(done, max(done, report.decided_by_from))
    currency = side_a.compiled.meta.currency
    for kind in DECISION_KINDS:
        if not tables[kind]:
            continue
        frame = pl.concat(tables[kind], how="vertical") if len(tables[kind]) > 1 else tables[kind][0]
        report.kinds[kind] = tally_kind(kind, frame, currency=currency, top=request.top)
        for source, target, ids in sample_ids(frame, kind, request.sample):
            report.samples += [_explain(uow, pair, kind, (source, target), i) for i in ids]
    report.findings.sort(key=lambda f: (f.kind, f.as_of, f.decision_id))
    report.seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
    return report


def _explain(uow: AbstractUnitOfWork, pair: Pair, kind: str, transition: tuple[str, str], decision_id: str) -> Sample:
    """One sampled decision on the twin under both versions, compared as replay compares (by identity)."""
    record = uow.decisions.get(decision_id)
    assert record is not None  # read from the log a moment ago, and the log is append-only
    body = loads(record.input_json)
    payload = {k: v for k, v in body.items() if k not in ENVELOPE_FIELDS}
    before = decide(pair.compiled_a, kind, payload)
    try:
        after = decide(pair.compiled_b, kind, payload)
    except EngineError as error:
        refused = {"code": error.code, "message": error.message}
        return Sample(kind, transition, decision_id, record.customer_id, record.as_of.isoformat(), (), (), (), refused)
    old, new = canonical_rates(before.output()), canonical_rates(after.output())
    found = compare(old, new, IDENTITIES[kind], other_version=True)
    fired = compare(
        {"rules_fired": before.trace.get("rules_fired", [])},
        {"rules_fired": after.trace.get("rules_fired", [])},
        TRACE_IDENTITIES,
        other_version=True,
        prefix="trace",
    )
    only_a = sorted(str(d.old["id"]) for d in fired if d.change == "removed" and isinstance(d.old, dict))
    only_b = sorted(str(d.new["id"]) for d in fired if d.change == "added" and isinstance(d.new, dict))
    details = [d for d in fired if d.change == "changed"]  # the same rule fired with other values
    return Sample(
        kind,
        transition,
        decision_id,
        record.customer_id,
        record.as_of.isoformat(),
        tuple(d.text() for d in found + details),
        tuple(only_a),
        tuple(only_b),
    )

"""One page of the log evaluated again: under the version that decided it (must reproduce) and the candidate.

Inputs the request frames hold go through the vectorised evaluator, a frame per kind (and per
day for assessments: their date is an argument of the evaluation); the few they cannot hold (an
order with an inline credit file, a settlement with several payments) are decided one by one on
the plain-Python twin. Both evaluators give the engine's output exactly (proven by the
differential tests), so the verdict does not depend on the path taken.

**Reproduction.** The output under the deciding version, in the canonical rate form, must be the
logged ``decision`` member byte for byte. The logged response ends with that member, so it is
compared as text first; a record whose text differs is parsed and compared as replay compares it
(canonical JSON: key order and the rate form of older logs are no difference); one that still
differs is a finding, with what differs (:func:`api.service.decisions.compare.compare`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl

from api.adapters.db.records import LoggedInput
from api.errors import MalformedBody
from api.service.decisions.compare import IDENTITIES, compare
from api.service.decisions.envelope import ENVELOPE_FIELDS
from api.service.decisions.response import canonical_rates
from api.service.impact.fields import SCHEMAS, empty_fields, fields_of_frame, fields_of_output
from api.service.jsontext import canonical, dumps, loads
from engine.decide import decide
from engine.errors import EngineError, FrameError
from engine.facts import quantize
from engine.ir import CompiledPolicy
from engine.vectorised import VectorisedPolicy, frame_of
from engine.vectorised.frames import NUMBER, SPECS

__all__ = ["RATELESS_KINDS", "Evaluated", "Finding", "Pair", "evaluate_page"]

_MARK = ',"decision":'  # the last member of every logged response
_MOST_DIFFERENCES = 20  # per finding: enough to see what went wrong
# Kinds whose output holds no rate member (response.RATE_KEYS): nothing for canonical_rates to rewrite.
RATELESS_KINDS = frozenset({"order"})
# Credit-file numbers the frames hold at 4 decimals where the engine keeps the digits sent (0.97, 15).
_AS_SENT = frozenset(name for name, spec in SPECS["assess"].items() if spec.dtype == NUMBER)


@dataclass(frozen=True)
class Pair:
    """The deciding version and the candidate, each compiled for the twin and built for the vectorised path."""

    compiled_a: CompiledPolicy
    compiled_b: CompiledPolicy
    vectorised_a: VectorisedPolicy
    vectorised_b: VectorisedPolicy

    @classmethod
    def of(cls, compiled_a: CompiledPolicy, compiled_b: CompiledPolicy) -> Pair:
        return cls(compiled_a, compiled_b, VectorisedPolicy(compiled_a), VectorisedPolicy(compiled_b))


@dataclass(frozen=True)
class Finding:
    """A logged decision its own version no longer reproduces: an audit finding, left out of the comparison."""

    decision_id: str
    kind: str
    as_of: dt.date
    differences: tuple[str, ...]
    refused: dict[str, str] | None = None  # the version now refuses the input it decided

    def content(self) -> dict[str, Any]:
        return {
            "decision_id": self.decision_id,
            "kind": self.kind,
            "as_of": self.as_of.isoformat(),
            "differences": list(self.differences),
            "refused": self.refused,
        }


@dataclass
class Evaluated:
    """A page evaluated: the fields of the reproduced decisions, the findings, how many went per decision."""

    fields: pl.DataFrame
    findings: list[Finding] = field(default_factory=list)
    per_decision: int = 0


def _payload(row: LoggedInput) -> dict[str, Any] | None:
    """The engine input of a logged decision; None when the logged text is no JSON object (an edited log)."""
    try:
        body = loads(row.input_json)
    except MalformedBody:
        return None
    if not isinstance(body, dict):
        return None
    if any(name in body for name in ENVELOPE_FIELDS):
        return {k: v for k, v in body.items() if k not in ENVELOPE_FIELDS}
    return body


def _logged_decision(row: LoggedInput) -> Any:
    """The ``decision`` member of a logged response (None when the logged text is not a response)."""
    try:
        response = loads(row.output_json)
    except MalformedBody:
        return None
    return response.get("decision") if isinstance(response, dict) else None


def _framable(kind: str, payload: dict[str, Any]) -> bool:
    """Whether the request frames hold this input (else it is decided one by one)."""
    if kind == "order":
        customer = payload.get("customer")
        return not (isinstance(customer, dict) and customer.get("credit_file") is not None)
    if kind == "settlement":
        payments = payload.get("payments")
        return not (isinstance(payments, list) and len(payments) > 1)
    return True


def _as_sent(payload: dict[str, Any], output: dict[str, Any]) -> dict[str, Any]:
    """An assessment output with each factor's value as the engine shows it: the number as sent (at most
    4 decimals), where the customers frame holds every number at 4 decimals (0.97 is 0.9700 there)."""
    for factor in output.get("factors") or ():
        if factor["input"] not in _AS_SENT or factor["value"] is None:
            continue
        section, name = factor["input"].split(".")
        sent = ((payload.get("credit_file") or {}).get(section) or {}).get(name)
        if sent is not None and not isinstance(sent, bool):
            factor["value"] = format(quantize(Decimal(str(sent))), "f")
    return output


def _reproduces(kind: str, row: LoggedInput, output: dict[str, Any]) -> Finding | None:
    """None when ``output`` is the logged decision (see the module doc); else the finding."""
    if "error" in output and len(output) == 1:
        refused = dict(output["error"])
        return Finding(row.decision_id, kind, row.as_of, (f"now refused: {refused['code']}",), refused)
    ours = output if kind in RATELESS_KINDS else canonical_rates(output)
    logged_text = row.output_json
    mark = logged_text.rfind(_MARK)
    if mark >= 0 and logged_text.endswith("}") and logged_text[mark + len(_MARK) : -1] == dumps(ours):
        return None
    logged = canonical_rates(_logged_decision(row))
    if canonical(logged) == canonical(ours):
        return None
    found = compare(logged, ours, IDENTITIES[kind], other_version=False)
    texts = tuple(d.text() for d in found[:_MOST_DIFFERENCES])
    more = len(found) - _MOST_DIFFERENCES
    return Finding(row.decision_id, kind, row.as_of, texts + ((f"… and {more} more",) if more > 0 else ()))


def _decided(compiled: CompiledPolicy, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    try:
        return decide(compiled, kind, payload).output()
    except EngineError as error:
        return {"error": {"code": error.code, "message": error.message}}


def _one_by_one(kind: str, rows: Sequence[LoggedInput], payloads: Sequence[dict[str, Any]], pair: Pair) -> Evaluated:
    found: list[dict[str, Any]] = []
    findings: list[Finding] = []
    for row, payload in zip(rows, payloads, strict=True):
        output_a = _decided(pair.compiled_a, kind, payload)
        finding = _reproduces(kind, row, output_a)
        if finding is not None:
            findings.append(finding)
            continue
        output_b = _decided(pair.compiled_b, kind, payload)
        subject = {"decision_id": row.decision_id, "as_of": row.as_of, "created_at": row.created_at}
        found.append(fields_of_output(kind, subject, payload, output_a, output_b))
    table = pl.DataFrame(found, schema=dict(SCHEMAS[kind])) if found else empty_fields(kind)
    return Evaluated(table, findings, per_decision=len(rows))


def _evaluate(
    vectorised: VectorisedPolicy, kind: str, frame: pl.DataFrame, as_of: dt.date | None, days: pl.Series | None
) -> pl.DataFrame:
    if kind == "assess":
        assert as_of is not None and days is not None
        result = vectorised.assess(frame, as_of=as_of)
        if as_of != _ANCHOR:
            return result
        # Dated from each assessment's own day (see _ANCHOR): the same sum the evaluator makes.
        review = (days.cast(pl.Int32) + pl.col("review_interval_days").cast(pl.Int32)).cast(pl.Date)
        return result.with_columns(pl.when(pl.col("next_review").is_not_null()).then(review).alias("next_review"))
    if kind == "order":
        return vectorised.check_orders(frame)
    if kind == "settlement":
        return vectorised.settle(frame)
    return vectorised.plan_collection(frame)


def _vectorised(
    kind: str, rows: Sequence[LoggedInput], payloads: Sequence[dict[str, Any]], pair: Pair, as_of: dt.date | None
) -> Evaluated:
    original = payloads
    if kind == "assess":  # the assessment date is an argument, not a column
        payloads = [{k: v for k, v in p.items() if k != "as_of"} for p in payloads]
    try:
        frame = frame_of(kind, payloads)  # type: ignore[arg-type]
    except (FrameError, ArithmeticError, ValueError, TypeError, pl.exceptions.PolarsError):
        # An input the frames cannot hold after all (a shape, or a value no request would carry: an edited
        # log): these are decided one by one, where the engine says what it makes of each.
        return _one_by_one(kind, rows, original, pair)
    days = None
    if kind == "assess":
        days = pl.Series("day", [dt.date.fromisoformat(p["as_of"]) for p in original], dtype=pl.Date())
    result_a = _evaluate(pair.vectorised_a, kind, frame, as_of, days)
    outputs = pair.vectorised_a.outputs(kind, result_a, shared=True)  # read, or given fresh factor values
    if kind == "assess":
        outputs = [_as_sent(p, o) for p, o in zip(original, outputs, strict=True)]
    findings = []
    keep = []
    for index, (row, output) in enumerate(zip(rows, outputs, strict=True)):
        finding = _reproduces(kind, row, output)
        if finding is None:
            keep.append(index)
        else:
            findings.append(finding)
    if findings:
        kept = pl.Series([False] * len(rows)).scatter(keep, True) if keep else pl.Series([False] * len(rows))
        rows = [rows[i] for i in keep]
        frame, result_a = frame.filter(kept), result_a.filter(kept)
    if not rows:
        return Evaluated(empty_fields(kind), findings)
    if days is not None and findings:
        days = days.filter(kept)
    result_b = _evaluate(pair.vectorised_b, kind, frame, as_of, days)
    subject = pl.DataFrame(
        {
            "decision_id": [r.decision_id for r in rows],
            "__as_of": [r.as_of for r in rows],
            "__created_at": [r.created_at for r in rows],
        },
        schema={"decision_id": pl.String(), "__as_of": pl.Date(), "__created_at": pl.Datetime("us", "UTC")},
    )
    return Evaluated(fields_of_frame(kind, subject, result_a, result_b), findings)


def evaluate_page(kind: str, rows: Sequence[LoggedInput], pair: Pair) -> Evaluated:
    """The logged decisions ``rows`` (all of ``kind``) evaluated under both versions."""
    read = [(row, _payload(row)) for row in rows]
    unreadable = [
        Finding(row.decision_id, kind, row.as_of, ("the logged input is not a JSON object",))
        for row, payload in read
        if payload is None
    ]
    rows = [row for row, payload in read if payload is not None]
    payloads = [payload for _, payload in read if payload is not None]
    framable = [_framable(kind, p) for p in payloads]
    parts: list[Evaluated] = [Evaluated(empty_fields(kind), unreadable)] if unreadable else []
    single = [i for i, ok in enumerate(framable) if not ok]
    if single:
        parts.append(_one_by_one(kind, [rows[i] for i in single], [payloads[i] for i in single], pair))
    groups: dict[Any, list[int]] = {}
    for index, ok in enumerate(framable):
        if ok:
            groups.setdefault(_day_group(kind, payloads[index].get("as_of")), []).append(index)
    for group, indexes in groups.items():
        chosen_rows, chosen = [rows[i] for i in indexes], [payloads[i] for i in indexes]
        if group == _UNDATED:  # no usable date: the twin says what it makes of it
            parts.append(_one_by_one(kind, chosen_rows, chosen, pair))
        else:
            parts.append(_vectorised(kind, chosen_rows, chosen, pair, group))
    tables = [p.fields for p in parts if p.fields.height]
    return Evaluated(
        pl.concat(tables, how="vertical") if tables else empty_fields(kind),
        [f for p in parts for f in p.findings],
        sum(p.per_decision for p in parts),
    )


_UNDATED = "undated"
# Assessments are about a day, an argument of the vectorised evaluation that only dates the next review
# (as_of + the grade's review days) and refuses a review beyond the calendar. Those of every day are
# evaluated together on one day and their next review dated from their own day afterwards; the days
# within ten years of the calendar's end, where a review could fall beyond it, are evaluated day by day.
_ANCHOR = dt.date(2000, 1, 1)
_CALENDAR_END = dt.date(9989, 12, 31)


def _day_group(kind: str, text: Any) -> Any:
    if kind != "assess":
        return None
    if not isinstance(text, str):
        return _UNDATED
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return _UNDATED
    return day if day > _CALENDAR_END else _ANCHOR

"""A decision as answered: the response bytes exactly as logged, so an idempotent replay matches byte for byte.

The response of a decision::

    {decision_id, kind, request_id, created_at, as_of, policy: {id, version, sha256},
     outcome, reasons: [{rule, reason, source, outcome}], case (orders only),
     decision: <the engine's output>, trace (with ?explain=true)}

**Rates** (discount and penalty rates, limit shares) leave in one form, :func:`canonical_rates`:
a plain decimal string without trailing zeros — ``"0.02"``, ``"0.0005"``, ``"0"`` — where the
engine writes some with the digits of the policy (``"0.03"``, ``"0.30"``) and settlement rates to
four places (``"0.0200"``). The engine's output is left as it is (its tests and evaluators hold
it); the form is applied when a response and its trace are rendered, and a replay compares in it,
so a decision logged before (``"0.0200"``) still replays as matching.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from api.adapters.db.records import DecisionRecord

__all__ = ["RATE_KEYS", "DecisionResponse", "canonical_rates", "response_of"]

# The members that hold a rate or a share, wherever they appear in an output or a trace.
RATE_KEYS = frozenset(
    {"rate", "daily_rate", "discount_rate", "discount_rate_today", "rate_applied", "penalty_daily_rate", "pct"}
)
# Members never walked: the input echoed in a trace keeps the digits it was sent with (a rating
# may even be named "rate"), and the large parts that hold no rate are not walked on every request
# (the factors of an assessment are most of its output).
_NO_RATES = frozenset(
    {"input", "fact", "factors", "rules_fired", "reasons", "policy", "grade_band", "standards", "ladder", "steps"}
)
_DECIMAL = re.compile(r"^-?[0-9]+\.[0-9]+$")


def _rate_text(text: str) -> str:
    """A decimal string without trailing zeros (exactly: no rounding, no exponent): 0.0200 → 0.02, 0.0000 → 0."""
    if text[-1:] != "0" or not _DECIMAL.match(text):
        return text
    trimmed = text.rstrip("0").rstrip(".")
    return "0" if trimmed in ("-0", "") else trimmed


def canonical_rates(data: Any) -> Any:
    """JSON data with every rate member (:data:`RATE_KEYS`) in the one canonical form (see the module doc).

    What needs no change is returned as it is (not copied): a decision's output is walked on
    every request, and most of it holds no rate.
    """
    kind = type(data)
    if kind is list:
        items = [canonical_rates(item) for item in data]
        return data if all(new is old for new, old in zip(items, data, strict=True)) else items
    if kind is not dict:
        return data
    changed: dict[str, Any] | None = None
    for key, value in data.items():
        value_kind = type(value)
        if value_kind is str:
            if key not in RATE_KEYS:
                continue
            new = _rate_text(value)
        elif (value_kind is dict or value_kind is list) and key not in _NO_RATES:
            new = canonical_rates(value)
        else:
            continue
        if new is not value:
            changed = dict(data) if changed is None else changed
            changed[key] = new
    return data if changed is None else changed


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
    shadow: str | None = None  # a challenger decided it too: agree | differ | error:<code> (for /metrics)

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


def response_of(record: DecisionRecord, *, explain: bool, replayed: bool) -> DecisionResponse:
    """The response a logged decision gave (with its trace when ``explain``)."""
    return DecisionResponse(
        decision_id=record.decision_id,
        kind=record.kind,
        outcome=record.outcome,
        policy=(record.policy_id, record.policy_label, record.policy_sha256),
        output_json=record.output_json,
        trace_json=record.trace_json if explain else None,
        replayed=replayed,
    )

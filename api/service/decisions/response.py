"""A decision as answered: the response bytes exactly as logged, so an idempotent replay matches byte for byte.

The response of a decision::

    {decision_id, kind, request_id, created_at, policy: {id, version, sha256},
     outcome, reasons: [{rule, reason, source, outcome}], case (orders only),
     decision: <the engine's output, unchanged>, trace (with ?explain=true)}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from api.adapters.db.records import DecisionRecord

__all__ = ["DecisionResponse", "response_of"]


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

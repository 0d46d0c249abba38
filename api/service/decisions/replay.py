"""Reproduction: a logged decision evaluated again, under its own version or another one. Writes nothing.

Under its own version the engine's output must be byte-identical (canonical JSON, rates in their
one form: :func:`~api.service.decisions.response.canonical_rates`) to the logged one. Under
another version the differences show what that version would have decided, part by part
(:mod:`.compare`): list items are paired by what they are (factors by id, reasons by rule,
discount tiers by days ...), so an order of items is no difference, nor are the ``policy`` member
(it names the version) and a rule's ``source`` line (rewriting the policy text moves it). Besides
the decision, the rules fired (the trace's ``rules_fired``, by id) are compared, when the log holds
the trace. A version may be a draft here: "what would this draft change" is what an approver asks
before approving it.

A replay decides no live request, so it never registers durable rulesets (they are never freed):
a version this process already holds on durable-rules is replayed on it, any other on its
plain-Python twin (``PolicyRegistry.offline``), whose answers the differential tests hold equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.adapters.db.records import VersionRecord
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.errors import DecisionNotFound
from api.service.decisions.compare import IDENTITIES, TRACE_IDENTITIES, Difference, compare
from api.service.decisions.envelope import read_envelope
from api.service.decisions.response import canonical_rates
from api.service.jsontext import canonical, loads
from api.service.registry import PolicyRegistry
from api.service.versions import get_version
from engine.decide import decide
from engine.errors import EngineError

__all__ = ["ReplayResponse", "replay"]


@dataclass(frozen=True)
class ReplayResponse:
    """A logged decision evaluated again: under its own version it must match exactly."""

    decision_id: str
    kind: str
    logged_under: dict[str, str]
    replayed_under: dict[str, str]
    same_version: bool
    matches: bool
    differences: list[Difference]
    decision: dict[str, Any] | None
    error: dict[str, str] | None = None

    def content(self) -> dict[str, Any]:
        return {**vars(self), "differences": [d.content() for d in self.differences]}


def _ref(version: VersionRecord) -> dict[str, str]:
    return {"id": version.policy_id, "version": version.label, "sha256": version.sha256}


def replay(
    uow: AbstractUnitOfWork, registry: PolicyRegistry, decision_id: str, against: str | None = None
) -> ReplayResponse:
    """Evaluate a logged input again under its own version, or ``against`` another (see the module doc)."""
    record = uow.decisions.get(decision_id)
    if record is None:
        raise DecisionNotFound(f"no logged decision has id {decision_id!r}")
    payload = read_envelope(loads(record.input_json)).payload
    own = get_version(uow, record.policy_sha256)
    version = own if against is None else get_version(uow, against, record.policy_id)
    # Both sides in the canonical rate form: a decision logged before it ("0.0200") still matches.
    old = canonical_rates(loads(record.output_json)["decision"])
    same = version.sha256 == own.sha256
    new: dict[str, Any] | None = None
    found: list[Difference] = []
    refused: dict[str, str] | None = None
    try:
        decided = decide(registry.offline(version), record.kind, payload)
    except EngineError as error:  # the other version refuses the input: that is the difference
        refused = {"code": error.code, "message": error.message}
    else:
        new = canonical_rates(decided.output())
        found = compare(old, new, IDENTITIES[record.kind], other_version=not same)
        if record.trace_json is not None:  # rows logged without their trace compare the decision only
            fired = {"rules_fired": loads(record.trace_json).get("rules_fired", [])}
            now_fired = {"rules_fired": decided.trace["rules_fired"]}
            found += compare(fired, now_fired, TRACE_IDENTITIES, other_version=not same, prefix="trace")
    return ReplayResponse(
        decision_id=record.decision_id,
        kind=record.kind,
        logged_under=_ref(own),
        replayed_under=_ref(version),
        same_version=same,
        matches=new is not None and not found and (canonical(old) == canonical(new) or not same),
        differences=found,
        decision=new,
        error=refused,
    )

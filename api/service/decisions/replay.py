"""Reproduction: a logged decision evaluated again, under its own version or another one. Writes nothing.

Under its own version the engine's output must be byte-identical (canonical JSON, rates in their
one form: :func:`~api.service.decisions.response.canonical_rates`) to the logged one. Under
another version the differences show what that version would have decided; the ``/policy``
member, which names the version, is left out of them. A version may be a draft here:
"what would this draft change" is what an approver asks before approving it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from api.adapters.db.records import VersionRecord
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.errors import DecisionNotFound
from api.service.decisions.envelope import read_envelope
from api.service.decisions.response import canonical_rates
from api.service.jsontext import canonical, loads
from api.service.registry import PolicyRegistry
from api.service.versions import get_version
from engine.decide import decide, json_pointer
from engine.errors import EngineError

__all__ = ["ReplayResponse", "differences", "replay"]


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
    refused: dict[str, str] | None = None
    try:
        new = canonical_rates(decide(registry.compiled(version), record.kind, payload).output())
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

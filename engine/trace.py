"""The trace of a decision: what an auditor reads to see why the engine decided as it did.

A trace is built alongside the decision and rendered to plain JSON-ready data (decimals as
strings, dates ISO), so it serialises to the same bytes every time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from engine.ir import CompiledPolicy

__all__ = ["Trace", "plain"]


_SCALARS = (str, int, bool, float, type(None))


def plain(value: Any) -> Any:
    """JSON-ready copy: Decimal → str, date → ISO text, tuples → lists (dispatch on exact type: hot path)."""
    t = type(value)
    if t in _SCALARS:
        return value
    if t is Decimal:
        return format(value, "f")
    if t is dict:
        return {k if type(k) is str else str(k): plain(v) for k, v in value.items()}
    if t is list or t is tuple:
        return [plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


class Trace:
    """Collects the rules that fired and the steps of a decision."""

    def __init__(self, compiled: CompiledPolicy, kind: str) -> None:
        self._compiled = compiled
        self._data: dict[str, Any] = {
            "kind": kind,
            "policy": {
                "id": compiled.meta.policy_id,
                "version": compiled.meta.version,
                "sha256": compiled.meta.sha256,
                "file": compiled.meta.source_file,
            },
            "rules_fired": [],
        }
        self._ready: dict[str, Any] = {}
        self._later: dict[str, tuple[Callable[[], Any], bool]] = {}

    def fired(self, table: str, rule_ids: tuple[str, ...] | list[str]) -> None:
        """Record rules that fired, with the line of the policy file that declared each."""
        sources = self._compiled.tables[table].sources
        for rid in rule_ids:
            self._data["rules_fired"].append({"id": rid, "source": sources.get(rid)})

    def fired_default(self, rule_id: str, source: str) -> None:
        self._data["rules_fired"].append({"id": rule_id, "source": source})

    def set(self, key: str, value: Any) -> None:
        """Record a step; converted to plain data once, when the trace is rendered."""
        self._data[key] = value

    def set_plain(self, key: str, value: Any) -> None:
        """Record data that is already JSON-ready (e.g. a pydantic dump), without walking it again."""
        self._ready[key] = value

    def set_later(self, key: str, render: Callable[[], Any], *, ready: bool = False) -> None:
        """Record a step rendered only if the trace is read (building it costs more than deciding);
        ``ready``: what ``render`` returns is JSON-ready already (a pydantic JSON dump), not walked again."""
        self._later[key] = (render, ready)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = plain(self._data)
        out.update(self._ready)
        for key, (render, ready) in self._later.items():
            out[key] = render() if ready else plain(render())
        return out

"""The trace of a decision: what an auditor reads to see why the engine decided as it did.

A trace is built alongside the decision and rendered to plain JSON-ready data (decimals as
strings, dates ISO), so it serialises to the same bytes every time.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from engine.ir import CompiledPolicy

__all__ = ["Trace", "plain"]


def plain(value: Any) -> Any:
    """JSON-ready copy: Decimal → str, date → ISO text, tuples → lists."""
    if isinstance(value, Decimal):
        return format(value, "f")
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

    def fired(self, table: str, rule_ids: tuple[str, ...] | list[str]) -> None:
        """Record rules that fired, with the line of the policy file that declared each."""
        sources = {r.id: r.source for r in self._compiled.tables[table].rules}
        for rid in rule_ids:
            self._data["rules_fired"].append({"id": rid, "source": sources.get(rid)})

    def fired_default(self, rule_id: str, source: str) -> None:
        self._data["rules_fired"].append({"id": rule_id, "source": source})

    def set(self, key: str, value: Any) -> None:
        self._data[key] = plain(value)

    def to_dict(self) -> dict[str, Any]:
        return plain(self._data)  # type: ignore[no-any-return]

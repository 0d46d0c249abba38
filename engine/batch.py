"""Batch evaluation for portfolios and simulations: many inputs, one compiled policy.

Batches run on the plain-Python twin of the compiled policy by default (same rule tables, same
decision code; a differential test holds it to the durable-rules path): at ~40 µs per fired rule
durable-rules would take minutes on a million records. Each item fails alone: one bad input
yields its coded error and the batch goes on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from engine.compiler import python_twin
from engine.decide import decide
from engine.errors import EngineError, InputInvalid
from engine.ir import CompiledPolicy

__all__ = ["BatchItem", "PolicyComparison", "compare_policies", "decide_many", "to_frame"]


@dataclass(frozen=True)
class BatchItem:
    index: int
    output: dict[str, Any] | None
    error: dict[str, Any] | None
    outcome: str | None = None  # the kind's headline (engine.decisions.KINDS), None for an error


def decide_many(
    compiled: CompiledPolicy, kind: str, payloads: Iterable[Mapping[str, Any]], *, fast: bool = True
) -> list[BatchItem]:
    """Evaluate every payload; ``fast`` uses the plain-Python matchers (identical results)."""
    policy = python_twin(compiled) if fast else compiled
    items: list[BatchItem] = []
    for index, payload in enumerate(payloads):
        try:
            decision = decide(policy, kind, payload)
            items.append(BatchItem(index, decision.output(), None, decision.outcome))
        except InputInvalid as exc:
            items.append(BatchItem(index, None, {"code": exc.code, "message": exc.message, "errors": exc.errors}))
        except EngineError as exc:
            items.append(BatchItem(index, None, {"code": exc.code, "message": exc.message}))
    return items


def to_frame(items: list[BatchItem]) -> pl.DataFrame:
    """One row per item: index, the headline outcome, the error code (if any)."""
    return pl.DataFrame(
        {
            "index": [i.index for i in items],
            "outcome": [i.outcome for i in items],
            "error": [None if i.error is None else i.error["code"] for i in items],
        },
        schema={"index": pl.Int64, "outcome": pl.Utf8, "error": pl.Utf8},
    )


@dataclass(frozen=True)
class PolicyComparison:
    """What a candidate policy would change on a portfolio, against the current one."""

    total: int
    changed: int
    transitions: dict[tuple[str | None, str | None], int]
    frame: pl.DataFrame


def compare_policies(
    current: CompiledPolicy, candidate: CompiledPolicy, kind: str, payloads: Sequence[Mapping[str, Any]]
) -> PolicyComparison:
    """Evaluate the same inputs under both policies and count outcome transitions."""
    before = to_frame(decide_many(current, kind, payloads))
    after = to_frame(decide_many(candidate, kind, payloads))
    frame = before.join(after, on="index", suffix="_candidate")
    pairs = Counter(zip(frame["outcome"].to_list(), frame["outcome_candidate"].to_list(), strict=True))
    changed = sum(n for (a, b), n in pairs.items() if a != b)
    return PolicyComparison(len(payloads), changed, dict(sorted(pairs.items(), key=str)), frame)

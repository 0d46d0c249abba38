"""Small policies for engine tests, compiled with either matcher (durable-rules or plain Python).

A policy is built as data (the YAML a credit manager would write, as a dict), checked by the
policy schema, and compiled in memory; every source line reads as ``<file>:1``.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from engine.compiler import compile_policy
from engine.decisions.collection import plan_collection
from engine.decisions.settlement import settle_invoice
from engine.ir import CompiledPolicy
from engine.matchers import durable_matcher, python_matcher
from engine.models import CollectionRequest, CollectionResult, SettlementRequest, SettlementResult
from engine.trace import Trace
from policy import schema as s

__all__ = [
    "LADDERS",
    "MatcherKind",
    "MemoryPolicy",
    "collect",
    "compiled_policy",
    "policy_data",
    "settle",
]

MatcherKind = Literal["durable", "python"]
FILE = "tests/engine_policy.yaml"

LADDERS: dict[str, Any] = {
    "core": {
        "steps": {"letter": 7, "visit": 20, "agency": 90, "arbitration": 120, "litigation": 180},
        "auxiliary": {"penalty_interest": 60, "stop_supply": 90, "cancel_limit": 180},
        "skip_steps": False,
        "min_days_between_steps": 14,
        "pause_when_disputed": True,
    },
    "ordinary": {
        "steps": {"letter": 5, "visit": 20, "agency": 60, "arbitration": 90, "litigation": 120},
        "auxiliary": {"penalty_interest": 1, "stop_supply": 30, "cancel_limit": 90},
        "skip_steps": False,
        "min_days_between_steps": 10,
        "pause_when_disputed": True,
    },
    "high_risk": {
        "steps": {"letter": 1, "visit": 7, "agency": 30, "arbitration": 45, "litigation": 60},
        "auxiliary": {"penalty_interest": 1, "stop_supply": 1, "cancel_limit": 15},
        "skip_steps": True,
        "min_days_between_steps": 5,
        "pause_when_disputed": False,
    },
}

GRADE_TERMS: dict[str, Any] = {
    "A": {"text": "3/10, 2/20, n/30"},
    "B": {"text": "2/10, n/30", "penalty": {"rate": "0.0005", "per": "day", "grace_days": 5}},
    "C": {"text": "n/15", "penalty": {"rate": "0.18", "per": "year", "basis": 360}},
    "D": {"text": "cash in advance"},
}


def policy_data(
    *,
    terms: dict[str, Any] | None = None,
    penalty: dict[str, Any] | None = None,
    ladders: dict[str, Any] | None = None,
    version: str = "1",
) -> dict[str, Any]:
    """The policy as written in YAML; pass ``terms``/``penalty``/``ladders`` to replace those parts."""
    grade_terms = copy.deepcopy(terms if terms is not None else GRADE_TERMS)
    grades = list(grade_terms)
    step = 100 // len(grades)
    bands = [
        {
            "grade": g,
            "min_score": str(100 - step * (i + 1) if i < len(grades) - 1 else 0),
            "max_score": str(100 - step * i),
        }
        for i, g in enumerate(grades)
    ]
    return {
        "policy": {
            "id": "engine-tests",
            "version": version,
            "effective_from": "2026-01-01",
            "currency": "CNY",
            "author": "tests",
            "change_note": "a small policy for engine tests",
        },
        "scorecard": {
            "groups": {"capacity": {"label": "Capacity"}},
            "factors": [
                {
                    "id": "on_time",
                    "group": "capacity",
                    "input": "payment.on_time_ratio",
                    "weight": "100",
                    "kind": "bands",
                    "bands": [{"min": "0", "points": "100"}],
                },
            ],
        },
        "grades": bands,
        "limits": {
            "portfolio_total": "1000000000",
            "per_grade": {g: {"method": "fixed", "amount": "100000"} for g in grades},
        },
        "terms": {
            "penalty": penalty if penalty is not None else {"rate": "0.0005", "per": "day", "grace_days": 0},
            "per_grade": grade_terms,
        },
        "review": {"per_grade": dict.fromkeys(grades, 30)},
        "order_rules": {"default": {"outcome": "approve", "reason": "WITHIN_POLICY"}, "rules": []},
        "collection": {"segments": copy.deepcopy(ladders if ladders is not None else LADDERS)},
    }


@dataclass(frozen=True)
class MemoryPolicy:
    """A validated policy held in memory (what the compiler needs of a loaded policy file)."""

    policy: s.Policy
    file: str = FILE
    text: str = ""

    def location(self, path: tuple[str | int, ...]) -> tuple[int, int]:
        return (1, 1)


def compiled_policy(matcher: MatcherKind = "python", **parts: Any) -> CompiledPolicy:
    """Compile :func:`policy_data` (cached by content); ``matcher`` picks durable-rules or plain Python."""
    factory = durable_matcher if matcher == "durable" else python_matcher
    return compile_policy(MemoryPolicy(s.Policy.model_validate(policy_data(**parts))), factory=factory)


def settle(
    compiled: CompiledPolicy,
    *,
    amount: str = "10000.00",
    date: dt.date = dt.date(2026, 3, 1),
    terms: str | None = "3/10, 2/20, n/30",
    grade: str | None = None,
    payments: list[tuple[dt.date, str]] | None = None,
    as_of: dt.date | None = None,
    currency: str | None = None,
) -> SettlementResult:
    """Run the settlement decision on a request written tersely."""
    request = SettlementRequest.model_validate(
        {
            "invoice": {"id": "INV-1", "amount": amount, "date": date, "currency": currency},
            "terms": {"text": terms} if grade is None else {"grade": grade},
            "payments": [{"date": d, "amount": a} for d, a in payments or []],
            "as_of": as_of if as_of is not None else max([date, *(d for d, _ in payments or [])]),
        }
    )
    return settle_invoice(compiled, request, Trace(compiled, "settlement"))


def collect(
    compiled: CompiledPolicy,
    *,
    segment: str = "ordinary",
    grade: str = "A",
    amount: str = "10000.00",
    days_overdue: int = 0,
    steps_taken: list[tuple[str, dt.date | None]] | None = None,
    arbitration_agreement: bool = False,
    disputed: bool = False,
    as_of: dt.date = dt.date(2026, 6, 1),
) -> CollectionResult:
    """Run the collection decision on a request written tersely."""
    request = CollectionRequest.model_validate(
        {
            "customer": {"id": "C-1", "segment": segment, "grade": grade},
            "arrears": {
                "amount": amount,
                "days_overdue": days_overdue,
                "steps_taken": [{"step": st, "on": on} for st, on in steps_taken or []],
                "arbitration_agreement": arbitration_agreement,
                "disputed": disputed,
            },
            "as_of": as_of,
        }
    )
    return plan_collection(compiled, request, Trace(compiled, "collection"))

"""The shipped policy's worked cases (rules/standard.cases.yaml) through the vectorised evaluator.

Every case a frame can hold runs as a one-row frame, on durable-rules and on the plain-Python
twin: its output must match the case's ``expect`` (or its ``expect_error``) and equal the
per-decision output exactly. The frame contract holds grade and limit for orders and at most one
payment per invoice, so the few cases with an inline credit file or several payments cannot be
framed; they are listed here by id, so that a case silently falling out of the check fails.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from engine.cases import Case, load_cases, subset_mismatches
from engine.decide import decide
from engine.errors import EngineError
from engine.ir import CompiledPolicy
from engine.vectorised import FrameError, VectorisedPolicy, frame_of, requests_of

CASES = load_cases((Path(__file__).parents[2] / "rules" / "standard.cases.yaml").read_text(encoding="utf-8"), "cases")
NOT_FRAMED = {
    "order-inline-assessment-of-a-new-customer",
    "order-inline-assessment-too-large-for-the-new-limit",
    "order-inline-assessment-below-the-standard",
    "settle-3-10-2-20-n30-day-20-earns-2-percent-day-30-on-time",
    "settle-aaa-terms-3-percent-and-2-percent",
    "settle-aa-terms-3-percent-and-2-percent",
    "settle-partial-payments-penalty-recomputed-after-each",
    "settle-last-payment-clears-principal-then-penalty",
}


def _vectorised(vp: VectorisedPolicy, case: Case) -> tuple[dict[str, Any], dict[str, Any]]:
    """The vectorised output of the case and the request its frame row stands for."""
    kind = case.kind
    frame = frame_of(kind, [case.input])
    if kind == "assess":
        as_of = dt.date.fromisoformat(case.input["as_of"])
        result = vp.assess(frame, as_of=as_of)
        request = requests_of(kind, frame, as_of=as_of)[0]
    else:
        run = {"order": vp.check_orders, "collection": vp.plan_collection, "settlement": vp.settle}[kind]
        result = run(frame)
        request = requests_of(kind, frame)[0]
    return vp.outputs(kind, result)[0], request


@pytest.mark.parametrize("matchers", ["durable", "python"])
def test_every_framed_case_passes_and_equals_the_per_decision_output(
    matchers: str, shipped: CompiledPolicy, shipped_python: CompiledPolicy
) -> None:
    compiled = shipped if matchers == "durable" else shipped_python
    vp = VectorisedPolicy(compiled)
    framed = 0
    for case in CASES.cases:
        if case.id in NOT_FRAMED:
            with pytest.raises(FrameError):
                frame_of(case.kind, [case.input])
            continue
        output, request = _vectorised(vp, case)
        framed += 1
        if case.expect_error is not None:
            assert output.get("error", {}).get("code") == case.expect_error.code, case.id
            with pytest.raises(EngineError) as refused:
                decide(compiled, case.kind, request)
            assert refused.value.code == case.expect_error.code
            continue
        assert subset_mismatches(case.expect or {}, output) == [], case.id
        assert output == decide(compiled, case.kind, request).output(), case.id
    assert framed == len(CASES.cases) - len(NOT_FRAMED) > 80

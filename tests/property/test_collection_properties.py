"""Properties of collection: escalation never steps back as days overdue grow and never goes below a
step taken; durable-rules and plain Python answer alike; nothing escapes but the engine's own coded errors."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.decisions.collection import plan_collection
from engine.errors import EngineError
from engine.ir import CompiledPolicy
from engine.models import (
    MAX_AMOUNT,
    Arrears,
    CollectionCustomer,
    CollectionRequest,
    CollectionResult,
    Segment,
    StepTaken,
)
from engine.trace import Trace
from policy.schema import LADDER_STEPS
from tests.engine_factories import LADDERS, compiled_policy


def _flipped_skip() -> dict[str, Any]:
    ladders = copy.deepcopy(LADDERS)
    for ladder in ladders.values():
        ladder["skip_steps"] = not ladder["skip_steps"]
        ladder["pause_when_disputed"] = not ladder["pause_when_disputed"]
    return ladders


# (durable, python) pairs: the shipped-like ladders, and the same with skipping and pausing flipped.
POLICIES = [
    (compiled_policy("durable", ladders=ladders), compiled_policy("python", ladders=ladders))
    for ladders in (LADDERS, _flipped_skip())
]
AS_OF = dt.date(2026, 6, 1)
SEGMENTS: tuple[Segment, ...] = ("core", "ordinary", "high_risk")


def _outcome(compiled: CompiledPolicy, request: CollectionRequest) -> tuple[str, Any]:
    trace = Trace(compiled, "collection")
    try:
        return "result", (plan_collection(compiled, request, trace).model_dump_json(), trace.to_dict())
    except EngineError as exc:
        return "error", (type(exc).__name__, exc.code, str(exc))


def plan_both(pair: tuple[CompiledPolicy, CompiledPolicy], request: CollectionRequest) -> CollectionResult:
    """The decision under durable-rules, after checking plain Python gives the same result, trace or error."""
    durable, python = _outcome(pair[0], request), _outcome(pair[1], request)
    assert durable == python
    if durable[0] == "error":
        plan_collection(pair[0], request, Trace(pair[0], "collection"))  # raises the error compared above
    return CollectionResult.model_validate_json(durable[1][0])


def _request(segment: Segment, days: int, taken: list[StepTaken], agreement: bool, disputed: bool) -> CollectionRequest:
    return CollectionRequest(
        customer=CollectionCustomer(id="C-1", segment=segment, grade="A"),
        arrears=Arrears(
            amount=Decimal("10000.00"),
            days_overdue=days,
            steps_taken=taken,
            arbitration_agreement=agreement,
            disputed=disputed,
        ),
        as_of=AS_OF,
    )


steps_taken = st.lists(
    st.builds(
        StepTaken,
        step=st.sampled_from(LADDER_STEPS),
        on=st.one_of(st.none(), st.dates(min_value=dt.date(2026, 1, 1), max_value=AS_OF)),
    ),
    max_size=5,
)


# --- never a step back ----------------------------------------------------------------------
@settings(deadline=None)
@given(
    st.sampled_from(POLICIES),
    st.sampled_from(SEGMENTS),
    steps_taken,
    st.booleans(),
    st.lists(st.integers(0, 400), min_size=2, max_size=8),
)
def test_escalation_never_steps_back_as_days_overdue_grow(
    pair: tuple[CompiledPolicy, CompiledPolicy],
    segment: Segment,
    taken: list[StepTaken],
    agreement: bool,
    days: list[int],
) -> None:
    highest = max((LADDER_STEPS.index(t.step) for t in taken), default=-1)
    ranks = []
    for d in sorted(days):
        r = plan_both(pair, _request(segment, d, taken, agreement, disputed=False))
        if r.next_step is None:
            assert any(x.reason == "LADDER_EXHAUSTED" for x in r.reasons)
            ranks.append(len(LADDER_STEPS))
            continue
        rank = LADDER_STEPS.index(r.next_step.step)
        assert rank > highest  # never a step below or equal to one already taken
        assert r.next_step.step != "arbitration" or agreement
        ranks.append(rank)
    assert ranks == sorted(ranks)


@settings(deadline=None)
@given(st.sampled_from(POLICIES), st.sampled_from(SEGMENTS), steps_taken, st.booleans(), st.integers(0, 400))
def test_what_is_due_now_is_consistent(
    pair: tuple[CompiledPolicy, CompiledPolicy], segment: Segment, taken: list[StepTaken], agreement: bool, days: int
) -> None:
    r = plan_both(pair, _request(segment, days, taken, agreement, disputed=False))
    expected = [r.next_step.step] if r.next_step is not None and r.next_step.due_now else []
    expected += [a.action for a in r.auxiliary if a.due_now]
    assert r.actions_due_now == expected
    if days == 0:
        assert r.actions_due_now == []
    if r.next_step is not None:
        assert r.next_step.due_now == (r.next_step.due_on <= AS_OF)
        assert r.next_step.due_now <= (days >= max(r.next_step.threshold_days, 1))
    for a in r.auxiliary:
        assert a.due_now == (days >= max(a.threshold_days, 1))
        assert (a.amount is not None) == (a.action == "penalty_interest")
        assert a.amount is None or a.amount >= 0


@settings(deadline=None)
@given(st.sampled_from(POLICIES), st.sampled_from(SEGMENTS), steps_taken, st.booleans(), st.integers(0, 400))
def test_a_paused_ladder_escalates_nothing(
    pair: tuple[CompiledPolicy, CompiledPolicy], segment: Segment, taken: list[StepTaken], agreement: bool, days: int
) -> None:
    r = plan_both(pair, _request(segment, days, taken, agreement, disputed=True))
    if r.paused:
        assert r.next_step is None
        assert not set(r.actions_due_now) & {"stop_supply", "cancel_limit", *LADDER_STEPS}


# --- arbitrary valid-typed input ------------------------------------------------------------
dates = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))
requests = st.builds(
    CollectionRequest,
    customer=st.builds(
        CollectionCustomer,
        id=st.text(min_size=1, max_size=10),
        segment=st.sampled_from(SEGMENTS),
        grade=st.sampled_from(["A", "B", "C", "D", "AAA", "x"]),
    ),
    arrears=st.builds(
        Arrears,
        amount=st.decimals(min_value=0, max_value=MAX_AMOUNT - Decimal("0.01"), places=2),
        days_overdue=st.integers(0, 36_500),
        steps_taken=st.lists(
            st.builds(StepTaken, step=st.sampled_from(LADDER_STEPS), on=st.one_of(st.none(), dates)), max_size=20
        ),
        arbitration_agreement=st.booleans(),
        disputed=st.booleans(),
    ),
    as_of=st.one_of(st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2027, 12, 31)), dates),
)


@settings(deadline=None, max_examples=300)
@given(st.sampled_from(POLICIES), requests)
def test_only_coded_engine_errors_escape(
    pair: tuple[CompiledPolicy, CompiledPolicy], request: CollectionRequest
) -> None:
    try:
        plan_both(pair, request)
    except EngineError as exc:
        assert exc.code and exc.code != EngineError.code

"""collection: the next ladder step, when it falls due, and the auxiliary actions, per segment."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from engine.compiler import compile_policy
from engine.decisions.collection import plan_collection
from engine.errors import InputError
from engine.ir import CompiledPolicy
from engine.matchers import python_matcher
from engine.models import CollectionRequest, CollectionResult
from engine.trace import Trace
from policy.validate import load_policy_file
from tests.engine_factories import LADDERS, MatcherKind, collect, compiled_policy

AS_OF = dt.date(2026, 6, 1)
D = Decimal


def ago(days: int) -> dt.date:
    return AS_OF - dt.timedelta(days=days)


def later(days: int) -> dt.date:
    return AS_OF + dt.timedelta(days=days)


@pytest.fixture(params=["python", "durable"])
def compiled(request: pytest.FixtureRequest) -> CompiledPolicy:
    kind: MatcherKind = request.param
    return compiled_policy(kind)


def step_of(r: CollectionResult) -> tuple[str, bool, dt.date, list[str]] | None:
    n = r.next_step
    return None if n is None else (n.step, n.due_now, n.due_on, n.skipped)


def aux(r: CollectionResult) -> dict[str, tuple[bool, dt.date]]:
    return {a.action: (a.due_now, a.due_on) for a in r.auxiliary}


def reasons(r: CollectionResult) -> list[tuple[str, str]]:
    return [(x.rule, x.reason) for x in r.reasons]


# --- the ladder of each segment -------------------------------------------------------------
def test_nothing_is_due_when_not_overdue(compiled: CompiledPolicy) -> None:
    r = collect(compiled, days_overdue=0)
    assert step_of(r) == ("letter", False, later(5), [])
    assert r.actions_due_now == [] and r.reasons == [] and r.current_step is None
    assert aux(r)["penalty_interest"] == (False, later(1))
    assert r.auxiliary[0].amount == D("0.00")


def test_a_threshold_of_0_still_needs_arrears_overdue() -> None:
    ladders = copy.deepcopy(LADDERS)
    ladders["ordinary"]["steps"]["letter"] = 0
    ladders["ordinary"]["auxiliary"]["penalty_interest"] = 0
    compiled = compiled_policy("python", ladders=ladders)
    r = collect(compiled, days_overdue=0)
    assert step_of(r) == ("letter", False, later(1), []) and r.actions_due_now == []
    assert collect(compiled, days_overdue=1).actions_due_now == ["letter", "penalty_interest"]


@pytest.mark.parametrize(
    ("segment", "days", "expected"),
    [
        ("ordinary", 4, ("letter", False, later(1), [])),
        ("ordinary", 5, ("letter", True, AS_OF, [])),
        ("core", 6, ("letter", False, later(1), [])),
        ("core", 7, ("letter", True, AS_OF, [])),
        ("high_risk", 1, ("letter", True, AS_OF, [])),
    ],
)
def test_first_step_of_each_segment(
    compiled: CompiledPolicy, segment: str, days: int, expected: tuple[str, bool, dt.date, list[str]]
) -> None:
    assert step_of(collect(compiled, segment=segment, days_overdue=days)) == expected


def test_ordinary_ladder_step_by_step(compiled: CompiledPolicy) -> None:
    taken: list[tuple[str, dt.date | None]] = []
    seen = []
    for step in ("letter", "visit", "agency", "litigation"):
        r = collect(compiled, days_overdue=200, steps_taken=taken)
        assert r.next_step is not None and r.next_step.due_now
        seen.append(r.next_step.step)
        taken.append((step, None))
    assert seen == ["letter", "visit", "agency", "litigation"]
    r = collect(compiled, days_overdue=200, steps_taken=taken)
    assert r.next_step is None and ("collection.ordinary", "LADDER_EXHAUSTED") in reasons(r)


def test_steps_go_in_order_one_at_a_time(compiled: CompiledPolicy) -> None:
    r = collect(compiled, days_overdue=60)
    assert step_of(r) == ("letter", True, AS_OF, [])
    assert reasons(r)[:3] == [
        ("collection.ordinary.step.letter", "STEP_DUE"),
        ("collection.ordinary.step.visit", "STEP_AFTER_NEXT"),
        ("collection.ordinary.step.agency", "STEP_AFTER_NEXT"),
    ]


def test_high_risk_skips_to_the_step_the_age_calls_for(compiled: CompiledPolicy) -> None:
    r = collect(compiled, segment="high_risk", days_overdue=50)
    assert step_of(r) == ("agency", True, AS_OF, ["letter", "visit"])
    assert ("collection.high_risk.step.letter", "STEP_SKIPPED") in reasons(r)
    with_agreement = collect(compiled, segment="high_risk", days_overdue=50, arbitration_agreement=True)
    assert step_of(with_agreement) == ("arbitration", True, AS_OF, ["letter", "visit", "agency"])


def test_skipping_starts_after_the_step_taken(compiled: CompiledPolicy) -> None:
    r = collect(compiled, segment="high_risk", days_overdue=50, steps_taken=[("letter", ago(2))])
    assert step_of(r) == ("agency", False, later(3), ["visit"])  # 5 days after the letter
    assert ("collection.high_risk.step.letter", "STEP_TAKEN") in reasons(r)


def test_skipping_with_no_threshold_passed_waits_for_the_first(compiled: CompiledPolicy) -> None:
    r = collect(compiled, segment="high_risk", days_overdue=3, steps_taken=[("letter", None)])
    assert step_of(r) == ("visit", False, later(4), [])


# --- arbitration ----------------------------------------------------------------------------
def test_arbitration_with_an_agreement(compiled: CompiledPolicy) -> None:
    r = collect(compiled, days_overdue=100, steps_taken=[("agency", None)], arbitration_agreement=True)
    assert step_of(r) == ("arbitration", True, AS_OF, [])


def test_without_an_agreement_agency_goes_to_litigation(compiled: CompiledPolicy) -> None:
    r = collect(compiled, days_overdue=100, steps_taken=[("agency", None)])
    assert step_of(r) == ("litigation", False, later(20), [])
    assert "collection.ordinary.step.arbitration" not in [x.rule for x in r.reasons]
    assert step_of(collect(compiled, days_overdue=130, steps_taken=[("agency", None)])) == (
        "litigation",
        True,
        AS_OF,
        [],
    )


def test_a_taken_step_off_the_ladder_still_counts(compiled: CompiledPolicy) -> None:
    r = collect(compiled, days_overdue=130, steps_taken=[("arbitration", None)])
    assert r.current_step == "arbitration"
    assert step_of(r) == ("litigation", True, AS_OF, [])


# --- never a step back ----------------------------------------------------------------------
def test_never_steps_back_below_a_step_taken(compiled: CompiledPolicy) -> None:
    r = collect(compiled, days_overdue=6, steps_taken=[("agency", None)])
    assert r.current_step == "agency"
    assert step_of(r) == ("litigation", False, later(114), [])
    assert reasons(r)[0] == ("collection.ordinary.step.letter", "STEP_PASSED_OVER")


def test_steps_taken_in_any_order(compiled: CompiledPolicy) -> None:
    r = collect(compiled, days_overdue=70, steps_taken=[("visit", None), ("agency", None), ("letter", None)])
    assert r.current_step == "agency"
    assert r.next_step is not None and r.next_step.step == "litigation"


def test_ladder_exhausted_after_litigation(compiled: CompiledPolicy) -> None:
    r = collect(compiled, days_overdue=10, steps_taken=[("litigation", ago(40))])
    assert r.next_step is None and r.current_step == "litigation"
    assert reasons(r)[-1] == ("collection.ordinary", "LADDER_EXHAUSTED")
    assert r.actions_due_now == ["penalty_interest"]


# --- spacing between steps ------------------------------------------------------------------
def test_min_days_between_steps(compiled: CompiledPolicy) -> None:
    waiting = collect(compiled, days_overdue=25, steps_taken=[("letter", ago(3))])
    assert step_of(waiting) == ("visit", False, later(7), [])
    assert ("collection.ordinary.step.visit", "STEP_WAITING") in reasons(waiting)
    assert "visit" not in waiting.actions_due_now
    due = collect(compiled, days_overdue=25, steps_taken=[("letter", ago(10))])
    assert step_of(due) == ("visit", True, AS_OF, [])


def test_spacing_counts_from_the_latest_step_taken(compiled: CompiledPolicy) -> None:
    r = collect(compiled, segment="core", days_overdue=100, steps_taken=[("letter", ago(60)), ("visit", ago(4))])
    assert step_of(r) == ("agency", False, later(10), [])


def test_due_on_is_the_later_of_threshold_and_spacing(compiled: CompiledPolicy) -> None:
    r = collect(compiled, days_overdue=15, steps_taken=[("letter", ago(8))])
    assert step_of(r) == ("visit", False, later(5), [])  # threshold in 5 days, spacing in 2


# --- disputes -------------------------------------------------------------------------------
def test_a_dispute_pauses_the_core_ladder_and_the_supply_stop(compiled: CompiledPolicy) -> None:
    r = collect(compiled, segment="core", days_overdue=100, steps_taken=[("visit", ago(30))], disputed=True)
    assert r.paused and r.next_step is None
    assert ("collection.core", "DISPUTE_PENDING") in reasons(r)
    assert ("collection.core.step.agency", "STEP_PAUSED") in reasons(r)
    assert ("collection.core.aux.stop_supply", "AUXILIARY_PAUSED") in reasons(r)
    assert aux(r)["stop_supply"] == (False, AS_OF)
    assert r.actions_due_now == ["penalty_interest"]  # penalty interest still accrues and is claimed


def test_high_risk_does_not_pause_for_a_dispute(compiled: CompiledPolicy) -> None:
    r = collect(compiled, segment="high_risk", days_overdue=20, disputed=True)
    assert not r.paused and step_of(r) == ("visit", True, AS_OF, ["letter"])
    assert r.actions_due_now == ["visit", "penalty_interest", "stop_supply", "cancel_limit"]


def test_undisputed_core_escalates(compiled: CompiledPolicy) -> None:
    r = collect(compiled, segment="core", days_overdue=100, steps_taken=[("visit", ago(30))])
    assert step_of(r) == ("agency", True, AS_OF, [])
    assert r.actions_due_now == ["agency", "penalty_interest", "stop_supply"]


# --- auxiliary actions ----------------------------------------------------------------------
def test_auxiliary_due_and_not_due(compiled: CompiledPolicy) -> None:
    r = collect(compiled, days_overdue=10)
    assert aux(r) == {
        "penalty_interest": (True, AS_OF),
        "stop_supply": (False, later(20)),
        "cancel_limit": (False, later(80)),
    }
    assert [a.threshold_days for a in r.auxiliary] == [1, 30, 90]
    assert ("collection.ordinary.aux.penalty_interest", "AUXILIARY_DUE") in reasons(r)


def test_core_claims_penalty_interest_only_when_serious(compiled: CompiledPolicy) -> None:
    r = collect(compiled, segment="core", days_overdue=30)
    assert aux(r)["penalty_interest"] == (False, later(30))
    assert r.auxiliary[0].amount == D("150.00")  # accrued all the same: 10,000 × 0.0005 × 30


@pytest.mark.parametrize(
    ("grade", "days", "amount"),
    [("A", 25, "125.00"), ("B", 25, "100.00"), ("B", 3, "0.00"), ("C", 10, "50.00"), ("D", 1, "5.00")],
)
def test_penalty_interest_amount(compiled: CompiledPolicy, grade: str, days: int, amount: str) -> None:
    r = collect(compiled, grade=grade, days_overdue=days)
    assert [a.amount for a in r.auxiliary] == [D(amount), None, None]


def test_penalty_amount_rounds_half_up(compiled: CompiledPolicy) -> None:
    r = collect(compiled, amount="3333.33", days_overdue=3)
    assert r.auxiliary[0].amount == D("5.00")


# --- reasons, trace, errors -----------------------------------------------------------------
def test_one_reason_per_fired_rule_with_its_source(compiled: CompiledPolicy) -> None:
    request = CollectionRequest.model_validate(
        {
            "customer": {"id": "C-1", "segment": "ordinary", "grade": "A"},
            "arrears": {"amount": "500.00", "days_overdue": 35, "steps_taken": [{"step": "letter", "on": ago(20)}]},
            "as_of": AS_OF,
        }
    )
    trace = Trace(compiled, "collection")
    r = plan_collection(compiled, request, trace)
    fired = [x["id"] for x in trace.to_dict()["rules_fired"]]
    assert fired == [x.rule for x in r.reasons]
    assert fired == [
        "collection.ordinary.step.letter",
        "collection.ordinary.step.visit",
        "collection.ordinary.aux.penalty_interest",
        "collection.ordinary.aux.stop_supply",
    ]
    assert all(x.source for x in r.reasons)
    assert r.actions_due_now == ["visit", "penalty_interest", "stop_supply"]
    assert trace.to_dict()["decision"]["next_step"] == "visit"


def test_unknown_grade(compiled: CompiledPolicy) -> None:
    with pytest.raises(InputError) as info:
        collect(compiled, grade="ZZZ", days_overdue=3)
    assert (info.value.code, info.value.field) == ("unknown_grade", "customer.grade")


def test_unknown_segment() -> None:
    ladders = {k: v for k, v in LADDERS.items() if k != "core"}
    compiled = compiled_policy("python", ladders=ladders)
    with pytest.raises(InputError) as info:
        collect(compiled, segment="core", days_overdue=3)
    assert (info.value.code, info.value.field) == ("unknown_segment", "customer.segment")


def test_due_on_beyond_the_calendar(compiled: CompiledPolicy) -> None:
    with pytest.raises(InputError) as info:
        collect(compiled, days_overdue=0, as_of=dt.date(9999, 12, 30))
    assert info.value.code == "date_out_of_range"


def test_penalty_amount_beyond_any_trade_credit(compiled: CompiledPolicy) -> None:
    with pytest.raises(InputError) as info:
        collect(compiled, grade="C", amount="99999999999999.99", days_overdue=36500)
    assert (info.value.code, info.value.field) == ("amount_out_of_range", "arrears.amount")


# --- the trace: each step, its own line, and why ---------------------------------------------
SHIPPED = Path(__file__).parents[3] / "rules" / "standard.yaml"


@pytest.fixture(scope="module")
def shipped() -> CompiledPolicy:
    return compile_policy(load_policy_file(SHIPPED), factory=python_matcher)


def _line_of(text: str, after: str, needle: str) -> int:
    """The line of the first ``needle`` after ``after`` in the shipped policy."""
    start = text.index(after)
    return text[: text.index(needle, start)].count("\n") + 1


def _trace(compiled: CompiledPolicy, **arrears: object) -> dict[str, object]:
    segment = arrears.pop("segment", "ordinary")
    request = CollectionRequest.model_validate(
        {
            "customer": {"id": "C-1", "segment": segment, "grade": "BB"},
            "arrears": {"amount": "1000.00", **arrears},
            "as_of": AS_OF,
        }
    )
    trace = Trace(compiled, "collection")
    plan_collection(compiled, request, trace)
    return trace.to_dict()


def test_the_trace_cites_each_step_s_own_line_and_says_why_arbitration_is_passed_over(shipped: CompiledPolicy) -> None:
    # Issue 10: every rule cited the segment's line, and nothing said why arbitration was left out.
    text = SHIPPED.read_text(encoding="utf-8")
    trace = _trace(shipped, days_overdue=130, steps_taken=[{"step": "agency", "on": ago(40)}])
    fired = {r["id"]: r["source"] for r in trace["rules_fired"]}  # type: ignore[attr-defined]
    litigation = _line_of(text, "    ordinary:", "litigation:")
    assert fired["collection.ordinary.step.litigation"] == f"{SHIPPED}:{litigation}"
    steps = {s["step"]: s for s in trace["steps"]}  # type: ignore[attr-defined]
    assert steps["arbitration"]["status"] == "not_on_ladder"
    assert steps["arbitration"]["why"] == "no arbitration agreement on file: the ladder goes from agency to litigation"
    assert steps["arbitration"]["source"].endswith(f":{_line_of(text, '    ordinary:', 'arbitration:')}")
    assert (steps["agency"]["status"], steps["litigation"]["status"]) == ("taken", "due")
    assert steps["letter"]["status"] == "passed_over"


def test_the_trace_says_a_disputed_claim_pauses_the_ladder(shipped: CompiledPolicy) -> None:
    trace = _trace(shipped, segment="core", days_overdue=130, disputed=True, arbitration_agreement=True)
    statuses = {s["status"] for s in trace["steps"]}  # type: ignore[attr-defined]
    assert statuses == {"paused"}
    assert "the claim is disputed" in trace["steps"][0]["why"]  # type: ignore[index]
    assert "pause_when_disputed" in trace["steps"][0]["why"]  # type: ignore[index]


def test_the_trace_says_which_steps_a_skipping_ladder_jumped(shipped: CompiledPolicy) -> None:
    trace = _trace(shipped, segment="high_risk", days_overdue=40)
    steps = {s["step"]: (s["status"], s["why"]) for s in trace["steps"]}  # type: ignore[attr-defined]
    assert steps["letter"][0] == "skipped" and "skip_steps" in steps["letter"][1]
    assert steps["agency"][0] == "due"
    assert steps["litigation"][0] == "not_reached"


def test_reasons_keep_citing_the_ladder_so_logged_decisions_replay_unchanged(shipped: CompiledPolicy) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    request = CollectionRequest.model_validate(
        {
            "customer": {"id": "C-1", "segment": "ordinary", "grade": "BB"},
            "arrears": {"amount": "1.00", "days_overdue": 30},
            "as_of": AS_OF,
        }
    )
    result = plan_collection(shipped, request, Trace(shipped, "collection"))
    segment = text[: text.index("    ordinary:", text.index("segments:"))].count("\n") + 1
    assert {r.source for r in result.reasons} == {f"{SHIPPED}:{segment}"}

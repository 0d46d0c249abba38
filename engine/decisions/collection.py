"""collection: a customer's arrears → the next step of the collection ladder, when it falls due, auxiliary actions.

What a credit manager can rely on:

* **The ladder** is the segment's (``collection.segments.<segment>``), soft to hard: letter →
  visit → agency → arbitration → litigation. Arbitration is on the ladder only where the
  arrears carry a written arbitration agreement; without one the ladder goes from agency
  straight to litigation. The rules engine tells which thresholds the arrears' days overdue
  have reached (rules ``collection.<segment>.step.<step>`` and ``.aux.<action>``).
* **Nothing is due on arrears 0 days overdue**: a threshold of 0 acts as 1.
* **Never a step back**: the current step is the hardest step already taken (in ladder order,
  whatever order ``steps_taken`` lists them in, and also when that step is not on this
  segment's ladder). The next step is always harder than it, even when the days overdue
  would call for a softer one.
* **One step at a time**, unless the segment may ``skip_steps``: then, when several thresholds
  have passed, the next step is the hardest of them and the ones in between are ``skipped``.
* **When it falls due** (``due_on``): the later of the day the arrears reach the step's
  threshold (``as_of`` if they already have) and the date of the latest step taken (its ``on``)
  + ``min_days_between_steps``; a step taken without a date sets no spacing. It is due now when
  ``due_on`` ≤ ``as_of``.
* **Ladder exhausted**: no harder step is left: no next step, reason ``LADDER_EXHAUSTED``.
* **Disputes**: while the claim is disputed and the segment has ``pause_when_disputed``, the
  ladder waits (no next step, ``paused``, reason ``DISPUTE_PENDING``) and so do ``stop_supply``
  and ``cancel_limit`` (supply continues while a dispute that may not be malicious is solved
  first); they are reported with their threshold date but are not due now. Penalty interest
  keeps accruing and stays due.
* **Auxiliary actions** are due now from their own threshold of days overdue. The penalty
  interest amount is arrears × the daily rate of the customer grade's terms × (days overdue −
  the terms' grace days, at least 0), in cents half up: the grace days are interest-free, as in
  the settlement decision.
* ``actions_due_now`` lists the step due now (if any), then the auxiliary actions due now, in
  ladder order.
* **Reasons**: one per rule that held (in rule order), then the ladder's own. A step rule:
  ``STEP_DUE`` (the next step, due now), ``STEP_WAITING`` (the next step, threshold reached but
  too soon after the last step), ``STEP_SKIPPED``, ``STEP_AFTER_NEXT`` (threshold reached, but
  steps go one at a time), ``STEP_TAKEN`` / ``STEP_PASSED_OVER`` (at or below the current step),
  ``STEP_PAUSED``; an auxiliary rule: ``AUXILIARY_DUE`` or ``AUXILIARY_PAUSED``; the ladder
  (rule ``collection.<segment>``): ``DISPUTE_PENDING``, ``LADDER_EXHAUSTED``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from engine.decisions.kind import DecisionKind
from engine.decisions.settlement import add_days
from engine.errors import InputError
from engine.ir import CompiledPolicy, FactValue, LadderIR, PenaltyIR
from engine.models import (
    MAX_AMOUNT,
    Arrears,
    AuxiliaryOut,
    CollectionRequest,
    CollectionResult,
    NextStep,
    Reason,
)
from engine.results import policy_ref
from engine.trace import Trace
from policy.schema import LADDER_STEPS

__all__ = ["COLLECTION", "PAUSED_BY_DISPUTE", "next_step_of", "plan_collection"]

CENT = Decimal("0.01")
# The auxiliary actions that wait while a dispute is being solved (penalty interest does not).
PAUSED_BY_DISPUTE = frozenset({"stop_supply", "cancel_limit"})


def _rank(step: str) -> int:
    return LADDER_STEPS.index(step)


@dataclass(frozen=True)
class StepChoice:
    """The next step of a ladder, or why there is none."""

    step: str | None
    threshold: int
    skipped: tuple[str, ...]
    exhausted: bool


def next_step_of(ladder: LadderIR, taken: set[str], passed: set[str], arbitration_agreement: bool) -> StepChoice:
    """The next ladder step after the hardest one taken; ``passed`` are the steps whose threshold is reached."""
    current = max((_rank(s) for s in taken), default=-1)
    candidates = [
        (step, days)
        for step, days in ladder.steps
        if _rank(step) > current and (step != "arbitration" or arbitration_agreement)
    ]
    if not candidates:
        return StepChoice(None, 0, (), True)
    index = 0
    if ladder.skip_steps:
        reached = [i for i, (step, _) in enumerate(candidates) if step in passed]
        index = reached[-1] if reached else 0
    step, threshold = candidates[index]
    return StepChoice(step, threshold, tuple(s for s, _ in candidates[:index]), False)


def _reached_on(as_of: dt.date, days_overdue: int, threshold: int) -> dt.date:
    """The day the arrears reach ``threshold`` days overdue (as_of if they already have)."""
    effective = max(threshold, 1)
    return as_of if days_overdue >= effective else add_days(as_of, effective - days_overdue, "as_of")


def _step_reason(step: str, choice: StepChoice, due_now: bool, paused: bool, taken: set[str], current: int) -> str:
    if _rank(step) <= current:
        return "STEP_TAKEN" if step in taken else "STEP_PASSED_OVER"
    if paused:
        return "STEP_PAUSED"
    if step == choice.step:
        return "STEP_DUE" if due_now else "STEP_WAITING"
    if step in choice.skipped:
        return "STEP_SKIPPED"
    return "STEP_AFTER_NEXT"


def _penalty_amount(amount: Decimal, daily_rate: Decimal, days: int) -> Decimal:
    value = (amount * daily_rate * days).quantize(CENT, rounding=ROUND_HALF_UP)
    if value >= MAX_AMOUNT:
        raise InputError(
            f"the penalty interest would reach {value}, beyond any trade credit",
            field="arrears.amount",
            code="amount_out_of_range",
        )
    return value


def _ladder_of(compiled: CompiledPolicy, segment: str, grade: str) -> LadderIR:
    ladder = compiled.ladders.get(segment)
    if ladder is None:
        raise InputError(
            f"the policy has no collection ladder for segment {segment!r}",
            field="customer.segment",
            code="unknown_segment",
        )
    if grade not in compiled.terms:
        known = ", ".join(g.grade for g in compiled.grades)
        raise InputError(
            f"unknown grade {grade!r} (the policy's grades are {known})", field="customer.grade", code="unknown_grade"
        )
    return ladder


def _next_step(
    ladder: LadderIR, arrears: Arrears, as_of: dt.date, choice: StepChoice, passed: set[str]
) -> NextStep | None:
    """When the chosen step falls due: its threshold reached, and spaced from the latest step taken."""
    if choice.step is None:
        return None
    due_on = _reached_on(as_of, arrears.days_overdue, choice.threshold)
    last_on = max((s.on for s in arrears.steps_taken if s.on is not None), default=None)
    if last_on is not None:
        due_on = max(due_on, add_days(last_on, ladder.min_days_between_steps, "arrears.steps_taken"))
    return NextStep(
        step=choice.step,
        threshold_days=choice.threshold,
        due_on=due_on,
        due_now=choice.step in passed and due_on <= as_of,
        skipped=list(choice.skipped),
    )


def _auxiliary(
    ladder: LadderIR, arrears: Arrears, as_of: dt.date, held: set[str], paused: bool, penalty: PenaltyIR
) -> list[AuxiliaryOut]:
    out: list[AuxiliaryOut] = []
    for action, threshold in ladder.auxiliary:
        amount = None
        if action == "penalty_interest":
            interest_days = max(0, arrears.days_overdue - penalty.grace_days)
            amount = _penalty_amount(arrears.amount, penalty.daily_rate, interest_days)
        due_now = action in held and not (paused and action in PAUSED_BY_DISPUTE)
        due_on = _reached_on(as_of, arrears.days_overdue, threshold)
        out.append(AuxiliaryOut(action=action, threshold_days=threshold, due_now=due_now, due_on=due_on, amount=amount))
    return out


def _step_status(
    step: str,
    ladder: LadderIR,
    arrears: Arrears,
    choice: StepChoice,
    next_step: NextStep | None,
    passed: set[str],
    paused: bool,
    current: int,
) -> tuple[str, str]:
    """(status, why) of one ladder step for the trace: what the ladder did with it, in words."""
    taken = {s.step for s in arrears.steps_taken}
    if _rank(step) <= current:
        if step in taken:
            return "taken", "already taken"
        return "passed_over", f"softer than '{LADDER_STEPS[current]}', already taken: the ladder never steps back"
    if step == "arbitration" and not arrears.arbitration_agreement:
        return "not_on_ladder", "no arbitration agreement on file: the ladder goes from agency to litigation"
    if paused:
        where = ladder.source_of("pause_when_disputed")
        return "paused", f"the claim is disputed and the ladder waits while it is (pause_when_disputed, {where})"
    if step in choice.skipped:
        return "skipped", f"skip_steps: its threshold is passed, the ladder goes straight to '{choice.step}'"
    if step == choice.step and next_step is not None:
        if next_step.due_now:
            return "due", "the next step: its threshold is reached"
        if step in passed:
            spacing = ladder.source_of("min_days_between_steps")
            return "waiting", (
                f"the next step: due on {next_step.due_on}, {ladder.min_days_between_steps} days after the "
                f"latest step taken (min_days_between_steps, {spacing})"
            )
        return "waiting", f"the next step: due on {next_step.due_on}, when the arrears reach its threshold"
    if step in passed:
        return "after_next", f"its threshold is reached, but steps go one at a time: '{choice.step}' comes first"
    return "not_reached", f"its threshold is not reached ({arrears.days_overdue} days overdue)"


def _steps_trace(
    ladder: LadderIR,
    arrears: Arrears,
    choice: StepChoice,
    next_step: NextStep | None,
    passed: set[str],
    paused: bool,
    current: int,
) -> list[dict[str, object]]:
    """Every step of the ladder with its threshold, its own line, and what became of it and why."""
    out: list[dict[str, object]] = []
    for step, days in ladder.steps:
        status, why = _step_status(step, ladder, arrears, choice, next_step, passed, paused, current)
        out.append(
            {
                "step": step,
                "threshold_days": days,
                "source": str(ladder.source_of(f"step.{step}")),
                "status": status,
                "why": why,
            }
        )
    return out


def plan_collection(compiled: CompiledPolicy, request: CollectionRequest, trace: Trace) -> CollectionResult:
    """Choose the next ladder step and the auxiliary actions due for one customer's arrears."""
    c, a = request.customer, request.arrears
    ladder = _ladder_of(compiled, c.segment, c.grade)
    fact: dict[str, FactValue] = {
        "segment": c.segment,
        "days_overdue": Decimal(a.days_overdue),
        "arbitration_agreement": a.arbitration_agreement,
    }
    hits = compiled.rulesets.collection.match([fact])[0]
    trace.fired("collection", hits)
    step_prefix, aux_prefix = f"collection.{c.segment}.step.", f"collection.{c.segment}.aux."
    overdue = a.days_overdue > 0  # a threshold of 0 still needs arrears that are overdue
    passed = {h.removeprefix(step_prefix) for h in hits if h.startswith(step_prefix) and overdue}
    aux_held = {h.removeprefix(aux_prefix) for h in hits if h.startswith(aux_prefix) and overdue}
    taken: set[str] = {s.step for s in a.steps_taken}
    current = max((_rank(s) for s in taken), default=-1)
    paused = a.disputed and ladder.pause_when_disputed
    choice = next_step_of(ladder, taken, passed, a.arbitration_agreement)
    next_step = None if paused else _next_step(ladder, a, request.as_of, choice, passed)
    step_due_now = next_step is not None and next_step.due_now
    auxiliary = _auxiliary(ladder, a, request.as_of, aux_held, paused, compiled.terms[c.grade].penalty)
    # Reasons cite the segment's ladder, as logged decisions always have (a replay must match them
    # byte for byte); the trace cites each step's own line (``rules_fired`` and ``steps``).
    source = str(ladder.source)
    reasons: list[Reason] = []
    for h in hits:
        if h.startswith(step_prefix) and h.removeprefix(step_prefix) in passed:
            why = _step_reason(h.removeprefix(step_prefix), choice, step_due_now, paused, taken, current)
        elif h.startswith(aux_prefix) and h.removeprefix(aux_prefix) in aux_held:
            why = "AUXILIARY_PAUSED" if paused and h.removeprefix(aux_prefix) in PAUSED_BY_DISPUTE else "AUXILIARY_DUE"
        else:
            continue  # arrears 0 days overdue: nothing is due
        reasons.append(Reason(rule=h, reason=why, source=source))
    for flag, code in ((paused, "DISPUTE_PENDING"), (choice.exhausted, "LADDER_EXHAUSTED")):
        if flag:
            reasons.append(Reason(rule=f"collection.{c.segment}", reason=code, source=source))
    current_step = None if current < 0 else LADDER_STEPS[current]
    trace.set("fact", fact)
    trace.set(
        "ladder",
        {
            "segment": ladder.segment,
            "source": str(ladder.source),
            "steps": ladder.steps,
            "skip_steps": ladder.skip_steps,
            "min_days_between_steps": ladder.min_days_between_steps,
            "pause_when_disputed": ladder.pause_when_disputed,
        },
    )
    trace.set(
        "decision",
        {
            "current_step": current_step,
            "paused": paused,
            "next_step": choice.step,
            "skipped": choice.skipped,
            "exhausted": choice.exhausted,
        },
    )
    trace.set("steps", _steps_trace(ladder, a, choice, next_step, passed, paused, current))
    return CollectionResult(
        customer_id=c.id,
        segment=c.segment,
        current_step=current_step,
        next_step=next_step,
        paused=paused,
        reasons=reasons,
        auxiliary=auxiliary,
        actions_due_now=[
            *([next_step.step] if next_step and next_step.due_now else []),
            *(x.action for x in auxiliary if x.due_now),
        ],
        policy=policy_ref(compiled),
    )


COLLECTION = DecisionKind(
    name="collection",
    request=CollectionRequest,
    result=CollectionResult,
    evaluate=plan_collection,
    outcome=lambda result: result.next_step.step if result.next_step is not None else "none",
    as_of=lambda request: request.as_of,
    customer_id=lambda request: request.customer.id,
    order_id=lambda request: None,
)

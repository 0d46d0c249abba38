"""assess: a customer's credit file → factor scores, score, grade, standards, limit, terms, review."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from engine.decisions.kind import DecisionKind
from engine.decisions.settlement import add_days
from engine.errors import EngineError
from engine.facts import credit_file_fact, with_computed
from engine.ir import (
    BandScoring,
    CompiledPolicy,
    FactorIR,
    FactValue,
    GradeLimitIR,
    RatingScoring,
    StandardValueScoring,
    TermsIR,
)
from engine.models import AssessRequest, AssessResult, FactorScore, Reason
from engine.results import policy_ref, terms_out
from engine.trace import Trace

__all__ = [
    "ASSESS",
    "LimitCalculation",
    "assess_credit",
    "calculate_limit",
    "grade_for_score",
    "graded_limit",
    "run_assessment",
    "score_factor",
]

HUNDRED = Decimal(100)
CENT = Decimal("0.01")


def score_factor(factor: FactorIR, value: FactValue) -> Decimal:
    """Points 0..100 of one factor for the value read (None: missing), to 2 decimals."""
    return _points(factor, value).quantize(CENT, rounding=ROUND_HALF_UP)


def _points(factor: FactorIR, value: FactValue) -> Decimal:
    sc = factor.scoring
    if value is None:
        return factor.missing
    if isinstance(sc, RatingScoring):
        # A yes/no fact is rated with the keys "true" and "false".
        key = ("true" if value else "false") if isinstance(value, bool) else str(value)
        return dict(sc.ratings).get(key, sc.unknown)
    if not isinstance(value, Decimal):
        return factor.missing
    if isinstance(sc, BandScoring):
        for band in sc.bands:
            if (band.min is None or value >= band.min) and (band.max is None or value < band.max):
                return band.points
        return sc.outside
    assert isinstance(sc, StandardValueScoring)
    # Y = 100 - (P - X) * alpha where higher is better and X < P; Y = 100 - (X - P) * alpha where
    # lower is better and X > P; no deduction when the standard is met; clamped to 0..100.
    shortfall = sc.standard - value if sc.higher_is_better else value - sc.standard
    points = HUNDRED - max(shortfall, Decimal(0)) * sc.alpha
    return min(HUNDRED, max(Decimal(0), points))


def grade_for_score(compiled: CompiledPolicy, score: Decimal, trace: Trace | None = None) -> str:
    """The grade band a score falls in, asked of the grades ruleset."""
    hits = compiled.rulesets.grades.match([{"score": score}])[0]
    if len(hits) != 1:  # validation guarantees contiguous bands; anything else is a defect
        raise EngineError(f"score {score} matched {len(hits)} grade bands", code="grade_band_defect")
    if trace is not None:
        trace.fired("grades", hits)
    return hits[0].removeprefix("grades.")


@dataclass(frozen=True)
class LimitCalculation:
    """A credit limit and how it came about, step by step."""

    limit: Decimal
    steps: dict[str, Any]


def _basis(fact: dict[str, FactValue], path: str) -> Decimal | None:
    v = fact.get(path)
    return v if isinstance(v, Decimal) else None


_METHOD_BASIS = {
    "pct_working_capital": "financials.working_capital",
    "pct_liquidation_value": "financials.liquidation_value",
    "pct_net_assets": "financials.net_assets",
}


def calculate_limit(
    compiled: CompiledPolicy, rule: GradeLimitIR, fact: dict[str, FactValue], allocated: Decimal
) -> LimitCalculation:
    """Base by method (minimum of several), then every cap; the smallest binds; floor 0; rounding."""
    methods: list[dict[str, Any]] = []
    for m in rule.methods:
        if m.method == "fixed":
            assert m.amount is not None
            methods.append({"method": "fixed", "amount": m.amount.quantize(CENT)})
            continue
        assert m.pct is not None
        basis_path = _METHOD_BASIS[m.method]
        basis = _basis(fact, basis_path)
        # An unknown or negative basis grants nothing: prudence over optimism.
        amount = Decimal(0) if basis is None else max(Decimal(0), basis * m.pct)
        amount = amount.quantize(CENT, ROUND_DOWN)
        methods.append({"method": m.method, "pct": m.pct, "basis": basis_path, "basis_value": basis, "amount": amount})
    base = min(x["amount"] for x in methods)
    caps: list[dict[str, Any]] = []
    for name, enabled, path in (
        ("net_assets", rule.caps.net_assets, "financials.net_assets"),
        ("working_capital", rule.caps.working_capital, "financials.working_capital"),
    ):
        if enabled:
            value = _basis(fact, path)
            # A cap whose basis is unknown cannot be shown to hold, so it allows nothing.
            amount = (Decimal(0) if value is None else max(Decimal(0), value)).quantize(CENT, ROUND_DOWN)
            caps.append({"cap": name, "amount": amount})
    if rule.caps.absolute is not None:
        caps.append({"cap": "absolute", "amount": rule.caps.absolute.quantize(CENT)})
    remaining = max(Decimal(0), compiled.portfolio_total - allocated).quantize(CENT)
    caps.append({"cap": "portfolio_remaining", "amount": remaining})
    ceiling = min(c["amount"] for c in caps)
    capped = min(base, ceiling)
    bound_by = "base"
    if ceiling < base:
        bound_by = next(c["cap"] for c in caps if c["amount"] == ceiling)
    for c in caps:
        c["bound"] = c["cap"] == bound_by
    step = compiled.rounding_step
    rounded = (capped / step).quantize(Decimal(1), rounding=ROUND_DOWN) * step
    if compiled.rounding_mode == "nearest":
        nearest = (capped / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step
        # Rounding to nearest must never lift a limit above the cap that bound it.
        rounded = nearest if nearest <= ceiling else rounded
    limit = max(Decimal(0), rounded).quantize(CENT)
    steps = {
        "grade": rule.grade,
        "source": str(rule.source),
        "methods": methods,
        "combine": "min" if len(methods) > 1 else "single",
        "base": base,
        "caps": caps,
        "bound_by": bound_by,
        "before_rounding": capped,
        "rounding": {"step": step.normalize(), "mode": compiled.rounding_mode},
        "limit": limit,
    }
    return LimitCalculation(limit, steps)


def _most_granted(rule: GradeLimitIR) -> Decimal | None:
    """The most a grade's rule can ever grant (None: bounded only by the customer's figures)."""
    fixed = [m.amount for m in rule.methods if m.method == "fixed" and m.amount is not None]
    bounds = [*([min(fixed)] if fixed else []), *([rule.caps.absolute] if rule.caps.absolute is not None else [])]
    return min(bounds) if bounds else None


def graded_limit(
    compiled: CompiledPolicy, grade: str, fact: dict[str, FactValue], allocated: Decimal
) -> LimitCalculation:
    """The limit of ``grade``, never below what a worse grade that still gets credit would grant.

    Credit managers rely on "a better credit file never gets a lower limit"; per-grade formulas
    alone cannot promise it (20 % of working capital capped at 12 % of equity can be less than
    15 % of working capital). Validation keeps caps from tightening towards better grades, so the
    floor never breaks the better grade's own caps.
    """
    own = calculate_limit(compiled, compiled.limits[grade], fact, allocated)
    rank = compiled.grade(grade).rank
    minimum = compiled.standards.min_grade
    last = compiled.grade(minimum).rank if minimum is not None else len(compiled.grades) - 1
    best = own
    for g in compiled.grades[rank + 1 : last + 1]:
        rule = compiled.limits[g.grade]
        ceiling = _most_granted(rule)
        if ceiling is not None and ceiling <= best.limit:
            continue  # this grade can never grant more than what is already granted
        other = calculate_limit(compiled, rule, fact, allocated)
        if other.limit > best.limit:
            best = other
    if best is own:
        return own
    # own_limit: what the grade's own rule gave, so a reader sees the step the floor replaced.
    floor = {"grade": best.steps["grade"], "limit": best.limit, "own_limit": own.limit}
    steps = {**own.steps, "limit": best.limit, "floor": floor}
    steps["bound_by"] = f"floor_grade_{best.steps['grade']}"
    return LimitCalculation(best.limit, steps)


@dataclass(frozen=True)
class Assessment:
    """The assess decision in engine terms, reused by the inline assessment of an order check."""

    result: AssessResult
    fact: dict[str, FactValue]


def cash_in_advance(terms: TermsIR) -> TermsIR:
    """No credit: the customer pays before delivery (the penalty terms still apply to any debt)."""
    return TermsIR("cash in advance", (), 0, True, terms.penalty, terms.source)


def assess_credit(compiled: CompiledPolicy, request: AssessRequest, trace: Trace) -> AssessResult:
    """Score, grade, check standards, and set limit, terms and review date for one customer."""
    return run_assessment(compiled, request, trace).result


def run_assessment(compiled: CompiledPolicy, request: AssessRequest, trace: Trace) -> Assessment:
    fact = credit_file_fact(request.customer.id, request.customer.segment, request.credit_file)
    scores: list[FactorScore] = []
    total = Decimal(0)
    for factor in compiled.factors:
        value = fact.get(factor.input)
        points = score_factor(factor, value)
        weighted = points * factor.weight / HUNDRED
        total += weighted
        scores.append(
            FactorScore(
                id=factor.id,
                group=factor.group,
                input=factor.input,
                value=None if value is None else (format(value, "f") if isinstance(value, Decimal) else str(value)),
                points=points,
                weight=factor.weight,
                weighted=weighted.quantize(Decimal("0.0001"), ROUND_HALF_UP),
            )
        )
    score = min(HUNDRED, total).quantize(CENT, rounding=ROUND_HALF_UP)
    grade = grade_for_score(compiled, score, trace)
    band = compiled.grade(grade)
    fact["score"] = score
    fact["grade"] = grade
    with_computed(fact, compiled.tables["standards"].computed)
    failed = compiled.rulesets.standards.match([fact])[0]
    trace.fired("standards", failed)
    rules = {r.id: r for r in compiled.standards.rules}
    reasons = [Reason(rule=rid, reason=rules[rid].reason, source=str(rules[rid].source)) for rid in failed]
    eligible = not failed
    if eligible:
        calc = graded_limit(compiled, grade, fact, request.portfolio.allocated)
        limit, limit_steps = calc.limit, calc.steps
        terms = compiled.terms[grade]
    else:
        limit = Decimal("0.00")
        limit_steps = {"grade": grade, "limit": limit, "bound_by": "standards_not_met"}
        terms = cash_in_advance(compiled.terms[grade])
    review_days = compiled.review_days[grade]
    trace.set_later(
        "factors",
        lambda: [
            {**s.model_dump(mode="json"), "source": str(f.source)}
            for s, f in zip(scores, compiled.factors, strict=True)
        ],
    )
    trace.set("score", score)
    trace.set(
        "grade_band",
        {"grade": grade, "min_score": band.min_score, "max_score": band.max_score, "source": str(band.source)},
    )
    trace.set_later("standards", lambda: {"eligible": eligible, "failed": [r.model_dump(mode="json") for r in reasons]})
    trace.set("limit", limit_steps)
    result = AssessResult(
        customer_id=request.customer.id,
        score=score,
        grade=grade,
        eligible=eligible,
        reasons=reasons,
        credit_limit=limit,
        terms=terms_out(terms),
        review_interval_days=review_days,
        next_review=add_days(request.as_of, review_days, "as_of"),  # refused beyond the calendar, never a crash
        factors=scores,
        policy=policy_ref(compiled),
    )
    return Assessment(result, fact)


ASSESS = DecisionKind(
    name="assess",
    request=AssessRequest,
    result=AssessResult,
    evaluate=assess_credit,
    outcome=lambda result: result.grade,
    as_of=lambda request: request.as_of,
    customer_id=lambda request: request.customer.id,
    order_id=lambda request: None,
)

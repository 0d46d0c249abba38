"""Compile a validated policy into its evaluable form: an ordered list of small named stages.

Each stage reads the pydantic model and adds one part of the compiled policy; errors are
collected across stages, not first-only. The last stage builds the rulesets (durable-rules by
default, plain Python for the batch path), which is why it must run after every stage that
produces conditions. Compiled policies are cached by content hash: compile once, evaluate many.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Protocol

from engine.errors import CompileError
from engine.facts import INEXACT_FIELDS
from engine.ir import (
    BandIR,
    BandScoring,
    CapsIR,
    CompiledPolicy,
    ComputedField,
    FactorIR,
    GradeIR,
    GradeLimitIR,
    LadderIR,
    LimitMethodIR,
    Matcher,
    OrderRuleIR,
    OrderRulesIR,
    PenaltyIR,
    PolicyMetaIR,
    RatingScoring,
    RulesetSet,
    RuleSpec,
    RuleTable,
    SourceRef,
    StandardsIR,
    StandardsRuleIR,
    StandardValueScoring,
    TermsIR,
    TierIR,
)
from engine.matchers import MatcherFactory, durable_matcher, python_matcher
from policy import schema as s
from policy.expressions import (
    And,
    Arith,
    Compare,
    Condition,
    FieldRef,
    InList,
    IsMissing,
    Literal,
    Not,
    Or,
    parse_condition,
)
from policy.fields import FieldType
from policy.terms import parse_terms, render_terms
from policy.versioning import content_hash

__all__ = ["COLLECTION_FIELDS", "SETTLEMENT_FIELDS", "compile_policy", "python_twin"]

Path = tuple[str | int, ...]


class LoadedPolicyLike(Protocol):
    """What the compiler needs of a loaded policy (policy.validate.LoadedPolicy)."""

    @property
    def policy(self) -> s.Policy: ...

    @property
    def file(self) -> str: ...

    @property
    def text(self) -> str: ...

    def location(self, path: Path) -> tuple[int, int]: ...


# Internal fields of the generated collection and settlement rules (not readable by policies).
COLLECTION_FIELDS = {
    "segment": FieldRef("segment", FieldType.SEGMENT, False),
    "days_overdue": FieldRef("days_overdue", FieldType.INTEGER, False),
    "arbitration_agreement": FieldRef("arbitration_agreement", FieldType.BOOL, False),
}
SETTLEMENT_FIELDS = {
    "day": FieldRef("day", FieldType.INTEGER, False),
    "window_days": FieldRef("window_days", FieldType.INTEGER, False),
}


@dataclass
class _Build:
    loaded: LoadedPolicyLike
    sha256: str
    errors: list[str] = field(default_factory=list)
    parts: dict[str, Any] = field(default_factory=dict)
    computed_counter: int = 0

    def src(self, path: Path) -> SourceRef:
        line, _ = self.loaded.location(path)
        return SourceRef(self.loaded.file, line)


# --- condition hoisting ---------------------------------------------------------------------
def _inexact(value: object) -> bool:
    """Arithmetic, or a derived ratio: values the rules engine's 4-decimal integers cannot hold exactly."""
    if isinstance(value, Arith):
        return True
    return isinstance(value, FieldRef) and value.path in INEXACT_FIELDS


def _computed(build: _Build, computed: list[ComputedField], expression: Arith) -> FieldRef:
    build.computed_counter += 1
    path = f"_c{build.computed_counter}"
    computed.append(ComputedField(path, expression))
    return FieldRef(path, FieldType.NUMBER, True)


def _hoist(cond: Condition, build: _Build, computed: list[ComputedField]) -> Condition:
    """Replace each comparison of an inexact value by one of a computed, exactly signed, difference with 0.

    ``a op b`` holds exactly when ``a - b op 0``; the difference is computed with ``Decimal`` and
    rounded away from zero, so its sign (all the rule looks at) is never lost.
    """
    zero = Literal(Decimal(0), FieldType.NUMBER)
    if isinstance(cond, Compare):
        if _inexact(cond.left) or _inexact(cond.right):
            return Compare(cond.op, _computed(build, computed, Arith("-", cond.left, cond.right)), zero)
        return cond
    if isinstance(cond, InList) and cond.operand.path in INEXACT_FIELDS:
        members = tuple(
            _hoist(Compare("==", cond.operand, Literal(v, FieldType.NUMBER)), build, computed) for v in cond.values
        )
        either: Condition = Or(members) if len(members) > 1 else members[0]
        return Not(either) if cond.negated else either
    if isinstance(cond, IsMissing) and cond.field.path in INEXACT_FIELDS:
        return IsMissing(_computed(build, computed, Arith("-", cond.field, zero)), cond.negated)
    if isinstance(cond, And):
        return And(tuple(_hoist(c, build, computed) for c in cond.items))
    if isinstance(cond, Or):
        return Or(tuple(_hoist(c, build, computed) for c in cond.items))
    if isinstance(cond, Not):
        return Not(_hoist(cond.item, build, computed))
    return cond


def _condition(build: _Build, text: str, context: str, path: Path) -> Condition | None:
    grades = [g.grade for g in build.loaded.policy.grades]
    try:
        return parse_condition(text, context, grades)
    except Exception as exc:  # validation already reported it; the compiler must not crash
        build.errors.append(f"{build.src(path)}: {exc}")
        return None


# --- stages ---------------------------------------------------------------------------------
def stage_meta(b: _Build) -> None:
    m = b.loaded.policy.policy
    b.parts["meta"] = PolicyMetaIR(
        m.id, m.version, b.sha256, m.effective_from, m.effective_to, m.currency, b.loaded.file
    )


def stage_scorecard(b: _Build) -> None:
    factors: list[FactorIR] = []
    for i, f in enumerate(b.loaded.policy.scorecard.factors):
        scoring: StandardValueScoring | BandScoring | RatingScoring
        if isinstance(f, s.StandardValueFactor):
            scoring = StandardValueScoring(f.direction == "higher_is_better", f.standard, f.alpha)
        elif isinstance(f, s.BandedFactor):
            scoring = BandScoring(tuple(BandIR(x.min, x.max, x.points) for x in f.bands), f.outside)
        else:
            scoring = RatingScoring(tuple(sorted(f.ratings.items())), f.unknown_rating)
        factors.append(
            FactorIR(f.id, f.group, f.input, f.weight, f.missing, scoring, b.src(("scorecard", "factors", i)))
        )
    b.parts["factors"] = tuple(factors)


def stage_grades(b: _Build) -> None:
    b.parts["grades"] = tuple(
        GradeIR(g.grade, rank, g.min_score, g.max_score, b.src(("grades", rank)))
        for rank, g in enumerate(b.loaded.policy.grades)
    )


def stage_standards(b: _Build) -> None:
    st = b.loaded.policy.standards
    grades = [g.grade for g in b.loaded.policy.grades]
    rules: list[StandardsRuleIR] = []
    if st.blacklist:
        cond = InList(FieldRef("customer.id", FieldType.TEXT, False), tuple(sorted(st.blacklist)), False)
        rules.append(StandardsRuleIR("standards.blacklist", cond, "BLACKLISTED", b.src(("standards", "blacklist"))))
    if st.min_grade is not None and st.min_grade in grades:
        worse = tuple(grades[grades.index(st.min_grade) + 1 :])
        if worse:
            cond = InList(FieldRef("grade", FieldType.GRADE, False), worse, False)
            rules.append(
                StandardsRuleIR("standards.min_grade", cond, "GRADE_BELOW_MINIMUM", b.src(("standards", "min_grade")))
            )
    for key, path, reason in (
        ("max_expected_dso_days", "outlook.expected_dso_days", "EXPECTED_DSO_TOO_HIGH"),
        ("max_expected_bad_debt_rate", "outlook.expected_bad_debt_rate", "EXPECTED_BAD_DEBT_TOO_HIGH"),
    ):
        limit = getattr(st, key)
        if limit is not None:
            ftype = FieldType.NUMBER if key == "max_expected_dso_days" else FieldType.RATIO
            above = Compare(">", FieldRef(path, ftype, True), Literal(limit, FieldType.NUMBER))
            rules.append(StandardsRuleIR(f"standards.{key}", above, reason, b.src(("standards", key))))
    for i, r in enumerate(st.rules):
        parsed = _condition(b, r.when, "assess", ("standards", "rules", i, "when"))
        if parsed is not None:
            rules.append(StandardsRuleIR(f"standards.rules.{r.id}", parsed, r.reason, b.src(("standards", "rules", i))))
    b.parts["standards"] = StandardsIR(tuple(rules), st.min_grade, frozenset(st.blacklist))


def _method_ir(m: s.FixedLimit | s.PctLimit) -> LimitMethodIR:
    if isinstance(m, s.FixedLimit):
        return LimitMethodIR("fixed", amount=m.amount)
    return LimitMethodIR(m.method, pct=m.pct)


def stage_limits(b: _Build) -> None:
    lp = b.loaded.policy.limits
    limits: dict[str, GradeLimitIR] = {}
    for grade, rule in lp.per_grade.items():
        caps = rule.caps or lp.caps
        methods = tuple(_method_ir(m) for m in rule.of) if isinstance(rule, s.MinGradeLimit) else (_method_ir(rule),)
        limits[grade] = GradeLimitIR(
            grade,
            methods,
            CapsIR(caps.net_assets, caps.working_capital, caps.absolute),
            b.src(("limits", "per_grade", grade)),
        )
    b.parts["limits"] = MappingProxyType(limits)
    b.parts["portfolio_total"] = lp.portfolio_total
    b.parts["rounding_step"] = lp.rounding.step
    b.parts["rounding_mode"] = lp.rounding.mode


def penalty_ir(p: s.PenaltyInterest) -> PenaltyIR:
    return PenaltyIR(p.rate, p.per, p.basis, p.grace_days)


def terms_ir(text: str, penalty: PenaltyIR, source: SourceRef | None) -> TermsIR:
    """Parse terms text into its compiled form (raises policy ExpressionError on bad text)."""
    parsed = parse_terms(text)
    tiers = tuple(TierIR(t.rate, t.days) for t in parsed.tiers)
    return TermsIR(render_terms(parsed), tiers, parsed.credit_days, parsed.cash_in_advance, penalty, source)


def stage_terms(b: _Build) -> None:
    tp = b.loaded.policy.terms
    default = penalty_ir(tp.penalty)
    terms: dict[str, TermsIR] = {}
    for grade, gt in tp.per_grade.items():
        penalty = penalty_ir(gt.penalty) if gt.penalty is not None else default
        try:
            terms[grade] = terms_ir(gt.text, penalty, b.src(("terms", "per_grade", grade)))
        except Exception as exc:
            b.errors.append(f"{b.src(('terms', 'per_grade', grade))}: {exc}")
    b.parts["terms"] = MappingProxyType(terms)
    b.parts["default_penalty"] = default
    b.parts["review_days"] = MappingProxyType(dict(b.loaded.policy.review.per_grade))


def stage_order_rules(b: _Build) -> None:
    o = b.loaded.policy.order_rules
    rules: list[OrderRuleIR] = []
    for i, r in enumerate(o.rules):
        parsed = _condition(b, r.when, "order", ("order_rules", "rules", i, "when"))
        if parsed is not None:
            src = b.src(("order_rules", "rules", i))
            rules.append(OrderRuleIR(f"order_rules.{r.id}", parsed, r.then.outcome, r.then.reason, src))
    b.parts["order_rules"] = OrderRulesIR(
        o.combine,
        o.default.outcome,
        o.default.reason,
        b.src(("order_rules", "default")),
        tuple(rules),
        o.release_tolerance.amount_pct,
        o.release_tolerance.days,
    )


def stage_ladders(b: _Build) -> None:
    ladders: dict[str, LadderIR] = {}
    for seg, lad in b.loaded.policy.collection.segments.items():
        steps = tuple((step, lad.steps[step]) for step in s.LADDER_STEPS if step in lad.steps)
        aux = tuple((a, lad.auxiliary[a]) for a in s.AUXILIARY_ACTIONS if a in lad.auxiliary)
        ladders[seg] = LadderIR(
            seg,
            steps,
            aux,
            lad.skip_steps,
            lad.min_days_between_steps,
            lad.pause_when_disputed,
            b.src(("collection", "segments", seg)),
        )
    b.parts["ladders"] = MappingProxyType(ladders)


def _specs(b: _Build, rules: Sequence[tuple[str, Condition, SourceRef]]) -> RuleTable:
    computed: list[ComputedField] = []
    specs = tuple(RuleSpec(rid, _hoist(cond, b, computed), str(src)) for rid, cond, src in rules)
    return RuleTable(specs, tuple(computed))


def rule_tables(b: _Build) -> dict[str, RuleTable]:
    """The rules of each matcher, as data; the matcher factory turns them into rulesets."""
    grades: list[GradeIR] = b.parts["grades"]
    score = FieldRef("score", FieldType.NUMBER, False)
    grade_rules = []
    for g in grades:
        upper = "<=" if g.rank == 0 else "<"
        cond = And(
            (
                Compare(">=", score, Literal(g.min_score, FieldType.NUMBER)),
                Compare(upper, score, Literal(g.max_score, FieldType.NUMBER)),
            )
        )
        grade_rules.append((f"grades.{g.grade}", cond, g.source))
    standards: StandardsIR = b.parts["standards"]
    order: OrderRulesIR = b.parts["order_rules"]
    ladder_rules: list[tuple[str, Condition, SourceRef]] = []
    seg_f, days_f, arb_f = (COLLECTION_FIELDS[k] for k in ("segment", "days_overdue", "arbitration_agreement"))
    for lad in b.parts["ladders"].values():
        is_seg = Compare("==", seg_f, Literal(lad.segment, FieldType.TEXT))
        for kind, entries in (("step", lad.steps), ("aux", lad.auxiliary)):
            for name, days in entries:
                parts: list[Condition] = [is_seg, Compare(">=", days_f, Literal(Decimal(days), FieldType.NUMBER))]
                if name == "arbitration":
                    # Arbitration needs a written arbitration agreement; without one it is not on the ladder.
                    parts.append(Compare("==", arb_f, Literal(True, FieldType.BOOL)))
                ladder_rules.append((f"collection.{lad.segment}.{kind}.{name}", And(tuple(parts)), lad.source))
    window = Compare("<=", SETTLEMENT_FIELDS["day"], SETTLEMENT_FIELDS["window_days"])
    terms_src = SourceRef(b.loaded.file, b.loaded.location(("terms",))[0])
    return {
        "grades": _specs(b, grade_rules),
        "standards": _specs(b, [(r.id, r.condition, r.source) for r in standards.rules]),
        "order": _specs(b, [(r.id, r.condition, r.source) for r in order.rules]),
        "collection": _specs(b, ladder_rules),
        "settlement": _specs(b, [("terms.discount_window", window, terms_src)]),
    }


STAGES: tuple[Callable[[_Build], None], ...] = (
    stage_meta,
    stage_scorecard,
    stage_grades,
    stage_standards,
    stage_limits,
    stage_terms,
    stage_order_rules,
    stage_ladders,
)


_cache: dict[tuple[str, str], CompiledPolicy] = {}
_cache_lock = threading.Lock()


def _build_rulesets(tables: dict[str, RuleTable], factory: MatcherFactory, source_key: str) -> RulesetSet:
    matchers: dict[str, Matcher] = {
        kind: factory(f"cp_{source_key[:20]}_{kind}", t.rules) for kind, t in tables.items()
    }
    return RulesetSet(**matchers)


def _source_key(loaded: LoadedPolicyLike, sha: str) -> str:
    """Identifies the source as written: same content in another file or layout has other lines to cite."""
    return hashlib.sha256(f"{sha}\0{loaded.file}\0{loaded.text}".encode()).hexdigest()


def compile_policy(loaded: LoadedPolicyLike, *, factory: MatcherFactory = durable_matcher) -> CompiledPolicy:
    """Compile a validated policy once per source; the same source returns the cached compiled form.

    Rulesets are named by the source (durable-rules can never replace a ruleset), so a reformatted
    copy of a policy gets its own rulesets and its traces cite its own file and lines.
    """
    sha = content_hash(loaded.policy)
    source_key = _source_key(loaded, sha)
    key = (source_key, factory.__name__)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    b = _Build(loaded, sha)
    for stage in STAGES:
        stage(b)
    if b.errors:
        raise CompileError(b.errors)
    tables = rule_tables(b)
    rulesets = _build_rulesets(tables, factory, source_key)
    compiled = CompiledPolicy(
        meta=b.parts["meta"],
        factors=b.parts["factors"],
        grades=b.parts["grades"],
        standards=b.parts["standards"],
        limits=b.parts["limits"],
        portfolio_total=b.parts["portfolio_total"],
        rounding_step=b.parts["rounding_step"],
        rounding_mode=b.parts["rounding_mode"],
        terms=b.parts["terms"],
        default_penalty=b.parts["default_penalty"],
        review_days=b.parts["review_days"],
        order_rules=b.parts["order_rules"],
        ladders=b.parts["ladders"],
        tables=MappingProxyType(tables),
        rulesets=rulesets,
    )
    with _cache_lock:
        return _cache.setdefault(key, compiled)


def python_twin(compiled: CompiledPolicy) -> CompiledPolicy:
    """The same compiled policy with plain-Python matchers: the fast path for batch simulations."""
    return replace(compiled, rulesets=_build_rulesets(dict(compiled.tables), python_matcher, compiled.meta.sha256))

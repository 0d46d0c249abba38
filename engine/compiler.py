"""Compile a validated policy into its evaluable form: an ordered list of small named stages.

Each stage (:data:`STAGES`) reads the policy model and the products of the stages before it and
returns one product, a frozen dataclass (``Scorecard``, ``GradeScale``, ``StandardsIR``, …);
problems are collected as located issues (``file:line:col``, path, code) across every stage, not
first-only, and raised together as one :class:`~engine.errors.CompileError`. Order matters in one
place, marked below: the rule tables read the conditions the content stages parsed, and the
matchers (durable-rules by default, plain Python for the batch path) are built from the tables.

Nothing is cached here: a caller that evaluates many times keeps what it compiled (the service's
policy registry, by content hash), and durable-rules rulesets, which can never be replaced, are
registered once per process by :mod:`engine.rules_adapter` whoever compiles the same source again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from types import MappingProxyType
from typing import Literal as TypingLiteral
from typing import Protocol, TypeVar, cast

from engine.errors import CapacityError, CompileError
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
from engine.rules_adapter import RuleSize, rule_sizes
from policy import schema as s
from policy.errors import ExpressionError, Issue
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

__all__ = [
    "COLLECTION_FIELDS",
    "MAX_ENGINE_CONDITIONS",
    "SETTLEMENT_FIELDS",
    "EngineSize",
    "compile_policy",
    "engine_size",
    "python_twin",
]

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


# What one policy may expand to in durable-rules, which never returns a ruleset's memory: each
# condition costs ~4 kB and ~0.06 ms to register (bench/policy_memory.py), so at most ~40 MB and
# ~1 s per version; the shipped policy holds 164.
MAX_ENGINE_CONDITIONS = 8_000

P = TypeVar("P")


class _Compilation:
    """What the stages share: the policy, the issues found so far, and each product by its type."""

    def __init__(
        self, loaded: LoadedPolicyLike, factory: MatcherFactory, max_conditions: int = MAX_ENGINE_CONDITIONS
    ) -> None:
        self.loaded = loaded
        self.factory = factory
        self.max_conditions = max_conditions
        self.rule_paths: dict[str, Path] = {}  # rule id → where its condition is written
        self.sha256 = content_hash(loaded.policy)
        self.issues: list[Issue] = []
        self._products: dict[type, object] = {}
        self._computed = 0

    def src(self, path: Path) -> SourceRef:
        """Where the element at ``path`` was written."""
        line, column = self.loaded.location(path)
        return SourceRef(self.loaded.file, line, column)

    def problem(self, path: Path, message: str, code: str) -> None:
        """Collect a problem located at ``path``; compilation goes on to find the others."""
        self.issues.append(self.src(path).issue(path, message, code))

    def put(self, product: object) -> None:
        self._products[type(product)] = product

    def get(self, kind: type[P]) -> P:
        """The product of an earlier stage (a KeyError names a stage that runs too early)."""
        return cast(P, self._products[kind])

    def computed_path(self) -> str:
        """A fresh name for a computed field (unique across the policy's tables)."""
        self._computed += 1
        return f"_c{self._computed}"


# --- the products of the stages ----------------------------------------------------------------
@dataclass(frozen=True)
class Scorecard:
    factors: tuple[FactorIR, ...]


@dataclass(frozen=True)
class GradeScale:
    grades: tuple[GradeIR, ...]  # best first


@dataclass(frozen=True)
class Limits:
    per_grade: Mapping[str, GradeLimitIR]
    portfolio_total: Decimal
    rounding_step: Decimal
    rounding_mode: TypingLiteral["down", "nearest"]


@dataclass(frozen=True)
class Terms:
    per_grade: Mapping[str, TermsIR]
    default_penalty: PenaltyIR
    review_days: Mapping[str, int]


@dataclass(frozen=True)
class Ladders:
    per_segment: Mapping[str, LadderIR]


@dataclass(frozen=True)
class RuleTables:
    tables: Mapping[str, RuleTable]  # grades, standards, order, collection, settlement


@dataclass(frozen=True)
class EngineSize:
    """What a policy's rule tables expand to in durable-rules (see ``engine.rules_adapter.RuleSize``)."""

    engine_rules: int
    conditions: int
    largest: RuleSize | None  # the rule with the most conditions


# --- condition hoisting ---------------------------------------------------------------------
def _inexact(value: object) -> bool:
    """Arithmetic, or a derived ratio: values the rules engine's 4-decimal integers cannot hold exactly."""
    if isinstance(value, Arith):
        return True
    return isinstance(value, FieldRef) and value.path in INEXACT_FIELDS


def _computed(c: _Compilation, computed: list[ComputedField], expression: Arith) -> FieldRef:
    path = c.computed_path()
    computed.append(ComputedField(path, expression))
    return FieldRef(path, FieldType.NUMBER, True)


def _hoist(cond: Condition, build: _Compilation, computed: list[ComputedField]) -> Condition:
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


def _condition(c: _Compilation, text: str, context: str, path: Path) -> Condition | None:
    grades = [g.grade for g in c.loaded.policy.grades]
    try:
        return parse_condition(text, context, grades)
    except ExpressionError as exc:  # validation reports it first; the compiler must not crash either
        c.problem(path, f"column {exc.column}: {exc.message}", exc.code)
        return None


# --- stages ---------------------------------------------------------------------------------
def stage_meta(c: _Compilation) -> PolicyMetaIR:
    m = c.loaded.policy.policy
    return PolicyMetaIR(m.id, m.version, c.sha256, m.effective_from, m.effective_to, m.currency, c.loaded.file)


def stage_scorecard(c: _Compilation) -> Scorecard:
    factors: list[FactorIR] = []
    for i, f in enumerate(c.loaded.policy.scorecard.factors):
        scoring: StandardValueScoring | BandScoring | RatingScoring
        if isinstance(f, s.StandardValueFactor):
            scoring = StandardValueScoring(f.direction == "higher_is_better", f.standard, f.alpha)
        elif isinstance(f, s.BandedFactor):
            scoring = BandScoring(tuple(BandIR(x.min, x.max, x.points) for x in f.bands), f.outside)
        else:
            scoring = RatingScoring(tuple(sorted(f.ratings.items())), f.unknown_rating)
        factors.append(
            FactorIR(f.id, f.group, f.input, f.weight, f.missing, scoring, c.src(("scorecard", "factors", i)))
        )
    return Scorecard(tuple(factors))


def stage_grades(c: _Compilation) -> GradeScale:
    return GradeScale(
        tuple(
            GradeIR(g.grade, rank, g.min_score, g.max_score, c.src(("grades", rank)))
            for rank, g in enumerate(c.loaded.policy.grades)
        )
    )


def stage_standards(c: _Compilation) -> StandardsIR:
    st = c.loaded.policy.standards
    grades = [g.grade for g in c.loaded.policy.grades]
    rules: list[StandardsRuleIR] = []
    if st.blacklist:
        cond = InList(FieldRef("customer.id", FieldType.TEXT, False), tuple(sorted(st.blacklist)), False)
        c.rule_paths["standards.blacklist"] = ("standards", "blacklist")
        rules.append(StandardsRuleIR("standards.blacklist", cond, "BLACKLISTED", c.src(("standards", "blacklist"))))
    if st.min_grade is not None and st.min_grade in grades:
        worse = tuple(grades[grades.index(st.min_grade) + 1 :])
        if worse:
            cond = InList(FieldRef("grade", FieldType.GRADE, False), worse, False)
            rules.append(
                StandardsRuleIR("standards.min_grade", cond, "GRADE_BELOW_MINIMUM", c.src(("standards", "min_grade")))
            )
    for key, path, reason in (
        ("max_expected_dso_days", "outlook.expected_dso_days", "EXPECTED_DSO_TOO_HIGH"),
        ("max_expected_bad_debt_rate", "outlook.expected_bad_debt_rate", "EXPECTED_BAD_DEBT_TOO_HIGH"),
    ):
        limit = getattr(st, key)
        if limit is not None:
            ftype = FieldType.NUMBER if key == "max_expected_dso_days" else FieldType.RATIO
            above = Compare(">", FieldRef(path, ftype, True), Literal(limit, FieldType.NUMBER))
            rules.append(StandardsRuleIR(f"standards.{key}", above, reason, c.src(("standards", key))))
    for i, r in enumerate(st.rules):
        parsed = _condition(c, r.when, "assess", ("standards", "rules", i, "when"))
        if parsed is not None:
            c.rule_paths[f"standards.rules.{r.id}"] = ("standards", "rules", i, "when")
            rules.append(StandardsRuleIR(f"standards.rules.{r.id}", parsed, r.reason, c.src(("standards", "rules", i))))
    return StandardsIR(tuple(rules), st.min_grade, frozenset(st.blacklist))


def _method_ir(m: s.FixedLimit | s.PctLimit) -> LimitMethodIR:
    if isinstance(m, s.FixedLimit):
        return LimitMethodIR("fixed", amount=m.amount)
    return LimitMethodIR(m.method, pct=m.pct)


def stage_limits(c: _Compilation) -> Limits:
    lp = c.loaded.policy.limits
    limits: dict[str, GradeLimitIR] = {}
    for grade, rule in lp.per_grade.items():
        caps = rule.caps or lp.caps
        methods = tuple(_method_ir(m) for m in rule.of) if isinstance(rule, s.MinGradeLimit) else (_method_ir(rule),)
        limits[grade] = GradeLimitIR(
            grade,
            methods,
            CapsIR(caps.net_assets, caps.working_capital, caps.absolute),
            c.src(("limits", "per_grade", grade)),
        )
    return Limits(MappingProxyType(limits), lp.portfolio_total, lp.rounding.step, lp.rounding.mode)


def penalty_ir(p: s.PenaltyInterest) -> PenaltyIR:
    return PenaltyIR(p.rate, p.per, p.basis, p.grace_days)


def terms_ir(text: str, penalty: PenaltyIR, source: SourceRef | None) -> TermsIR:
    """Parse terms text into its compiled form (raises policy ExpressionError on bad text)."""
    parsed = parse_terms(text)
    tiers = tuple(TierIR(t.rate, t.days) for t in parsed.tiers)
    return TermsIR(render_terms(parsed), tiers, parsed.credit_days, parsed.cash_in_advance, penalty, source)


def stage_terms(c: _Compilation) -> Terms:
    tp = c.loaded.policy.terms
    default = penalty_ir(tp.penalty)
    terms: dict[str, TermsIR] = {}
    for grade, gt in tp.per_grade.items():
        penalty = penalty_ir(gt.penalty) if gt.penalty is not None else default
        path: Path = ("terms", "per_grade", grade)
        try:
            terms[grade] = terms_ir(gt.text, penalty, c.src(path))
        except ExpressionError as exc:  # validation reports it first
            c.problem(path, f"column {exc.column}: {exc.message}", exc.code)
    return Terms(MappingProxyType(terms), default, MappingProxyType(dict(c.loaded.policy.review.per_grade)))


def stage_order_rules(c: _Compilation) -> OrderRulesIR:
    o = c.loaded.policy.order_rules
    rules: list[OrderRuleIR] = []
    for i, r in enumerate(o.rules):
        parsed = _condition(c, r.when, "order", ("order_rules", "rules", i, "when"))
        if parsed is not None:
            c.rule_paths[f"order_rules.{r.id}"] = ("order_rules", "rules", i, "when")
            src = c.src(("order_rules", "rules", i))
            rules.append(OrderRuleIR(f"order_rules.{r.id}", parsed, r.then.outcome, r.then.reason, src))
    return OrderRulesIR(
        o.combine,
        o.default.outcome,
        o.default.reason,
        c.src(("order_rules", "default")),
        tuple(rules),
        o.release_tolerance.amount_pct,
        o.release_tolerance.days,
    )


def stage_ladders(c: _Compilation) -> Ladders:
    ladders: dict[str, LadderIR] = {}
    for seg, lad in c.loaded.policy.collection.segments.items():
        steps = tuple((step, lad.steps[step]) for step in s.LADDER_STEPS if step in lad.steps)
        aux = tuple((a, lad.auxiliary[a]) for a in s.AUXILIARY_ACTIONS if a in lad.auxiliary)
        base = ("collection", "segments", seg)
        parts = (
            *((f"step.{step}", c.src((*base, "steps", step))) for step, _ in steps),
            *((f"aux.{action}", c.src((*base, "auxiliary", action))) for action, _ in aux),
            *((name, c.src((*base, name))) for name in ("skip_steps", "min_days_between_steps", "pause_when_disputed")),
        )
        ladders[seg] = LadderIR(
            seg,
            steps,
            aux,
            lad.skip_steps,
            lad.min_days_between_steps,
            lad.pause_when_disputed,
            c.src(base),
            parts,
        )
    return Ladders(MappingProxyType(ladders))


def _table(c: _Compilation, rules: Sequence[tuple[str, Condition, SourceRef]]) -> RuleTable:
    computed: list[ComputedField] = []
    specs = tuple(RuleSpec(rid, _hoist(cond, c, computed), src) for rid, cond, src in rules)
    return RuleTable(specs, tuple(computed))


def stage_rule_tables(c: _Compilation) -> RuleTables:
    """The rules of each matcher, as data (the next stage turns them into rulesets).

    Reads the conditions the stages above parsed, so it runs after them; a condition that failed
    to parse would leave a table incomplete, so the problems found so far stop compilation here.
    """
    if c.issues:
        raise CompileError(c.issues)
    score = FieldRef("score", FieldType.NUMBER, False)
    grade_rules = []
    for g in c.get(GradeScale).grades:
        upper = "<=" if g.rank == 0 else "<"
        cond = And(
            (
                Compare(">=", score, Literal(g.min_score, FieldType.NUMBER)),
                Compare(upper, score, Literal(g.max_score, FieldType.NUMBER)),
            )
        )
        grade_rules.append((f"grades.{g.grade}", cond, g.source))
    ladder_rules: list[tuple[str, Condition, SourceRef]] = []
    seg_f, days_f, arb_f = (COLLECTION_FIELDS[k] for k in ("segment", "days_overdue", "arbitration_agreement"))
    for lad in c.get(Ladders).per_segment.values():
        is_seg = Compare("==", seg_f, Literal(lad.segment, FieldType.TEXT))
        for kind, entries in (("step", lad.steps), ("aux", lad.auxiliary)):
            for name, days in entries:
                parts: list[Condition] = [is_seg, Compare(">=", days_f, Literal(Decimal(days), FieldType.NUMBER))]
                if name == "arbitration":
                    # Arbitration needs a written arbitration agreement; without one it is not on the ladder.
                    parts.append(Compare("==", arb_f, Literal(True, FieldType.BOOL)))
                # Each rule cites its own step's line, so a trace points at the threshold that held.
                source = lad.source_of(f"{kind}.{name}")
                ladder_rules.append((f"collection.{lad.segment}.{kind}.{name}", And(tuple(parts)), source))
    window = Compare("<=", SETTLEMENT_FIELDS["day"], SETTLEMENT_FIELDS["window_days"])
    terms_src = c.src(("terms",))
    standards, order = c.get(StandardsIR), c.get(OrderRulesIR)
    tables = {
        "grades": _table(c, grade_rules),
        "standards": _table(c, [(r.id, r.condition, r.source) for r in standards.rules]),
        "order": _table(c, [(r.id, r.condition, r.source) for r in order.rules]),
        "collection": _table(c, ladder_rules),
        "settlement": _table(c, [("terms.discount_window", window, terms_src)]),
    }
    return RuleTables(MappingProxyType(tables))


def engine_size(tables: Mapping[str, RuleTable]) -> EngineSize:
    """How many durable rules and conditions the tables expand to, counted without the engine."""
    sizes = [size for table in tables.values() for size in rule_sizes(table.rules)]
    largest = max(sizes, key=lambda size: size.conditions, default=None)
    return EngineSize(sum(size.engine_rules for size in sizes), sum(size.conditions for size in sizes), largest)


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'s' * (number != 1)}"


def stage_engine_budget(c: _Compilation) -> EngineSize:
    """Refuse a policy that expands beyond ``max_conditions`` before any matcher is built.

    durable-rules keeps each ruleset's memory for the life of the process, and a short text can
    expand a lot: every value of a top-level ``in [...]`` is an engine rule of its own. The
    issue names the rule that expands the most, where its condition is written.
    """
    size = engine_size(c.get(RuleTables).tables)
    if size.conditions <= c.max_conditions or size.largest is None:
        return size
    rule = size.largest
    message = (
        f"the policy expands to {size.conditions:,} conditions in the rules engine, more than the "
        f"{c.max_conditions:,} one policy may hold (the engine never returns their memory); "
        f"'{rule.rule.id}' expands the most: {_count(rule.engine_rules, 'engine rule')} with "
        f"{_count(rule.conditions, 'condition')} "
        "(each value of an 'in [...]' list and each alternative of an 'or' at the top of a condition "
        "is an engine rule of its own)"
    )
    path = c.rule_paths.get(rule.rule.id)
    if path is None:  # a rule the compiler generates (grades, ladders): located by its source
        raise CapacityError([rule.rule.source.issue((rule.rule.id,), message, "expansion_too_large")])
    raise CapacityError([c.src(path).issue(path, message, "expansion_too_large")])


def stage_matchers(c: _Compilation) -> RulesetSet:
    """The rulesets of the tables, named by the source as written (durable-rules never replaces a
    ruleset: a reformatted copy of a policy gets its own, and its traces cite its own lines)."""
    return _matchers(c.get(RuleTables).tables, c.factory, _source_key(c.loaded, c.sha256))


Stage = Callable[[_Compilation], object]  # returns its product, kept by the product's type

STAGES: tuple[Stage, ...] = (
    stage_meta,
    stage_scorecard,
    stage_grades,
    stage_standards,
    stage_limits,
    stage_terms,
    stage_order_rules,
    stage_ladders,
    # Order matters from here: the tables read every condition parsed above, the matchers the tables.
    stage_rule_tables,
    stage_engine_budget,  # before any matcher: a refused policy registers nothing
    stage_matchers,
)


def _matchers(tables: Mapping[str, RuleTable], factory: MatcherFactory, source_key: str) -> RulesetSet:
    matchers: dict[str, Matcher] = {
        kind: factory(f"cp_{source_key[:20]}_{kind}", t.rules) for kind, t in tables.items()
    }
    return RulesetSet(**matchers)


def _source_key(loaded: LoadedPolicyLike, sha: str) -> str:
    """Identifies the source as written: same content in another file or layout has other lines to cite."""
    return hashlib.sha256(f"{sha}\0{loaded.file}\0{loaded.text}".encode()).hexdigest()


def compile_policy(
    loaded: LoadedPolicyLike, *, factory: MatcherFactory = durable_matcher, max_conditions: int = MAX_ENGINE_CONDITIONS
) -> CompiledPolicy:
    """Run every stage in order; every problem found, located, in one CompileError.

    ``factory`` builds the matchers: ``durable_matcher`` registers durable rulesets (only for
    versions that decide live requests), ``twin_matcher`` is the same without registering,
    ``python_matcher`` the batch path. ``max_conditions`` bounds what the policy may expand to.
    """
    c = _Compilation(loaded, factory, max_conditions)
    for stage in STAGES:
        c.put(stage(c))
    if c.issues:
        raise CompileError(c.issues)
    limits, terms = c.get(Limits), c.get(Terms)
    return CompiledPolicy(
        meta=c.get(PolicyMetaIR),
        factors=c.get(Scorecard).factors,
        grades=c.get(GradeScale).grades,
        standards=c.get(StandardsIR),
        limits=limits.per_grade,
        portfolio_total=limits.portfolio_total,
        rounding_step=limits.rounding_step,
        rounding_mode=limits.rounding_mode,
        terms=terms.per_grade,
        default_penalty=terms.default_penalty,
        review_days=terms.review_days,
        order_rules=c.get(OrderRulesIR),
        ladders=c.get(Ladders).per_segment,
        tables=c.get(RuleTables).tables,
        rulesets=c.get(RulesetSet),
    )


def python_twin(compiled: CompiledPolicy) -> CompiledPolicy:
    """The same compiled policy with plain-Python matchers: the fast path for batch simulations."""
    return replace(compiled, rulesets=_matchers(compiled.tables, python_matcher, compiled.meta.sha256))

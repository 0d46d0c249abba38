"""Semantic validation: the rules of a policy that span several places in the file.

It runs on a :class:`~policy.schema.Policy` that already has the right shape. The checks are an
ordered list of small named stages; every stage runs and every problem is collected, so a credit
manager fixes the whole file in one pass. Stages are independent of each other: each one looks
only at the model, so the order only decides the order of the report (grades first, because the
rest of the policy is organised by grade).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from policy.errors import ExpressionError, Issue
from policy.expressions import parse_condition
from policy.fields import ASSESS_FIELDS, SEGMENTS, FieldType, lookup_field
from policy.loader import DocPath, LoadedDocument
from policy.schema import (
    AUXILIARY_ACTIONS,
    LADDER_STEPS,
    BandedFactor,
    FixedLimit,
    LimitCaps,
    MinOfLimits,
    PctLimit,
    Policy,
    RatingFactor,
)
from policy.terms import MAX_CREDIT_DAYS, parse_terms, terms_problems

__all__ = [
    "CHECKS",
    "MAX_CREDIT_DAYS",
    "MAX_STANDARDS_RULES",
    "Check",
    "CheckContext",
    "run_checks",
]

MAX_STANDARDS_RULES = 100  # the engine evaluates every standards rule for every assessment
_CENT = Decimal("0.01")
# The credit file's sections, for a message that points the way without listing 30 fields.
_FIELD_GROUPS = ", ".join(sorted({f"{p.split('.')[0]}.…" for p in ASSESS_FIELDS if "." in p})) + ", ratings.<name>"


@dataclass(frozen=True)
class CheckContext:
    """What a check needs besides the model: the file name and where each path was written."""

    file: str
    document: LoadedDocument | None = None

    def location(self, path: DocPath) -> tuple[int, int]:
        """1-based (line, column) of ``path`` or its nearest written ancestor; (1, 1) without a document."""
        return self.document.location(path) if self.document is not None else (1, 1)

    def issue(self, path: DocPath, message: str, code: str) -> Issue:
        """An issue located at ``path``."""
        line, col = self.location(path)
        return Issue(self.file, line, col, path, message, code)

    def text_issue(self, path: DocPath, column: int, message: str, code: str) -> Issue:
        """An issue at 1-based ``column`` inside the text value at ``path`` (a condition or terms)."""
        line, col = self.document.text_location(path, column) if self.document is not None else (1, 1)
        return Issue(self.file, line, col, path, message, code)


Check = Callable[[Policy, CheckContext], list[Issue]]


def _grades(policy: Policy) -> list[str]:
    """The grades of the scale, best first, each once."""
    return list(dict.fromkeys(band.grade for band in policy.grades))


def _by_strength(policy: Policy) -> list[str]:
    """The grades strongest first by their scores, so a misordered scale does not skew comparisons."""
    bands = sorted(policy.grades, key=lambda band: band.min_score, reverse=True)
    return list(dict.fromkeys(band.grade for band in bands))


def _num(value: Decimal | int) -> str:
    """A number as written (validated numbers are bounded, so this stays short)."""
    return f"{value:f}" if isinstance(value, Decimal) else str(value)


def _days(count: int) -> str:
    """'1 day' or 'N days'."""
    return "1 day" if count == 1 else f"{count} days"


def _unknown(name: str, known: Iterable[str]) -> str:
    """' (did you mean …? known: …)' — the hint after an unknown name."""
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f" ({hint}known: {', '.join(known)})"


def _duplicates(values: Iterable[str]) -> list[tuple[int, str]]:
    """(index, value) of every value already seen earlier in ``values``."""
    seen: set[str] = set()
    found: list[tuple[int, str]] = []
    for index, value in enumerate(values):
        if value in seen:
            found.append((index, value))
        seen.add(value)
    return found


# --- metadata -------------------------------------------------------------------------------


def check_effective_range(policy: Policy, ctx: CheckContext) -> list[Issue]:
    """effective_to, when given, comes after effective_from."""
    meta = policy.policy
    if meta.effective_to is not None and meta.effective_to <= meta.effective_from:
        message = f"effective_to {meta.effective_to} must be after effective_from {meta.effective_from}"
        return [ctx.issue(("policy", "effective_to"), message, "effective_range")]
    return []


# --- grade scale ----------------------------------------------------------------------------


def check_duplicate_grades(policy: Policy, ctx: CheckContext) -> list[Issue]:
    """Each grade appears once in the scale."""
    return [
        ctx.issue(("grades", index, "grade"), f"grade {grade} is listed twice in the scale", "duplicate_grade")
        for index, grade in _duplicates(band.grade for band in policy.grades)
    ]


def check_grade_bands(policy: Policy, ctx: CheckContext) -> list[Issue]:
    """Bands are non-empty, best first, and cover 0..100 with no gap and no overlap."""
    bands = policy.grades
    issues = [
        ctx.issue(
            ("grades", index, "max_score"),
            f"grade {band.grade}: min_score {_num(band.min_score)} must be below max_score {_num(band.max_score)}",
            "grade_band_empty",
        )
        for index, band in enumerate(bands)
        if band.min_score >= band.max_score
    ]
    disordered = [index for index in range(1, len(bands)) if bands[index].min_score >= bands[index - 1].min_score]
    for index in disordered:
        band, better = bands[index], bands[index - 1]
        message = (
            f"grade {band.grade} (from {_num(band.min_score)}) is listed after {better.grade} "
            f"(from {_num(better.min_score)}); list the grades best first, highest scores first"
        )
        issues.append(ctx.issue(("grades", index, "min_score"), message, "grade_band_order"))
    if disordered:
        return issues  # gaps and overlaps between neighbours mean nothing until the order is right
    if bands[0].max_score < 100:
        message = f"scores from {_num(bands[0].max_score)} to 100 have no grade; the best grade must end at 100"
        issues.append(ctx.issue(("grades", 0, "max_score"), message, "grade_band_gap"))
    for index in range(1, len(bands)):
        band, better = bands[index], bands[index - 1]
        upper, lower = band.max_score, better.min_score
        if upper < lower:
            message = (
                f"scores from {_num(upper)} to {_num(lower)} have no grade: {band.grade} ends at {_num(upper)} "
                f"but {better.grade} starts at {_num(lower)}"
            )
            issues.append(ctx.issue(("grades", index, "max_score"), message, "grade_band_gap"))
        elif upper > lower:
            message = (
                f"scores from {_num(lower)} to {_num(upper)} fall in both {better.grade} and {band.grade}; "
                f"{band.grade} must end where {better.grade} starts ({_num(lower)})"
            )
            issues.append(ctx.issue(("grades", index, "max_score"), message, "grade_band_overlap"))
    if bands[-1].min_score > 0:
        message = f"scores from 0 to {_num(bands[-1].min_score)} have no grade; the worst grade must start at 0"
        issues.append(ctx.issue(("grades", len(bands) - 1, "min_score"), message, "grade_band_gap"))
    return issues


def check_grade_references(policy: Policy, ctx: CheckContext) -> list[Issue]:
    """Every grade has limits, terms and a review interval; nothing names a grade outside the scale."""
    grades = _grades(policy)
    issues: list[Issue] = []
    sections: tuple[tuple[str, Iterable[str]], ...] = (
        ("limits", policy.limits.per_grade),
        ("terms", policy.terms.per_grade),
        ("review", policy.review.per_grade),
    )
    for section, entries in sections:
        entries = list(entries)
        for grade in entries:
            if grade not in grades:
                message = f"unknown grade {grade}" + _unknown(grade, grades)
                issues.append(ctx.issue((section, "per_grade", grade), message, "unknown_grade"))
        for grade in grades:
            if grade not in entries:
                message = f"grade {grade} has no entry here; every grade of the scale needs one"
                issues.append(ctx.issue((section, "per_grade"), message, "missing_grade_entry"))
    min_grade = policy.standards.min_grade
    if min_grade is not None and min_grade not in grades:
        message = f"unknown grade {min_grade}" + _unknown(min_grade, grades)
        issues.append(ctx.issue(("standards", "min_grade"), message, "unknown_grade"))
    return issues


def check_review_order(policy: Policy, ctx: CheckContext) -> list[Issue]:
    """A weaker grade is reviewed at least as often as a stronger one (tight control for poor grades)."""
    issues: list[Issue] = []
    previous: tuple[str, int] | None = None
    for grade in _by_strength(policy):
        days = policy.review.per_grade.get(grade)
        if days is None:
            continue
        if previous is not None and days > previous[1]:
            message = (
                f"grade {grade} is reviewed every {days} days, less often than the stronger grade "
                f"{previous[0]} ({previous[1]} days); weaker grades need the closer watch"
            )
            issues.append(ctx.issue(("review", "per_grade", grade), message, "review_grade_order"))
        previous = (grade, days)
    return issues


# --- scorecard ------------------------------------------------------------------------------


def check_factor_ids(policy: Policy, ctx: CheckContext) -> list[Issue]:
    """Factor ids are unique: decisions and traces name factors by id."""
    return [
        ctx.issue(("scorecard", "factors", index, "id"), f"factor id '{fid}' is used twice", "duplicate_id")
        for index, fid in _duplicates(f.id for f in policy.scorecard.factors)
    ]


def check_factor_groups(policy: Policy, ctx: CheckContext) -> list[Issue]:
    """Each factor's group is declared under scorecard.groups."""
    groups = list(policy.scorecard.groups)
    return [
        ctx.issue(
            ("scorecard", "factors", index, "group"),
            f"unknown group '{factor.group}'" + _unknown(factor.group, groups),
            "unknown_group",
        )
        for index, factor in enumerate(policy.scorecard.factors)
        if factor.group not in groups
    ]


def check_factor_inputs(policy: Policy, ctx: CheckContext) -> list[Issue]:
    """Each factor reads a known credit-file field of the right type."""
    issues: list[Issue] = []
    for index, factor in enumerate(policy.scorecard.factors):
        path: DocPath = ("scorecard", "factors", index, "input")
        spec = lookup_field("assess", factor.input)
        if spec is None:
            close = difflib.get_close_matches(factor.input, list(ASSESS_FIELDS), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            message = f"unknown field '{factor.input}' ({hint}the credit file has {_FIELD_GROUPS})"
            issues.append(ctx.issue(path, message, "unknown_field"))
        elif spec.path in ("score", "grade"):
            message = f"a factor cannot read '{spec.path}': it is computed from the factors themselves"
            issues.append(ctx.issue(path, message, "factor_input_circular"))
        elif isinstance(factor, RatingFactor) and spec.type not in (FieldType.RATING, FieldType.BOOL):
            message = (
                f"a rating factor reads a rating (ratings.<name>) or a yes/no fact; '{spec.path}' is {spec.type.value}"
            )
            issues.append(ctx.issue(path, message, "factor_input_type"))
        elif not isinstance(factor, RatingFactor) and not spec.type.numeric:
            message = f"a {factor.kind} factor reads a number; '{spec.path}' is {spec.type.value}"
            issues.append(ctx.issue(path, message, "factor_input_type"))
    return issues


def check_weights(policy: Policy, ctx: CheckContext) -> list[Issue]:
    """The factor weights sum to exactly 100, so the total score is 0..100."""
    total = sum((f.weight for f in policy.scorecard.factors), Decimal(0))
    if total != 100:
        message = f"the factor weights sum to {_num(total)}; they must sum to exactly 100"
        return [ctx.issue(("scorecard", "factors"), message, "weights_sum")]
    return []


def check_factor_bands(policy: Policy, ctx: CheckContext) -> list[Issue]:
    """Within a banded factor each band is non-empty and no two bands overlap."""
    issues: list[Issue] = []
    for index, factor in enumerate(policy.scorecard.factors):
        if not isinstance(factor, BandedFactor):
            continue
        base: DocPath = ("scorecard", "factors", index, "bands")
        usable: list[tuple[int, Decimal | None, Decimal | None]] = []
        for number, band in enumerate(factor.bands):
            if band.min is not None and band.max is not None and band.min >= band.max:
                message = f"band min {_num(band.min)} must be below its max {_num(band.max)}"
                issues.append(ctx.issue((*base, number), message, "band_empty"))
            else:
                usable.append((number, band.min, band.max))
        # Bands are [min, max); sort by lower end (an open end is unbounded) and compare neighbours.
        usable.sort(key=lambda b: (b[1] is not None, b[1] if b[1] is not None else Decimal(0)))
        for (_, low_a, high_a), (number, low_b, _) in zip(usable, usable[1:], strict=False):
            if high_a is None or low_b is None or high_a > low_b:
                message = (
                    f"this band (from {'-∞' if low_b is None else _num(low_b)}) overlaps the band from "
                    f"{'-∞' if low_a is None else _num(low_a)} to {'∞' if high_a is None else _num(high_a)}"
                )
                issues.append(ctx.issue((*base, number), message, "band_overlap"))
    return issues


# --- standards and order rules --------------------------------------------------------------


def _condition_issues(
    ctx: CheckContext, base: DocPath, rules: Iterable[tuple[str, str]], context: str, grades: list[str]
) -> list[Issue]:
    """Duplicate ids and conditions that do not parse, for a list of (id, when) rules."""
    rules = list(rules)
    issues = [
        ctx.issue((*base, index, "id"), f"rule id '{rid}' is used twice", "duplicate_id")
        for index, rid in _duplicates(rid for rid, _ in rules)
    ]
    for index, (_, when) in enumerate(rules):
        try:
            parse_condition(when, context, grades)
        except ExpressionError as error:
            issues.append(ctx.text_issue((*base, index, "when"), error.column, error.message, error.code))
    return issues


def check_standards(policy: Policy, ctx: CheckContext) -> list[Issue]:
    """Standards rules are few enough, uniquely named and parse over the credit file; no double blacklisting."""
    standards = policy.standards
    issues: list[Issue] = []
    if len(standards.rules) > MAX_STANDARDS_RULES:
        message = f"at most {MAX_STANDARDS_RULES} standards rules are allowed, found {len(standards.rules)}"
        issues.append(ctx.issue(("standards", "rules"), message, "policy_too_large"))
    rules = ((rule.id, rule.when) for rule in standards.rules)
    issues += _condition_issues(ctx, ("standards", "rules"), rules, "assess", _grades(policy))
    issues += [
        ctx.issue(("standards", "blacklist", index), f"customer '{cid}' is listed twice", "duplicate_id")
        for index, cid in _duplicates(standards.blacklist)
    ]
    return issues


def check_order_rules(policy: Policy, ctx: CheckContext) -> list[Issue]:
    """Order rules are uniquely named and their conditions parse over the order context."""
    rules = ((rule.id, rule.when) for rule in policy.order_rules.rules)
    return _condition_issues(ctx, ("order_rules", "rules"), rules, "order", _grades(policy))


# --- terms ----------------------------------------------------------------------------------


def check_terms(policy: Policy, ctx: CheckContext) -> list[Issue]:
    """Terms parse; discounts get shorter-and-richer to longer-and-poorer and end within the credit period."""
    issues: list[Issue] = []
    for grade, terms in policy.terms.per_grade.items():
        path: DocPath = ("terms", "per_grade", grade, "text")
        try:
            parsed = parse_terms(terms.text)
        except ExpressionError as error:
            issues.append(ctx.text_issue(path, error.column, error.message, error.code))
            continue
        problems = terms_problems(parsed.tiers, parsed.credit_days, terms.text)
        issues += [ctx.text_issue(path, p.column, p.message, p.code) for p in problems]
    return issues


def check_terms_order(policy: Policy, ctx: CheckContext) -> list[Issue]:
    """A weaker grade never gets a longer credit period than a stronger one (loose for good grades only)."""
    issues: list[Issue] = []
    previous: tuple[str, int] | None = None
    for grade in _by_strength(policy):
        terms = policy.terms.per_grade.get(grade)
        if terms is None:
            continue
        try:
            days = parse_terms(terms.text).credit_days
        except ExpressionError:
            continue  # reported by check_terms
        if previous is not None and days > previous[1]:
            message = (
                f"grade {grade} gets {days} days of credit, more than the stronger grade {previous[0]} "
                f"({previous[1]} days)"
            )
            issues.append(ctx.issue(("terms", "per_grade", grade, "text"), message, "terms_grade_order"))
        previous = (grade, days)
    return issues


# --- limits ---------------------------------------------------------------------------------


def _methods(rule: FixedLimit | PctLimit | MinOfLimits) -> list[tuple[DocPath, FixedLimit | PctLimit]]:
    """The single methods of a limit rule with their relative paths (the members of a minimum)."""
    if isinstance(rule, MinOfLimits):
        return [(("of", index), method) for index, method in enumerate(rule.of)]
    return [((), rule)]


def _most_granted(rule: FixedLimit | PctLimit | MinOfLimits, caps: LimitCaps) -> Decimal | None:
    """The largest limit a grade's rule can ever give (None: bounded only by the customer's figures)."""
    bounds = [m.amount for _, m in _methods(rule) if isinstance(m, FixedLimit)]
    if isinstance(rule, MinOfLimits):
        bound = min(bounds) if bounds else None
    else:
        bound = bounds[0] if bounds else None
    if caps.absolute is not None:
        bound = caps.absolute if bound is None else min(bound, caps.absolute)
    return bound


def check_limit_caps_order(policy: Policy, ctx: CheckContext) -> list[Issue]:
    """A stronger grade's caps are never tighter than a weaker grade's.

    The engine promises that a better credit file never gets a lower limit: a grade grants at
    least what a weaker grade would for the same file. That floor must fit under the stronger
    grade's own caps, so a stronger grade may not switch on a cap a weaker one has off, nor
    set a lower absolute cap.
    """
    issues: list[Issue] = []
    weaker: list[tuple[str, LimitCaps]] = []
    most: list[tuple[str, Decimal | None]] = []  # the most each weaker grade can grant (None: no bound)
    strength = _by_strength(policy)
    minimum = policy.standards.min_grade
    # Grades below the credit standard never get a limit, so they never set a floor.
    granting = strength[: strength.index(minimum) + 1] if minimum in strength else strength
    for grade in reversed(granting):
        rule = policy.limits.per_grade.get(grade)
        if rule is None:
            continue
        caps = rule.caps or policy.limits.caps
        path = ("limits", "per_grade", grade, "caps") if rule.caps is not None else ("limits", "caps")
        for name in ("net_assets", "working_capital"):
            looser = next((o for o, c in weaker if getattr(caps, name) and not getattr(c, name)), None)
            if looser is not None:
                message = (
                    f"grade {grade} caps its limit at {name.replace('_', ' ')} but the weaker grade {looser} "
                    f"does not; a stronger grade's caps may not be tighter"
                )
                issues.append(ctx.issue(path, message, "limit_caps_order"))
        if caps.absolute is not None:
            higher = next(((o, m) for o, m in most if m is None or caps.absolute < m), None)
            if higher is not None:
                other_max = "no maximum" if higher[1] is None else f"up to {_num(higher[1])}"
                message = (
                    f"grade {grade} has an absolute cap of {_num(caps.absolute)}, but the weaker grade "
                    f"{higher[0]} can grant {other_max}; a stronger grade's caps may not be tighter"
                )
                issues.append(ctx.issue(path, message, "limit_caps_order"))
        weaker.append((grade, caps))
        most.append((grade, _most_granted(rule, caps)))
    return issues


def check_limits(policy: Policy, ctx: CheckContext) -> list[Issue]:
    """Caps and fixed limits fit in the portfolio total; a minimum does not repeat a method."""
    limits = policy.limits
    total = limits.portfolio_total
    issues: list[Issue] = []
    caps: list[tuple[DocPath, LimitCaps]] = [(("limits", "caps"), limits.caps)]
    caps += [(("limits", "per_grade", g, "caps"), r.caps) for g, r in limits.per_grade.items() if r.caps is not None]
    for path, cap in caps:
        if cap.absolute is not None and cap.absolute > total:
            message = f"the absolute cap {_num(cap.absolute)} is above the portfolio total {_num(total)}"
            issues.append(ctx.issue((*path, "absolute"), message, "limit_cap_above_portfolio"))
    for grade, rule in limits.per_grade.items():
        base: DocPath = ("limits", "per_grade", grade)
        methods = _methods(rule)
        for sub, method in methods:
            if isinstance(method, FixedLimit) and method.amount > total:
                message = (
                    f"grade {grade}: the fixed limit {_num(method.amount)} is above the portfolio total {_num(total)}"
                )
                issues.append(ctx.issue((*base, *sub, "amount"), message, "limit_above_portfolio"))
        for index, name in _duplicates(method.method for _, method in methods):
            message = f"grade {grade}: the minimum lists {name} twice; keep the one that applies"
            issues.append(ctx.issue((*base, "of", index), message, "duplicate_limit_method"))
    return issues


def check_limit_rounding(policy: Policy, ctx: CheckContext) -> list[Issue]:
    """The rounding step is a whole number of cents, not above the portfolio, and fixed limits are multiples of it."""
    limits = policy.limits
    step = limits.rounding.step
    path: DocPath = ("limits", "rounding", "step")
    if step % _CENT != 0:
        return [
            ctx.issue(path, f"a rounding step of {_num(step)} is not a whole number of cents", "limit_rounding_step")
        ]
    if step > limits.portfolio_total:
        message = f"a rounding step of {_num(step)} is above the portfolio total; every limit would round to 0"
        return [ctx.issue(path, message, "limit_rounding_step")]
    issues: list[Issue] = []
    for grade, rule in limits.per_grade.items():
        for sub, method in _methods(rule):
            if isinstance(method, FixedLimit) and method.amount % step != 0:
                message = (
                    f"grade {grade}: the fixed limit {_num(method.amount)} is not a multiple of the rounding step "
                    f"{_num(step)}, so it would never be granted as written"
                )
                issues.append(ctx.issue(("limits", "per_grade", grade, *sub, "amount"), message, "limit_rounding_step"))
    return issues


# --- collection -----------------------------------------------------------------------------


def check_segments(policy: Policy, ctx: CheckContext) -> list[Issue]:
    """The ladder has exactly the three customer segments."""
    segments = policy.collection.segments
    issues = [
        ctx.issue(
            ("collection", "segments", name), f"unknown segment '{name}'" + _unknown(name, SEGMENTS), "unknown_segment"
        )
        for name in segments
        if name not in SEGMENTS
    ]
    issues += [
        ctx.issue(("collection", "segments"), f"the segment '{name}' has no ladder", "missing_segment")
        for name in SEGMENTS
        if name not in segments
    ]
    return issues


def check_ladders(policy: Policy, ctx: CheckContext) -> list[Issue]:
    """Steps and actions are known; steps are written soft to hard and their thresholds climb."""
    issues: list[Issue] = []
    for segment, ladder in policy.collection.segments.items():
        base: DocPath = ("collection", "segments", segment)
        known: list[tuple[str, int]] = []
        for step, days in ladder.steps.items():
            if step in LADDER_STEPS:
                known.append((step, days))
            else:
                message = f"unknown step '{step}'" + _unknown(step, LADDER_STEPS)
                issues.append(ctx.issue((*base, "steps", step), message, "unknown_step"))
        for action in ladder.auxiliary:
            if action not in AUXILIARY_ACTIONS:
                message = f"unknown action '{action}'" + _unknown(action, AUXILIARY_ACTIONS)
                issues.append(ctx.issue((*base, "auxiliary", action), message, "unknown_action"))
        highest = -1
        for step, _ in known:
            rank = LADDER_STEPS.index(step)
            if rank < highest:
                message = (
                    f"'{step}' is written after '{LADDER_STEPS[highest]}'; "
                    f"write the steps soft to hard: {', '.join(LADDER_STEPS)}"
                )
                issues.append(ctx.issue((*base, "steps", step), message, "ladder_step_order"))
            highest = max(highest, rank)
        ordered = sorted(known, key=lambda item: LADDER_STEPS.index(item[0]))
        for (softer, before), (step, days) in zip(ordered, ordered[1:], strict=False):
            if days <= before:
                message = (
                    f"'{step}' starts at {_days(days)} overdue, not later than '{softer}' at {_days(before)}; "
                    "each step must start later than the softer one before it"
                )
                issues.append(ctx.issue((*base, "steps", step), message, "ladder_threshold_order"))
    return issues


# Order only shapes the report: metadata, the scale, then the sections organised by grade.
CHECKS: tuple[tuple[str, Check], ...] = (
    ("effective_range", check_effective_range),
    ("duplicate_grades", check_duplicate_grades),
    ("grade_bands", check_grade_bands),
    ("grade_references", check_grade_references),
    ("factor_ids", check_factor_ids),
    ("factor_groups", check_factor_groups),
    ("factor_inputs", check_factor_inputs),
    ("weights", check_weights),
    ("factor_bands", check_factor_bands),
    ("standards", check_standards),
    ("limits", check_limits),
    ("limit_caps_order", check_limit_caps_order),
    ("limit_rounding", check_limit_rounding),
    ("terms", check_terms),
    ("terms_order", check_terms_order),
    ("review_order", check_review_order),
    ("order_rules", check_order_rules),
    ("segments", check_segments),
    ("ladders", check_ladders),
)


def run_checks(policy: Policy, ctx: CheckContext) -> list[Issue]:
    """Run every stage and return all issues found (empty when the policy makes sense)."""
    issues: list[Issue] = []
    for _, check in CHECKS:
        issues.extend(check(policy, ctx))
    return issues

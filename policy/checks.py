"""Semantic validation: the rules of a policy that span several places in the file.

It runs on a :class:`~policy.schema.Policy` built from what has the right shape. The checks are an
ordered list of small named stages; every stage runs and every problem is collected, so a credit
manager fixes the whole file in one pass. Stages are independent of each other: each one looks
only at the model, so the order only decides the order of the report (grades first, because the
rest of the policy is organised by grade).

Each stage says what it reads (:class:`Stage`): the parts it needs **whole** (the weights sum
only over every factor; a grade is unknown only against the whole scale) and the parts whose
parsed items are enough (each condition parses on its own). When a section's shape is wrong,
the validator leaves out the items holding the errors (:mod:`policy.validate`); a stage runs when
what it reads is there, so a shape error in one place never hides a meaning error elsewhere.

Most findings are errors. A few are warnings (``severity: warning``): the policy is valid and
decides as written, but probably not as its author meant (``limit_lifted_by_floor``).
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from policy.errors import WARNING, ExpressionError, Issue
from policy.expressions import parse_condition
from policy.fields import ASSESS_FIELDS, SEGMENTS, FieldType, lookup_field
from policy.loader import DocPath, LoadedDocument
from policy.schema import (
    AUXILIARY_ACTIONS,
    LADDER_STEPS,
    MAX_REVIEW_DAYS,
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
    "Stage",
    "run_checks",
    "written_path",
]

MAX_STANDARDS_RULES = 100  # the engine evaluates every standards rule for every assessment
_CENT = Decimal("0.01")
# The credit file's sections, for a message that points the way without listing 30 fields.
_FIELD_GROUPS = ", ".join(sorted({f"{p.split('.')[0]}.…" for p in ASSESS_FIELDS if "." in p})) + ", ratings.<name>"


def written_path(path: DocPath, dropped: Mapping[DocPath, frozenset[str | int]] | None) -> DocPath:
    """``path`` as written in the file, where items left out of a list shifted the ones after them."""
    for collection, left_out in (dropped or {}).items():
        size = len(collection)
        index = path[size] if path[:size] == collection and len(path) > size else None
        if isinstance(index, int):
            kept = (i for i in itertools.count() if i not in left_out)
            return (*collection, next(itertools.islice(kept, index, None)), *path[size + 1 :])
    return path


@dataclass(frozen=True)
class CheckContext:
    """What a check needs besides the model: the file name, where each path was written, what parsed.

    ``unparsed`` names the sections whose shape was wrong beyond repair (no check reads them);
    ``dropped`` names, per collection, the items left out because their shape was wrong (list
    indices or mapping keys). Both are empty for a policy that has the right shape.
    """

    file: str
    document: LoadedDocument | None = None
    unparsed: frozenset[str] = frozenset()
    dropped: Mapping[DocPath, frozenset[str | int]] = field(default_factory=dict)

    def location(self, path: DocPath) -> tuple[int, int]:
        """1-based (line, column) of ``path`` or its nearest written ancestor; (1, 1) without a document."""
        return self.document.location(path) if self.document is not None else (1, 1)

    def issue(self, path: DocPath, message: str, code: str, severity: str = "error") -> Issue:
        """An issue located at ``path``."""
        path = written_path(path, self.dropped)
        line, col = self.location(path)
        return Issue(self.file, line, col, path, message, code, severity)

    def text_issue(self, path: DocPath, column: int, message: str, code: str) -> Issue:
        """An issue at 1-based ``column`` inside the text value at ``path`` (a condition or terms)."""
        path = written_path(path, self.dropped)
        line, col = self.document.text_location(path, column) if self.document is not None else (1, 1)
        return Issue(self.file, line, col, path, message, code)

    def parsed(self, path: DocPath) -> bool:
        """Whether the section holding ``path`` has a model (perhaps without some of its items)."""
        return path[0] not in self.unparsed

    def whole(self, path: DocPath) -> bool:
        """Whether ``path`` has a model with every item written under it."""
        return self.parsed(path) and not any(
            left[: len(path)] == path or path[: len(left)] == left for left in self.dropped
        )


Check = Callable[[Policy, CheckContext], list[Issue]]


@dataclass(frozen=True)
class Stage:
    """A named check and what it reads: parts it needs whole, parts whose parsed items suffice."""

    name: str
    check: Check
    whole: tuple[DocPath, ...] = ()
    parts: tuple[DocPath, ...] = ()

    def runs_on(self, ctx: CheckContext) -> bool:
        return all(ctx.whole(path) for path in self.whole) and all(ctx.parsed(path) for path in self.parts)


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


def _grade_entries(section: str) -> Check:
    """The check that ``section.per_grade`` names each grade of the scale once, and nothing else."""

    def check(policy: Policy, ctx: CheckContext) -> list[Issue]:
        grades = _grades(policy)
        entries = list(getattr(policy, section).per_grade)
        issues = [
            ctx.issue((section, "per_grade", grade), f"unknown grade {grade}{_unknown(grade, grades)}", "unknown_grade")
            for grade in entries
            if grade not in grades
        ]
        if ctx.whole((section, "per_grade")):  # an entry left out for its shape is written, not missing
            issues += [
                ctx.issue(
                    (section, "per_grade"),
                    f"grade {grade} has no entry here; every grade of the scale needs one",
                    "missing_grade_entry",
                )
                for grade in grades
                if grade not in entries
            ]
        return issues

    check.__doc__ = f"Every grade has an entry in {section}.per_grade; it names no grade outside the scale."
    return check


check_limit_grades = _grade_entries("limits")
check_terms_grades = _grade_entries("terms")
check_review_grades = _grade_entries("review")


def check_min_grade(policy: Policy, ctx: CheckContext) -> list[Issue]:
    """The credit standard's minimum grade is on the scale."""
    grades = _grades(policy)
    min_grade = policy.standards.min_grade
    if min_grade is not None and min_grade not in grades:
        message = f"unknown grade {min_grade}" + _unknown(min_grade, grades)
        return [ctx.issue(("standards", "min_grade"), message, "unknown_grade")]
    return []


def check_review_intervals(policy: Policy, ctx: CheckContext) -> list[Issue]:
    """Every grade is reviewed at least every 3 months (92 days)."""
    return [
        ctx.issue(
            ("review", "per_grade", grade),
            f"grade {grade}: review every {days} days is more than 3 months ({MAX_REVIEW_DAYS} days at most)",
            "review_interval_too_long",
        )
        for grade, days in policy.review.per_grade.items()
        if days > MAX_REVIEW_DAYS
    ]


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
    # Grades below the credit standard never get a limit, so they never set a floor.
    for grade in reversed(_granting(policy)):
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


_PCT_BASIS = {
    "pct_working_capital": "working capital",
    "pct_liquidation_value": "liquidation value",
    "pct_net_assets": "net assets",
}


def _granting(policy: Policy) -> list[str]:
    """The grades that get a limit, strongest first: those at or above the credit standard's minimum."""
    strength = _by_strength(policy)
    minimum = policy.standards.min_grade
    return strength[: strength.index(minimum) + 1] if minimum in strength else strength


def _fixed_bound(rule: FixedLimit | PctLimit | MinOfLimits, caps: LimitCaps) -> Decimal | None:
    """The fixed amount a rule's method names, within its absolute cap (None: the method names none)."""
    amounts = [m.amount for _, m in _methods(rule) if isinstance(m, FixedLimit)]
    if not amounts:
        return None
    return min(amounts) if caps.absolute is None else min(*amounts, caps.absolute)


def check_limit_floor(policy: Policy, ctx: CheckContext) -> list[Issue]:
    """Warn where a weaker grade's method grants more than a stronger grade's on the same basis.

    The engine grants a grade at least what a weaker grade that still gets credit would for the
    same file (the floor), so the stronger grade's own percentage or amount then never decides:
    valid, but rarely what the author meant. Only inversions on a basis both methods use are
    reported — 25 % of working capital under 20 % — never the trade-off between bases (working
    capital against liquidation value), which is a design choice.
    """
    issues: list[Issue] = []
    granting = [g for g in _granting(policy) if g in policy.limits.per_grade]
    for index, grade in enumerate(granting):
        rule = policy.limits.per_grade[grade]
        caps = rule.caps or policy.limits.caps
        pcts = {m.method: m.pct for _, m in _methods(rule) if isinstance(m, PctLimit)}
        fixed = _fixed_bound(rule, caps)
        for weaker in granting[index + 1 :]:
            other = policy.limits.per_grade[weaker]
            other_fixed = _fixed_bound(other, other.caps or policy.limits.caps)
            if other_fixed == 0:
                continue  # grants nothing, whatever else it says
            for sub, method in _methods(other):
                base: DocPath = ("limits", "per_grade", weaker, *sub)
                if isinstance(method, PctLimit) and method.pct > pcts.get(method.method, method.pct):
                    what = f"{_num(method.pct)} of {_PCT_BASIS[method.method]}"
                    mine = f"{_num(pcts[method.method])} of it"
                elif isinstance(method, FixedLimit) and fixed is not None and (other_fixed or 0) > fixed:
                    what, mine = f"up to {_num(other_fixed or 0)}", f"at most {_num(fixed)}"
                else:
                    continue
                message = (
                    f"the weaker grade {weaker} grants {what} where the stronger grade {grade} grants {mine}; "
                    f"for such a file the engine lifts {grade}'s limit to {weaker}'s (floor_grade_{weaker} in the "
                    f"trace), so {grade}'s own rule does not decide: raise {grade}'s or lower {weaker}'s"
                )
                field_name = "pct" if isinstance(method, PctLimit) else "amount"
                issues.append(ctx.issue((*base, field_name), message, "limit_lifted_by_floor", WARNING))
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
    if ctx.whole(("collection", "segments")):  # a ladder left out for its shape is written, not missing
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


_GRADES: DocPath = ("grades",)
_FACTORS: DocPath = ("scorecard", "factors")

# Order only shapes the report: metadata, the scale, then the sections organised by grade.
CHECKS: tuple[Stage, ...] = (
    Stage("effective_range", check_effective_range, whole=(("policy",),)),
    Stage("duplicate_grades", check_duplicate_grades, parts=(_GRADES,)),
    Stage("grade_bands", check_grade_bands, whole=(_GRADES,)),
    Stage("limit_grades", check_limit_grades, whole=(_GRADES,), parts=(("limits",),)),
    Stage("terms_grades", check_terms_grades, whole=(_GRADES,), parts=(("terms",),)),
    Stage("review_grades", check_review_grades, whole=(_GRADES,), parts=(("review",),)),
    Stage("min_grade", check_min_grade, whole=(_GRADES,), parts=(("standards",),)),
    Stage("factor_ids", check_factor_ids, parts=(_FACTORS,)),
    Stage("factor_groups", check_factor_groups, whole=(("scorecard", "groups"),), parts=(_FACTORS,)),
    Stage("factor_inputs", check_factor_inputs, parts=(_FACTORS,)),
    Stage("weights", check_weights, whole=(_FACTORS,)),
    Stage("factor_bands", check_factor_bands, parts=(_FACTORS,)),
    Stage("standards", check_standards, whole=(_GRADES,), parts=(("standards",),)),
    Stage("limits", check_limits, parts=(("limits",),)),
    Stage("limit_caps_order", check_limit_caps_order, whole=(_GRADES,), parts=(("limits",), ("standards",))),
    Stage("limit_floor", check_limit_floor, whole=(_GRADES,), parts=(("limits",), ("standards",))),
    Stage("limit_rounding", check_limit_rounding, parts=(("limits",),)),
    Stage("terms", check_terms, parts=(("terms",),)),
    Stage("terms_order", check_terms_order, parts=(_GRADES, ("terms",))),
    Stage("review_intervals", check_review_intervals, parts=(("review",),)),
    Stage("review_order", check_review_order, parts=(_GRADES, ("review",))),
    Stage("order_rules", check_order_rules, whole=(_GRADES,), parts=(("order_rules",),)),
    Stage("segments", check_segments, parts=(("collection",),)),
    Stage("ladders", check_ladders, parts=(("collection",),)),
)


def run_checks(policy: Policy, ctx: CheckContext) -> list[Issue]:
    """Run every stage whose parts parsed and return all issues found (empty when the policy makes sense)."""
    issues: list[Issue] = []
    for stage in CHECKS:
        if stage.runs_on(ctx):
            issues.extend(stage.check(policy, ctx))
    return issues

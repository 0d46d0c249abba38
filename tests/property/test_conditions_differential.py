"""The durable-rules path (engine.rules_adapter) and the Python paths (engine.conditions) agree.

Random conditions over typed fields (numbers incl. optional and computed, yes/no, text, grades;
fields named like durable's reserved keys) against random facts (decimals with at most 4 places,
boundary-equal values, absent values): ``Ruleset.match`` must list exactly the rules whose Python
predicate holds, and the plain-Python twin (``engine.matchers.twin_matcher``, which drafts,
replays and versions past the live budget decide on) must answer exactly as the ruleset does,
refusals of values the engine cannot hold included. What a rule costs the engine
(``rules_adapter.rule_sizes``, which the policy budget counts) is what the ruleset is built from.
"""

from __future__ import annotations

import itertools
import uuid
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from engine.conditions import compile_predicate, evaluate
from engine.errors import CapacityError, EngineError
from engine.ir import Fact, FactValue, Matcher, RuleSpec, SourceRef
from engine.matchers import twin_matcher
from engine.rules_adapter import build_ruleset, plan_ruleset, rule_sizes
from policy.expressions import And, Compare, Condition, FieldRef, InList, IsMissing, Literal, Not, Or
from policy.fields import FieldType

NUMBERS = (
    FieldRef("order.amount", FieldType.MONEY, False),
    FieldRef("score", FieldType.NUMBER, False),
    FieldRef("ratios.debt_ratio", FieldType.RATIO, True),
    FieldRef("_c1", FieldType.NUMBER, True),  # a computed field: absent after a division by zero
)
FLAGS = (FieldRef("customer.blacklisted", FieldType.BOOL, False), FieldRef("trade.has_guarantee", FieldType.BOOL, True))
TEXTS = (FieldRef("customer.id", FieldType.TEXT, False), FieldRef("sid", FieldType.TEXT, True))
GRADES = (FieldRef("grade", FieldType.GRADE, False), FieldRef("customer.grade", FieldType.GRADE, True))
ALL_FIELDS = NUMBERS + FLAGS + TEXTS + GRADES

NUMBER_POOL = [Decimal(v) for v in ("-1", "0", "0.0001", "0.5", "1", "1.5", "100", "99999999999999.9999")]
TEXT_POOL = ["A", "B", "id", "", 'q"uote', "back\\slash", "é✓"]
GRADE_POOL = ["AAA", "AA", "A", "B", "C"]
OPS = ["==", "!=", "<", "<=", ">", ">="]

numbers = st.one_of(
    st.sampled_from(NUMBER_POOL),
    st.decimals(min_value=-1000, max_value=1000, places=4, allow_nan=False, allow_infinity=False),
)
VALUES: dict[FieldType, st.SearchStrategy[Any]] = {
    FieldType.MONEY: numbers,
    FieldType.NUMBER: numbers,
    FieldType.RATIO: numbers,
    FieldType.BOOL: st.booleans(),
    FieldType.TEXT: st.sampled_from(TEXT_POOL),
    FieldType.GRADE: st.sampled_from(GRADE_POOL),
}


def literal(ref: FieldRef) -> st.SearchStrategy[Literal]:
    kind = FieldType.NUMBER if ref.type.numeric else ref.type
    return VALUES[ref.type].map(lambda v: Literal(v, kind))


@st.composite
def numeric_compare(draw: st.DrawFn) -> Condition:
    field = draw(st.sampled_from(NUMBERS))
    other = draw(st.one_of(literal(field), st.sampled_from(NUMBERS)))
    op = draw(st.sampled_from(OPS))
    return Compare(op, other, field) if draw(st.booleans()) else Compare(op, field, other)


@st.composite
def equality(draw: st.DrawFn) -> Condition:
    group = draw(st.sampled_from([FLAGS, TEXTS, GRADES]))
    field = draw(st.sampled_from(group))
    same_type = [f for f in group if f.type is field.type]
    other = draw(st.one_of(literal(field), st.sampled_from(same_type)))
    return Compare(draw(st.sampled_from(["==", "!="])), field, other)


@st.composite
def in_list(draw: st.DrawFn) -> Condition:
    field = draw(st.sampled_from(ALL_FIELDS))
    values = draw(st.lists(VALUES[field.type], min_size=1, max_size=4))
    return InList(field, tuple(values), draw(st.booleans()))


leaves = st.one_of(
    numeric_compare(),
    equality(),
    in_list(),
    st.builds(IsMissing, st.sampled_from(ALL_FIELDS), st.booleans()),
)
conditions = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=3).map(lambda items: And(tuple(items))),
        st.lists(inner, min_size=2, max_size=3).map(lambda items: Or(tuple(items))),
        inner.map(Not),
    ),
    max_leaves=8,
)


@st.composite
def facts(draw: st.DrawFn) -> dict[str, FactValue]:
    fact: dict[str, FactValue] = {}
    for field in ALL_FIELDS:
        choice = draw(st.integers(0, 5))
        if choice == 0:
            continue  # the key is missing
        fact[field.path] = None if choice == 1 else draw(VALUES[field.type])
    return fact


_names = itertools.count()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(conditions, min_size=1, max_size=5), st.lists(facts(), min_size=1, max_size=4))
def test_durable_rules_and_python_agree(
    rule_conditions: list[Condition], fact_list: list[dict[str, FactValue]]
) -> None:
    rules = [RuleSpec(f"rule{i}", c, SourceRef("generated", i)) for i, c in enumerate(rule_conditions)]
    try:
        ruleset = build_ruleset(f"differential-{next(_names)}-{uuid.uuid4().hex}", rules)
    except CapacityError:
        reject()  # a condition too deeply nested for the engine: refused at build, nothing to compare
    predicates = [compile_predicate(rule.condition) for rule in rules]
    expected = [
        tuple(rule.id for rule, holds in zip(rules, predicates, strict=True) if holds(fact)) for fact in fact_list
    ]
    assert ruleset.match(fact_list) == expected
    assert twin_matcher(ruleset.name, rules).match(fact_list) == expected
    for rule in rules:
        for fact in fact_list:
            assert evaluate(rule.condition, fact) == compile_predicate(rule.condition)(fact)


def _tests(item: object) -> int:
    """The tests in a durable pattern: every object but the $and/$or joining them."""
    if isinstance(item, list):
        return sum(_tests(sub) for sub in item)
    assert isinstance(item, dict)
    ((op, body),) = item.items()
    return _tests(body) if op in ("$and", "$or") else 1


@settings(max_examples=100, deadline=None)
@given(st.lists(conditions, min_size=1, max_size=5))
def test_the_size_counted_for_the_budget_is_the_size_built(rule_conditions: list[Condition]) -> None:
    rules = [RuleSpec(f"rule{i}", c, SourceRef("generated", i)) for i, c in enumerate(rule_conditions)]
    try:
        plan = plan_ruleset("sizes", rules)
    except CapacityError:
        reject()
    built = [rule for group in plan.groups for rule in group]
    counted = [(size.engine_rules, size.conditions) for size in rule_sizes(rules)]
    assert counted == [
        (len(mine), sum(_tests(rule.pattern) for rule in mine))
        for mine in ([rule for rule in built if rule.position == position] for position in range(len(rules)))
    ]


# Values the engine cannot hold, or of the wrong type, next to good ones.
WILD: dict[FieldType, st.SearchStrategy[Any]] = {
    kind: st.one_of(
        values,
        st.sampled_from([Decimal("1E+15"), Decimal("-123456789012345.5"), Decimal("0.00001"), Decimal("NaN")]),
        st.sampled_from(["x" * 1001, "12", True, 3]),
    )
    for kind, values in VALUES.items()
}


@st.composite
def wild_facts(draw: st.DrawFn) -> dict[str, FactValue]:
    fact: dict[str, FactValue] = {}
    for field in ALL_FIELDS:
        if draw(st.booleans()):
            fact[field.path] = draw(WILD[field.type])
    return fact


def _outcome(matcher: Matcher, facts: list[Fact]) -> object:
    try:
        return matcher.match(facts)
    except EngineError as error:
        return (type(error).__name__, error.code, error.message)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(conditions, min_size=1, max_size=3), st.lists(wild_facts(), min_size=1, max_size=3))
def test_the_twin_refuses_exactly_what_durable_rules_refuses(
    rule_conditions: list[Condition], fact_list: list[dict[str, FactValue]]
) -> None:
    rules = [RuleSpec(f"rule{i}", c, SourceRef("generated", i)) for i, c in enumerate(rule_conditions)]
    try:
        ruleset = build_ruleset(f"wild-{next(_names)}-{uuid.uuid4().hex}", rules)
    except CapacityError:
        reject()
    facts: list[Fact] = list(fact_list)
    assert _outcome(twin_matcher(ruleset.name, rules), facts) == _outcome(ruleset, facts)

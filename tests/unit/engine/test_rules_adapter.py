"""engine.rules_adapter: one regression test per durable-rules trap it guards (DURABLE-RULES.md).

Tests are named after the trap; each would fail (or crash the process) without its guard
(checked by removing each guard in turn).
"""

from __future__ import annotations

import ast
import inspect
import random
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from engine import rules_adapter
from engine.conditions import compile_predicate
from engine.errors import CapacityError, CompileError, InputError, RulesEngineError
from engine.ir import Fact, RuleSpec, SourceRef
from engine.rules_adapter import Ruleset, build_ruleset
from policy.expressions import And, Compare, Condition, FieldRef, InList, Literal, Not, Or, parse_condition
from policy.fields import FieldType

GRADES = ("AAA", "AA", "A", "B", "C")
X = FieldRef("x", FieldType.NUMBER, True)
Y = FieldRef("y", FieldType.NUMBER, True)


def cond(text: str) -> Condition:
    return parse_condition(text, "order", GRADES)


def specs(**conditions: str | Condition) -> list[RuleSpec]:
    return [
        RuleSpec(rule_id, cond(c) if isinstance(c, str) else c, SourceRef("rules/test.yaml", line))
        for line, (rule_id, c) in enumerate(conditions.items(), start=1)
    ]


def build(rules: Sequence[RuleSpec]) -> Ruleset:
    return build_ruleset(f"test-{uuid.uuid4().hex}", rules)


def num(value: int | str) -> Decimal:
    return Decimal(value)


def gt(field: FieldRef, value: int | str) -> Condition:
    return Compare(">", field, Literal(Decimal(value), FieldType.NUMBER))


def expected(rules: Sequence[RuleSpec], facts: Sequence[Fact]) -> list[tuple[str, ...]]:
    predicates = [(rule.id, compile_predicate(rule.condition)) for rule in rules]
    return [tuple(rule_id for rule_id, holds in predicates if holds(fact)) for fact in facts]


ORDER_RULES = specs(
    blacklisted="customer.blacklisted",
    big="order.amount > 10000",
    over_limit="order.amount > customer.limit",
    weak_grade='customer.grade in ["B", "C"]',
    overdue="exposure.overdue_amount > 0 and exposure.oldest_overdue_days > 30",
    high_use="credit.utilisation_after > 0.9",
    no_use="credit.utilisation_after is missing",
    not_core='not (customer.segment == "core")',
)


def random_order(rng: random.Random) -> dict[str, Any]:
    fact: dict[str, Any] = {
        "customer.blacklisted": rng.random() < 0.2,
        "order.amount": Decimal(rng.randrange(0, 2_000_000)) / 100,
        "customer.limit": Decimal(rng.randrange(0, 20_000)),
        "customer.grade": rng.choice(GRADES),
        "customer.segment": rng.choice(["core", "ordinary", "high_risk"]),
        "exposure.overdue_amount": Decimal(rng.randrange(0, 3)),
        "exposure.oldest_overdue_days": Decimal(rng.randrange(0, 60)),
    }
    if rng.random() < 0.7:
        fact["credit.utilisation_after"] = Decimal(rng.randrange(0, 12_000)) / 10_000
    return fact


# --- 1. background threads ------------------------------------------------------------------------


def test_trap1_background_threads_never_start(monkeypatch: pytest.MonkeyPatch) -> None:
    import durable.engine

    def no_host(*args: object, **kwargs: object) -> None:
        raise AssertionError("durable.engine.Host must never be created: it starts daemon threads")

    monkeypatch.setattr(durable.engine.Host, "__init__", no_host)
    before = set(threading.enumerate())
    ruleset = build(ORDER_RULES)
    rng = random.Random(1)
    facts = [random_order(rng) for _ in range(300)]
    for fact in facts:
        assert ruleset.match([fact]) == expected(ORDER_RULES, [fact])
    time.sleep(0.3)  # durable's Host timers would have fired by now
    assert set(threading.enumerate()) == before


# --- 2. thread safety ----------------------------------------------------------------------------


def test_trap2_eight_threads_matching_at_once_all_get_correct_results() -> None:
    """Fails when sessions are shared without the lock; the lock and unique session ids each suffice."""
    ruleset = build(ORDER_RULES)

    def worker(seed: int) -> int:
        rng = random.Random(seed)
        for _ in range(400):
            facts = [random_order(rng) for _ in range(rng.randrange(1, 4))]
            assert ruleset.match(facts) == expected(ORDER_RULES, facts)
        return seed

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # interleave the threads as often as the interpreter can
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            assert sorted(pool.map(worker, range(8))) == list(range(8))
    finally:
        sys.setswitchinterval(interval)


def test_trap2_results_are_identical_on_repeat() -> None:
    ruleset = build(ORDER_RULES)
    rng = random.Random(7)
    facts = [random_order(rng) for _ in range(20)]
    first = ruleset.match(facts)
    assert all(ruleset.match(facts) == first for _ in range(20))


# --- 3. session cap ------------------------------------------------------------------------------


def test_trap3_three_thousand_sequential_matches_stay_under_the_session_cap() -> None:
    ruleset = build(specs(big="order.amount > 100"))
    for i in range(3_000):
        assert ruleset.match([{"order.amount": num(i % 200)}]) == [("big",) if i % 200 > 100 else ()]


def test_trap3_one_match_of_many_facts_spreads_over_several_sessions() -> None:
    ruleset = build(specs(big="order.amount > 100"))
    facts: list[Fact] = [{"order.amount": num(i % 200)} for i in range(2_500)]
    assert ruleset.match(facts) == expected(ruleset.rules, facts)


# --- 4. delete_state after an unmatched input ------------------------------------------------------


def test_trap4_a_fact_matching_no_rule_gives_no_ids_and_the_process_survives() -> None:
    ruleset = build(specs(big="order.amount > 100"))
    for _ in range(100):
        assert ruleset.match([{"order.amount": num(1)}]) == [()]
        assert ruleset.match([{}]) == [()]
    assert ruleset.match([{"order.amount": num(101)}]) == [("big",)]


def test_trap4_raw_engine_crashes_deleting_an_unmatched_session() -> None:
    """Documents the trap the catch-all guards against: durable without it dies."""
    script = """
        from durable.engine import Host, MessageNotHandledException
        class SyncHost(Host):
            def _run(self): pass
            def get_action(self, name): return lambda c: None
        host = SyncHost()
        host.register_rulesets({"nm": {"r": {"all": [{"m": {"$gt": {"a": 5}}}], "run": "x"}}})
        for i in range(3):
            try:
                host.assert_fact("nm", {"sid": str(i), "a": 1})
            except MessageNotHandledException:
                pass
            host.delete_state("nm", str(i))
    """
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, timeout=60)
    assert result.returncode < 0  # killed by a signal (SIGSEGV here)


# --- 5. rulesets cannot be replaced ----------------------------------------------------------------


def test_trap5_the_same_name_and_rules_return_the_existing_ruleset() -> None:
    name = f"test-{uuid.uuid4().hex}"
    first = build_ruleset(name, ORDER_RULES)
    again = build_ruleset(name, specs(**{rule.id: rule.condition for rule in ORDER_RULES}))
    assert again is first


def test_trap5_the_same_name_with_other_rules_is_a_conflict() -> None:
    name = f"test-{uuid.uuid4().hex}"
    first = build_ruleset(name, specs(big="order.amount > 100"))
    with pytest.raises(CompileError) as caught:
        build_ruleset(name, specs(big="order.amount > 200"))
    assert caught.value.code == "ruleset_conflict"
    assert first.match([{"order.amount": num(150)}]) == [("big",)]


# --- 6. types ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("1000", "value_type"),  # durable would compare "1000" < 600 as text, and match
        (False, "value_type"),  # durable would compare False < 600 as 0 < 600, and match
        (0.5, "value_type"),  # floats are inexact
        (Decimal("NaN"), "value_not_finite"),  # durable accepts NaN and never matches it
        (Decimal("Infinity"), "value_not_finite"),
        (Decimal("1.00001"), "value_precision"),
        (Decimal("100000000000000.0001"), "value_out_of_range"),
        (Decimal("-1E+999999"), "value_out_of_range"),
        (Decimal("1E-999999"), "value_precision"),
    ],
)
def test_trap6_values_that_durable_would_misjudge_are_refused(value: object, code: str) -> None:
    ruleset = build(specs(small="order.amount < 600"))
    with pytest.raises(InputError) as caught:
        ruleset.match([{"order.amount": value}])  # type: ignore[dict-item]
    assert (caught.value.code, caught.value.field) == (code, "order.amount")
    assert ruleset.match([{"order.amount": num(5)}]) == [("small",)]  # still usable


def test_trap6_text_and_flags_are_checked_too() -> None:
    ruleset = build(specs(weak='customer.grade == "B"', black="customer.blacklisted"))
    for fact, code in [
        ({"customer.grade": Decimal(1)}, "value_type"),
        ({"customer.grade": "B" * 1001}, "value_too_long"),
        ({"customer.blacklisted": "true"}, "value_type"),
        ({"customer.blacklisted": 1}, "value_type"),
    ]:
        with pytest.raises(InputError) as caught:
            ruleset.match([fact])  # type: ignore[list-item]
        assert caught.value.code == code


def test_trap6_fixed_point_is_exact_where_floats_are_not() -> None:
    ruleset = build(
        specs(
            le="credit.utilisation_after <= 0.3",
            eq="credit.utilisation_after == 0.3",
            gt="credit.utilisation_after > 0.3",
        )
    )
    total = Decimal("0.1") + Decimal("0.2")  # 0.1 + 0.2 <= 0.3 is false in floats
    assert ruleset.match([{"credit.utilisation_after": total}]) == [("le", "eq")]
    assert ruleset.match([{"credit.utilisation_after": Decimal("0.30000")}]) == [("le", "eq")]
    assert ruleset.match([{"credit.utilisation_after": Decimal("0.3001")}]) == [("gt",)]


def test_trap6_durable_compares_large_fixed_point_integers_exactly() -> None:
    # 10**13 + 0.0001 is 10**17 + 1 in the engine; the largest value is 10**18.
    near = [num("10000000000000"), num("10000000000000.0001"), num("99999999999999.9999"), num("100000000000000")]
    rules = specs(
        lt=Compare("<", X, Literal(near[1], FieldType.NUMBER)),
        eq=Compare("==", X, Literal(near[1], FieldType.NUMBER)),
        top=Compare(">", X, Literal(near[2], FieldType.NUMBER)),
        xy=Compare("<", X, Y),
        neg=Compare("<", X, Literal(-near[3], FieldType.NUMBER)),
    )
    ruleset = build(rules)
    facts: list[Fact] = [
        {"x": near[0], "y": near[1]},
        {"x": near[1], "y": near[0]},
        {"x": near[3], "y": near[3]},
        {"x": near[2], "y": near[3]},
        {"x": -near[2]},
    ]
    assert ruleset.match(facts) == [("lt", "xy"), ("eq",), ("top",), ("xy",), ("lt",)]
    assert ruleset.match(facts) == expected(rules, facts)


def test_trap6_a_literal_the_engine_cannot_hold_is_a_compile_error() -> None:
    with pytest.raises(CompileError) as caught:
        build(specs(bad=Compare("<", X, Literal(Decimal("0.00001"), FieldType.NUMBER))))
    assert caught.value.code == "condition_precision"
    assert "rules/test.yaml:1" in caught.value.message


# --- 7. missing fields ---------------------------------------------------------------------------


def test_trap7_comparisons_reading_an_absent_field_are_false() -> None:
    rules = specs(
        eq=Compare("==", X, Literal(num(1), FieldType.NUMBER)),
        ne=Compare("!=", X, Literal(num(1), FieldType.NUMBER)),
        lt=Compare("<", X, Literal(num(1), FieldType.NUMBER)),
        inside=InList(X, (num(1), num(2)), negated=False),
        outside=InList(X, (num(1), num(2)), negated=True),
        xy=Compare("!=", X, Y),
    )
    ruleset = build(rules)
    assert ruleset.match([{}, {"x": None, "y": None}, {"y": num(3)}]) == [(), (), ()]
    assert ruleset.match([{"x": num(3), "y": num(3)}]) == [("ne", "outside")]


def test_trap7_not_holds_when_the_field_is_absent() -> None:
    rules = specs(
        not_gt=Not(gt(X, 5)),
        not_in=Not(InList(X, (num(1),), negated=False)),
        not_not_in=Not(InList(X, (num(1),), negated=True)),
        not_xy=Not(Compare("==", X, Y)),
        not_both=Not(And((gt(X, 1), gt(Y, 1)))),
    )
    ruleset = build(rules)
    everything = tuple(rule.id for rule in rules)
    assert ruleset.match([{}, {"y": num(9)}]) == [everything, everything]
    assert ruleset.match([{"x": num(9), "y": num(9)}]) == [("not_in",)]
    assert ruleset.match([{"x": num(1), "y": num(1)}]) == [("not_gt", "not_not_in", "not_both")]


def test_trap7_is_missing_alone_matches_once_without_looping() -> None:
    ruleset = build(specs(none="credit.utilisation_after is missing", some="credit.utilisation_after is not missing"))
    started = time.perf_counter()
    assert ruleset.match([{}, {"credit.utilisation_after": num(0)}]) == [("none",), ("some",)]
    assert time.perf_counter() - started < 1


def test_trap7_a_field_to_field_comparison_with_the_right_field_absent_is_false() -> None:
    # durable matches `x < $m.y` (and ==, >, !=) whenever y is absent: every $m test is guarded.
    rules = specs(lt=Compare("<", X, Y), eq=Compare("==", X, Y), gt=Compare(">", X, Y), ne=Compare("!=", X, Y))
    ruleset = build(rules)
    assert ruleset.match([{"x": num(1)}, {"x": num(1), "y": num(2)}]) == [(), ("lt", "ne")]


def test_trap7_an_or_true_in_several_ways_reports_its_rule_once() -> None:
    rules = specs(either=Or((gt(X, 1), gt(Y, 1))), nested=And((Or((gt(X, 1), gt(Y, 1))), Or((gt(X, 2), gt(Y, 2))))))
    assert build(rules).match([{"x": num(5), "y": num(5)}]) == [("either", "nested")]


# --- 8. reserved keys ------------------------------------------------------------------------------


def test_trap8_fields_named_like_durable_reserved_keys_do_not_collide() -> None:
    ident = FieldRef("id", FieldType.TEXT, True)
    sid = FieldRef("sid", FieldType.TEXT, True)
    customer_id = FieldRef("customer.id", FieldType.TEXT, False)
    rules = specs(
        acme=Compare("==", customer_id, Literal("C-1", FieldType.TEXT)),
        plain_id=Compare("==", ident, Literal("7", FieldType.TEXT)),
        plain_sid=Compare("==", sid, Literal("1", FieldType.TEXT)),
    )
    ruleset = build(rules)
    same: Fact = {"customer.id": "C-1", "id": "7", "sid": "1"}
    assert ruleset.match([same, same, dict(same)]) == [("acme", "plain_id", "plain_sid")] * 3
    assert ruleset.match([same]) == [("acme", "plain_id", "plain_sid")]  # sessions do not leak


def test_trap8_text_is_compared_exactly_whatever_it_contains() -> None:
    odd = ['q"uote', "back\\slash", "é✓", "line\nbreak", "", "nul\x00"]
    grade = FieldRef("customer.id", FieldType.TEXT, False)
    rules = [
        RuleSpec(f"r{i}", Compare("==", grade, Literal(text, FieldType.TEXT)), SourceRef("t", i))
        for i, text in enumerate(odd)
    ]
    ruleset = build(rules)
    assert ruleset.match([{"customer.id": text} for text in odd]) == [(f"r{i}",) for i in range(len(odd))]


# --- 9. limits -----------------------------------------------------------------------------------


def test_trap9_150_range_conditions_true_at_once_are_split_into_chunks() -> None:
    rules = [RuleSpec(f"r{i}", gt(X, i), SourceRef("t", i)) for i in range(150)]
    ruleset = build(rules)
    assert ruleset.chunk_count >= 3  # 65 conditions true at once raise error 303 and corrupt the heap
    assert ruleset.match([{"x": num(1000)}, {"x": num(3)}]) == [tuple(r.id for r in rules), ("r0", "r1", "r2")]


def test_trap9_600_rules_under_one_node_build_without_hanging() -> None:
    script = """
        from decimal import Decimal
        from engine.ir import RuleSpec, SourceRef
        from engine.rules_adapter import build_ruleset
        from policy.expressions import And, Compare, FieldRef, Literal
        from policy.fields import FieldType
        g = FieldRef("grade", FieldType.GRADE, False)
        x = FieldRef("x", FieldType.NUMBER, True)
        rules = [RuleSpec(f"r{i}", And((Compare("==", g, Literal("A", FieldType.TEXT)),
                 Compare("==", x, Literal(Decimal(i), FieldType.NUMBER)))), SourceRef("t", i)) for i in range(600)]
        ruleset = build_ruleset("six-hundred", rules)
        print(ruleset.chunk_count, ruleset.match([{"grade": "A", "x": Decimal(599)}]))
    """
    # 513 tests under one node make create_ruleset spin forever holding the GIL: hence a subprocess.
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(" ", 1) == ["3", "[('r599',)]\n"]


def test_trap9_a_long_in_list_is_split_across_chunks() -> None:
    ruleset = build(specs(listed=InList(X, tuple(num(i) for i in range(600)), negated=False)))
    assert ruleset.chunk_count == 3
    assert ruleset.match([{"x": num(599)}, {"x": num(600)}]) == [("listed",), ()]


def test_trap9_a_long_in_list_inside_a_conjunction_is_too_large() -> None:
    listed = InList(X, tuple(num(i) for i in range(600)), negated=False)
    with pytest.raises(CapacityError) as caught:
        build(specs(listed=And((gt(Y, 0), listed))))
    assert "rules/test.yaml:1" in caught.value.message and "'listed'" in caught.value.message


def test_trap9_rules_reading_more_than_255_fields_are_split_by_fields() -> None:
    def all_positive(first: int) -> Condition:
        return And(tuple(gt(FieldRef(f"f.n{i}", FieldType.NUMBER, True), 0) for i in range(first, first + 100)))

    rules = [RuleSpec(f"r{block}", all_positive(block * 100), SourceRef("t", block)) for block in range(3)]
    ruleset = build(rules)
    assert ruleset.chunk_count == 2  # a message holds at most 255 properties
    fact: dict[str, Any] = {f"f.n{i}": num(1) for i in range(300)}
    assert ruleset.match([fact]) == [("r0", "r1", "r2")]
    fact["f.n150"] = num(0)
    assert ruleset.match([fact]) == [("r0", "r2")]


def test_trap9_a_condition_nested_too_deeply_is_refused_with_its_rule() -> None:
    condition: Condition = gt(X, 0)
    for depth in range(16):
        condition = (And if depth % 2 else Or)((condition, gt(Y, depth)))
    with pytest.raises(CapacityError) as caught:
        build(specs(deep=condition))
    assert caught.value.code == "condition_too_complex"
    assert "rules/test.yaml:1" in caught.value.message and "'deep'" in caught.value.message


# --- 10. errors are bare numbers -----------------------------------------------------------------


class _FailingEngine:
    """The real engine, except for one function that fails like durable does."""

    def __init__(self, failing: str, message: str) -> None:
        self._real, self._failing, self._message = rules_adapter._engine, failing, message

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._real, name)
        if name != self._failing:
            return real

        def fail(*args: object) -> object:
            if self._failing != "create_ruleset" or "BAD" in str(args[1]):
                raise self._real.error(self._message)
            return real(*args)

        return fail


def test_trap10_an_engine_error_in_a_match_is_translated_and_disables_the_ruleset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ruleset = build(specs(big="order.amount > 100"))
    failing = _FailingEngine("assert_fact", "Could not assert fact, error code: 303")
    monkeypatch.setattr(rules_adapter, "_engine", failing)
    with pytest.raises(RulesEngineError) as caught:
        ruleset.match([{"order.amount": num(5)}])
    assert (caught.value.code, caught.value.ruleset) == ("rules_engine_capacity", ruleset.name)
    assert "303" in caught.value.message and "too many conditions true at once" in caught.value.message
    monkeypatch.undo()
    with pytest.raises(RulesEngineError) as again:
        ruleset.match([{"order.amount": num(5)}])
    assert again.value.code == "rules_engine_unavailable"


def test_trap10_an_engine_error_at_build_names_the_rule_and_its_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        rules_adapter, "_engine", _FailingEngine("create_ruleset", "Could not create ruleset, error code: 105")
    )
    grade = FieldRef("customer.grade", FieldType.GRADE, False)
    rules = specs(
        fine=Compare("==", grade, Literal("A", FieldType.TEXT)),
        bad=Compare("==", grade, Literal("BAD", FieldType.TEXT)),
    )
    with pytest.raises(RulesEngineError) as caught:
        build(rules)
    assert (caught.value.code, caught.value.rule) == ("rules_engine_error", "bad")
    assert "rules/test.yaml:2" in caught.value.message and "105" in caught.value.message


def test_trap10_a_real_engine_error_is_translated() -> None:
    script = """
        import os
        from decimal import Decimal
        from engine import rules_adapter
        from engine.errors import RulesEngineError
        from engine.ir import RuleSpec, SourceRef
        from policy.expressions import Compare, FieldRef, Literal
        from policy.fields import FieldType
        rules_adapter.STACK_BUDGET = 1000  # switch the guard off
        x = FieldRef("x", FieldType.NUMBER, True)
        rules = [RuleSpec(f"r{i}", Compare(">", x, Literal(Decimal(i), FieldType.NUMBER)), SourceRef("t", i))
                 for i in range(100)]
        ruleset = rules_adapter.build_ruleset("overflow", rules)
        try:
            ruleset.match([{"x": Decimal(1000)}])
        except RulesEngineError as exc:
            print(exc.code, exc.ruleset, flush=True)
        os._exit(0)  # durable's heap is corrupt after error 303: leave without cleaning up
    """
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, timeout=60)
    assert result.stdout == "rules_engine_capacity overflow\n", result.stderr


# --- 11, 12. timers and batches ------------------------------------------------------------------


def test_trap11_12_the_adapter_uses_no_timers_and_no_batches() -> None:
    tree = ast.parse(inspect.getsource(rules_adapter))
    called = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "_engine"
    }
    allowed = {"create_ruleset", "delete_ruleset", "assert_fact", "start_action_for_state", "complete_and_start_action"}
    assert called <= allowed | {"delete_state", "error"}


# --- the interface -------------------------------------------------------------------------------


def test_match_lists_every_rule_that_holds_for_each_fact_in_rule_order() -> None:
    ruleset = build(ORDER_RULES)
    rng = random.Random(3)
    facts = [random_order(rng) for _ in range(200)]
    assert ruleset.match(facts) == expected(ORDER_RULES, facts)
    assert ruleset.match([]) == []


def test_extra_fact_keys_are_ignored_and_an_empty_ruleset_matches_nothing() -> None:
    assert build(specs(big="order.amount > 1")).match([{"order.amount": num(2), "other": "x"}]) == [("big",)]
    assert build([]).match([{"order.amount": num(2)}]) == [()]


def test_compile_problems_are_collected_with_their_sources() -> None:
    amount = FieldRef("order.amount", FieldType.MONEY, False)
    as_text = FieldRef("order.amount", FieldType.TEXT, False)
    rules = [
        RuleSpec("a", gt(amount, 1), SourceRef("rules/test.yaml", 1)),
        RuleSpec("a", gt(amount, 2), SourceRef("rules/test.yaml", 2)),
        RuleSpec("b", Compare("==", as_text, Literal("x", FieldType.TEXT)), SourceRef("rules/test.yaml", 3)),
    ]
    with pytest.raises(CompileError) as caught:
        build(rules)
    assert caught.value.code == "duplicate_rule_id"
    issues = caught.value.issues
    assert [(i.file, i.line, i.path, i.code) for i in issues] == [
        ("rules/test.yaml", 2, ("a",), "duplicate_rule_id"),
        ("rules/test.yaml", 3, ("b",), "field_type_conflict"),
    ]


# --- trap 13: memory is never returned, so what is registered is counted ------------------------


def test_planning_registers_nothing_and_building_counts_every_internal_ruleset() -> None:
    rules = specs(
        low="order.amount < 5", high="order.amount > 500", both="order.amount > 1 and exposure.overdue_amount > 1"
    )
    before = rules_adapter.engine_ruleset_count()
    plan = rules_adapter.plan_ruleset("planned", rules)
    assert rules_adapter.engine_ruleset_count() == before and len(plan.groups) == 1
    ruleset = build(rules)
    assert rules_adapter.engine_ruleset_count() == before + ruleset.chunk_count
    assert build_ruleset(ruleset.name, rules) is ruleset  # the same rules again: nothing more
    assert rules_adapter.engine_ruleset_count() == before + ruleset.chunk_count


def test_a_refused_build_leaves_nothing_registered() -> None:
    before = rules_adapter.engine_ruleset_count()
    deep = cond(" and ".join(f"(order.amount > {i} or exposure.overdue_amount > {i})" for i in range(16)))
    with pytest.raises(CapacityError):
        build(specs(deep=deep))
    assert rules_adapter.engine_ruleset_count() == before


def test_the_size_of_a_rule_is_one_engine_rule_per_top_level_alternative() -> None:
    sizes = rules_adapter.rule_sizes(
        specs(
            listed='customer.grade in ["A", "B", "C"]',
            nested='order.amount > 1 and customer.grade in ["A", "B", "C"]',
            negated="not (order.amount > 1)",
            fields="order.amount > customer.limit",
        )
    )
    assert [(s.rule.id, s.engine_rules, s.conditions) for s in sizes] == [
        ("listed", 3, 6),
        ("nested", 1, 5),
        ("negated", 2, 4),
        ("fields", 1, 3),
    ]

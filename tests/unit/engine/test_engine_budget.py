"""What a policy expands to in durable-rules is counted and bounded before any ruleset is registered.

durable-rules never returns a ruleset's memory (DURABLE-RULES.md, trap 13): the policy of issue 12
(``tests.factories.expanding_policy_yaml``) passes every validation limit yet expands to 74,480
engine rules, 8-9 s and +570 MB for good. The compiler counts the expansion first
(``stage_engine_budget``) and refuses it, located at the rule that expands the most.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from engine.compiler import MAX_ENGINE_CONDITIONS, compile_policy, engine_size
from engine.errors import CapacityError
from engine.ir import CompiledPolicy, Matcher, RuleSpec
from engine.matchers import durable_matcher, twin_matcher
from engine.rules_adapter import engine_ruleset_count, rule_sizes
from policy.validate import LoadedPolicy, load_policy
from tests.factories import expanding_policy_yaml


@pytest.fixture(scope="module")
def hostile() -> LoadedPolicy:
    return load_policy(expanding_policy_yaml(), "rules/hostile.yaml")


def never_called(name: str, rules: Sequence[RuleSpec]) -> Matcher:
    raise AssertionError(f"a matcher was built for {name}: the budget must refuse the policy first")


def test_the_policy_of_issue_12_is_refused_located_before_any_matcher_is_built(hostile: LoadedPolicy) -> None:
    built: list[str] = []

    def durable(name: str, rules: Sequence[RuleSpec]) -> Matcher:
        built.append(name)
        return durable_matcher(name, rules)

    before = engine_ruleset_count()
    with pytest.raises(CapacityError) as refused:
        compile_policy(hostile, factory=durable)
    # Refused before the first matcher (the seconds and the memory are spent there): nothing registered.
    assert built == [] and engine_ruleset_count() == before
    (issue,) = refused.value.issues
    assert refused.value.code == issue.code == "expansion_too_large"
    # Located where the first of the rules expanding most is written: order_rules.rules[0].when.
    assert (issue.file, issue.path) == ("rules/hostile.yaml", ("order_rules", "rules", 0, "when"))
    assert (issue.line, issue.column) == hostile.location(("order_rules", "rules", 0, "when"))
    assert "149,032 conditions in the rules engine, more than the 8,000" in issue.message
    assert "'order_rules.watched_0' expands the most: 190 engine rules with 380 conditions" in issue.message


def test_the_rule_expanding_most_is_named_wherever_it_is(hostile: LoadedPolicy) -> None:
    text = expanding_policy_yaml(rules=3, values=40).replace(
        "when: customer.blacklisted", 'when: customer.id in ["' + '", "'.join(f"X{i}" for i in range(90)) + '"]'
    )
    loaded = load_policy(text, "rules/three.yaml")
    with pytest.raises(CapacityError) as refused:
        compile_policy(loaded, factory=never_called, max_conditions=200)
    (issue,) = refused.value.issues
    index = len(loaded.policy.order_rules.rules) - 3  # blacklisted: first of the minimal policy's three
    assert issue.path == ("order_rules", "rules", index, "when")
    assert "'order_rules.blacklisted' expands the most: 90 engine rules with 180 conditions" in issue.message


def test_a_policy_at_the_budget_compiles_one_condition_more_does_not() -> None:
    loaded = load_policy(expanding_policy_yaml(rules=2, values=5), "rules/small.yaml")
    size = engine_size(compile_policy(loaded, factory=twin_matcher).tables)
    assert compile_policy(loaded, factory=twin_matcher, max_conditions=size.conditions).meta.policy_id == "minimal"
    with pytest.raises(CapacityError):
        compile_policy(loaded, factory=twin_matcher, max_conditions=size.conditions - 1)


def test_the_blacklist_counts_one_engine_rule_per_customer() -> None:
    text = expanding_policy_yaml(rules=0).replace("    - CUST-1\n", "    - B1\n    - B2\n    - B3\n", 1)
    compiled = compile_policy(load_policy(text, "rules/blacklist.yaml"), factory=twin_matcher)
    sizes = {rule.id: size for rule, size in _sizes(compiled)}
    assert sizes["standards.blacklist"] == (3, 6)


def test_the_shipped_policy_stays_far_below_the_budget(shipped: CompiledPolicy) -> None:
    size = engine_size(shipped.tables)
    assert (size.engine_rules, size.conditions) == (54, 164)
    assert size.conditions * 20 < MAX_ENGINE_CONDITIONS


def _sizes(compiled: CompiledPolicy) -> list[tuple[RuleSpec, tuple[int, int]]]:
    return [
        (size.rule, (size.engine_rules, size.conditions))
        for table in compiled.tables.values()
        for size in rule_sizes(table.rules)
    ]

"""order: every reason with its rule, severity, defaults, inline assessment and coded errors."""

from __future__ import annotations

from typing import Any

import pytest

from engine.compiler import compile_policy
from engine.decide import decide
from engine.errors import InputError
from engine.ir import CompiledPolicy
from engine.matchers import durable_matcher, python_matcher
from policy import schema as s
from tests.decision_factories import assess_input, order_input, strong_credit_file
from tests.engine_factories import MemoryPolicy, policy_data


def _reasons(out: dict[str, Any]) -> list[str]:
    return [r["reason"] for r in out["reasons"]]


class TestShippedOrderRules:
    def test_within_limit_is_approved_with_the_default_reason(self, shipped: CompiledPolicy) -> None:
        out = decide(shipped, "order", order_input()).output()
        assert out["outcome"] == "approve"
        assert out["reasons"][0]["rule"] == "order_rules.default" and _reasons(out) == ["WITHIN_POLICY"]
        assert (out["available_before"], out["available_after"]) == ("1000000.00", "900000.00")

    def test_over_limit_holds(self, shipped: CompiledPolicy) -> None:
        out = decide(shipped, "order", order_input(amount="950000.00", open_receivables="100000.00")).output()
        assert out["outcome"] == "hold" and _reasons(out) == ["OVER_LIMIT"]
        assert out["available_after"] == "-50000.00"

    def test_blacklist_flag_and_policy_blacklist_reject(self, shipped: CompiledPolicy) -> None:
        flagged = order_input()
        flagged["customer"]["blacklisted"] = True
        assert decide(shipped, "order", flagged).output()["outcome"] == "reject"
        listed = decide(shipped, "order", order_input(customer_id="CN-91310000-0457")).output()
        assert listed["outcome"] == "reject" and "BLACKLISTED" in _reasons(listed)

    def test_every_reason_is_reported_and_the_most_severe_wins(self, shipped: CompiledPolicy) -> None:
        payload = order_input(amount="2000000.00", overdue_amount="5000.00", oldest_overdue_days=40)
        payload["customer"]["blacklisted"] = True
        out = decide(shipped, "order", payload).output()
        assert out["outcome"] == "reject"
        assert {"BLACKLISTED", "OVER_LIMIT", "OVERDUE"} <= set(_reasons(out))
        assert all(r["source"].startswith("rules/standard.yaml:") for r in out["reasons"])

    def test_weak_grade_overdue_is_rejected_but_a_good_grade_only_held(self, shipped: CompiledPolicy) -> None:
        good = decide(shipped, "order", order_input(grade="BBB", overdue_amount="1.00", oldest_overdue_days=40))
        weak = decide(shipped, "order", order_input(grade="CCC", overdue_amount="1.00", oldest_overdue_days=40))
        assert good.output()["outcome"] == "hold"
        assert weak.output()["outcome"] == "reject"

    def test_a_grade_below_the_standard_is_not_eligible(self, shipped: CompiledPolicy) -> None:
        out = decide(shipped, "order", order_input(grade="CC", limit="0.00", amount="10.00")).output()
        assert out["eligible"] is False and out["outcome"] == "reject"

    def test_inline_assessment_from_a_credit_file(self, shipped: CompiledPolicy) -> None:
        payload = order_input()
        payload["customer"] = {"id": "C-1001", "segment": "ordinary", "credit_file": strong_credit_file()}
        decision = decide(shipped, "order", payload)
        assessed = decide(shipped, "assess", assess_input()).output()
        out = decision.output()
        assert (out["grade"], out["credit_limit"]) == (assessed["grade"], assessed["credit_limit"])
        assert decision.trace["inline_assessment"]["grade"] == assessed["grade"]

    def test_currency_mismatch_and_unknown_grade_are_coded_input_errors(self, shipped: CompiledPolicy) -> None:
        with pytest.raises(InputError) as exc:
            decide(shipped, "order", order_input(currency="USD"))
        assert (exc.value.code, exc.value.field) == ("currency_mismatch", "order.currency")
        with pytest.raises(InputError) as exc:
            decide(shipped, "order", order_input(grade="ZZZ"))
        assert exc.value.code == "unknown_grade"


def _policy(rules: list[dict[str, Any]], combine: str = "most_severe", durable: bool = False) -> CompiledPolicy:
    data = policy_data(version=f"order-{combine}-{durable}")
    data["order_rules"] = {"combine": combine, "default": {"outcome": "approve", "reason": "OK"}, "rules": rules}
    return compile_policy(
        MemoryPolicy(s.Policy.model_validate(data)), factory=durable_matcher if durable else python_matcher
    )


RULES = [
    {"id": "big", "when": "order.amount > 500", "then": {"outcome": "hold", "reason": "BIG"}},
    {"id": "huge", "when": "order.amount > 1000", "then": {"outcome": "reject", "reason": "HUGE"}},
]


@pytest.mark.parametrize("durable", [False, True])
def test_first_match_takes_the_first_rule_that_holds(durable: bool) -> None:
    out = decide(_policy(RULES, "first_match", durable), "order", order_input(grade="A", amount="2000.00")).output()
    assert out["outcome"] == "hold" and _reasons(out) == ["BIG"]


@pytest.mark.parametrize("durable", [False, True])
def test_most_severe_reports_all_and_takes_the_worst(durable: bool) -> None:
    out = decide(_policy(RULES, "most_severe", durable), "order", order_input(grade="A", amount="2000.00")).output()
    assert out["outcome"] == "reject" and _reasons(out) == ["BIG", "HUGE"]


@pytest.mark.parametrize("durable", [False, True])
def test_arithmetic_in_a_condition_is_exact(durable: bool) -> None:
    rules = [
        {
            "id": "over_tolerance",
            "when": "exposure.total + order.amount > customer.limit * 1.1",
            "then": {"outcome": "hold", "reason": "OVER_TOLERANCE"},
        }
    ]
    policy = _policy(rules, durable=durable)
    at_edge = order_input(limit="1000.00", amount="100.00", open_receivables="1000.00")  # 1100 == 1100
    above = order_input(limit="1000.00", amount="100.01", open_receivables="1000.00")
    assert decide(policy, "order", at_edge).output()["outcome"] == "approve"
    assert decide(policy, "order", above).output()["outcome"] == "hold"


@pytest.mark.parametrize("durable", [False, True])
def test_division_by_zero_makes_a_comparison_false_not_an_error(durable: bool) -> None:
    rules = [{"id": "ratio", "when": "order.amount / customer.limit > 0.5", "then": {"outcome": "hold", "reason": "R"}}]
    out = decide(_policy(rules, durable=durable), "order", order_input(limit="0.00", amount="10.00")).output()
    assert out["outcome"] == "approve"

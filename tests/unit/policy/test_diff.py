"""Diffs between policy versions: keyed lists matched by name, reformatting invisible, readable output."""

from __future__ import annotations

from policy.diff import Change, diff_policies, render_diff
from policy.schema import Policy
from policy.validate import load_policy
from tests.factories import minimal_policy_yaml
from tests.unit.policy.support import FILE, edit, policy_with

BASE = minimal_policy_yaml()
NEW_RULE = (
    "    - id: big_order\n      when: order.amount > 100000\n"
    "      then:\n        outcome: hold\n        reason: BIG_ORDER\n"
)


def policy(text: str) -> Policy:
    return load_policy(text, FILE).policy


def test_identical_policies_have_no_changes() -> None:
    reformatted = edit(BASE, "          pct: 0.3\n", "          pct: 0.300\n")
    assert diff_policies(policy(BASE), policy(reformatted)) == []
    assert render_diff([]) == "no changes"


def test_a_changed_number_is_one_change_with_a_dotted_path() -> None:
    new = policy_with("  portfolio_total: 10000000\n", "  portfolio_total: 12000000\n")
    assert diff_policies(policy(BASE), policy(new)) == [
        Change("limits.portfolio_total", "changed", "10000000", "12000000")
    ]


def test_inserting_a_rule_is_one_addition_not_a_change_of_every_later_rule() -> None:
    new = policy_with("    - id: over_limit\n", NEW_RULE + "    - id: over_limit\n")
    (change,) = diff_policies(policy(BASE), policy(new))
    assert (change.path, change.kind, change.old) == ("order_rules.rules[big_order]", "added", None)
    assert isinstance(change.new, dict) and change.new["when"] == "order.amount > 100000"


def test_a_change_inside_a_rule_is_addressed_by_its_id() -> None:
    new = policy_with("        outcome: hold\n", "        outcome: reject\n")
    assert diff_policies(policy(BASE), policy(new)) == [
        Change("order_rules.rules[over_limit].then.outcome", "changed", "hold", "reject")
    ]


def test_removing_a_factor_is_one_removal() -> None:
    text = edit(BASE, "      weight: 40\n", "      weight: 75\n")
    start = text.index("    - id: current_ratio\n")
    end = text.index("    - id: visit\n")
    new = text[:start] + text[end:]
    changes = diff_policies(policy(BASE), policy(new))
    assert [(c.path, c.kind) for c in changes] == [
        ("scorecard.factors[on_time].weight", "changed"),
        ("scorecard.factors[current_ratio]", "removed"),
    ]


def test_reordering_rules_shows_the_new_order() -> None:
    block = NEW_RULE.replace("big_order", "zz_last")
    old = policy_with("    - id: over_limit\n", block + "    - id: over_limit\n")
    new = policy_with("  rules:\n    - id: blacklisted\n", "  rules:\n" + block + "    - id: blacklisted\n")
    changes = diff_policies(policy(old), policy(new))
    assert changes == [
        Change(
            "order_rules.rules (order)",
            "changed",
            ["blacklisted", "zz_last", "over_limit", "overdue"],
            ["zz_last", "blacklisted", "over_limit", "overdue"],
        )
    ]


def test_grade_bands_are_matched_by_grade() -> None:
    new = edit(BASE, "    min_score: 60\n    max_score: 80\n", "    min_score: 65\n    max_score: 80\n")
    new = edit(new, "    min_score: 40\n    max_score: 60\n", "    min_score: 40\n    max_score: 65\n")
    changes = diff_policies(policy(BASE), policy(new))
    assert [c.path for c in changes] == ["grades[B].min_score", "grades[C].max_score"]


def test_blacklist_entries_show_as_added_and_removed() -> None:
    new = policy_with("    - CUST-1\n", "    - CUST-2\n")
    assert diff_policies(policy(BASE), policy(new)) == [
        Change("standards.blacklist", "removed", "CUST-1", None),
        Change("standards.blacklist", "added", None, "CUST-2"),
    ]


def test_render_diff_is_one_line_per_change() -> None:
    changes = [
        Change("limits.portfolio_total", "changed", "1", "2"),
        Change("order_rules.rules[x]", "added", None, {"id": "x"}),
        Change("standards.blacklist", "removed", "C-1", None),
    ]
    assert render_diff(changes) == (
        '~ limits.portfolio_total: "1" → "2"\n+ order_rules.rules[x]: {"id": "x"}\n- standards.blacklist: "C-1"'
    )

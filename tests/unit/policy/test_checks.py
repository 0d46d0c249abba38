"""Semantic checks beyond one code per case: stage list, messages, columns inside conditions, edge cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from policy.checks import CHECKS
from policy.validate import load_policy, load_policy_file
from tests.factories import minimal_policy_yaml
from tests.unit.policy.support import FILE, edit, issues_of, policy_with, position


def test_stages_are_named_uniquely_and_documented() -> None:
    names = [stage.name for stage in CHECKS]
    assert len(names) == len(set(names))
    assert all(stage.check.__doc__ for stage in CHECKS)
    assert all(stage.whole or stage.parts for stage in CHECKS)  # each says what it reads


def test_a_gap_message_names_the_uncovered_scores_and_both_grades() -> None:
    (issue,) = issues_of(policy_with("    min_score: 60\n", "    min_score: 65\n"))
    assert issue.message == "scores from 60 to 65 have no grade: C ends at 60 but B starts at 65"


def test_an_overlap_message_names_the_shared_scores() -> None:
    (issue,) = issues_of(policy_with("    max_score: 40\n", "    max_score: 45\n"))
    assert issue.message == "scores from 40 to 45 fall in both C and D; D must end where C starts (40)"


def test_the_weights_message_shows_the_actual_sum() -> None:
    (issue,) = issues_of(policy_with("      weight: 25\n", "      weight: 25.5\n"))
    assert issue.message == "the factor weights sum to 100.5; they must sum to exactly 100"


def test_a_condition_error_in_a_folded_block_is_located_on_its_own_line() -> None:
    text = policy_with(
        "      when: credit.available_after < 0\n",
        "      when: >-\n        credit.available_after < 0\n        and order.amont > 5\n",
    )
    (issue,) = issues_of(text)
    assert (issue.code, issue.path_text) == ("unknown_field", "order_rules.rules[1].when")
    assert (issue.line, issue.column) == position(text, "order.amont")


def test_a_terms_error_in_a_flow_mapping_is_located() -> None:
    text = policy_with("    C:\n      text: n/15\n", '    C: {text: "n/15, 2/10"}\n')
    (issue,) = issues_of(text)
    assert issue.code == "terms_syntax"
    assert (issue.line, issue.column) == position(text, "n/15, 2/10")


def test_unknown_names_get_a_did_you_mean() -> None:
    (issue,) = issues_of(policy_with("        visit: 20\n", "        vist: 20\n"))
    assert issue.message.startswith("unknown step 'vist' (did you mean 'visit'? known: letter, visit,")


def test_open_ended_bands_that_overlap() -> None:
    text = policy_with("        - min: 2\n          points: 100\n", "        - max: 3\n          points: 100\n")
    found = issues_of(text)
    assert [i.code for i in found] == ["band_overlap", "band_overlap"]


def test_strength_comparisons_follow_scores_not_list_order() -> None:
    # Listing C before B is a grade_band_order error, and only that: B is still stronger than C.
    text = policy_with(
        "  - grade: B\n    min_score: 60\n    max_score: 80\n  - grade: C\n    min_score: 40\n    max_score: 60\n",
        "  - grade: C\n    min_score: 40\n    max_score: 60\n  - grade: B\n    min_score: 60\n    max_score: 80\n",
    )
    assert [i.code for i in issues_of(text)] == ["grade_band_order"]


def test_a_ladder_may_leave_steps_out() -> None:
    # core has no arbitration step and high_risk no visit: both valid.
    load_policy(policy_with("        visit: 30\n", ""), FILE)


@pytest.mark.parametrize(
    ("terms", "codes"),
    [
        ("CIA", []),
        ("net 15", []),
        ("2/5, 1/15, n/15", []),  # the last discount may end on the due date
        ("2/0, n/15", ["discount_days_order"]),
        ("0/10, n/15", ["discount_rate_range"]),
        ("3/10, 2/10, n/15", ["discount_days_order"]),
        ("2/5, 2/10, n/15", ["discount_rate_order"]),
        ("n/15, 2/10", ["terms_syntax"]),
        ("n/20", ["terms_grade_order"]),  # the weakest grade, D, gets more than C's 15 days
    ],
)
def test_terms_rules(terms: str, codes: list[str]) -> None:
    text = policy_with("      text: cash in advance\n", f"      text: {terms}\n")
    if not codes:
        load_policy(text, FILE)
    else:
        assert [i.code for i in issues_of(text)] == codes


def test_each_check_reports_every_instance() -> None:
    text = policy_with("    - id: over_limit\n", "    - id: blacklisted\n")
    text = edit(text, "    - id: overdue\n", "    - id: blacklisted\n")
    found = issues_of(text)
    assert [(i.code, i.path_text) for i in found] == [
        ("duplicate_id", "order_rules.rules[1].id"),
        ("duplicate_id", "order_rules.rules[2].id"),
    ]


# --- warnings: valid, but not what the author meant ------------------------------------------

_B_PCT = "      method: pct_liquidation_value\n      pct: 0.1\n"


def test_a_weaker_grade_granting_more_of_the_same_basis_is_a_warning_naming_both_grades() -> None:
    # Issue 10: the engine's floor lifted A to B silently; A's 30 % of working capital never decided.
    text = policy_with(_B_PCT, "      method: pct_working_capital\n      pct: 0.4\n")
    loaded = load_policy(text, FILE)  # still valid
    (warning,) = loaded.warnings
    assert (warning.code, warning.severity, warning.path_text) == (
        "limit_lifted_by_floor",
        "warning",
        "limits.per_grade.B.pct",
    )
    assert (warning.line, warning.column) == position(text, "pct: 0.4")
    assert warning.message.startswith(
        "the weaker grade B grants 0.4 of working capital where the stronger grade A grants 0.3 of it;"
    )
    assert "floor_grade_B" in warning.message
    assert str(warning).endswith(f"limits.per_grade.B.pct: warning: {warning.message} [limit_lifted_by_floor]")


def test_a_weaker_grade_s_larger_fixed_amount_is_a_warning() -> None:
    text = policy_with(
        _B_PCT,
        "      method: min\n      of:\n        - method: pct_liquidation_value\n          pct: 0.1\n"
        "        - method: fixed\n          amount: 40000\n",
    )
    (warning,) = load_policy(text, FILE).warnings
    assert (warning.code, warning.path_text) == ("limit_lifted_by_floor", "limits.per_grade.C.amount")
    assert "grade C grants up to 50000 where the stronger grade B grants at most 40000" in warning.message


def test_trading_one_basis_against_another_is_no_warning() -> None:
    # A takes working capital and net assets, B liquidation value: which grants more depends on the
    # customer, and the floor handling that is the engine's promise, not a mistake.
    assert load_policy(minimal_policy_yaml(), FILE).warnings == ()
    assert load_policy_file(Path(__file__).parents[3] / "rules" / "standard.yaml").warnings == ()


def test_grades_below_the_credit_standard_set_no_floor_and_get_no_warning() -> None:
    # D is below min_grade C: it never gets a limit, so its 60 000 lifts nobody.
    d_rule = "    D:\n      method: fixed\n      amount: 0\n"
    text = policy_with(d_rule, d_rule.replace("amount: 0", "amount: 60000"))
    assert [w.code for w in load_policy(text, FILE).warnings] == []


def test_warnings_come_with_the_errors_of_an_invalid_policy() -> None:
    text = policy_with(_B_PCT, "      method: pct_working_capital\n      pct: 0.4\n")
    text = edit(text, "      weight: 25\n", "      weight: 20\n")
    found = issues_of(text)
    assert sorted((i.code, i.severity) for i in found) == [
        ("limit_lifted_by_floor", "warning"),
        ("weights_sum", "error"),
    ]

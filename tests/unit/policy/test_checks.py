"""Semantic checks beyond one code per case: stage list, messages, columns inside conditions, edge cases."""

from __future__ import annotations

import pytest

from policy.checks import CHECKS
from policy.validate import load_policy
from tests.unit.policy.support import FILE, edit, issues_of, policy_with, position


def test_stages_are_named_uniquely_and_documented() -> None:
    names = [name for name, _ in CHECKS]
    assert len(names) == len(set(names))
    assert all(check.__doc__ for _, check in CHECKS)


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

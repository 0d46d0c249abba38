"""The diff of two policy versions reads in the policy's own terms: one line per change, by section, located."""

from __future__ import annotations

import re

import pytest

from policy.diff import Change, PolicyDiff, diff_policies, introduce
from policy.elements import Source, find, policy_elements
from tests.diff_factories import candidate_yaml, edited, loaded, shipped_yaml

SHIPPED = shipped_yaml()


def diff_of(*edits: tuple[str, str], old: str = SHIPPED) -> PolicyDiff:
    return diff_policies(loaded(old, "a.yaml"), loaded(edited(old, *edits), "b.yaml"))


def lines(*edits: tuple[str, str]) -> list[str]:
    return [change.text for change in diff_of(*edits).changes]


def test_the_auditors_example_reads_in_the_policys_terms_grouped_by_section() -> None:
    diff = diff_policies(loaded(SHIPPED), loaded(candidate_yaml()))
    assert [c.text for c in diff.metadata] == [
        "policy: version 2026.1 → 2026.2",
        "policy: effective from 2026-01-01 → 2026-07-01",
        diff.metadata[2].text,
    ]
    assert diff.metadata[2].aspect == "change note"
    assert [(section, [c.text for c in changes]) for section, _, changes in diff.sections()] == [
        (
            "scorecard",
            [
                "factor on_time_payment: weight 10 → 9",
                "factor character_rating: weight 5 → 4",
                "factor visit_impression: weight 4 → 3",
                "factor net_assets_size: weight 5 → 4",
                "factor industry_prospects: weight 7 → 5",
                "factor expected_dso added: weight 6, reads outlook.expected_dso_days (group conditions), "
                "standard 45 (lower is better, 2 points per unit), 0 points when missing",
            ],
        ),
        ("grades", ["grade BB: scores 65–72 → 66–72", "grade B: scores 58–65 → 58–66"]),
        (
            "limits",
            [
                "limit BB: min(10 % of working capital, 10 % of liquidation value) → "
                "min(5 % of working capital, 5 % of liquidation value)"
            ],
        ),
        ("terms", ["terms BBB: 2/10, n/30 → 2/10, n/20"]),
        (
            "order_rules",
            [
                "order rule large_order_below_a added: hold (LARGE_ORDER_BELOW_A) when "
                'order.amount > 500000 and customer.grade not in ["AAA", "AA", "A"]'
            ],
        ),
        ("collection", ["collection ordinary: visit from day 20 → from day 15"]),
    ]


def line_of(text: str, source: Source | None) -> str:
    assert source is not None
    return text.splitlines()[source.line - 1]


def test_each_change_has_the_line_each_version_writes_it_on() -> None:
    old, new = SHIPPED, candidate_yaml()
    diff = diff_policies(loaded(old, "a.yaml"), loaded(new, "b.yaml"))
    by_element = {c.element: c for c in diff.changes}
    terms = by_element["terms BBB"]
    assert line_of(old, terms.old_source).strip() == 'text: "2/10, n/30"'
    assert line_of(new, terms.new_source).strip() == 'text: "2/10, n/20"'
    assert terms.old_source is not None and terms.old_source.file == "a.yaml"
    assert terms.new_source is not None and terms.new_source.file == "b.yaml"
    visit = by_element["collection ordinary"]
    assert (
        line_of(old, visit.old_source).strip() == "visit: 20" and line_of(new, visit.new_source).strip() == "visit: 15"
    )
    added = by_element["order rule large_order_below_a"]
    assert added.old_source is None and line_of(new, added.new_source).strip() == "- id: large_order_below_a"


def test_no_change_is_named_by_a_position() -> None:
    diff = diff_policies(loaded(SHIPPED), loaded(candidate_yaml()))
    for change in (*diff.metadata, *diff.changes):
        assert not any(re.search(r"\[\d+\]", path) for path in change.paths), change.paths
    assert {c.path for c in diff.changes} >= {
        "terms.per_grade.BBB.text",
        "limits.per_grade.BB.method",
        "grades[BB].min_score",
        "order_rules.rules[large_order_below_a]",
        "scorecard.factors[on_time_payment].weight",
        "collection.segments.ordinary.steps.visit",
    }


def test_scorecard_lines() -> None:
    assert lines(
        ("      standard: 0.95       # P", "      standard: 0.9       # P"),
        ("      alpha: 200           # each percentage", "      alpha: 150           # each percentage"),
        ("        - {min: 1, max: 2, points: 30}", "        - {min: 1, max: 2, points: 20}"),
        ("        special_mention: 50", "        special_mention: 40"),
        ('      label: "Capital (资本)"', '      label: "Capital"'),
    ) == [
        'group capital: label "Capital (资本)" → "Capital"',
        "factor on_time_payment: standard 95 % → 90 %",
        "factor on_time_payment: alpha 200 points per unit → 150 points per unit",
        "factor defaults_3y: bands under 1: 100; 1 to under 2: 30; 2 and over: 0 → "
        "under 1: 100; 1 to under 2: 20; 2 and over: 0",
        "factor bank_record: points for special_mention 50 → 40",
    ]


def test_bands_on_an_amount_read_as_money() -> None:
    (line,) = lines(("        - {min: 2000000, points: 100}", "        - {min: 2000000, points: 90}"))
    assert "CNY 500,000.00 to under CNY 2,000,000.00: 85; CNY 2,000,000.00 and over: 90" in line


def test_a_factor_removed_and_the_order_of_factors() -> None:
    text = SHIPPED
    start, end = text.index("    - id: industry_prospects\n"), text.index("    - id: economic_conditions\n")
    removed = edited(
        text[:start] + text[end:],
        (
            '      weight: 5\n      missing: 40\n      note: "The general',
            '      weight: 12\n      missing: 40\n      note: "The general',
        ),
    )
    changes = diff_policies(loaded(text), loaded(removed)).changes
    assert changes[0].text.startswith("factor industry_prospects removed: weight 7, reads ratings.industry_prospects")
    assert changes[1].text == "factor economic_conditions: weight 5 → 12"
    block = text[start:end]
    first = text.index("    # --- Character: 36")
    moved = text[:first] + block + text[first:start] + text[end:]
    (order,) = diff_policies(loaded(text), loaded(moved)).changes
    assert order.element == "scorecard" and order.aspect == "factor order"
    assert order.old is not None and order.old.startswith("on_time_payment, ")
    assert order.old.endswith("industry_prospects, …")
    assert order.new is not None and order.new.startswith("industry_prospects, on_time_payment, ")


def test_grade_lines() -> None:
    assert lines(('label: "Very good"', 'label: "Very good: long terms"')) == [
        'grade AA: label "Very good" → "Very good: long terms"'
    ]


def test_standards_lines() -> None:
    assert lines(
        ("  min_grade: CCC", "  min_grade: B"),
        ("  max_expected_dso_days: 90\n", ""),
        ("  max_expected_bad_debt_rate: 0.05", "  max_expected_bad_debt_rate: 0.04"),
        ('    - "CN-91440300-1288"   # example: fraud', '    - "CN-91440300-9999"   # example: fraud'),
        ("      when: payment.defaults_3y >= 2", "      when: payment.defaults_3y >= 3"),
        (
            '      note: "Two defaults in three years is a habit, not an accident: no credit, whatever the score."\n',
            "",
        ),
    ) == [
        "standards: minimum grade CCC → B",
        "standards: maximum expected DSO removed (was 90 days)",
        "standards: maximum expected bad-debt rate 5 % → 4 %",
        "blacklist: CN-91440300-9999 added",
        "blacklist: CN-91440300-1288 removed",
        "standards rule repeated_defaults: when payment.defaults_3y >= 2 → payment.defaults_3y >= 3",
        'standards rule repeated_defaults: note removed (was "Two defaults in three years is a habit, not an '
        'accident: no credit, whatever the score.")',
    ]


def test_limits_lines() -> None:
    assert lines(
        ("  portfolio_total: 200000000", "  portfolio_total: 250000000"),
        ("  rounding: {step: 1000, mode: down}", "  rounding: {step: 1000, mode: nearest}"),
        (
            "    B:\n      method: pct_liquidation_value\n      pct: 0.05",
            "    B:\n      method: pct_net_assets\n      pct: 0.04",
        ),
        (
            '      amount: 0\n      note: "Below',
            '      amount: 0\n      caps: {net_assets: true, working_capital: false}\n      note: "Below',
        ),
    ) == [
        "limits: portfolio total CNY 200,000,000.00 → CNY 250,000,000.00",
        "limits: rounding down to a multiple of 1,000 → to the nearest multiple of 1,000",
        "limit B: 5 % of liquidation value → 4 % of net assets",
        "limit CC: caps added: at most net assets",
    ]


def test_terms_and_review_lines() -> None:
    assert lines(
        ("  penalty: {rate: 0.0005, per: day, basis: 365, grace_days: 0}", "  penalty: {rate: 0.1825, per: year}"),
        (
            "      penalty: {rate: 0.0005, per: day, basis: 365, grace_days: 3}\n",
            "",
        ),
        ('      text: "1/7, n/15"', '      text: "1.5/7,n/15"'),
        ("    BB: 45", "    BB: 40"),
    ) == [
        "terms: penalty 0.05 % a day → 18.25 % a year (365-day year)",
        "terms AA: penalty removed (was 0.05 % a day after 3 days of grace)",
        "terms B: 1/7, n/15 → 1.5/7, n/15",
        "review BB: every 45 days → 40 days",
    ]


def test_order_rule_lines() -> None:
    text = SHIPPED
    start = text.index("    - id: blacklisted\n")
    end = text.index("    - id: below_credit_standard\n")
    without = text[:start] + text[end:]
    assert lines(
        ("  combine: most_severe", "  combine: first_match"),
        ("  release_tolerance: {amount_pct: 0.05, days: 14}", "  release_tolerance: {amount_pct: 0.1, days: 7}"),
        ("      when: credit.available_after < 0", "      when: credit.available_after < -1000"),
        ("      then: {outcome: hold, reason: OVER_LIMIT}", "      then: {outcome: reject, reason: OVER_LIMIT}"),
    ) == [
        "order rules: combine most severe → first match",
        "order rules: release tolerance +5 % for 14 days → +10 % for 7 days",
        "order rule over_limit: when credit.available_after < 0 → credit.available_after < -1000",
        "order rule over_limit: then hold (OVER_LIMIT) → reject (OVER_LIMIT)",
    ]
    (removed,) = diff_policies(loaded(text), loaded(without)).changes
    assert removed.text == "order rule blacklisted removed: reject (BLACKLISTED) when customer.blacklisted"
    assert removed.kind == "removed" and removed.new is None and removed.new_source is None


def test_moving_a_rule_is_one_change_of_order_showing_only_what_moved() -> None:
    text = SHIPPED
    start = text.index("    - id: high_risk_utilisation\n")
    block = text[start : text.index("# ----", start)]
    moved = text[:start] + text[text.index("# ----", start) :]
    moved = moved.replace("  rules:\n    - id: blacklisted\n", "  rules:\n" + block + "    - id: blacklisted\n")
    (change,) = diff_policies(loaded(text), loaded(moved)).changes
    assert change.text == (
        "order rules: order blacklisted, below_credit_standard, over_limit, overdue_core, overdue_ordinary, "
        "overdue_weak_grade, high_risk_arrears, high_risk_utilisation → high_risk_utilisation, blacklisted, "
        "below_credit_standard, over_limit, overdue_core, overdue_ordinary, overdue_weak_grade, high_risk_arrears"
    )


def test_collection_lines() -> None:
    assert lines(
        ("        letter: 1\n        visit: 7\n", "        letter: 1\n"),
        ("        stop_supply: 30", "        stop_supply: 20"),
        (
            "      skip_steps: false\n      min_days_between_steps: 10",
            "      skip_steps: true\n      min_days_between_steps: 7",
        ),
    ) == [
        "collection ordinary: stop supply from day 30 → from day 20",
        "collection ordinary: skip steps no → yes",
        "collection ordinary: min days between steps 10 days → 7 days",
        "collection high_risk: visit removed (was from day 7)",
    ]


def test_reformatting_and_equivalent_spellings_are_no_change() -> None:
    same = edited(
        SHIPPED,
        ("      standard: 0.95       # P", "      standard: 0.950      # P"),
        ('      text: "2/10, n/30"', "      text: '2/10,n/30'"),
        ("      when: credit.available_after < 0", "      when: credit.available_after<0"),
        ("  max_expected_dso_days: 90", "  max_expected_dso_days: 90.0"),
    )
    diff = diff_policies(loaded(SHIPPED), loaded(same))
    assert diff.identical and diff == PolicyDiff((), ())


def test_metadata_is_kept_apart_from_the_rules() -> None:
    diff = diff_of(('author: "Credit Management Department (信用管理部)"', 'author: "Risk Office"'))
    assert diff.changes == () and not diff.identical
    assert [c.text for c in diff.metadata] == [
        'policy: author "Credit Management Department (信用管理部)" → "Risk Office"'
    ]
    floor = diff_of(("  currency: CNY\n", "  currency: CNY\n  min_coverage: 0.9\n"))
    assert [c.text for c in floor.metadata] == ["policy: minimum coverage added: 90 %"] and floor.changes == ()


def test_reversed_swaps_sides_and_added_for_removed() -> None:
    forward = diff_policies(loaded(SHIPPED), loaded(candidate_yaml()))
    backward = diff_policies(loaded(candidate_yaml()), loaded(SHIPPED))
    assert sorted(map(repr, forward.reversed().changes)) == sorted(map(repr, backward.changes))
    added = next(c for c in forward.changes if c.kind == "added")
    assert added.reversed().kind == "removed" and added.reversed().old == added.new


def test_introduce_adds_every_element_of_a_first_version() -> None:
    first = loaded(SHIPPED)
    diff = introduce(first)
    elements = policy_elements(first)
    assert len(diff.metadata) + len(diff.changes) == len(elements)
    assert all(c.kind == "added" and c.aspect is None for c in (*diff.metadata, *diff.changes))


@pytest.mark.parametrize(
    ("query", "element", "aspect"),
    [
        ("terms BBB", "terms BBB", ""),
        ("  terms   BBB ", "terms BBB", ""),
        ("terms.per_grade.BBB", "terms BBB", ""),
        ("terms", "terms BBB", ""),
        ("collection ordinary visit", "collection ordinary", "visit"),
        ("collection.segments.ordinary.steps.visit", "collection ordinary", "visit"),
        ("limits.per_grade.BB.of", "limit BB", ""),
        ("order rule large_order_below_a", "order rule large_order_below_a", None),
        ("order_rules.rules[large_order_below_a].when", "order rule large_order_below_a", None),
        ("factor on_time_payment weight", "factor on_time_payment", "weight"),
    ],
)
def test_a_change_answers_to_its_name_and_its_path(query: str, element: str, aspect: str | None) -> None:
    diff = diff_policies(loaded(SHIPPED), loaded(candidate_yaml()))
    found = [c for c in diff.changes if c.concerns(query)]
    assert (element, aspect) in {(c.element, c.aspect) for c in found}


@pytest.mark.parametrize("query", ["terms BB", "terms B", "limit BBB", "collection ordinary letter", "factor on_time"])
def test_a_change_does_not_answer_to_a_neighbour(query: str) -> None:
    diff = diff_policies(loaded(SHIPPED), loaded(candidate_yaml()))
    assert not any(c.concerns(query) for c in diff.changes)


def test_an_introduced_element_answers_to_its_aspects() -> None:
    (added,) = [c for c in introduce(loaded(SHIPPED)).changes if c.element == "collection ordinary"]
    assert added.concerns("collection ordinary visit") and not added.concerns("collection ordinary visits")


def test_change_text_forms() -> None:
    source = Source("a.yaml", 1, 1)
    base = Change(
        "collection", "collection ordinary", "arbitration", "added", ("p",), None, "from day 90", None, 90, None, source
    )
    assert base.text == "collection ordinary: arbitration added: from day 90"
    assert base.reversed().text == "collection ordinary: arbitration removed (was from day 90)"
    blacklisted = Change(
        "standards", "blacklist", "C-9", "added", ("standards.blacklist",), None, "", None, True, None, source
    )
    assert blacklisted.text == "blacklist: C-9 added"
    assert blacklisted.reversed().text == "blacklist: C-9 removed"


def test_find_names_whole_elements_or_their_parts() -> None:
    elements = policy_elements(loaded(SHIPPED))
    assert [f.name for f in find(elements, "limit BB")] == ["limit BB"]
    assert [(f.name, f.text) for f in find(elements, "limits.per_grade.BB.of")] == [
        ("limit BB", "min(10 % of working capital, 10 % of liquidation value)")
    ]
    assert [(f.name, f.text) for f in find(elements, "factor on_time_payment weight")] == [
        ("factor on_time_payment weight", "10")
    ]
    assert [f.name for f in find(elements, "review")] == [
        f"review {g}" for g in ("AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C", "D")
    ]
    assert find(elements, "terms BBBB") == []

"""One test per validation code: the bad YAML beside it, and the code, path and line:col it gets.

Each case edits one snippet of the minimal valid policy (tests/factories.py); ``at`` is a snippet
of the edited file whose first character (plus ``offset``) is where the error must point.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.unit.policy.support import issues_of, policy_with, position


@dataclass(frozen=True)
class Case:
    code: str
    old: str
    new: str
    path: str
    at: str
    offset: int = 0
    also: tuple[str, ...] = ()  # codes that rightly come with this one (located elsewhere)

    @property
    def id(self) -> str:
        return self.code


CASES = [
    # --- shape (pydantic) -------------------------------------------------------------------
    Case(
        "missing",
        "  portfolio_total: 10000000\n",
        "",
        "limits.portfolio_total",
        "limits:\n",  # a missing key points at the mapping that lacks it
    ),
    Case("unknown_key", "  author: Credit team\n", "  author: Credit team\n  colour: red\n", "policy.colour", "colour"),
    Case(
        "decimal_parsing",
        "      standard: 0.95\n",
        "      standard: high\n",
        "scorecard.factors[0].standard",
        "standard: high",
    ),
    Case("limit_pct_range", "          pct: 0.3\n", "          pct: 1.5\n", "limits.per_grade.A.of[0].pct", "pct: 1.5"),
    Case("review_interval_too_long", "    A: 90\n", "    A: 120\n", "review.per_grade.A", "A: 120"),
    Case("invalid_choice", "      kind: rating\n", "      kind: stars\n", "scorecard.factors[2].kind", "kind: stars"),
    Case("string_type", '  version: "1"\n', "  version: 1.0\n", "policy.version", "version: 1.0"),
    Case("greater_than", "      alpha: 200\n", "      alpha: 0\n", "scorecard.factors[0].alpha", "alpha: 0"),
    Case(
        "money_precision",
        "      amount: 50000\n",
        "      amount: 50000.001\n",
        "limits.per_grade.C.amount",
        "amount: 50000.001",
    ),
    Case(
        "points_range", "        good: 100\n", "        good: 101\n", "scorecard.factors[2].ratings.good", "good: 101"
    ),
    Case(
        "bad_reason_code",
        "        reason: OVERDUE\n",
        "        reason: overdue\n",
        "order_rules.rules[2].then.reason",
        "reason: overdue",
    ),
    Case(
        "bad_identifier",
        "    capital:\n      label: Capital\n",
        "    2capital:\n      label: Capital\n",
        "scorecard.groups.2capital",
        "2capital",
    ),
    Case(
        "money_range",
        "  portfolio_total: 10000000\n",
        '  portfolio_total: "1e30"\n',
        "limits.portfolio_total",
        "portfolio_total",
    ),
    # A number written as quoted text escapes the loader's bounds; the validator applies them.
    Case(
        "number_range",
        "      standard: 0.95\n",
        '      standard: "1e30"\n',
        "scorecard.factors[0].standard",
        'standard: "1e30"',
    ),
    Case("number_range", "        - min: 2\n", "        - min: 1e30\n", "scorecard.factors[1].bands[2].min", "1e30"),
    # --- metadata ---------------------------------------------------------------------------
    Case(
        "effective_range",
        "  effective_from: 2026-01-01\n",
        "  effective_from: 2026-01-01\n  effective_to: 2025-12-31\n",
        "policy.effective_to",
        "effective_to",
    ),
    # --- grade scale ------------------------------------------------------------------------
    Case("grade_band_gap", "    min_score: 60\n", "    min_score: 65\n", "grades[2].max_score", "max_score: 60"),
    Case("grade_band_gap", "    max_score: 100\n", "    max_score: 99\n", "grades[0].max_score", "max_score: 99"),
    Case("grade_band_gap", "    min_score: 0\n", "    min_score: 5\n", "grades[3].min_score", "min_score: 5"),
    Case("grade_band_overlap", "    max_score: 40\n", "    max_score: 45\n", "grades[3].max_score", "max_score: 45"),
    Case(
        "grade_band_order",
        "  - grade: B\n    min_score: 60\n    max_score: 80\n  - grade: C\n    min_score: 40\n    max_score: 60\n",
        "  - grade: C\n    min_score: 40\n    max_score: 60\n  - grade: B\n    min_score: 60\n    max_score: 80\n",
        "grades[2].min_score",
        "min_score: 60",
    ),
    Case(
        "grade_band_empty",
        "  - grade: A\n    min_score: 80\n    max_score: 100\n",
        "  - grade: A\n    min_score: 80\n    max_score: 80\n",
        "grades[0].max_score",
        "max_score: 80\n  - grade: B",
        also=("grade_band_gap",),  # nothing covers 80..100 any more
    ),
    Case(
        "duplicate_grade",
        "  - grade: D\n    min_score: 0\n    max_score: 40\n",
        "  - grade: D\n    min_score: 20\n    max_score: 40\n  - grade: D\n    min_score: 0\n    max_score: 20\n",
        "grades[4].grade",
        "grade: D\n    min_score: 0",
    ),
    # --- scorecard --------------------------------------------------------------------------
    Case("weights_sum", "      weight: 25\n", "      weight: 20\n", "scorecard.factors", "factors:\n    - id: on_time"),
    Case(
        "unknown_field",
        "      input: ratios.current_ratio\n",
        "      input: ratios.quick_ratio\n",
        "scorecard.factors[1].input",
        "input: ratios.quick_ratio",
    ),
    Case(
        "factor_input_type",
        "      input: ratios.current_ratio\n",
        "      input: customer.segment\n",
        "scorecard.factors[1].input",
        "input: customer.segment",
    ),
    Case(
        "factor_input_type",
        "      input: ratings.visit_impression\n",
        "      input: ratios.debt_ratio\n",
        "scorecard.factors[2].input",
        "input: ratios.debt_ratio",
    ),
    Case(
        "factor_input_circular",
        "      input: payment.on_time_ratio\n",
        "      input: score\n",
        "scorecard.factors[0].input",
        "input: score",
    ),
    Case(
        "unknown_group",
        "      group: capital\n",
        "      group: capitol\n",
        "scorecard.factors[1].group",
        "group: capitol",
    ),
    Case(
        "duplicate_id",
        "    - id: visit\n",
        "    - id: on_time\n",
        "scorecard.factors[2].id",
        "id: on_time\n      group: character\n      input: ratings",
    ),
    Case("band_overlap", "        - min: 2\n", "        - min: 1.5\n", "scorecard.factors[1].bands[2]", "min: 1.5"),
    Case(
        "band_empty",
        "        - min: 1\n          max: 2\n",
        "        - min: 2\n          max: 1\n",
        "scorecard.factors[1].bands[1]",
        "min: 2\n          max: 1",
    ),
    # --- grade references -------------------------------------------------------------------
    Case("missing_grade_entry", "    D: 30\n", "", "review.per_grade", "per_grade:\n    A: 90"),
    Case("unknown_grade", "    D: 30\n", "    D: 30\n    E: 30\n", "review.per_grade.E", "E: 30"),
    Case("unknown_grade", "  min_grade: C\n", "  min_grade: CC\n", "standards.min_grade", "min_grade: CC"),
    # --- terms ------------------------------------------------------------------------------
    # Quoted scalar: the column inside the text starts one after the quote.
    Case(
        "terms_syntax",
        '      text: "3/10, 2/20, n/60"\n',
        '      text: "3/10, 2x20, n/60"\n',
        "terms.per_grade.A.text",
        "2x20",
    ),
    # Plain scalar: the text starts at the value's first character.
    Case("terms_syntax", "      text: 2/10, n/30\n", "      text: 2/10, m/30\n", "terms.per_grade.B.text", "m/30"),
    Case("discount_days_order", '"3/10, 2/20, n/60"', '"3/20, 2/10, n/60"', "terms.per_grade.A.text", "2/10, n/60"),
    Case("discount_rate_order", '"3/10, 2/20, n/60"', '"2/10, 3/20, n/60"', "terms.per_grade.A.text", "3/20, n/60"),
    Case(
        "discount_beyond_period",
        "      text: 2/10, n/30\n",
        "      text: 2/40, n/30\n",
        "terms.per_grade.B.text",
        "2/40",
    ),
    Case(
        "discount_rate_range",
        "      text: 2/10, n/30\n",
        "      text: 100/10, n/30\n",
        "terms.per_grade.B.text",
        "100/10",
    ),
    Case("terms_period_range", '"3/10, 2/20, n/60"', '"3/10, 2/20, n/4000"', "terms.per_grade.A.text", "n/4000"),
    Case("terms_grade_order", "      text: n/15\n", "      text: n/45\n", "terms.per_grade.C.text", "text: n/45"),
    Case("review_grade_order", "    C: 30\n", "    C: 70\n", "review.per_grade.C", "C: 70"),
    # --- standards and order rules ----------------------------------------------------------
    Case(
        "condition_syntax",
        "      when: credit.available_after < 0\n",
        "      when: credit.available_after < < 0\n",
        "order_rules.rules[1].when",
        "< 0",
    ),
    Case(
        "unknown_field",
        "      when: customer.blacklisted\n",
        "      when: customer.blacklist\n",
        "order_rules.rules[0].when",
        "customer.blacklist\n",
    ),
    Case(
        "condition_type",
        "      when: credit.available_after < 0\n",
        '      when: credit.available_after < "x"\n',
        "order_rules.rules[1].when",
        '< "x"',
    ),
    Case("unknown_grade", '["C", "D"]', '["C", "E"]', "order_rules.rules[2].when", '"E"'),
    Case(
        "unknown_segment",
        "      when: customer.blacklisted\n",
        '      when: customer.segment == "vip"\n',
        "order_rules.rules[0].when",
        "== ",
    ),
    Case(
        "condition_precision",
        "payment.defaults_3y >= 2",
        "payment.defaults_3y >= 2.12345",
        "standards.rules[0].when",
        "2.12345",
    ),
    Case(
        "duplicate_id",
        "    - id: overdue\n",
        "    - id: blacklisted\n",
        "order_rules.rules[2].id",
        "id: blacklisted\n      when: exposure",
    ),
    Case(
        "duplicate_id",
        "    - CUST-1\n",
        "    - CUST-1\n    - CUST-1\n",
        "standards.blacklist[1]",
        "CUST-1\n  rules",
        -0,
    ),
    # --- limits -----------------------------------------------------------------------------
    Case(
        "limit_cap_above_portfolio",
        "    absolute: 2000000\n",
        "    absolute: 20000000\n",
        "limits.caps.absolute",
        "absolute: 20000000",
    ),
    Case(
        "limit_above_portfolio",
        "      amount: 50000\n",
        "      amount: 20000000\n",
        "limits.per_grade.C.amount",
        "amount: 20000000",
        also=("limit_caps_order",),  # C could now grant 2 000 000, above B's cap of 500 000
    ),
    Case(
        "limit_caps_order",
        "      amount: 50000\n",
        "      amount: 600000\n",
        "limits.per_grade.B.caps",
        "caps:\n        absolute: 500000",
    ),
    Case(
        "limit_rounding_step",
        "      amount: 50000\n",
        "      amount: 50500\n",
        "limits.per_grade.C.amount",
        "amount: 50500",
    ),
    Case("limit_rounding_step", "    step: 1000\n", "    step: 0.005\n", "limits.rounding.step", "step: 0.005"),
    Case(
        "duplicate_limit_method",
        "        - method: pct_net_assets\n",
        "        - method: pct_working_capital\n",
        "limits.per_grade.A.of[1]",
        "method: pct_working_capital\n          pct: 0.2",
    ),
    # --- collection -------------------------------------------------------------------------
    Case(
        "unknown_segment",
        "    core:\n",
        "    core:\n      steps:\n        letter: 1\n    vip:\n",
        "collection.segments.vip",
        "vip:",
    ),
    Case(
        "missing_segment",
        "    high_risk:\n      steps:\n        letter: 1\n        agency: 15\n"
        "        litigation: 45\n      skip_steps: true\n",
        "",
        "collection.segments",
        "segments:",
    ),
    Case(
        "unknown_step",
        "        visit: 20\n",
        "        phone: 20\n",
        "collection.segments.ordinary.steps.phone",
        "phone: 20",
    ),
    Case(
        "unknown_action",
        "        stop_supply: 30\n",
        "        blacklist: 30\n",
        "collection.segments.ordinary.auxiliary.blacklist",
        "blacklist: 30",
    ),
    Case(
        "ladder_threshold_order",
        "        agency: 15\n",
        "        agency: 1\n",
        "collection.segments.high_risk.steps.agency",
        "agency: 1\n",
    ),
    Case(
        "ladder_step_order",
        "        letter: 10\n        visit: 30\n",
        "        visit: 30\n        letter: 10\n",
        "collection.segments.core.steps.letter",
        "letter: 10",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_error_code(case: Case) -> None:
    text = policy_with(case.old, case.new)
    issues = issues_of(text)
    assert sorted(i.code for i in issues) == sorted([case.code, *case.also]), "\n".join(map(str, issues))
    issue = next(i for i in issues if i.code == case.code)
    assert issue.path_text == case.path
    assert (issue.line, issue.column) == position(text, case.at, case.offset)
    assert issue.file == "rules/minimal.yaml"
    assert issue.message

"""Coverage of a policy by its cases: the elements (factor bands, ratings, standards, rules…) named and located."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from engine.compiler import compile_policy
from engine.coverage import Coverage, PolicyElement, coverage_of, exercised_by, policy_elements
from engine.decide import decide
from engine.ir import CompiledPolicy, SourceRef
from policy.validate import LoadedPolicy, load_policy
from tests.factories import MINIMAL_POLICY_FILE, minimal_policy_yaml
from tests.unit.policy.support import position

TEXT = minimal_policy_yaml()


@pytest.fixture(scope="module")
def loaded() -> LoadedPolicy:
    return load_policy(TEXT, MINIMAL_POLICY_FILE)


@pytest.fixture(scope="module")
def compiled(loaded: LoadedPolicy) -> CompiledPolicy:
    return compile_policy(loaded)


def element(loaded: LoadedPolicy, compiled: CompiledPolicy, key: str) -> PolicyElement:
    return next(e for e in policy_elements(loaded, compiled) if e.key == key)


def assess(compiled: CompiledPolicy, credit_file: dict[str, Any]) -> frozenset[str]:
    request = {"customer": {"id": "C-1"}, "as_of": "2026-03-02", "credit_file": credit_file}
    decision = decide(compiled, "assess", request)
    return exercised_by(compiled, "assess", decision.output(), decision.trace)


def test_every_band_rating_and_side_of_a_standard_is_an_element_named_for_a_credit_manager(
    loaded: LoadedPolicy, compiled: CompiledPolicy
) -> None:
    names = [e.name for e in policy_elements(loaded, compiled) if e.key.startswith("factor.")]
    assert names == [
        "factor on_time: at or above the standard 0.95 → 100 points",
        "factor on_time: below the standard 0.95 → points deducted (α 200)",
        "factor on_time: value missing → 0 points",
        "factor current_ratio: band under 1 → 20 points",
        "factor current_ratio: band 1 to under 2 → 60 points",
        "factor current_ratio: band 2 or more → 100 points",
        "factor current_ratio: value missing → 0 points",
        "factor visit: rating good → 100 points",
        "factor visit: rating fair → 60 points",
        "factor visit: rating poor → 20 points",
        "factor visit: value missing → 0 points",
    ]


def test_each_element_points_at_the_line_it_is_written_on(loaded: LoadedPolicy, compiled: CompiledPolicy) -> None:
    band = element(loaded, compiled, "factor.current_ratio.band.1")
    line, column = position(TEXT, "min: 1\n          max: 2")
    assert band.source == SourceRef(MINIMAL_POLICY_FILE, line, column)
    assert band.path_text == "scorecard.factors[1].bands[1]"
    poor = element(loaded, compiled, "factor.visit.rating.poor")
    assert (poor.source.line, poor.path_text) == (position(TEXT, "poor: 20")[0], "scorecard.factors[2].ratings.poor")
    assert element(loaded, compiled, "order_rules.over_limit").name == "order rule over_limit → hold OVER_LIMIT"
    assert element(loaded, compiled, "grades.A").name == "grade A: score 80 to 100"
    assert element(loaded, compiled, "grades.B").name == "grade B: score 60 to under 80"
    assert element(loaded, compiled, "limit.A.pct_net_assets").name == (
        "limit of A: 20 % of net assets (the smallest of its methods)"
    )
    assert element(loaded, compiled, "tier.3/10, 2/20, n/60.0.0300").name == (
        "terms 3/10, 2/20, n/60: 3 % discount within 10 days"
    )
    assert element(loaded, compiled, "collection.ordinary.step.arbitration").name == (
        "collection ordinary: arbitration due from 90 days overdue with an arbitration agreement"
    )


def test_elements_are_listed_section_by_section_in_the_order_of_the_file(
    loaded: LoadedPolicy, compiled: CompiledPolicy
) -> None:
    sections = list(dict.fromkeys(e.path[0] for e in policy_elements(loaded, compiled)))
    assert sections == ["scorecard", "grades", "standards", "limits", "terms", "order_rules", "collection"]
    reordered = TEXT.replace("grades:\n", "grades_placeholder:\n")
    grades_block = reordered[reordered.index("grades_placeholder:") : reordered.index("standards:")]
    reordered = grades_block.replace("grades_placeholder:", "grades:") + reordered.replace(grades_block, "")
    other = load_policy(reordered, MINIMAL_POLICY_FILE)
    sections = list(dict.fromkeys(e.path[0] for e in policy_elements(other, compile_policy(other))))
    assert sections[0] == "grades"


def test_grades_below_the_standard_have_no_limit_and_caps_nobody_switches_on_are_left_out(
    loaded: LoadedPolicy, compiled: CompiledPolicy
) -> None:
    keys = {e.key for e in policy_elements(loaded, compiled)}
    assert "limit.C.fixed" in keys and "limit.D.fixed" not in keys  # min_grade C: D never gets a limit
    assert {"cap.net_assets", "cap.working_capital", "cap.absolute"} <= keys
    no_absolute = TEXT.replace("  caps:\n    absolute: 2000000\n", "").replace(
        "      caps:\n        absolute: 500000\n", ""
    )
    other = load_policy(no_absolute, MINIMAL_POLICY_FILE)
    assert "cap.absolute" not in {e.key for e in policy_elements(other, compile_policy(other))}


def test_a_decision_exercises_the_band_rating_or_side_of_the_standard_its_values_fall_in(
    compiled: CompiledPolicy,
) -> None:
    keys = assess(compiled, {"payment": {"on_time_ratio": "0.90"}, "ratings": {"visit_impression": "fair"}})
    factor_keys = {k for k in keys if k.startswith("factor.")}
    # no financials: the current ratio is missing
    assert factor_keys == {"factor.on_time.short", "factor.visit.rating.fair", "factor.current_ratio.missing"}
    keys = assess(
        compiled,
        {
            "payment": {"on_time_ratio": "0.95"},
            "financials": {"current_assets": "150", "current_liabilities": "100"},
            "ratings": {"visit_impression": "excellent"},  # not a word of the policy: no element
        },
    )
    factor_keys = {k for k in keys if k.startswith("factor.")}
    assert factor_keys == {"factor.on_time.meets", "factor.current_ratio.band.1"}


def test_coverage_counts_exercised_elements_and_lists_the_others_in_file_order(
    loaded: LoadedPolicy, compiled: CompiledPolicy
) -> None:
    exercised = [assess(compiled, {"payment": {"on_time_ratio": "0.90"}}), {"order_rules.default", "not.a.key"}]
    coverage = coverage_of(loaded, compiled, exercised)
    assert coverage.covered == exercised[0] | {"order_rules.default"}
    assert coverage.exercised == len(coverage.covered)
    assert coverage.total == len(policy_elements(loaded, compiled))
    assert [e.key for e in coverage.missing] == [
        e.key for e in policy_elements(loaded, compiled) if e.key not in coverage.covered
    ]


def test_percent_rounds_down_and_thresholds_compare_exactly() -> None:
    source = SourceRef("p.yaml", 1)
    elements = tuple(PolicyElement(f"e{i}", f"element {i}", (), source) for i in range(3))
    two_of_three = Coverage(elements, frozenset({"e0", "e1"}))
    assert two_of_three.percent == Decimal("66.6")
    assert two_of_three.reaches(Decimal("0.6666")) and two_of_three.reaches(Decimal(2) / 3)
    assert not two_of_three.reaches(Decimal("0.667"))
    nearly = Coverage(
        tuple(PolicyElement(f"e{i}", "", (), source) for i in range(10_000)), frozenset(f"e{i}" for i in range(9_996))
    )
    assert nearly.percent == Decimal("99.9")  # never shown as 100.0 while something is missing
    assert Coverage((), frozenset()).percent == Decimal("100.0")

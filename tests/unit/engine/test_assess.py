"""assess: factor scoring, grade bands, standards, the limit calculation and its trace."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from engine.compiler import compile_policy
from engine.decide import decide
from engine.decisions.assess import score_factor
from engine.errors import InputError
from engine.ir import BandIR, BandScoring, CompiledPolicy, FactorIR, RatingScoring, SourceRef, StandardValueScoring
from engine.matchers import python_matcher
from policy import schema as s
from tests.conftest import SHIPPED
from tests.decision_factories import assess_input, strong_credit_file, weak_credit_file
from tests.engine_factories import MemoryPolicy, policy_data

D = Decimal
SRC = SourceRef("x.yaml", 1)


def _factor(scoring: Any, missing: str = "0") -> FactorIR:
    return FactorIR("f", "g", "payment.on_time_ratio", D(100), D(missing), scoring, SRC)


class TestScoreFactor:
    def test_standard_value_higher_is_better_deducts_alpha_per_unit_below_standard(self) -> None:
        f = _factor(StandardValueScoring(True, D("0.95"), D(200)))
        assert score_factor(f, D("0.90")) == D("90.00")  # 100 - (0.95 - 0.90) * 200
        assert score_factor(f, D("0.99")) == D("100.00")  # meeting the standard costs nothing
        assert score_factor(f, D("0.10")) == D("0.00")  # clamped at 0

    def test_standard_value_lower_is_better_deducts_above_standard(self) -> None:
        f = _factor(StandardValueScoring(False, D("0.5"), D(200)))
        assert score_factor(f, D("0.6")) == D("80.00")  # 100 - (0.6 - 0.5) * 200
        assert score_factor(f, D("0.3")) == D("100.00")
        assert score_factor(f, D("2")) == D("0.00")

    def test_missing_value_scores_the_missing_points(self) -> None:
        assert score_factor(_factor(StandardValueScoring(True, D(1), D(1)), missing="40"), None) == D("40.00")

    def test_bands_are_half_open_and_outside_applies_to_gaps(self) -> None:
        bands = BandScoring((BandIR(None, D(1), D(100)), BandIR(D(1), D(8), D(90)), BandIR(D(10), None, D(0))), D(7))
        f = _factor(bands)
        assert score_factor(f, D(0)) == D("100.00")
        assert score_factor(f, D(1)) == D("90.00")  # 1 belongs to [1, 8)
        assert score_factor(f, D("7.99")) == D("90.00")
        assert score_factor(f, D(9)) == D("7.00")  # in no band
        assert score_factor(f, D(10)) == D("0.00")

    def test_rating_map_unknown_rating_and_yes_no_facts(self) -> None:
        f = _factor(RatingScoring((("good", D(80)), ("true", D(100)), ("false", D(20))), D(5)))
        assert score_factor(f, "good") == D("80.00")
        assert score_factor(f, "splendid") == D("5.00")
        assert score_factor(f, True) == D("100.00")
        assert score_factor(f, False) == D("20.00")


class TestShippedPolicy:
    def test_strong_file_gets_top_grade_limit_terms_and_review(self, shipped: CompiledPolicy) -> None:
        out = decide(shipped, "assess", assess_input()).output()
        assert out["grade"] == "AAA" and out["eligible"] is True and out["reasons"] == []
        # AAA: min(30 % of working capital 4.1m, 20 % of net assets 6.5m) = 1.23m, rounded down to 1 000.
        assert out["credit_limit"] == "1230000.00"
        assert out["terms"]["text"] == "3/10, 2/20, n/60"
        assert out["review_interval_days"] == 90
        assert out["next_review"] == "2026-09-28"
        assert sum((D(f["weighted"]) for f in out["factors"]), D(0)).quantize(D("0.01")) == D(out["score"])

    def test_trace_shows_every_limit_step_and_the_binding_cap(self, shipped: CompiledPolicy) -> None:
        trace = decide(shipped, "assess", assess_input()).trace
        limit = trace["limit"]
        assert [m["method"] for m in limit["methods"]] == ["pct_working_capital", "pct_net_assets"]
        assert [m["amount"] for m in limit["methods"]] == ["1230000.00", "1300000.00"]
        assert limit["base"] == "1230000.00" and limit["bound_by"] == "base"
        assert {c["cap"] for c in limit["caps"]} == {"net_assets", "working_capital", "absolute", "portfolio_remaining"}
        lines = SHIPPED.read_text(encoding="utf-8").splitlines()
        aaa_line = next(i for i, line in enumerate(lines, 1) if "{grade: AAA" in line)
        assert trace["rules_fired"][0] == {"id": "grades.AAA", "source": f"rules/standard.yaml:{aaa_line}"}
        assert trace["policy"]["sha256"] == shipped.meta.sha256
        assert len(trace["factors"]) == len(shipped.factors)

    def test_weak_file_is_cash_in_advance_with_the_standard_it_failed(self, shipped: CompiledPolicy) -> None:
        out = decide(shipped, "assess", assess_input(weak_credit_file())).output()
        assert out["eligible"] is False and out["credit_limit"] == "0.00"
        assert out["terms"]["cash_in_advance"] is True and out["terms"]["discounts"] == []
        assert [r["reason"] for r in out["reasons"]] == ["GRADE_BELOW_MINIMUM"]

    def test_blacklisted_customer_fails_the_standards_whatever_its_score(self, shipped: CompiledPolicy) -> None:
        out = decide(shipped, "assess", assess_input(id="CN-91310000-0457")).output()
        assert out["grade"] == "AAA" and out["eligible"] is False
        assert [r["rule"] for r in out["reasons"]] == ["standards.blacklist"]

    def test_standards_rule_with_a_condition_fails_the_customer(self, shipped: CompiledPolicy) -> None:
        cf = strong_credit_file()
        cf["payment"]["defaults_3y"] = 2
        out = decide(shipped, "assess", assess_input(cf)).output()
        assert "REPEATED_DEFAULTS" in [r["reason"] for r in out["reasons"]]

    def test_expected_dso_over_the_standard_fails(self, shipped: CompiledPolicy) -> None:
        cf = strong_credit_file()
        cf["outlook"]["expected_dso_days"] = "91"
        out = decide(shipped, "assess", assess_input(cf)).output()
        assert [r["reason"] for r in out["reasons"]] == ["EXPECTED_DSO_TOO_HIGH"]

    def test_unknown_financials_grant_nothing_through_the_caps(self, shipped: CompiledPolicy) -> None:
        cf = strong_credit_file()
        del cf["financials"]["net_assets"]
        out = decide(shipped, "assess", assess_input(cf))
        assert out.output()["credit_limit"] == "0.00"
        caps = {c["cap"]: c["amount"] for c in out.trace["limit"]["caps"]}
        assert caps["net_assets"] == "0.00"

    def test_portfolio_remaining_caps_a_new_limit(self, shipped: CompiledPolicy) -> None:
        payload = assess_input()
        payload["portfolio"] = {"allocated": "199500000.00"}
        out = decide(shipped, "assess", payload)
        assert out.output()["credit_limit"] == "500000.00"
        assert out.trace["limit"]["bound_by"] == "portfolio_remaining"


def _limits_policy(per_grade: dict[str, Any], **limits: Any) -> CompiledPolicy:
    data = policy_data()
    data["limits"] = {"portfolio_total": "100000000", "per_grade": per_grade, **limits}
    data["scorecard"]["factors"][0]["bands"] = [
        {"max": "0.5", "points": "10"},
        {"min": "0.5", "max": "0.8", "points": "60"},
        {"min": "0.8", "points": "100"},
    ]
    return compile_policy(MemoryPolicy(s.Policy.model_validate(data)), factory=python_matcher)


def _assess(policy: CompiledPolicy, on_time: str, **financials: str) -> Any:
    cf = {"payment": {"on_time_ratio": on_time}, "financials": financials}
    return decide(policy, "assess", {"customer": {"id": "X"}, "credit_file": cf, "as_of": dt.date(2026, 1, 1)})


FIN = {
    "current_assets": "900000.00",
    "current_liabilities": "400000.00",
    "net_assets": "300000.00",
    "liquidation_value": "800000.00",
}


class TestLimitCalculation:
    def test_net_assets_cap_binds(self) -> None:
        p = _limits_policy({g: {"method": "pct_working_capital", "pct": "1"} for g in "ABCD"})
        d = _assess(p, "0.9", **FIN)  # working capital 500 000 > net assets 300 000
        assert d.output()["credit_limit"] == "300000.00" and d.trace["limit"]["bound_by"] == "net_assets"

    def test_working_capital_cap_binds(self) -> None:
        p = _limits_policy({g: {"method": "pct_liquidation_value", "pct": "1"} for g in "ABCD"})
        d = _assess(p, "0.9", **{**FIN, "net_assets": "2000000.00"})
        assert d.output()["credit_limit"] == "500000.00" and d.trace["limit"]["bound_by"] == "working_capital"

    def test_absolute_cap_and_rounding_down(self) -> None:
        rule = {"method": "fixed", "amount": "123456.78", "caps": {"net_assets": False, "working_capital": False}}
        p = _limits_policy(dict.fromkeys("ABCD", rule), rounding={"step": "1000", "mode": "down"})
        assert _assess(p, "0.9", **FIN).output()["credit_limit"] == "123000.00"
        capped = {**rule, "caps": {"net_assets": False, "working_capital": False, "absolute": "50000"}}
        d = _assess(_limits_policy(dict.fromkeys("ABCD", capped)), "0.9", **FIN)
        assert d.output()["credit_limit"] == "50000.00" and d.trace["limit"]["bound_by"] == "absolute"

    def test_rounding_to_nearest_never_lifts_a_limit_above_its_cap(self) -> None:
        rule = {"method": "fixed", "amount": "1000000", "caps": {"net_assets": True, "working_capital": False}}
        p = _limits_policy(dict.fromkeys("ABCD", rule), rounding={"step": "1000", "mode": "nearest"})
        d = _assess(p, "0.9", **{**FIN, "net_assets": "300600.00"})
        assert d.output()["credit_limit"] == "300000.00"  # nearest would be 301 000 > net assets

    def test_negative_working_capital_grants_nothing(self) -> None:
        p = _limits_policy({g: {"method": "pct_working_capital", "pct": "0.5"} for g in "ABCD"})
        d = _assess(p, "0.9", **{**FIN, "current_liabilities": "950000.00"})
        assert d.output()["credit_limit"] == "0.00"

    def test_min_of_several_methods_takes_the_smallest(self) -> None:
        rule = {
            "method": "min",
            "of": [{"method": "pct_liquidation_value", "pct": "0.5"}, {"method": "fixed", "amount": "250000"}],
        }
        d = _assess(_limits_policy(dict.fromkeys("ABCD", rule)), "0.9", **FIN)
        assert d.output()["credit_limit"] == "250000.00"
        assert [m["amount"] for m in d.trace["limit"]["methods"]] == ["400000.00", "250000.00"]

    def test_a_better_grade_never_grants_less_than_a_worse_one(self) -> None:
        per_grade = {
            "A": {"method": "pct_net_assets", "pct": "0.1"},  # 30 000
            "B": {"method": "pct_working_capital", "pct": "0.2"},  # 100 000
            "C": {"method": "fixed", "amount": "0"},
            "D": {"method": "fixed", "amount": "0"},
        }
        p = _limits_policy(per_grade)
        a, b = _assess(p, "0.9", **FIN), _assess(p, "0.6", **FIN)
        assert (a.output()["grade"], b.output()["grade"]) == ("A", "B")
        assert b.output()["credit_limit"] == "100000.00"
        assert a.output()["credit_limit"] == "100000.00"
        assert a.trace["limit"]["floor"] == {"grade": "B", "limit": "100000.00", "own_limit": "30000.00"}
        assert a.trace["limit"]["bound_by"] == "floor_grade_B"


def test_assessment_is_byte_identical_on_repeat(shipped: CompiledPolicy) -> None:
    from engine.decide import canonical_json

    payload = assess_input()
    first = decide(shipped, "assess", copy.deepcopy(payload))
    second = decide(shipped, "assess", copy.deepcopy(payload))
    assert canonical_json(first.output()) == canonical_json(second.output())
    assert canonical_json(first.trace) == canonical_json(second.trace)


@pytest.mark.parametrize("field", ["current_assets", "net_assets"])
def test_durable_and_python_agree_on_assessment(
    shipped: CompiledPolicy, shipped_python: CompiledPolicy, field: str
) -> None:
    cf = strong_credit_file()
    cf["financials"][field] = "123.45"
    payload = assess_input(cf)
    assert decide(shipped, "assess", payload).output() == decide(shipped_python, "assess", payload).output()


@pytest.mark.parametrize("kind", ["assess", "order"])
def test_a_review_date_beyond_the_calendar_is_an_input_error_not_a_crash(shipped: CompiledPolicy, kind: str) -> None:
    payload = assess_input()
    if kind == "order":  # an order whose customer brings its credit file is assessed inline
        payload = {
            "customer": {"id": "C-1", "credit_file": strong_credit_file()},
            "order": {"id": "SO-1", "amount": "10.00", "currency": "CNY"},
        }
    payload["as_of"] = "9999-12-31"
    with pytest.raises(InputError) as refused:
        decide(shipped, kind, payload)
    assert (refused.value.code, refused.value.field) == ("date_out_of_range", "as_of")

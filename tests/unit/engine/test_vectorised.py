"""The vectorised evaluator at the edges of the semantics: each case also checked against ``decide``.

Absent values and ``not``, division by zero in derived ratios, rounding ties (points, score,
limits rounded to nearest but never above the binding cap), the floor of graded limits, the
portfolio total shared out across a frame, durable-rules' numeric range, and the frame contract.
"""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

import engine.vectorised.assess as vectorised_assess
from engine.compiler import compile_policy
from engine.decide import decide
from engine.decisions.assess import score_factor
from engine.errors import EngineError, InputError
from engine.ir import CompiledPolicy
from engine.matchers import durable_matcher, python_matcher
from engine.vectorised import FrameError, VectorisedPolicy, frame_of, requests_of
from policy import schema as s
from tests.engine_factories import MemoryPolicy, policy_data

AS_OF = dt.date(2026, 6, 30)


def compiled_with(changes: dict[str, Any], *, durable: bool = False) -> CompiledPolicy:
    data = policy_data()
    for key, part in changes.items():
        data[key] = copy.deepcopy(part)
    factory = durable_matcher if durable else python_matcher
    return compile_policy(MemoryPolicy(s.Policy.model_validate(data)), factory=factory)


def customer(cid: str = "C-1", **facts: Any) -> dict[str, Any]:
    """An assess request; ``facts`` maps 'section.field' to its value."""
    credit_file: dict[str, Any] = {}
    for path, item in facts.items():
        section, name = path.split(".")
        credit_file.setdefault(section, {})[name] = item
    return {"customer": {"id": cid}, "credit_file": credit_file, "as_of": AS_OF.isoformat()}


def assessed(compiled: CompiledPolicy, requests: list[dict[str, Any]], **options: Any) -> list[dict[str, Any]]:
    """The vectorised outputs, each checked equal to the per-decision output of its row's request."""
    vp = VectorisedPolicy(compiled)
    result = vp.assess(frame_of("assess", requests), as_of=AS_OF, **options)
    outputs = vp.outputs("assess", result)
    for output, request in zip(outputs, requests_of("assess", result, as_of=AS_OF), strict=True):
        assert output == decide(compiled, "assess", request).output()
    return outputs


def order(cid: str = "C-1", *, limit: str = "1000.00", amount: str = "100.00", **exposure: Any) -> dict[str, Any]:
    return {
        "customer": {"id": cid, "grade": "A", "limit": limit},
        "order": {"id": "O-1", "amount": amount, "currency": "CNY"},
        "exposure": exposure,
        "as_of": AS_OF.isoformat(),
    }


def checked(compiled: CompiledPolicy, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    vp = VectorisedPolicy(compiled)
    frame = frame_of("order", requests)
    outputs = vp.outputs("order", vp.check_orders(frame))
    for output, request in zip(outputs, requests_of("order", frame), strict=True):
        try:
            expected = decide(compiled, "order", request).output()
        except EngineError as exc:
            assert output["error"]["code"] == exc.code
            continue
        assert output == expected
    return outputs


def reasons(output: dict[str, Any]) -> list[str]:
    return [r["reason"] for r in output["reasons"]]


# --- absent values, not, division by zero ---------------------------------------------------
STANDARDS_ON_ABSENCE = {
    "rules": [
        {"id": "not_on_time", "when": "not (payment.on_time_ratio > 0.5)", "reason": "NOT_ON_TIME"},
        {"id": "no_history", "when": "payment.on_time_ratio is missing", "reason": "NO_HISTORY"},
        {"id": "illiquid", "when": "ratios.current_ratio < 1", "reason": "ILLIQUID"},
        {"id": "not_illiquid", "when": "not (ratios.current_ratio < 1)", "reason": "NOT_ILLIQUID"},
        {"id": "no_ratio", "when": "ratios.current_ratio is missing", "reason": "NO_RATIO"},
    ]
}


def test_a_comparison_with_an_absent_value_is_false_and_not_of_it_true() -> None:
    compiled = compiled_with({"standards": STANDARDS_ON_ABSENCE})
    absent, on_time = assessed(compiled, [customer(), customer(**{"payment.on_time_ratio": "0.9"})])
    assert reasons(absent) == ["NOT_ON_TIME", "NO_HISTORY", "NOT_ILLIQUID", "NO_RATIO"]
    assert reasons(on_time) == ["NOT_ILLIQUID", "NO_RATIO"]


def test_division_by_zero_makes_a_ratio_absent() -> None:
    scorecard = {
        "groups": {"capital": {"label": "Capital"}},
        "factors": [
            {
                "id": "current",
                "group": "capital",
                "input": "ratios.current_ratio",
                "kind": "standard_value",
                "direction": "higher_is_better",
                "standard": "2",
                "alpha": "50",
                "weight": "100",
                "missing": "12.5",
            }
        ],
    }
    compiled = compiled_with({"standards": STANDARDS_ON_ABSENCE, "scorecard": scorecard})
    files = [
        {"financials.current_assets": "500.00", "financials.current_liabilities": "0.00"},
        {"financials.current_assets": "500.00", "financials.current_liabilities": "1000.00"},
    ]
    by_zero, half = assessed(compiled, [customer(**f) for f in files])
    assert by_zero["factors"][0]["value"] is None and by_zero["factors"][0]["points"] == "12.50"
    assert "NO_RATIO" in reasons(by_zero) and "ILLIQUID" not in reasons(by_zero)
    assert half["factors"][0]["value"] == "0.5" and half["factors"][0]["points"] == "25.00"
    assert "ILLIQUID" in reasons(half) and "NO_RATIO" not in reasons(half)


def test_a_zero_limit_leaves_utilisation_absent_and_a_division_by_it_too() -> None:
    rules = [
        {"id": "full", "when": "credit.utilisation_after > 0.8", "then": {"outcome": "hold", "reason": "FULL"}},
        {
            "id": "not_full",
            "when": "not (credit.utilisation_after > 0.8)",
            "then": {"outcome": "approve", "reason": "ROOM"},
        },
        {
            "id": "share",
            "when": "order.amount / customer.limit > 0.5",
            "then": {"outcome": "hold", "reason": "BIG_SHARE"},
        },
        {
            "id": "no_share",
            "when": "not (order.amount / customer.limit > 0.5)",
            "then": {"outcome": "approve", "reason": "SMALL"},
        },
    ]
    compiled = compiled_with({"order_rules": {"default": {"outcome": "approve", "reason": "OK"}, "rules": rules}})
    zero, large = checked(compiled, [order(limit="0.00"), order(limit="1000.00", amount="900.00")])
    assert reasons(zero) == ["ROOM", "SMALL"]
    assert reasons(large) == ["FULL", "BIG_SHARE"] and large["outcome"] == "hold"


def test_utilisation_just_above_a_number_holds_exactly() -> None:
    rules = [{"id": "full", "when": "credit.utilisation_after > 0.8", "then": {"outcome": "hold", "reason": "FULL"}}]
    compiled = compiled_with({"order_rules": {"default": {"outcome": "approve", "reason": "OK"}, "rules": rules}})
    # 8000.01 / 10000.00 = 0.800001: above 0.8 although it rounds to 0.8000 at four decimals
    at, above = checked(
        compiled, [order(limit="10000.00", amount="8000.00"), order(limit="10000.00", amount="8000.01")]
    )
    assert reasons(at) == ["OK"] and reasons(above) == ["FULL"]


# --- rounding ties --------------------------------------------------------------------------
def _single_factor(input_path: str, standard: str, alpha: str, direction: str = "higher_is_better") -> dict[str, Any]:
    return {
        "groups": {"g": {"label": "G"}},
        "factors": [
            {
                "id": "f",
                "group": "g",
                "input": input_path,
                "kind": "standard_value",
                "direction": direction,
                "standard": standard,
                "alpha": alpha,
                "weight": "100",
            }
        ],
    }


def test_points_exactly_on_a_half_cent_round_up_for_numbers_and_ratios(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    original = score_factor

    def counted(factor: Any, value: Any) -> Decimal:
        calls.append(value)
        return original(factor, value)

    monkeypatch.setattr(vectorised_assess, "score_factor", counted)
    number = compiled_with({"scorecard": _single_factor("payment.avg_days_late", "0", "1", "lower_is_better")})
    (tie,) = assessed(number, [customer(**{"payment.avg_days_late": "0.005"})])
    assert tie["factors"][0]["points"] == "100.00"  # 100 - 0.005 = 99.995, half up
    assert calls == []  # an exact number needs no fallback, even on the tie
    ratio = compiled_with({"scorecard": _single_factor("ratios.current_ratio", "2", "50")})
    files = [
        {"financials.current_assets": "19999.00", "financials.current_liabilities": "10000.00"},  # 1.9999: 99.995
        {"financials.current_assets": "2.00", "financials.current_liabilities": "3.00"},  # 0.666…: 33.33
    ]
    tie, repeating = assessed(ratio, [customer(**f) for f in files])
    assert tie["factors"][0]["points"] == "100.00" and repeating["factors"][0]["points"] == "33.33"
    assert calls == [Decimal("1.9999")]  # only the ratio on a half-cent was scored again in Decimal


def test_the_score_rounds_half_up_from_exact_weighted_points() -> None:
    scorecard = {
        "groups": {"g": {"label": "G"}},
        "factors": [
            {"id": "a", "group": "g", "input": "payment.on_time_ratio", "kind": "bands", "weight": "33.3",
             "bands": [{"min": "0", "points": "100"}], "missing": "0"},
            {"id": "b", "group": "g", "input": "payment.avg_days_late", "kind": "bands", "weight": "66.7",
             "bands": [{"min": "0", "points": "0.05"}], "missing": "0"},
        ],
    }  # fmt: skip
    compiled = compiled_with({"scorecard": scorecard})
    (out,) = assessed(compiled, [customer(**{"payment.on_time_ratio": "1", "payment.avg_days_late": "1"})])
    # 33.3 + 0.05 × 0.667 = 33.33335 → 33.33
    assert out["score"] == "33.33"
    assert [f["weighted"] for f in out["factors"]] == ["33.3000", "0.0334"]


def _limits(
    per_grade: dict[str, Any], *, mode: str = "down", step: str = "1000", total: str = "1000000000"
) -> dict[str, Any]:
    return {
        "portfolio_total": total,
        "rounding": {"step": step, "mode": mode},
        "caps": {"net_assets": False, "working_capital": False},
        "per_grade": per_grade,
    }


def _wc(amount: str) -> dict[str, Any]:
    return {"financials.current_assets": amount, "financials.current_liabilities": "0.00", "payment.on_time_ratio": "1"}


def test_rounding_to_nearest_rounds_ties_up_but_never_above_the_cap_that_binds() -> None:
    rule = {"method": "pct_working_capital", "pct": "0.1"}
    capped = {**rule, "caps": {"net_assets": False, "working_capital": False, "absolute": "1800"}}
    compiled = compiled_with({"limits": _limits(dict.fromkeys("ABCD", capped), mode="nearest")})
    # customers of grade A (all score 100): 10 % of working capital
    tie, below_tie, over_cap = assessed(
        compiled, [customer(**_wc("15000.00")), customer(**_wc("14999.90")), customer(**_wc("17000.00"))]
    )
    assert tie["credit_limit"] == "1000.00"  # 1500 → 2000 would pass the absolute cap of 1800: rounded down
    assert below_tie["credit_limit"] == "1000.00"
    assert over_cap["credit_limit"] == "1000.00"
    uncapped = compiled_with({"limits": _limits(dict.fromkeys("ABCD", rule), mode="nearest")})
    tie, below_tie = assessed(uncapped, [customer(**_wc("15000.00")), customer(**_wc("14999.90"))])
    assert (tie["credit_limit"], below_tie["credit_limit"]) == ("2000.00", "1000.00")


def test_a_grade_never_grants_less_than_a_worse_grade_would() -> None:
    smaller = [{"method": "pct_working_capital", "pct": "0.2"}, {"method": "pct_net_assets", "pct": "0.12"}]
    per_grade = {
        "A": {"method": "min", "of": smaller},
        "B": {"method": "pct_working_capital", "pct": "0.15"},
        "C": {"method": "fixed", "amount": "0"},
        "D": {"method": "fixed", "amount": "0"},
    }
    compiled = compiled_with({"limits": _limits(per_grade, step="1")})
    facts = {**_wc("1000000.00"), "financials.net_assets": "1000000.00"}
    (out,) = assessed(compiled, [customer(**facts)])
    assert out["grade"] == "A" and out["credit_limit"] == "150000.00"  # own 120 000, B's 150 000 is the floor


# --- the portfolio total --------------------------------------------------------------------
def test_the_portfolio_total_is_shared_best_grade_then_score_then_id() -> None:
    scorecard = {
        "groups": {"g": {"label": "G"}},
        "factors": [
            {"id": "on_time", "group": "g", "input": "payment.on_time_ratio", "kind": "standard_value",
             "direction": "higher_is_better", "standard": "1", "alpha": "100", "weight": "100"},
        ],
    }  # fmt: skip
    per_grade = {g: {"method": "fixed", "amount": "100000"} for g in "ABCD"}
    compiled = compiled_with({"scorecard": scorecard, "limits": _limits(per_grade, total="250500")})
    people = [
        customer("C-late", **{"payment.on_time_ratio": "0.5"}),  # score 50: grade B, served after every A
        customer("C-b", **{"payment.on_time_ratio": "0.9"}),  # score 90 (A)
        customer("C-a", **{"payment.on_time_ratio": "0.9"}),  # score 90 (A), same score: id first
        customer("C-top", **{"payment.on_time_ratio": "1"}),  # score 100 (A): first
        customer("C-last", **{"payment.on_time_ratio": "0.8"}),  # score 80 (A)
    ]
    vp = VectorisedPolicy(compiled)
    result = vp.assess(frame_of("assess", people), as_of=AS_OF, allocation="portfolio")
    summary = result.select("id", "grade", "score", "credit_limit", "portfolio.allocated", "allocation.position")
    by_id = {row["id"]: row for row in summary.iter_rows(named=True)}
    assert [by_id[c]["allocation.position"] for c in ("C-top", "C-a", "C-b", "C-last", "C-late")] == [0, 1, 2, 3, 4]
    limits = {c: str(by_id[c]["credit_limit"]) for c in by_id}
    allocated = {c: str(by_id[c]["portfolio.allocated"]) for c in by_id}
    assert limits == {"C-top": "100000.00", "C-a": "100000.00", "C-b": "50000.00", "C-last": "0.00", "C-late": "0.00"}
    assert allocated == {
        "C-top": "0.00",
        "C-a": "100000.00",
        "C-b": "200000.00",  # 50 500 left: rounded down to the step, 50 000
        "C-last": "250000.00",  # 500 left, below one step
        "C-late": "250000.00",
    }
    outputs = vp.outputs("assess", result)
    for output, request in zip(outputs, requests_of("assess", result, as_of=AS_OF), strict=True):
        assert output == decide(compiled, "assess", request).output()


def test_allocation_modes_are_checked() -> None:
    compiled = compiled_with({})
    vp = VectorisedPolicy(compiled)
    given = frame_of("assess", [customer()]).with_columns(pl.lit(Decimal("5.00")).alias("portfolio.allocated"))
    with pytest.raises(FrameError) as both:
        vp.assess(given, as_of=AS_OF, allocation="portfolio")
    assert both.value.code == "frame_schema"
    with pytest.raises(FrameError):
        vp.assess(given, as_of=AS_OF, allocation="everyone")  # type: ignore[arg-type]


# --- durable-rules' range, the frame contract -----------------------------------------------
def test_on_durable_rules_a_sum_beyond_its_range_is_refused_as_decide_refuses_it() -> None:
    rules = [{"id": "big", "when": "exposure.total > 5", "then": {"outcome": "hold", "reason": "BIG"}}]
    changes = {"order_rules": {"default": {"outcome": "approve", "reason": "OK"}, "rules": rules}}
    huge = order(open_receivables="99999999999999.99", open_orders="1.00")
    (on_durable,) = checked(compiled_with(changes, durable=True), [huge])
    (on_python,) = checked(compiled_with(changes), [huge])
    assert on_durable["error"]["code"] == "value_out_of_range"
    assert reasons(on_python) == ["BIG"]


def test_rows_the_request_models_refuse_are_refused_alone() -> None:
    compiled = compiled_with({})
    requests = [order(), order(amount="-1.00"), order()]
    requests[2]["order"]["currency"] = "USD"
    unknown = order()
    unknown["customer"]["grade"] = "Z"
    ok, negative, dollars, unknown_grade = checked(compiled, [*requests, unknown])
    assert ok["outcome"] == "approve"
    assert negative["error"]["code"] == "invalid_request"
    assert dollars["error"]["code"] == "currency_mismatch"
    assert unknown_grade["error"]["code"] == "unknown_grade"


def test_a_frame_that_breaks_the_contract_is_refused_whole() -> None:
    vp = VectorisedPolicy(compiled_with({}))
    floats = frame_of("order", [order()]).with_columns(pl.col("order.amount").cast(pl.Float64))
    with pytest.raises(FrameError, match="order.amount"):
        vp.check_orders(floats)
    with pytest.raises(FrameError, match="customer.limit"):
        vp.check_orders(frame_of("order", [order()]).drop("customer.limit"))
    with pytest.raises(FrameError):
        frame_of("settlement", [{"payments": [{}, {}]}])


def test_a_review_date_beyond_the_calendar_is_refused_as_decide_refuses_it() -> None:
    compiled = compiled_with({})
    last_month = dt.date(9999, 12, 15)
    vp = VectorisedPolicy(compiled)
    result = vp.assess(frame_of("assess", [customer()]), as_of=last_month, allocation="portfolio")
    assert result["error"].to_list() == ["date_out_of_range"] and result["portfolio.allocated"].to_list() == [None]
    with pytest.raises(InputError) as refused:
        decide(compiled, "assess", requests_of("assess", result, as_of=last_month)[0])
    assert refused.value.code == "date_out_of_range"


def test_each_output_is_its_own_object() -> None:
    compiled = compiled_with({"standards": STANDARDS_ON_ABSENCE})
    vp = VectorisedPolicy(compiled)
    first, second = vp.outputs("assess", vp.assess(frame_of("assess", [customer(), customer()]), as_of=AS_OF))
    first["terms"]["discounts"].append("changed")
    first["reasons"][0]["reason"] = "CHANGED"
    first["policy"]["id"] = "changed"
    assert second == decide(compiled, "assess", customer()).output()

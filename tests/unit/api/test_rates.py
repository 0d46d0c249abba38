"""Rates leave the API in one form: a plain decimal string without trailing zeros."""

from __future__ import annotations

from api.service.decisions.response import canonical_rates


def test_rates_lose_their_trailing_zeros_and_nothing_else() -> None:
    data = {
        "discount_rate": "0.0200",
        "discount_rate_today": "0.0000",
        "terms": {"discounts": [{"rate": "0.03", "days": 10}], "penalty": {"rate": "0.0005", "daily_rate": "0.0005"}},
        "limit": {"methods": [{"pct": "0.30", "amount": "150000.00"}]},
        "payments": [{"rate_applied": "0", "discount": "100.00"}, {"rate_applied": "1.000"}],
        "input": {"ratings": {"rate": "0.10"}},  # echoed input keeps its digits, whatever its names
        "score": "94.90",
    }
    assert canonical_rates(data) == {
        "discount_rate": "0.02",
        "discount_rate_today": "0",
        "terms": {"discounts": [{"rate": "0.03", "days": 10}], "penalty": {"rate": "0.0005", "daily_rate": "0.0005"}},
        "limit": {"methods": [{"pct": "0.3", "amount": "150000.00"}]},
        "payments": [{"rate_applied": "0", "discount": "100.00"}, {"rate_applied": "1"}],
        "input": {"ratings": {"rate": "0.10"}},
        "score": "94.90",
    }


def test_the_form_is_exact_and_stable() -> None:
    long = "0.000493150684931506849315068493"  # 18 % a year over 365 days: no rounding, no exponent
    assert canonical_rates({"daily_rate": long}) == {"daily_rate": long}
    once = canonical_rates({"rate": "0.0500", "pct": "10.0"})
    assert once == {"rate": "0.05", "pct": "10"} and canonical_rates(once) == once
    assert canonical_rates({"rate": "not a number", "pct": None}) == {"rate": "not a number", "pct": None}

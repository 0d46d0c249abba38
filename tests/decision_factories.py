"""Decision inputs for tests: realistic credit files and orders, edited one field at a time."""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["assess_input", "order_input", "strong_credit_file", "weak_credit_file"]

_STRONG: dict[str, Any] = {
    "financials": {
        "current_assets": "8200000.00",
        "current_liabilities": "4100000.00",
        "total_assets": "15000000.00",
        "net_assets": "6500000.00",
        "revenue": "30000000.00",
        "net_profit": "1800000.00",
        "operating_cash_flow": "2100000.00",
        "liquidation_value": "5200000.00",
    },
    "payment": {
        "on_time_ratio": "0.97",
        "avg_days_late": "1",
        "max_days_late": 0,
        "defaults_3y": 0,
        "bounced_cheques": 0,
    },
    "records": {"years_in_business": "15", "litigation_count": 0, "bank_record": "normal", "owns_premises": True},
    "outlook": {"expected_dso_days": "35", "expected_bad_debt_rate": "0.005"},
    "trade": {"collateral_value": "3000000.00"},
    "ratings": {
        "character": "excellent",
        "visit_impression": "excellent",
        "industry_prospects": "good",
        "economic_conditions": "good",
    },
}

_WEAK: dict[str, Any] = {
    "financials": {
        "current_assets": "1000000.00",
        "current_liabilities": "1000000.00",
        "total_assets": "5000000.00",
        "net_assets": "1000000.00",
        "revenue": "8000000.00",
        "net_profit": "-50000.00",
        "operating_cash_flow": "10000.00",
        "liquidation_value": "900000.00",
    },
    "payment": {"on_time_ratio": "0.60", "max_days_late": 45, "defaults_3y": 1, "bounced_cheques": 0},
    "records": {"years_in_business": "3", "litigation_count": 2, "bank_record": "special_mention"},
    "ratings": {
        "character": "poor",
        "visit_impression": "fair",
        "industry_prospects": "fair",
        "economic_conditions": "fair",
    },
}


def strong_credit_file() -> dict[str, Any]:
    return copy.deepcopy(_STRONG)


def weak_credit_file() -> dict[str, Any]:
    return copy.deepcopy(_WEAK)


def assess_input(credit_file: dict[str, Any] | None = None, **customer: Any) -> dict[str, Any]:
    return {
        "customer": {"id": "C-1001", "segment": "ordinary", **customer},
        "credit_file": strong_credit_file() if credit_file is None else credit_file,
        "as_of": "2026-06-30",
    }


def order_input(
    *,
    grade: str = "A",
    limit: str = "1000000.00",
    amount: str = "100000.00",
    segment: str = "ordinary",
    customer_id: str = "C-1001",
    currency: str = "CNY",
    **exposure: Any,
) -> dict[str, Any]:
    return {
        "customer": {"id": customer_id, "segment": segment, "grade": grade, "limit": limit},
        "order": {"id": "SO-1", "amount": amount, "currency": currency},
        "exposure": {
            "open_receivables": "0",
            "open_orders": "0",
            "overdue_amount": "0",
            "oldest_overdue_days": 0,
            **exposure,
        },
        "as_of": "2026-06-30",
    }

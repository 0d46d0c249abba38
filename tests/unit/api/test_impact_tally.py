"""The comparison summed up (pure): transitions with counts and amounts per currency, what counts as a change."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import polars as pl

from api.service.impact.fields import SCHEMAS
from api.service.impact.tally import sample_ids, tally_kind

DAY = dt.date(2026, 6, 1)
AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def _order(decision_id: str, a: str, b: str, amount: str, currency: str = "CNY", **extra: Any) -> dict[str, Any]:
    return {
        "decision_id": decision_id,
        "as_of": DAY,
        "created_at": AT,
        "customer_id": "C-1",
        "reference": f"SO-{decision_id}",
        "amount": Decimal(amount),
        "currency": currency,
        "a_outcome": a,
        "a_error": None,
        "a_reasons": ["r"],
        "b_outcome": b,
        "b_error": None,
        "b_reasons": ["r"],
        **extra,
    }


def _frame(kind: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=dict(SCHEMAS[kind]))


def test_order_transitions_sum_amounts_per_currency_and_list_the_largest_holds() -> None:
    frame = _frame(
        "order",
        [
            _order("3", "approve", "hold", "100.00"),
            _order("1", "approve", "hold", "250.50"),
            _order("2", "approve", "hold", "7.00", "USD"),
            _order("4", "hold", "approve", "9.00"),
            _order("5", "approve", "approve", "1.00", b_reasons=["r", "s"]),
            _order("6", "approve", "approve", "1.00"),
        ],
    )
    summary = tally_kind("order", frame, currency="CNY", top=2)
    assert summary["transitions"] == [
        {"from": "approve", "to": "hold", "count": 3, "amounts": {"CNY": Decimal("350.50"), "USD": Decimal("7.00")}},
        {"from": "hold", "to": "approve", "count": 1, "amounts": {"CNY": Decimal("9.00")}},
    ]
    assert (summary["changed"], summary["unchanged"], summary["changed_same_headline"]) == (5, 1, 1)
    assert [o["order_id"] for o in summary["newly_held"]["largest"]] == ["SO-1", "SO-3"]
    assert summary["released"]["count"] == 1
    assert sample_ids(frame, "order", 2) == [
        ("approve", "approve", ["5"]),
        ("approve", "hold", ["1", "2"]),
        ("hold", "approve", ["4"]),
    ]


def test_nothing_changes_when_both_sides_agree() -> None:
    frame = _frame("order", [_order(str(n), "approve", "approve", "5.00") for n in range(3)])
    summary = tally_kind("order", frame, currency="CNY", top=5)
    assert summary["changed"] == 0 and summary["transitions"] == [] and sample_ids(frame, "order", 3) == []


def _assessment(
    decision_id: str, customer: str, day: dt.date, a: tuple[str, bool, str], b: tuple[str, bool, str]
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "decision_id": decision_id,
        "as_of": day,
        "created_at": AT,
        "customer_id": customer,
        "reference": None,
        "amount": None,
        "currency": None,
    }
    for side, (grade, eligible, limit) in (("a", a), ("b", b)):
        row |= {
            f"{side}_outcome": grade,
            f"{side}_error": None,
            f"{side}_grade": grade,
            f"{side}_eligible": eligible,
            f"{side}_credit_limit": Decimal(limit),
            f"{side}_score": Decimal("80"),
            f"{side}_reasons": [],
            f"{side}_review_interval_days": 180,
        }
    return row


def test_customers_are_counted_on_their_latest_assessment() -> None:
    later = DAY + dt.timedelta(days=10)
    frame = _frame(
        "assess",
        [
            _assessment("1", "K-1", DAY, ("AA", True, "900.00"), ("A", True, "700.00")),
            _assessment("2", "K-1", later, ("AA", True, "1000.00"), ("AA", True, "1000.00")),
            _assessment("3", "K-2", DAY, ("CCC", True, "100.00"), ("CC", False, "0.00")),
        ],
    )
    summary = tally_kind("assess", frame, currency="CNY", top=5)
    assert summary["customers"] == 2 and summary["change_grade"] == 1 and summary["lose_eligibility"] == 1
    assert summary["grade_matrix"] == [{"from": "CCC", "to": "CC", "customers": 1}]
    assert summary["total_limits"] == {
        "from": Decimal("1100.00"),
        "to": Decimal("1000.00"),
        "change": Decimal("-100.00"),
        "percent": Decimal("-9.09"),
    }
    assert [c["customer_id"] for c in summary["largest_limit_changes"]] == ["K-2"]
    assert summary["transitions"][0] == {"from": "AA", "to": "A", "count": 1, "amounts": {}}

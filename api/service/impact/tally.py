"""The comparison of one kind's decisions under two versions, summed up: pure, on the fields table of :mod:`.fields`.

* **transitions** — the decisions whose headline changes, by (from, to): how many, and the sum of
  their amounts per currency (the order, invoice or arrears amount; an assessment has none);
* **changed, same headline** — decisions whose headline stays but a compared field changes;
* per kind, what a credit manager asks next: the orders newly held or released (orders); per
  customer, on its latest assessment of the period, grade changes (a matrix), eligibility lost
  and gained, total limits before and after and the customers whose limit changes most (assess);
  the discount and penalty totals (settlement); the collection actions due that change.

Lists (orders held or released, limit changes) give the ``top`` largest, ties broken by id; the
counts and totals always cover every decision.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import polars as pl

from api.service.impact.fields import COMPARED, MONEY, REFUSED

__all__ = ["changed", "sample_ids", "tally_kind"]

_HOLD = "hold"
_ZERO = Decimal("0.00")


def changed(kind: str) -> pl.Expr:
    """Whether a row's decision differs between the versions on any compared field."""
    return pl.any_horizontal([pl.col(f"a_{n}").ne_missing(pl.col(f"b_{n}")) for n in COMPARED[kind]])


def _money(value: Any) -> Decimal:
    return _ZERO if value is None else Decimal(value).quantize(Decimal("0.01"))


def _amounts(frame: pl.DataFrame) -> dict[str, Decimal]:
    """Sum of ``amount`` per currency (the rows without an amount are counted, not summed)."""
    if not frame.height:
        return {}
    sums = (
        frame.filter(pl.col("amount").is_not_null()).group_by("currency").agg(pl.col("amount").sum()).sort("currency")
    )
    return {str(currency): _money(total) for currency, total in sums.iter_rows()}


def _transitions(frame: pl.DataFrame) -> list[dict[str, Any]]:
    moved = frame.filter(pl.col("a_outcome") != pl.col("b_outcome"))
    if not moved.height:
        return []
    keys = moved.select("a_outcome", "b_outcome").unique().sort(["a_outcome", "b_outcome"])
    found = []
    for source, target in keys.iter_rows():
        rows = moved.filter((pl.col("a_outcome") == source) & (pl.col("b_outcome") == target))
        found.append({"from": source, "to": target, "count": rows.height, "amounts": _amounts(rows)})
    found.sort(key=lambda t: (-t["count"], t["from"], t["to"]))
    return found


def _listed(frame: pl.DataFrame, top: int) -> list[dict[str, Any]]:
    rows = frame.sort(["amount", "decision_id"], descending=[True, False], nulls_last=True).head(top)
    return [
        {
            "decision_id": r["decision_id"],
            "order_id": r["reference"],
            "customer_id": r["customer_id"],
            "as_of": r["as_of"],
            "amount": _money(r["amount"]),
            "currency": r["currency"],
            "from": r["a_outcome"],
            "to": r["b_outcome"],
        }
        for r in rows.iter_rows(named=True)
    ]


def _orders(frame: pl.DataFrame, top: int) -> dict[str, Any]:
    held = frame.filter((pl.col("a_outcome") != _HOLD) & (pl.col("b_outcome") == _HOLD))
    released = frame.filter((pl.col("a_outcome") == _HOLD) & (pl.col("b_outcome") != _HOLD))
    return {
        "newly_held": {"count": held.height, "amounts": _amounts(held), "largest": _listed(held, top)},
        "released": {"count": released.height, "amounts": _amounts(released), "largest": _listed(released, top)},
    }


def _percent(before: Decimal, after: Decimal) -> Decimal | None:
    if before == 0:
        return None
    return ((after - before) * 100 / before).quantize(Decimal("0.01"))


def _customers(frame: pl.DataFrame, top: int) -> dict[str, Any]:
    latest = (
        frame.filter(pl.col("customer_id").is_not_null())
        .sort(["customer_id", "as_of", "created_at", "decision_id"])
        .group_by("customer_id", maintain_order=True)
        .last()
    )
    limit_a = pl.col("a_credit_limit").fill_null(pl.lit(_ZERO, MONEY))
    limit_b = pl.col("b_credit_limit").fill_null(pl.lit(_ZERO, MONEY))
    latest = latest.with_columns((limit_b - limit_a).alias("change"), (limit_b - limit_a).abs().alias("size"))
    eligible_a = pl.col("a_eligible").fill_null(False)
    eligible_b = pl.col("b_eligible").fill_null(False)
    total_a = _money(latest.select(limit_a.sum()).item())
    total_b = _money(latest.select(limit_b.sum()).item())
    grades = latest.filter(pl.col("a_outcome") != pl.col("b_outcome"))
    matrix = grades.group_by("a_outcome", "b_outcome").len().sort(["a_outcome", "b_outcome"])
    moved = latest.filter(pl.col("size") > 0).sort(["size", "customer_id"], descending=[True, False]).head(top)
    return {
        "customers": latest.height,
        "change_grade": grades.height,
        "grade_matrix": [{"from": a, "to": b, "customers": n} for a, b, n in matrix.iter_rows()],
        "lose_eligibility": latest.filter(eligible_a & ~eligible_b).height,
        "gain_eligibility": latest.filter(~eligible_a & eligible_b).height,
        "limits_change": latest.filter(pl.col("size") > 0).height,
        "total_limits": {
            "from": total_a,
            "to": total_b,
            "change": total_b - total_a,
            "percent": _percent(total_a, total_b),
        },
        "largest_limit_changes": [
            {
                "customer_id": r["customer_id"],
                "decision_id": r["decision_id"],
                "as_of": r["as_of"],
                "grade_from": r["a_grade"],
                "grade_to": r["b_grade"],
                "limit_from": _money(r["a_credit_limit"]),
                "limit_to": _money(r["b_credit_limit"]),
                "change": _money(r["change"]),
            }
            for r in moved.iter_rows(named=True)
        ],
    }


def _total(frame: pl.DataFrame, column: str) -> Decimal:
    return _money(frame.select(pl.col(column).sum()).item() if frame.height else None)


def _settlements(frame: pl.DataFrame) -> dict[str, Any]:
    rate_changes = frame.filter(pl.col("a_discount_rate").ne_missing(pl.col("b_discount_rate")))
    rates = (
        rate_changes.group_by("a_discount_rate", "b_discount_rate")
        .agg(pl.len().alias("count"), pl.col("amount").sum())
        .sort(["count", "a_discount_rate", "b_discount_rate"], descending=[True, False, False], nulls_last=True)
    )
    totals = {}
    for name in ("discount_amount", "penalty_interest_due", "total_due"):
        before, after = _total(frame, f"a_{name}"), _total(frame, f"b_{name}")
        totals[name] = {"from": before, "to": after, "change": after - before}
    return {
        "discount_rate_changes": [
            {"from": _rate(a), "to": _rate(b), "count": n, "invoice_amount": _money(total)}
            for a, b, n, total in rates.iter_rows()
        ],
        "totals": totals,
    }


def _rate(value: Any) -> str | None:
    if value is None:
        return None
    text = format(Decimal(value).normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _collections(frame: pl.DataFrame) -> dict[str, Any]:
    actions = frame.filter(pl.col("a_actions_due_now").ne_missing(pl.col("b_actions_due_now")))
    gained: dict[str, int] = {}
    lost: dict[str, int] = {}
    for before, after in actions.select("a_actions_due_now", "b_actions_due_now").iter_rows():
        for action in set(after or ()) - set(before or ()):
            gained[action] = gained.get(action, 0) + 1
        for action in set(before or ()) - set(after or ()):
            lost[action] = lost.get(action, 0) + 1
    return {
        "actions_change": actions.height,
        "actions_now_due": dict(sorted(gained.items())),
        "actions_no_longer_due": dict(sorted(lost.items())),
    }


def tally_kind(kind: str, frame: pl.DataFrame, *, currency: str, top: int) -> dict[str, Any]:
    """The comparison of one kind summed up (see the module doc); ``currency`` for amounts that name none."""
    frame = frame.with_columns(pl.col("currency").fill_null(currency), changed(kind).alias("changed"))
    moved = frame.filter(pl.col("changed"))
    same_headline = moved.filter(pl.col("a_outcome") == pl.col("b_outcome")).height
    summary: dict[str, Any] = {
        "compared": frame.height,
        "changed": moved.height,
        "unchanged": frame.height - moved.height,
        "headline_changes": moved.height - same_headline,
        "changed_same_headline": same_headline,
        "refused_by_candidate": frame.filter(
            (pl.col("b_outcome") == REFUSED) & (pl.col("a_outcome") != REFUSED)
        ).height,
        "transitions": _transitions(frame),
    }
    if kind == "order":
        summary |= _orders(frame, top)
    elif kind == "assess":
        summary |= _customers(frame, top)
    elif kind == "settlement":
        summary |= _settlements(frame)
    else:
        summary |= _collections(frame)
    return summary


def sample_ids(frame: pl.DataFrame, kind: str, per_transition: int) -> list[tuple[str, str, list[str]]]:
    """Up to ``per_transition`` decision ids of each transition (from, to) — the smallest ids: decision ids are
    random (uuid4), so this is a fair sample, and the same log always gives the same one. Decisions that change
    without a headline change are sampled as the transition (x → x)."""
    moved = frame.filter(changed(kind)).select("decision_id", "a_outcome", "b_outcome")
    if not moved.height or per_transition <= 0:
        return []
    picked = (
        moved.sort("decision_id")
        .group_by("a_outcome", "b_outcome", maintain_order=True)
        .head(per_transition)
        .group_by("a_outcome", "b_outcome")
        .agg(pl.col("decision_id"))
        .sort(["a_outcome", "b_outcome"])
    )
    return [(a, b, list(ids)) for a, b, ids in picked.iter_rows()]

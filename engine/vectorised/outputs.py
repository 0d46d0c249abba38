"""Result frames back to decision outputs: row by row, exactly ``Decision.output()`` of the same request.

``Decision.output()`` is ``result.model_dump(mode="json")``: money and rates as decimal text,
dates in ISO form, reasons with their rule, reason code, source and outcome. The pieces that
depend on the policy only (terms, reasons, the policy reference) are rendered once and reused.
A row the evaluator refused gives ``{"error": {"code": ..., "message": ...}}`` instead, the code
being the ``EngineError.code`` the per-decision engine raises for that request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

import polars as pl

from engine.decisions.assess import cash_in_advance
from engine.facts import ratio
from engine.ir import CompiledPolicy, TermsIR
from engine.results import policy_ref, terms_out
from engine.vectorised.assess import factor_columns
from engine.vectorised.collection import auxiliary_columns
from engine.vectorised.settlement import TermsResolver, line_columns, period_columns

__all__ = ["OutputBuilder"]

Row = Mapping[str, Any]


def _text(value: Decimal) -> str:
    return format(value, "f")


def _iso(value: dt.date) -> str:
    return value.isoformat()


def _fresh(value: Any) -> Any:
    """A copy of JSON-like data: the pieces rendered once per policy are shared between rows."""
    if type(value) is dict:
        return {k: _fresh(v) for k, v in value.items()}
    if type(value) is list:
        return [_fresh(v) for v in value]
    return value


def _error(row: Row) -> dict[str, Any]:
    return {"error": {"code": row["error"], "message": row.get("error_message")}}


class OutputBuilder:
    """Builds the outputs of result frames of one compiled policy."""

    def __init__(self, compiled: CompiledPolicy) -> None:
        self.compiled = compiled
        self._rendered_terms: dict[TermsIR, dict[str, Any]] = {}
        self.policy = policy_ref(compiled).model_dump(mode="json")
        standards = {r.id: r for r in compiled.standards.rules}
        self.standards_reasons = {
            rid: {"rule": rid, "reason": r.reason, "source": str(r.source), "outcome": None}
            for rid, r in standards.items()
        }
        spec = compiled.order_rules
        self.order_reasons = {
            r.id: {"rule": r.id, "reason": r.reason, "source": str(r.source), "outcome": r.outcome} for r in spec.rules
        }
        self.order_reasons["order_rules.default"] = {
            "rule": "order_rules.default",
            "reason": spec.default_reason,
            "source": str(spec.default_source),
            "outcome": spec.default_outcome,
        }
        self.resolver = TermsResolver(compiled)
        self.grade_terms = {g: self._terms(t) for g, t in compiled.terms.items()}
        self.no_credit_terms = {g: self._terms(cash_in_advance(t)) for g, t in compiled.terms.items()}

    def _terms(self, terms: TermsIR) -> dict[str, Any]:
        rendered = self._rendered_terms.get(terms)
        if rendered is None:
            rendered = self._rendered_terms[terms] = terms_out(terms).model_dump(mode="json")
        return rendered

    def rows(self, kind: str, frame: pl.DataFrame, *, shared: bool = False) -> Iterator[dict[str, Any]]:
        """The output of each row of a result frame of ``kind`` (each a fresh object, like ``output()``;
        with ``shared``, the pieces rendered once per policy are shared between rows: for readers only)."""
        build: Callable[[Row], dict[str, Any]] = getattr(self, f"_{kind}")
        if kind == "order":  # the columns an order's output reads: a row dict of the rest costs as much again
            frame = frame.select(_ORDER_COLUMNS)
        for row in frame.iter_rows(named=True):
            if row["error"] is not None:
                yield _error(row)
            else:
                yield build(row) if shared else _fresh(build(row))

    # --- assess -----------------------------------------------------------------------------
    def _assess(self, row: Row) -> dict[str, Any]:
        grade, eligible = row["grade"], row["eligible"]
        factors = []
        for factor in self.compiled.factors:
            points, weighted = factor_columns(factor.id)
            value = _fact_value(factor.input, row)
            factors.append(
                {
                    "id": factor.id,
                    "group": factor.group,
                    "input": factor.input,
                    "value": None if value is None else (_text(value) if isinstance(value, Decimal) else str(value)),
                    "points": _text(row[points]),
                    "weight": _text(factor.weight),
                    "weighted": _text(row[weighted]),
                }
            )
        return {
            "customer_id": row["id"],
            "score": _text(row["score"]),
            "grade": grade,
            "eligible": eligible,
            "reasons": [self.standards_reasons[rid] for rid in row["reasons"]],
            "credit_limit": _text(row["credit_limit"]),
            "terms": self.grade_terms[grade] if eligible else self.no_credit_terms[grade],
            "review_interval_days": row["review_interval_days"],
            "next_review": _iso(row["next_review"]),
            "factors": factors,
            "policy": self.policy,
        }

    # --- order ------------------------------------------------------------------------------
    def _order(self, row: Row) -> dict[str, Any]:
        return {
            "order_id": row["order.id"],
            "customer_id": row["customer.id"],
            "outcome": row["outcome"],
            "reasons": [self.order_reasons[rid] for rid in row["reasons"]],
            "grade": row["customer.grade"],
            "eligible": row["eligible"],
            "credit_limit": _text(row["customer.limit"]),
            "exposure_total": _text(row["exposure_total"]),
            "available_before": _text(row["available_before"]),
            "available_after": _text(row["available_after"]),
            "policy": self.policy,
        }

    # --- collection -------------------------------------------------------------------------
    def _collection(self, row: Row) -> dict[str, Any]:
        segment = row["customer.segment"]
        ladder = self.compiled.ladders[segment]
        source = str(ladder.source)
        next_step = None
        if row["next_step.step"] is not None:
            next_step = {
                "step": row["next_step.step"],
                "threshold_days": row["next_step.threshold_days"],
                "due_on": _iso(row["next_step.due_on"]),
                "due_now": row["next_step.due_now"],
                "skipped": row["next_step.skipped"],
            }
        auxiliary = []
        for action, _ in ladder.auxiliary:
            threshold, due_now, due_on, amount = auxiliary_columns(action)
            money = row.get(amount) if action == "penalty_interest" else None
            auxiliary.append(
                {
                    "action": action,
                    "threshold_days": row[threshold],
                    "due_now": row[due_now],
                    "due_on": _iso(row[due_on]),
                    "amount": None if money is None else _text(money),
                }
            )
        return {
            "customer_id": row["customer.id"],
            "segment": segment,
            "current_step": row["current_step"],
            "next_step": next_step,
            "paused": row["paused"],
            "reasons": [
                {"rule": r["rule"], "reason": r["reason"], "source": source, "outcome": None} for r in row["reasons"]
            ],
            "auxiliary": auxiliary,
            "actions_due_now": row["actions_due_now"],
            "policy": self.policy,
        }

    # --- settlement -------------------------------------------------------------------------
    def _settlement(self, row: Row) -> dict[str, Any]:
        terms = self.resolver.resolve(row["terms.text"], row["terms.grade"]).terms
        assert terms is not None  # a decided row has valid terms
        line = line_columns()
        payments = []
        if row[line["day"]] is not None:
            payments.append(
                {
                    "date": _iso(row["payment.date"]),
                    "amount": _text(row["payment.amount"]),
                    "day": row[line["day"]],
                    "discount_rate": _text(row[line["discount_rate"]]),
                    "discount": _text(row[line["discount"]]),
                    "principal_settled": _text(row[line["principal_settled"]]),
                    "penalty_paid": _text(row[line["penalty_paid"]]),
                    "overpaid": _text(row[line["overpaid"]]),
                    "days_overdue": row[line["days_overdue"]],
                }
            )
        periods = []
        for number in (1, 2):
            period = period_columns(number)
            if row[period["start"]] is not None:
                periods.append(
                    {
                        "start": _iso(row[period["start"]]),
                        "end": _iso(row[period["end"]]),
                        "days": row[period["days"]],
                        "principal": _text(row[period["principal"]]),
                        "interest": _text(row[period["interest"]]),
                    }
                )
        return {
            "invoice_id": row.get("invoice.id"),
            "terms": self._terms(terms),
            "due_date": _iso(row["due_date"]),
            "payments": payments,
            "discount_rate": _text(row["discount_rate"]),
            "discount_amount": _text(row["discount_amount"]),
            "principal_settled": _text(row["principal_settled"]),
            "amount_due": _text(row["amount_due"]),
            "days_overdue": row["days_overdue"],
            "paid_days_late": row["paid_days_late"],
            "penalty_interest_accrued": _text(row["penalty_interest_accrued"]),
            "penalty_interest_paid": _text(row["penalty_interest_paid"]),
            "penalty_interest_due": _text(row["penalty_interest_due"]),
            "penalty_periods": periods,
            "total_due": _text(row["total_due"]),
            "overpaid": _text(row["overpaid"]),
            "discount_rate_today": _text(row["discount_rate_today"]),
            "pay_today_to_settle": _text(row["pay_today_to_settle"]),
            "status": row["status"],
            "policy": self.policy,
        }


_ORDER_COLUMNS = (
    "error",
    "error_message",
    "order.id",
    "customer.id",
    "outcome",
    "reasons",
    "customer.grade",
    "eligible",
    "customer.limit",
    "exposure_total",
    "available_before",
    "available_after",
)

_DERIVED = {
    "ratios.current_ratio": ("financials.current_assets", "financials.current_liabilities"),
    "ratios.net_margin": ("financials.net_profit", "financials.revenue"),
    "ratios.cash_flow_ratio": ("financials.operating_cash_flow", "financials.current_liabilities"),
}


def _fact_value(path: str, row: Row) -> Any:
    """A credit-file fact as ``engine.facts.credit_file_fact`` holds it, from the row's input columns."""
    if path in _DERIVED:
        top, bottom = _DERIVED[path]
        return ratio(row.get(top), row.get(bottom))
    if path == "ratios.debt_ratio":
        total, net = row.get("financials.total_assets"), row.get("financials.net_assets")
        return ratio(None if total is None or net is None else total - net, total)
    if path == "financials.working_capital":
        assets, liabilities = row.get("financials.current_assets"), row.get("financials.current_liabilities")
        return None if assets is None or liabilities is None else assets - liabilities
    value = row.get(path)
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return value

"""The fields a policy may read, by context, with their types.

A policy never reads arbitrary data: every factor input and every name in a condition must be
one of these, so a typo is a validation error with its location instead of a rule that silently
never fires. ``assess`` is the credit file (plus the score and grade once computed); ``order``
is the customer, the order and the exposure at order time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "ASSESS_FIELDS",
    "CONTEXTS",
    "FieldSpec",
    "FieldType",
    "ORDER_FIELDS",
    "RATING_NAME_PATTERN",
    "SEGMENTS",
    "lookup_field",
]

SEGMENTS: tuple[str, ...] = ("core", "ordinary", "high_risk")

# Rating names are free (the 5 Cs and any qualitative judgement a policy scores), but they are
# identifiers, so that a path like ``ratings.visit_impression`` is unambiguous.
RATING_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
_RATING_NAME = re.compile(RATING_NAME_PATTERN)


class FieldType(StrEnum):
    MONEY = "money"
    NUMBER = "number"
    INTEGER = "integer"
    RATIO = "ratio"
    BOOL = "bool"
    TEXT = "text"
    GRADE = "grade"
    SEGMENT = "segment"
    RATING = "rating"

    @property
    def numeric(self) -> bool:
        return self in (FieldType.MONEY, FieldType.NUMBER, FieldType.INTEGER, FieldType.RATIO)


@dataclass(frozen=True)
class FieldSpec:
    """A readable field: its dotted path, type, whether it can be absent, and what it means."""

    path: str
    type: FieldType
    optional: bool
    doc: str


def _specs(*rows: tuple[str, FieldType, bool, str]) -> dict[str, FieldSpec]:
    return {p: FieldSpec(p, t, o, d) for p, t, o, d in rows}


M, N, INT, R, B, T = (
    FieldType.MONEY,
    FieldType.NUMBER,
    FieldType.INTEGER,
    FieldType.RATIO,
    FieldType.BOOL,
    FieldType.TEXT,
)

ASSESS_FIELDS: dict[str, FieldSpec] = _specs(
    ("customer.id", T, False, "customer identifier"),
    ("customer.segment", FieldType.SEGMENT, False, "core, ordinary or high_risk"),
    ("financials.current_assets", M, True, "current assets"),
    ("financials.current_liabilities", M, True, "current liabilities"),
    ("financials.total_assets", M, True, "total assets"),
    ("financials.net_assets", M, True, "net assets (equity)"),
    ("financials.revenue", M, True, "revenue of the last financial year"),
    ("financials.net_profit", M, True, "net profit of the last financial year"),
    ("financials.operating_cash_flow", M, True, "operating cash flow of the last year"),
    ("financials.liquidation_value", M, True, "what the assets would fetch if liquidated"),
    ("financials.fixed_assets", M, True, "fixed assets"),
    ("financials.paid_in_capital", M, True, "paid-in capital"),
    ("financials.working_capital", M, True, "derived: current assets - current liabilities"),
    ("ratios.current_ratio", N, True, "derived: current assets / current liabilities"),
    ("ratios.debt_ratio", R, True, "derived: (total assets - net assets) / total assets"),
    ("ratios.net_margin", N, True, "derived: net profit / revenue"),
    ("ratios.cash_flow_ratio", N, True, "derived: operating cash flow / current liabilities"),
    ("payment.on_time_ratio", R, True, "share of invoices paid by their due date, 0..1"),
    ("payment.avg_days_late", N, True, "average days late over paid invoices"),
    ("payment.max_days_late", INT, True, "longest delay seen, in days"),
    ("payment.defaults_3y", INT, True, "defaults in the last 3 years"),
    ("payment.bounced_cheques", INT, True, "bounced cheques or drafts in the last 3 years"),
    ("records.years_in_business", N, True, "years since founding"),
    ("records.litigation_count", INT, True, "lawsuits against the customer on record"),
    ("records.bank_record", FieldType.RATING, True, "bank credit record rating"),
    ("records.owns_premises", B, True, "owns (not rents) its premises"),
    ("outlook.expected_dso_days", N, True, "expected days sales outstanding with this customer"),
    ("outlook.expected_bad_debt_rate", R, True, "expected bad-debt rate, 0..1"),
    ("trade.collateral_value", M, True, "value of collateral or guarantees pledged"),
    ("trade.has_guarantee", B, True, "a third-party guarantee is on file"),
    ("score", N, False, "total score 0..100 (after the scorecard)"),
    ("grade", FieldType.GRADE, False, "grade (after the grade scale)"),
)

ORDER_FIELDS: dict[str, FieldSpec] = _specs(
    ("customer.id", T, False, "customer identifier"),
    ("customer.segment", FieldType.SEGMENT, False, "core, ordinary or high_risk"),
    ("customer.grade", FieldType.GRADE, False, "current grade"),
    ("customer.limit", M, False, "current credit limit"),
    ("customer.blacklisted", B, False, "on the blacklist"),
    ("customer.eligible", B, False, "meets the credit standards (false: cash in advance only)"),
    ("order.id", T, False, "order identifier"),
    ("order.amount", M, False, "order amount"),
    ("exposure.open_receivables", M, False, "invoiced, not yet paid"),
    ("exposure.open_orders", M, False, "ordered, not yet invoiced"),
    ("exposure.overdue_amount", M, False, "part of the receivables past due"),
    ("exposure.oldest_overdue_days", INT, False, "days the oldest overdue invoice is past due"),
    ("exposure.total", M, False, "derived: open receivables + open orders"),
    ("credit.available", M, False, "derived: limit - exposure.total"),
    ("credit.available_after", M, False, "derived: limit - exposure.total - order.amount"),
    ("credit.utilisation_after", R, True, "derived: (exposure.total + order.amount) / limit"),
)

CONTEXTS: dict[str, dict[str, FieldSpec]] = {"assess": ASSESS_FIELDS, "order": ORDER_FIELDS}


def lookup_field(context: str, path: str) -> FieldSpec | None:
    """The field at ``path`` in ``context``; ``ratings.<name>`` exists for any identifier name."""
    fields = CONTEXTS[context]
    if path in fields:
        return fields[path]
    if context == "assess" and path.startswith("ratings."):
        name = path.removeprefix("ratings.")
        if _RATING_NAME.match(name):
            return FieldSpec(path, FieldType.RATING, True, f"qualitative rating '{name}'")
    return None

"""The portfolio data contract: which columns each table has, their types and the values allowed.

A portfolio is a folder with three tables — ``customers``, ``orders``, ``invoices`` — each a
``<name>.parquet`` or ``<name>.csv`` file. The reader (:mod:`engine.portfolio.reader`) checks a
folder against this contract and the vectorised evaluator reads the typed frames it returns, so
both sides take their column names and types from here and never from a copy.

Credit-file columns carry the dotted names the policy reads (``financials.revenue``), so a
column maps to a policy field without a renaming table; their ranges are those of
:mod:`engine.models`, so that every customer row is a valid :class:`engine.models.CreditFile`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

import polars as pl

from engine.models import MAX_AMOUNT, CreditFile
from policy.fields import SEGMENTS

__all__ = [
    "CREDIT_FILE_COLUMNS",
    "CUSTOMERS",
    "INVOICES",
    "MAX_COUNT",
    "MAX_RATINGS",
    "MAX_TERMS_LENGTH",
    "MAX_TEXT_LENGTH",
    "MONEY",
    "NUMBER",
    "ORDERS",
    "RATING_COLUMN",
    "TABLES",
    "ColumnKind",
    "ColumnSpec",
    "TableSpec",
    "credit_file_of",
]

MONEY = pl.Decimal(38, 2)
NUMBER = pl.Decimal(38, 4)
MAX_COUNT = 1_000_000  # engine.models.Count
MAX_TEXT_LENGTH = 64  # ids, bank records and ratings (engine.models)
MAX_TERMS_LENGTH = 200  # engine.models.TermsChoice.text
MAX_RATINGS = 50  # engine.models.CreditFile.ratings holds at most 50
# ``ratings.<name>``: the rating names a policy may score (policy.fields._RATING_NAME).
RATING_COLUMN = re.compile(r"^ratings\.[a-z][a-z0-9_]{0,62}$")


class ColumnKind(StrEnum):
    """What a column holds; the kind fixes its Polars type and the values it allows."""

    ID = "id"  # text of 1..64 characters: an id or a reference to one
    TEXT = "text"  # text of 1..64 characters (bank record, ratings)
    SEGMENT = "segment"  # core | ordinary | high_risk
    CURRENCY = "currency"  # 3 upper-case letters
    TERMS = "terms"  # credit terms text, "2/10, n/30" (policy.terms)
    MONEY = "money"  # 2 decimals, 0 <= x < 1e14
    SIGNED_MONEY = "signed_money"  # 2 decimals, |x| < 1e14
    POSITIVE_MONEY = "positive_money"  # 2 decimals, 0 < x < 1e14
    NUMBER = "number"  # 4 decimals, |x| < 1e14
    RATIO = "ratio"  # 4 decimals, 0 <= x <= 1
    COUNT = "count"  # whole number 0..1,000,000
    BOOL = "bool"
    DATE = "date"

    @property
    def dtype(self) -> pl.DataType:
        """The Polars type of the column in the typed frame."""
        if self in _MONEY_KINDS:
            return MONEY
        if self in (ColumnKind.NUMBER, ColumnKind.RATIO):
            return NUMBER
        if self is ColumnKind.COUNT:
            return pl.Int64()
        if self is ColumnKind.BOOL:
            return pl.Boolean()
        if self is ColumnKind.DATE:
            return pl.Date()
        return pl.String()

    @property
    def scale(self) -> int | None:
        """Decimal places allowed, for the decimal kinds."""
        if self in _MONEY_KINDS:
            return 2
        if self in (ColumnKind.NUMBER, ColumnKind.RATIO):
            return 4
        return None

    @property
    def bounds(self) -> tuple[Decimal | None, bool, Decimal | None, bool] | None:
        """(minimum, minimum included, maximum, maximum included) of a numeric kind."""
        return _BOUNDS.get(self)

    @property
    def describe_range(self) -> str:
        """The allowed values, as a message says them."""
        return _RANGE_TEXT.get(self, "")


_MONEY_KINDS = (ColumnKind.MONEY, ColumnKind.SIGNED_MONEY, ColumnKind.POSITIVE_MONEY)
_BOUNDS: dict[ColumnKind, tuple[Decimal | None, bool, Decimal | None, bool]] = {
    ColumnKind.MONEY: (Decimal(0), True, MAX_AMOUNT, False),
    ColumnKind.SIGNED_MONEY: (-MAX_AMOUNT, False, MAX_AMOUNT, False),
    ColumnKind.POSITIVE_MONEY: (Decimal(0), False, MAX_AMOUNT, False),
    ColumnKind.NUMBER: (-MAX_AMOUNT, False, MAX_AMOUNT, False),
    ColumnKind.RATIO: (Decimal(0), True, Decimal(1), True),
    ColumnKind.COUNT: (Decimal(0), True, Decimal(MAX_COUNT), True),
}
_RANGE_TEXT = {
    ColumnKind.MONEY: "an amount from 0 to below 100 000 000 000 000",
    ColumnKind.SIGNED_MONEY: "an amount between -100 000 000 000 000 and 100 000 000 000 000 (both excluded)",
    ColumnKind.POSITIVE_MONEY: "an amount above 0 and below 100 000 000 000 000",
    ColumnKind.NUMBER: "a number between -100 000 000 000 000 and 100 000 000 000 000 (both excluded)",
    ColumnKind.RATIO: "a fraction from 0 to 1",
    ColumnKind.COUNT: f"a whole number from 0 to {MAX_COUNT:,}",
}


@dataclass(frozen=True)
class ColumnSpec:
    """A column of the contract: ``required`` columns must be in the file, ``nullable`` ones may be empty."""

    name: str
    kind: ColumnKind
    required: bool
    nullable: bool
    doc: str

    @property
    def dtype(self) -> pl.DataType:
        return self.kind.dtype


@dataclass(frozen=True)
class TableSpec:
    """A table of the contract; ``ratings`` allows any ``ratings.<name>`` column besides ``columns``."""

    name: str
    columns: tuple[ColumnSpec, ...]
    ratings: bool = False

    def column(self, name: str) -> ColumnSpec | None:
        """The spec of a column by its name in the file; a rating column gets the rating spec."""
        for spec in self.columns:
            if spec.name == name:
                return spec
        if self.ratings and RATING_COLUMN.match(name):
            return ColumnSpec(name, ColumnKind.TEXT, False, True, f"qualitative rating '{name[8:]}'")
        return None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.columns)

    def schema(self, ratings: tuple[str, ...] = ()) -> pl.Schema:
        """The typed frame's schema: every contract column, then the rating columns found."""
        columns = [*self.columns, *(spec for name in ratings if (spec := self.column(name)) is not None)]
        return pl.Schema({spec.name: spec.dtype for spec in columns})


def _optional(name: str, kind: ColumnKind, doc: str) -> ColumnSpec:
    return ColumnSpec(name, kind, required=False, nullable=True, doc=doc)


K = ColumnKind

# The facts of the credit file, in the order of engine.models.CreditFile (ratings come apart).
CREDIT_FILE_COLUMNS: tuple[ColumnSpec, ...] = (
    _optional("financials.current_assets", K.MONEY, "current assets"),
    _optional("financials.current_liabilities", K.MONEY, "current liabilities"),
    _optional("financials.total_assets", K.MONEY, "total assets"),
    _optional("financials.net_assets", K.SIGNED_MONEY, "net assets (equity); negative when insolvent"),
    _optional("financials.revenue", K.MONEY, "revenue of the last financial year"),
    _optional("financials.net_profit", K.SIGNED_MONEY, "net profit of the last financial year"),
    _optional("financials.operating_cash_flow", K.SIGNED_MONEY, "operating cash flow of the last year"),
    _optional("financials.liquidation_value", K.MONEY, "what the assets would fetch if liquidated"),
    _optional("financials.fixed_assets", K.MONEY, "fixed assets"),
    _optional("financials.paid_in_capital", K.MONEY, "paid-in capital"),
    _optional("payment.on_time_ratio", K.RATIO, "share of invoices paid by their due date, 0..1"),
    _optional("payment.avg_days_late", K.NUMBER, "average days late over paid invoices"),
    _optional("payment.max_days_late", K.COUNT, "longest delay seen, in days"),
    _optional("payment.defaults_3y", K.COUNT, "defaults in the last 3 years"),
    _optional("payment.bounced_cheques", K.COUNT, "bounced cheques or drafts in the last 3 years"),
    _optional("records.years_in_business", K.NUMBER, "years since founding"),
    _optional("records.litigation_count", K.COUNT, "lawsuits against the customer on record"),
    _optional("records.bank_record", K.TEXT, "bank credit record rating (normal, special_mention, ...)"),
    _optional("records.owns_premises", K.BOOL, "owns (not rents) its premises"),
    _optional("outlook.expected_dso_days", K.NUMBER, "expected days sales outstanding with this customer"),
    _optional("outlook.expected_bad_debt_rate", K.RATIO, "expected bad-debt rate, 0..1"),
    _optional("trade.collateral_value", K.MONEY, "value of collateral or guarantees pledged"),
    _optional("trade.has_guarantee", K.BOOL, "a third-party guarantee is on file"),
)

CUSTOMERS = TableSpec(
    "customers",
    (
        ColumnSpec("id", K.ID, required=True, nullable=False, doc="customer id, unique"),
        _optional("segment", K.SEGMENT, f"{', '.join(SEGMENTS)}; empty: the simulation derives it"),
        *CREDIT_FILE_COLUMNS,
    ),
    ratings=True,
)

ORDERS = TableSpec(
    "orders",
    (
        ColumnSpec("id", K.ID, required=True, nullable=False, doc="order id, unique"),
        ColumnSpec("customer", K.ID, required=True, nullable=False, doc="the customer's id (in customers)"),
        ColumnSpec("date", K.DATE, required=True, nullable=False, doc="the day the order was placed"),
        ColumnSpec("amount", K.MONEY, required=True, nullable=False, doc="order amount"),
        ColumnSpec("currency", K.CURRENCY, required=True, nullable=False, doc="ISO code, 3 capitals"),
    ),
)

INVOICES = TableSpec(
    "invoices",
    (
        ColumnSpec("id", K.ID, required=True, nullable=False, doc="invoice id, unique"),
        ColumnSpec("customer", K.ID, required=True, nullable=False, doc="the customer's id (in customers)"),
        ColumnSpec("order", K.ID, required=False, nullable=True, doc="the order invoiced (in orders, same customer)"),
        ColumnSpec("invoice_date", K.DATE, required=True, nullable=False, doc="the invoice date (terms count from it)"),
        ColumnSpec("amount", K.POSITIVE_MONEY, required=True, nullable=False, doc="invoice amount"),
        ColumnSpec("terms", K.TERMS, required=False, nullable=True, doc="terms text; empty: the grade's terms"),
        ColumnSpec("payment_date", K.DATE, required=False, nullable=True, doc="the day it was paid; empty: unpaid"),
        ColumnSpec("payment_amount", K.POSITIVE_MONEY, required=False, nullable=True, doc="amount paid"),
        ColumnSpec("write_off_date", K.DATE, required=False, nullable=True, doc="the day it was written off"),
    ),
)

TABLES: tuple[TableSpec, ...] = (CUSTOMERS, ORDERS, INVOICES)


def credit_file_of(row: Mapping[str, Any]) -> CreditFile:
    """The credit file of one customers row (a dict from ``frame.iter_rows(named=True)``).

    ``financials.revenue`` becomes ``credit_file.financials.revenue``; empty values are left out,
    as absent facts. The one-customer path (engine.decide) and the contract meet here.
    """
    sections: dict[str, dict[str, Any]] = {}
    for name, value in row.items():
        if value is None or "." not in name:
            continue
        section, field = name.split(".", 1)
        sections.setdefault(section, {})[field] = value
    return CreditFile.model_validate(sections)

"""Collecting the problems of a portfolio: every one counted, the first ones kept, in reading order.

A systematic error (a money column written with 3 decimals) makes a million identical problems;
an analyst needs the count and the first few rows, not a million lines. So each check keeps at
most :data:`MAX_PROBLEMS` rows and adds its full count, and :meth:`ProblemLog.error` returns the
first :data:`MAX_PROBLEMS` problems in table, row and column order with the total.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from engine.errors import PortfolioInvalid, PortfolioProblem

__all__ = ["CODES", "MAX_PROBLEMS", "ProblemLog"]

MAX_PROBLEMS = 100

# Every code the reader can give, with what it means (docs/portfolio.md explains each one).
CODES: dict[str, str] = {
    "not_a_folder": "the portfolio path is not a folder",
    "missing_table": "a table file (customers, orders, invoices) is missing",
    "ambiguous_table": "a table is there both as .csv and as .parquet",
    "unreadable_file": "the file cannot be read as CSV (UTF-8) or Parquet",
    "malformed_row": "a CSV row has more fields than the header",
    "missing_column": "a required column is missing",
    "unknown_column": "a column the contract does not know",
    "duplicate_column": "the same column name twice in a CSV header",
    "too_many_ratings": "more than 50 ratings.<name> columns",
    "float_column": "a Parquet float column where an exact decimal is needed",
    "wrong_type": "a Parquet column of a type the contract cannot take",
    "missing_value": "an empty value in a column that needs one",
    "not_a_number": "a value that is not a decimal number",
    "not_an_integer": "a value that is not a whole number",
    "not_a_date": "a value that is not a date written YYYY-MM-DD",
    "not_a_boolean": "a value that is not true or false",
    "money_precision": "an amount with more than 2 decimal places",
    "number_precision": "a number with more than 4 decimal places",
    "out_of_range": "a value outside the column's range",
    "text_too_long": "a text longer than the column allows",
    "unknown_segment": "a segment other than core, ordinary, high_risk",
    "currency_format": "a currency that is not 3 capital letters",
    "terms_syntax": "terms text that does not parse",
    "discount_rate_range": "a discount rate not above 0 % and below 100 %",
    "discount_days_order": "discount days that do not increase, or a discount period under 1 day",
    "discount_beyond_period": "a discount period longer than the credit period",
    "discount_rate_order": "a later discount not smaller than the one before",
    "terms_period_range": "a credit period longer than 3650 days",
    "duplicate_id": "an id used on an earlier row",
    "unknown_customer": "a customer id that is not in customers",
    "unknown_order": "an order id that is not in orders",
    "order_customer_mismatch": "an invoice of an order that belongs to another customer",
    "invoice_before_order": "an invoice dated before its order",
    "payment_incomplete": "a payment date without an amount, or an amount without a date",
    "payment_before_invoice": "a payment dated before its invoice",
    "write_off_before_invoice": "a write-off dated before its invoice",
}


@dataclass(frozen=True, order=True)
class _Ranked:
    table: int
    row: int
    column: int
    code: str
    problem: PortfolioProblem = field(compare=False)


@dataclass
class ProblemLog:
    """Problems found so far: the first rows of each kind, and how many there are of each."""

    _kept: list[_Ranked] = field(default_factory=list)
    total: int = 0

    def add(self, problem: PortfolioProblem, *, table: int, column: int) -> None:
        """Keep one problem of a file or a column; ``table`` and ``column`` are positions for ordering."""
        if problem.code not in CODES:
            raise ValueError(f"undocumented portfolio problem code {problem.code!r}")
        self.total += 1
        self._kept.append(_Ranked(table, problem.row or 0, column, problem.code, problem))

    def add_rows(
        self,
        rows: Iterable[tuple[int, str]],
        *,
        count: int,
        code: str,
        file: str,
        column: str | None,
        table: int,
        position: int,
    ) -> None:
        """Keep the (row, message) pairs of one check that failed on ``count`` rows in all."""
        if code not in CODES:
            raise ValueError(f"undocumented portfolio problem code {code!r}")
        kept = 0
        for row, message in rows:
            if kept == MAX_PROBLEMS:
                break
            self._kept.append(_Ranked(table, row, position, code, PortfolioProblem(code, file, row, column, message)))
            kept += 1
        self.total += count

    def error(self) -> PortfolioInvalid | None:
        """The error holding the first problems in reading order, or None when there are none."""
        if self.total == 0:
            return None
        first = sorted(self._kept)[:MAX_PROBLEMS]
        return PortfolioInvalid(tuple(r.problem for r in first), total=self.total)

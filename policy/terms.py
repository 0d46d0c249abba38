"""Credit terms written the way credit managers write them: ``"3/10, 2/20, n/30"``.

``r/d`` is a cash discount of r percent for payment within d days of the invoice date (day d
included); ``n/N`` (or ``net N``) is the credit period: the full amount is due N days after the
invoice date. ``cash in advance`` (or ``CIA``) means no credit at all. A payment on day 15
under ``3/10, 2/20, n/30`` earns 2 %, on day 25 nothing, on day 35 it is 5 days overdue.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from policy.errors import ExpressionError

__all__ = [
    "MAX_CREDIT_DAYS",
    "TERMS_PROBLEM_CODES",
    "DiscountTier",
    "ParsedTerms",
    "TermsProblem",
    "parse_terms",
    "part_columns",
    "render_terms",
    "terms_problems",
]

MAX_CREDIT_DAYS = 3650  # the same bound as any other day count in the format


@dataclass(frozen=True)
class DiscountTier:
    rate: Decimal  # a fraction: 0.03 for "3/10"
    days: int


@dataclass(frozen=True)
class ParsedTerms:
    tiers: tuple[DiscountTier, ...]
    credit_days: int  # 0 with cash in advance
    cash_in_advance: bool = False


_CIA = re.compile(r"^\s*(cash\s+in\s+advance|cia)\s*$", re.IGNORECASE)
_TIER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(\d+)\s*$")
_NET = re.compile(r"^\s*(?:n\s*/\s*|net\s+)(\d+)\s*$", re.IGNORECASE)


def parse_terms(text: str) -> ParsedTerms:
    """Parse terms text; raise :class:`ExpressionError` (code ``terms_syntax``) with the column."""
    if _CIA.match(text):
        return ParsedTerms((), 0, True)
    parts = text.split(",")
    tiers: list[DiscountTier] = []
    offset = 0
    for index, part in enumerate(parts):
        col = offset + len(part) - len(part.lstrip()) + 1
        offset += len(part) + 1
        last = index == len(parts) - 1
        net = _NET.match(part)
        if net:
            if not last:
                raise ExpressionError("the net period 'n/N' must come last", col, "terms_syntax")
            return ParsedTerms(tuple(tiers), int(net.group(1)))
        tier = _TIER.match(part)
        if tier is None:
            what = part.strip() or "nothing"
            raise ExpressionError(
                f"expected a discount 'rate/days' (like 2/10) or the net period 'n/days', found {what!r}",
                col,
                "terms_syntax",
            )
        tiers.append(DiscountTier(Decimal(tier.group(1)) / 100, int(tier.group(2))))
    raise ExpressionError("the terms need a net period at the end, like 'n/30'", len(text) + 1, "terms_syntax")


def render_terms(terms: ParsedTerms) -> str:
    """Canonical text: ``3/10, 2/20, n/30``."""
    if terms.cash_in_advance:
        return "cash in advance"
    parts = [f"{(t.rate * 100).normalize():f}/{t.days}" for t in terms.tiers]
    return ", ".join([*parts, f"n/{terms.credit_days}"])


class _Tier(Protocol):
    @property
    def rate(self) -> Decimal: ...

    @property
    def days(self) -> int: ...


# Every code a TermsProblem carries (policy validation and settlement requests report them alike).
TERMS_PROBLEM_CODES: tuple[str, ...] = (
    "discount_rate_range",
    "discount_days_order",
    "discount_beyond_period",
    "discount_rate_order",
    "terms_period_range",
)


@dataclass(frozen=True)
class TermsProblem:
    """Terms that parse but make no sense, with the 1-based column of the part at fault."""

    column: int
    message: str
    code: str


def part_columns(text: str) -> list[int]:
    """1-based column where each comma-separated part of a terms text starts (as the parser counts)."""
    columns: list[int] = []
    offset = 0
    for part in text.split(","):
        columns.append(offset + len(part) - len(part.lstrip()) + 1)
        offset += len(part) + 1
    return columns


def _pct(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}"


def terms_problems(tiers: Sequence[_Tier], credit_days: int, text: str) -> list[TermsProblem]:
    """Every problem of parsed terms, discounts first, in the order they are written.

    Discounts get longer and poorer: days strictly increase, rates strictly decrease, each within
    0..100 % and within the credit period. Shared by policy validation and by terms given as text
    in a settlement request, so both refuse the same terms with the same codes.
    """
    columns = part_columns(text)
    problems: list[TermsProblem] = []
    for number, tier in enumerate(tiers):
        col, shown = columns[number], f"{_pct(tier.rate)}/{tier.days}"
        if not 0 < tier.rate < 1:
            message = f"the discount in '{shown}' must be above 0 % and below 100 %"
            problems.append(TermsProblem(col, message, "discount_rate_range"))
        if tier.days < 1:
            message = f"the discount in '{shown}' needs a period of at least 1 day"
            problems.append(TermsProblem(col, message, "discount_days_order"))
        if tier.days > credit_days:
            message = f"the discount period in '{shown}' ends after the credit period of {credit_days} days"
            problems.append(TermsProblem(col, message, "discount_beyond_period"))
        if number == 0:
            continue
        before = tiers[number - 1]
        if tier.days <= before.days:
            message = f"discount days must increase: {tier.days} days after {before.days} days"
            problems.append(TermsProblem(col, message, "discount_days_order"))
        if tier.rate >= before.rate:
            message = f"a later discount must be smaller: {_pct(tier.rate)} % after {_pct(before.rate)} %"
            problems.append(TermsProblem(col, message, "discount_rate_order"))
    if credit_days > MAX_CREDIT_DAYS:
        message = f"a credit period of {credit_days} days is longer than {MAX_CREDIT_DAYS} days"
        problems.append(TermsProblem(columns[-1], message, "terms_period_range"))
    return problems

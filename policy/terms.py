"""Credit terms written the way credit managers write them: ``"3/10, 2/20, n/30"``.

``r/d`` is a cash discount of r percent for payment within d days of the invoice date (day d
included); ``n/N`` (or ``net N``) is the credit period: the full amount is due N days after the
invoice date. ``cash in advance`` (or ``CIA``) means no credit at all. A payment on day 15
under ``3/10, 2/20, n/30`` earns 2 %, on day 25 nothing, on day 35 it is 5 days overdue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from policy.errors import ExpressionError

__all__ = ["DiscountTier", "ParsedTerms", "parse_terms", "render_terms"]


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

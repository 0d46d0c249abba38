"""Exact fixed-point arithmetic on Polars columns: Int128 integers that stand for decimals.

The per-decision engine computes with ``Decimal``; the vectorised evaluator computes the same
values as Int128 integers in a stated unit (cents for money, 10^-4 for the numbers a condition
compares) so that every sum, product, comparison and rounding is exact. Int128 holds ±1.7·10^38:
each caller states why its operands stay within it (validated inputs are below 10^14, policy
numbers below 10^18 with at most 18 decimals).

Polars cannot negate an Int128 column and ``min_horizontal``/``max_horizontal`` skip nulls, so
the helpers here spell those operations out.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal, localcontext
from typing import Final

import polars as pl

__all__ = [
    "CENTS",
    "FACT_SCALE",
    "I128",
    "ceil_scaled",
    "decimals",
    "digits",
    "floor_scaled",
    "from_cents",
    "from_units",
    "half_up_div",
    "int_lit",
    "negate",
    "scaled",
    "smallest",
    "largest",
]

I128: Final = pl.Int128()
CENTS: Final = 2  # money is held in cents
FACT_SCALE: Final = 4  # numbers compared by conditions: units of 10^-4, like engine.facts.FACT_QUANTUM


def decimals(value: Decimal) -> int:
    """Decimal places of ``value`` once trailing zeros are dropped (0 for integers)."""
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite: policy numbers are validated finite
    return max(0, -exponent)


def digits(value: int) -> int:
    """Significant decimal digits of an integer (0 has one)."""
    return len(str(abs(value)))


# Shifting a decimal point must never round: policy numbers have up to 36 digits.
_EXACT = Context(prec=200)


def _shift(value: Decimal, scale: int) -> Decimal:
    with localcontext(_EXACT):
        return value.scaleb(scale)


def scaled(value: Decimal, scale: int) -> int:
    """``value × 10^scale`` as an exact integer; ValueError when it is not one."""
    shifted = _shift(value, scale)
    if shifted != shifted.to_integral_value():
        raise ValueError(f"{value} has more than {scale} decimal places")
    return int(shifted)


def ceil_scaled(value: Decimal, scale: int) -> int:
    """The smallest integer ``n`` with ``n ≥ value × 10^scale`` (so ``x ≥ value`` ⟺ ``x_int ≥ n``)."""
    return int(_shift(value, scale).to_integral_value(rounding=ROUND_CEILING))


def floor_scaled(value: Decimal, scale: int) -> int:
    """The largest integer ``n`` with ``n ≤ value × 10^scale``."""
    return int(_shift(value, scale).to_integral_value(rounding=ROUND_FLOOR))


def int_lit(value: int) -> pl.Expr:
    """An Int128 literal (Python ints beyond 64 bits included)."""
    return pl.lit(value, dtype=I128)


def negate(expr: pl.Expr) -> pl.Expr:
    """``-expr`` for Int128 columns (Polars has no Int128 negation)."""
    return int_lit(0) - expr


def half_up_div(numerator: pl.Expr, denominator: int | pl.Expr) -> pl.Expr:
    """``numerator / denominator`` rounded half away from zero (Decimal's ROUND_HALF_UP); denominator > 0."""
    den = int_lit(denominator) if isinstance(denominator, int) else denominator
    magnitude = (numerator.abs() * 2 + den) // (den * 2)
    return pl.when(numerator < 0).then(negate(magnitude)).otherwise(magnitude)


def smallest(exprs: Sequence[pl.Expr]) -> pl.Expr:
    """The minimum of non-null operands (callers pass no nulls: ``min_horizontal`` would skip them)."""
    return exprs[0] if len(exprs) == 1 else pl.min_horizontal(*exprs)


def largest(exprs: Sequence[pl.Expr]) -> pl.Expr:
    """The maximum of non-null operands (see :func:`smallest`)."""
    return exprs[0] if len(exprs) == 1 else pl.max_horizontal(*exprs)


def from_cents(expr: pl.Expr) -> pl.Expr:
    """Int128 cents → ``Decimal(38, 2)``, the money type of the frames."""
    return from_units(expr, CENTS)


def from_units(expr: pl.Expr, scale: int) -> pl.Expr:
    """Int128 units of 10^-scale → ``Decimal(38, scale)`` (exact: a multiplication by 10^-scale)."""
    return expr.cast(pl.Decimal(38, 0)) * pl.lit(Decimal(1).scaleb(-scale), dtype=pl.Decimal(38, scale))

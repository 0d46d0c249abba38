"""Parsing and checking one column's values, as Polars expressions over the whole column.

Each column gets a :class:`ColumnPlan`: the expression that turns what the file holds into the
contract type, and the checks that find bad values. Nothing here loops over rows: a check is a
boolean expression, and only the rows it flags (at most a few hundred) are turned into messages.

Exactness: a number written as text is validated as text (digits, at most 2 or 4 decimals once
trailing zeros are dropped, at most 14 digits before the point) and only then cast to a decimal
type, so ``12.345`` is refused instead of silently becoming ``12.34``, and no value ever passes
through a float. Parquet decimal and integer columns take the same path through their exact text.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from engine.portfolio.schema import MAX_TERMS_LENGTH, MAX_TEXT_LENGTH, ColumnKind, ColumnSpec
from policy.fields import SEGMENTS

__all__ = ["ColumnPlan", "ValueCheck", "given", "plan_column", "source_problem", "text_name"]

# 10^14 has 15 digits: a value below it has at most 14 digits before the decimal point.
_MAX_INTEGER_DIGITS = 14
_NUMBER = r"^[+-]?(?:\d+\.?\d*|\.\d+)$"
_INTEGER = r"^[+-]?\d+$"
_DATE = r"^\d{4}-\d{2}-\d{2}$"
_CURRENCY = r"^[A-Z]{3}$"
_TRUE = ("true", "1")
_FALSE = ("false", "0")
_INTEGER_TYPES = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)
_TEXT_TYPES = (pl.String, pl.Categorical, pl.Enum)


def text_name(column: str) -> str:
    """Name of the helper column holding a column's value as text (quoted by messages)."""
    return f"__text__{column}"


def given(column: str) -> pl.Expr:
    """True where the file gives a value in ``column`` (valid or not)."""
    return pl.col(text_name(column)).is_not_null()


@dataclass(frozen=True)
class ValueCheck:
    """Rows where ``failing`` holds have the problem ``code``; the message quotes ``shown``."""

    code: str
    failing: pl.Expr
    message: Callable[[str | None], str]
    shown: pl.Expr


@dataclass(frozen=True)
class ColumnPlan:
    """How one column becomes its contract type: ``text`` (the value as text) then ``typed``."""

    spec: ColumnSpec
    text: pl.Expr
    typed: pl.Expr
    checks: tuple[ValueCheck, ...]


def _quote(value: str | None) -> str:
    if value is None:
        return "an empty value"
    shown = value if len(value) <= 40 else value[:40] + "…"
    return repr(shown)


def source_problem(kind: ColumnKind, dtype: pl.DataType) -> tuple[str, str] | None:
    """(code, message) when a Parquet column's type cannot hold the kind, None when it can."""
    if dtype == pl.Null or isinstance(dtype, _TEXT_TYPES):
        return None
    if kind.scale is not None:
        if isinstance(dtype, (pl.Decimal, *_INTEGER_TYPES)):
            return None
        if isinstance(dtype, (pl.Float32, pl.Float64)):
            return (
                "float_column",
                f"a float column ({dtype}) cannot hold amounts exactly; write it as a decimal column "
                f"(Polars pl.Decimal(38, {kind.scale}), pyarrow pa.decimal128(38, {kind.scale})) "
                "or as text such as '1234.50'",
            )
    elif kind is ColumnKind.COUNT:
        if isinstance(dtype, _INTEGER_TYPES):
            return None
    elif kind is ColumnKind.BOOL:
        if dtype == pl.Boolean:
            return None
    elif kind is ColumnKind.DATE:
        if dtype == pl.Date:
            return None
    elif isinstance(dtype, _INTEGER_TYPES):
        return None  # ids written as numbers are read as their digits
    return "wrong_type", f"a {dtype} column cannot hold {_WANTED[kind]}; write {_HOW[kind]}"


# What a wrong_type message says a column holds and how to write it (text for the text kinds).
_WANTED = dict.fromkeys(ColumnKind, "text") | {
    ColumnKind.COUNT: "whole numbers",
    ColumnKind.BOOL: "true/false values",
    ColumnKind.DATE: "dates",
}
_HOW = dict.fromkeys(ColumnKind, "a text column") | {
    ColumnKind.COUNT: "an integer column (pandas: dtype 'Int64', which keeps missing values) or text digits",
    ColumnKind.BOOL: "a boolean column or the text true/false",
    ColumnKind.DATE: "a date column (pyarrow pa.date32(), Polars pl.Date) or text YYYY-MM-DD",
}


def _as_text(source: pl.Expr, kind: ColumnKind) -> pl.Expr:
    """The value as text; an empty text (or only spaces) is no value, as an empty CSV field is."""
    text = source.cast(pl.String)
    trimmed = text.str.strip_chars()
    kept = text if kind in (ColumnKind.ID, ColumnKind.TEXT, ColumnKind.TERMS) else trimmed
    return pl.when(trimmed.str.len_bytes() == 0).then(None).otherwise(kept)


def plan_column(spec: ColumnSpec, source: pl.Expr, dtype: pl.DataType) -> ColumnPlan:
    """The plan of a column the file has; ``dtype`` is its stored type (String for CSV)."""
    native = _native(spec.kind, dtype)
    if native:
        # Already the contract's type (a Parquet date, boolean, integer count or decimal of the
        # right scale): nothing to parse, only the nulls and the range to check.
        text = source
    else:
        text = _as_text(source, spec.kind)
    t = pl.col(text_name(spec.name))
    checks: list[ValueCheck] = []
    if not spec.nullable:
        checks.append(ValueCheck("missing_value", t.is_null(), lambda _v: "a value is required", t))
    kind = spec.kind
    if native:
        typed, value_checks = _native_typed(spec, t)
    elif kind.scale is not None:
        typed, value_checks = _decimal(spec, t)
    elif kind is ColumnKind.COUNT:
        typed, value_checks = _count(spec, t)
    elif kind is ColumnKind.BOOL:
        typed, value_checks = _bool(spec, t)
    elif kind is ColumnKind.DATE:
        typed, value_checks = _date(spec, t)
    else:
        typed, value_checks = _text(spec, t)
    checks.extend(value_checks)
    return ColumnPlan(spec, text.alias(text_name(spec.name)), typed.alias(spec.name), tuple(checks))


def _native(kind: ColumnKind, dtype: pl.DataType) -> bool:
    if kind.scale is not None:
        return isinstance(dtype, pl.Decimal) and dtype.scale == kind.scale
    if kind is ColumnKind.COUNT:
        return isinstance(dtype, _INTEGER_TYPES)
    if kind is ColumnKind.BOOL:
        return dtype == pl.Boolean
    if kind is ColumnKind.DATE:
        return dtype == pl.Date
    return False


def _native_typed(spec: ColumnSpec, t: pl.Expr) -> tuple[pl.Expr, list[ValueCheck]]:
    if spec.kind.bounds is None:
        return t.cast(spec.dtype), []
    if spec.kind is ColumnKind.COUNT:
        # Compared before the cast: a UInt64 above the Int64 range must be reported, not wrap.
        inside = t.is_between(0, int(spec.kind.bounds[2] or 0))
        check = ValueCheck(
            "out_of_range",
            t.is_not_null() & ~inside,
            lambda v: f"{_quote(v)} is out of range: {spec.kind.describe_range}",
            t.cast(pl.String),
        )
        return pl.when(inside).then(t).otherwise(None).cast(pl.Int64), [check]
    return t.cast(spec.dtype), [_bounds_check(spec, pl.col(spec.name), t.cast(pl.String))]


def _decimal(spec: ColumnSpec, t: pl.Expr) -> tuple[pl.Expr, list[ValueCheck]]:
    kind = spec.kind
    scale = kind.scale
    assert scale is not None
    number = t.str.contains(_NUMBER)
    sign = t.str.extract(r"^([+-]?)", 1)
    whole = t.str.extract(r"^[+-]?(\d*)", 1).str.strip_chars_start("0")
    fraction = t.str.extract(r"\.(\d*)$", 1).fill_null("").str.strip_chars_end("0")
    too_precise = number & (fraction.str.len_bytes() > scale)
    too_large = number & (whole.str.len_bytes() > _MAX_INTEGER_DIGITS)
    exact = number & ~too_precise & ~too_large
    canonical = pl.concat_str(
        sign,
        pl.when(whole.str.len_bytes() == 0).then(pl.lit("0")).otherwise(whole),
        pl.lit("."),
        pl.when(fraction.str.len_bytes() == 0).then(pl.lit("0")).otherwise(fraction),
    )
    typed = pl.when(exact).then(canonical).otherwise(None).cast(kind.dtype)
    precision_code = "money_precision" if scale == 2 else "number_precision"
    what = "an amount" if scale == 2 else "a number"
    checks = [
        ValueCheck("not_a_number", t.is_not_null() & ~number, lambda v: f"{_quote(v)} is not a number", t),
        ValueCheck(
            precision_code,
            too_precise,
            lambda v: f"{_quote(v)} has more than {scale} decimal places; {what} here has at most {scale}",
            t,
        ),
        ValueCheck("out_of_range", too_large, lambda v: f"{_quote(v)} is out of range: {kind.describe_range}", t),
        _bounds_check(spec, pl.col(spec.name), t),
    ]
    return typed, checks


def _bounds_check(spec: ColumnSpec, value: pl.Expr, shown: pl.Expr) -> ValueCheck:
    bounds = spec.kind.bounds
    assert bounds is not None
    low, low_included, high, high_included = bounds
    outside = pl.lit(False)
    if low is not None:
        outside = outside | ((value < _lit(low, spec)) if low_included else (value <= _lit(low, spec)))
    if high is not None:
        outside = outside | ((value > _lit(high, spec)) if high_included else (value >= _lit(high, spec)))
    kind = spec.kind
    return ValueCheck(
        "out_of_range",
        value.is_not_null() & outside,
        lambda v: f"{_quote(v)} is out of range: {kind.describe_range}",
        shown,
    )


def _lit(bound: Decimal, spec: ColumnSpec) -> pl.Expr:
    if spec.kind is ColumnKind.COUNT:
        return pl.lit(int(bound), dtype=pl.Int64)
    scale = spec.kind.scale
    assert scale is not None
    return pl.lit(bound, dtype=pl.Decimal(38, scale))


def _count(spec: ColumnSpec, t: pl.Expr) -> tuple[pl.Expr, list[ValueCheck]]:
    integer = t.str.contains(_INTEGER)
    digits = t.str.extract(r"^[+-]?(\d+)$", 1).str.strip_chars_start("0")
    too_large = integer & (digits.str.len_bytes() > 7)
    typed = pl.when(integer & ~too_large).then(t).otherwise(None).cast(pl.Int64)
    kind = spec.kind
    checks = [
        ValueCheck("not_an_integer", t.is_not_null() & ~integer, lambda v: f"{_quote(v)} is not a whole number", t),
        ValueCheck("out_of_range", too_large, lambda v: f"{_quote(v)} is out of range: {kind.describe_range}", t),
        _bounds_check(spec, pl.col(spec.name), t),
    ]
    return typed, checks


def _bool(spec: ColumnSpec, t: pl.Expr) -> tuple[pl.Expr, list[ValueCheck]]:
    lower = t.str.to_lowercase()
    typed = pl.when(lower.is_in(_TRUE)).then(True).when(lower.is_in(_FALSE)).then(False).otherwise(None)
    check = ValueCheck(
        "not_a_boolean",
        t.is_not_null() & pl.col(spec.name).is_null(),
        lambda v: f"{_quote(v)} is not a boolean; write true or false",
        t,
    )
    return typed.cast(pl.Boolean), [check]


def _date(spec: ColumnSpec, t: pl.Expr) -> tuple[pl.Expr, list[ValueCheck]]:
    parsed = pl.when(t.str.contains(_DATE)).then(t.str.to_date("%Y-%m-%d", strict=False)).otherwise(None)
    check = ValueCheck(
        "not_a_date",
        t.is_not_null() & pl.col(spec.name).is_null(),
        lambda v: f"{_quote(v)} is not a date written YYYY-MM-DD (like 2026-06-30)",
        t,
    )
    return parsed, [check]


def _text(spec: ColumnSpec, t: pl.Expr) -> tuple[pl.Expr, list[ValueCheck]]:
    kind = spec.kind
    limit = MAX_TERMS_LENGTH if kind is ColumnKind.TERMS else MAX_TEXT_LENGTH
    checks = [
        ValueCheck(
            "text_too_long",
            t.str.len_chars() > limit,
            lambda v: f"{_quote(v)} is longer than {limit} characters",
            t,
        )
    ]
    if kind is ColumnKind.SEGMENT:
        checks.append(ValueCheck("unknown_segment", t.is_not_null() & ~t.is_in(SEGMENTS), _segment_message, t))
    if kind is ColumnKind.CURRENCY:
        checks.append(
            ValueCheck(
                "currency_format",
                t.is_not_null() & ~t.str.contains(_CURRENCY),
                lambda v: f"{_quote(v)} is not a currency: write the 3-letter ISO code in capitals, like CNY or EUR",
                t,
            )
        )
    return t, checks


def _segment_message(value: str | None) -> str:
    close = difflib.get_close_matches(value or "", SEGMENTS, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"unknown segment {_quote(value)} ({hint}known: {', '.join(SEGMENTS)}; leave it empty to derive it)"

"""The input frames of the vectorised evaluator: their columns, their checks, and their requests.

One row of a frame is one decision request. Columns are named by the request's dotted paths
(``financials.net_assets``, ``order.amount``, ``arrears.days_overdue``); every column but the
required ones may be left out, and a null is an absent value, exactly like a key left out of the
request. Money is ``Decimal(38, 2)``, rates and numbers ``Decimal(38, 4)``, counts ``Int64``,
dates ``Date`` (see :data:`SPECS` for every column of every kind):

- customers (assess): ``id``, ``segment``, the credit file by its paths (``financials.*``,
  ``payment.*``, ``records.*``, ``outlook.*``, ``trade.*``), any ``ratings.<name>`` (Utf8), and
  optionally ``portfolio.allocated``; the assessment date is an argument, not a column;
- orders: ``customer.id|segment|grade|limit|blacklisted``, ``order.id|amount|currency``,
  ``exposure.*``, ``as_of`` (grade and limit given: no inline credit file);
- arrears (collection): ``customer.id|segment|grade``, ``arrears.amount|days_overdue``,
  ``arrears.steps_taken`` as ``List(Struct{step: Utf8, on: Date})``,
  ``arrears.arbitration_agreement|disputed``, ``as_of``;
- invoices (settlement): ``invoice.id|amount|date|currency``, ``terms.text`` or ``terms.grade``,
  at most one payment as ``payment.date`` and ``payment.amount`` (both null: no payment), ``as_of``.

Rows are checked like the request models check a request (``engine.models``): a row the model
would refuse gets the error code ``invalid_request`` and no decision, as ``engine.decide`` would
raise ``InputInvalid``. A frame whose *columns* break the contract (a money column in floats, a
missing required column) is refused as a whole with :class:`FrameError`.

:func:`requests_of` turns rows into the request payloads ``engine.decide.decide`` takes, and
:func:`frame_of` turns payloads into a frame: the correspondence the differential tests rely on.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Literal

import polars as pl

from engine.errors import FrameError
from engine.models import MAX_AMOUNT
from policy.fields import SEGMENTS
from policy.schema import LADDER_STEPS

__all__ = [
    "ColumnSpec",
    "FIRST_DAY",
    "FrameError",
    "LAST_DAY",
    "Kind",
    "RATING_PREFIX",
    "SPECS",
    "STEPS_TAKEN_DTYPE",
    "column",
    "complete",
    "frame_of",
    "normalise",
    "rating_columns",
    "requests_of",
    "row_problem",
    "value",
]

Kind = Literal["assess", "order", "collection", "settlement"]
Check = Literal[
    "id",
    "optional_id",
    "grade",
    "segment",
    "money",
    "signed_money",
    "ratio",
    "number",
    "count",
    "days",
    "text64",
    "currency",
    "terms_text",
    "bool",
    "date",
    "positive_money",
    "steps_taken",
]

MONEY: Final = pl.Decimal(38, 2)
NUMBER: Final = pl.Decimal(38, 4)
STEPS_TAKEN_DTYPE: Final = pl.List(pl.Struct({"step": pl.String, "on": pl.Date}))
RATING_PREFIX: Final = "ratings."
_RATING_NAME: Final = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_MAX_RATINGS: Final = 50
_MAX_STEPS_TAKEN: Final = 20
_MAX_COUNT: Final = 1_000_000
_MAX_DAYS: Final = 36_500
_LIMIT: Final = int(MAX_AMOUNT)
# Python's calendar, as days since 1970-01-01 (Polars dates reach far beyond it).
FIRST_DAY: Final = (dt.date.min - dt.date(1970, 1, 1)).days
LAST_DAY: Final = (dt.date.max - dt.date(1970, 1, 1)).days


@dataclass(frozen=True)
class ColumnSpec:
    """One input column: its name (the request path), type, check, and the default of an absent value."""

    name: str
    dtype: pl.DataType
    check: Check
    required: bool = False  # the column must exist (its values may still be null: then the row is invalid)
    default: Any = None  # what the request model assumes when the value is absent


def _specs(*rows: ColumnSpec) -> dict[str, ColumnSpec]:
    return {r.name: r for r in rows}


_MONEY_FIELDS = (
    "current_assets",
    "current_liabilities",
    "total_assets",
    "revenue",
    "liquidation_value",
    "fixed_assets",
    "paid_in_capital",
)
_SIGNED_FIELDS = ("net_assets", "net_profit", "operating_cash_flow")

SPECS: dict[Kind, dict[str, ColumnSpec]] = {
    "assess": _specs(
        ColumnSpec("id", pl.String(), "id", required=True),
        ColumnSpec("segment", pl.String(), "segment", default="ordinary"),
        ColumnSpec("portfolio.allocated", MONEY, "money", default=Decimal("0.00")),
        *(ColumnSpec(f"financials.{f}", MONEY, "money") for f in _MONEY_FIELDS),
        *(ColumnSpec(f"financials.{f}", MONEY, "signed_money") for f in _SIGNED_FIELDS),
        ColumnSpec("payment.on_time_ratio", NUMBER, "ratio"),
        ColumnSpec("payment.avg_days_late", NUMBER, "number"),
        ColumnSpec("payment.max_days_late", pl.Int64(), "count"),
        ColumnSpec("payment.defaults_3y", pl.Int64(), "count"),
        ColumnSpec("payment.bounced_cheques", pl.Int64(), "count"),
        ColumnSpec("records.years_in_business", NUMBER, "number"),
        ColumnSpec("records.litigation_count", pl.Int64(), "count"),
        ColumnSpec("records.bank_record", pl.String(), "text64"),
        ColumnSpec("records.owns_premises", pl.Boolean(), "bool"),
        ColumnSpec("outlook.expected_dso_days", NUMBER, "number"),
        ColumnSpec("outlook.expected_bad_debt_rate", NUMBER, "ratio"),
        ColumnSpec("trade.collateral_value", MONEY, "money"),
        ColumnSpec("trade.has_guarantee", pl.Boolean(), "bool"),
    ),
    "order": _specs(
        ColumnSpec("customer.id", pl.String(), "id", required=True),
        ColumnSpec("customer.segment", pl.String(), "segment", default="ordinary"),
        ColumnSpec("customer.grade", pl.String(), "grade", required=True),
        ColumnSpec("customer.limit", MONEY, "money", required=True),
        ColumnSpec("customer.blacklisted", pl.Boolean(), "bool", default=False),
        ColumnSpec("order.id", pl.String(), "id", required=True),
        ColumnSpec("order.amount", MONEY, "money", required=True),
        ColumnSpec("order.currency", pl.String(), "currency", required=True),
        ColumnSpec("exposure.open_receivables", MONEY, "money", default=Decimal("0.00")),
        ColumnSpec("exposure.open_orders", MONEY, "money", default=Decimal("0.00")),
        ColumnSpec("exposure.overdue_amount", MONEY, "money", default=Decimal("0.00")),
        ColumnSpec("exposure.oldest_overdue_days", pl.Int64(), "days", default=0),
        ColumnSpec("as_of", pl.Date(), "date", required=True),
    ),
    "collection": _specs(
        ColumnSpec("customer.id", pl.String(), "id", required=True),
        ColumnSpec("customer.segment", pl.String(), "segment", required=True),
        ColumnSpec("customer.grade", pl.String(), "grade", required=True),
        ColumnSpec("arrears.amount", MONEY, "money", required=True),
        ColumnSpec("arrears.days_overdue", pl.Int64(), "days", required=True),
        ColumnSpec("arrears.steps_taken", STEPS_TAKEN_DTYPE, "steps_taken", default=()),
        ColumnSpec("arrears.arbitration_agreement", pl.Boolean(), "bool", default=False),
        ColumnSpec("arrears.disputed", pl.Boolean(), "bool", default=False),
        ColumnSpec("as_of", pl.Date(), "date", required=True),
    ),
    "settlement": _specs(
        ColumnSpec("invoice.id", pl.String(), "optional_id"),
        ColumnSpec("invoice.amount", MONEY, "money", required=True),
        ColumnSpec("invoice.date", pl.Date(), "date", required=True),
        ColumnSpec("invoice.currency", pl.String(), "currency"),
        ColumnSpec("terms.text", pl.String(), "terms_text"),
        ColumnSpec("terms.grade", pl.String(), "grade"),
        ColumnSpec("payment.date", pl.Date(), "date"),
        ColumnSpec("payment.amount", MONEY, "positive_money"),
        ColumnSpec("as_of", pl.Date(), "date", required=True),
    ),
}
# Values a request model refuses when they are absent (required fields), by kind.
_REQUIRED_VALUES: dict[Kind, frozenset[str]] = {
    "assess": frozenset({"id"}),
    "order": frozenset(SPECS["order"])
    - {"customer.segment", "customer.blacklisted"}
    - {n for n in SPECS["order"] if n.startswith("exposure.")},
    "collection": frozenset(SPECS["collection"])
    - {
        "arrears.steps_taken",
        "arrears.arbitration_agreement",
        "arrears.disputed",
    },
    "settlement": frozenset({"invoice.amount", "invoice.date", "as_of"}),
}


def rating_columns(frame: pl.DataFrame) -> list[str]:
    """The ``ratings.<name>`` columns of a customers frame, in frame order."""
    return [c for c in frame.columns if c.startswith(RATING_PREFIX)]


# --- normalising column types ---------------------------------------------------------------
def _cast(frame: pl.DataFrame, name: str, target: pl.DataType) -> pl.Series:
    series = frame[name]
    source = series.dtype
    if source == target:
        return series
    if source == pl.Null:
        return series.cast(target)
    if isinstance(target, pl.Decimal):
        if isinstance(source, pl.Decimal) and (source.scale or 0) <= (target.scale or 0):
            return series.cast(target)
        if source.is_integer():
            return series.cast(target, strict=True)
    elif target == pl.Int64 and source.is_integer():
        return series.cast(target, strict=True)
    elif target == pl.String and isinstance(source, pl.Categorical | pl.Enum):
        return series.cast(target)
    raise FrameError(f"column {name!r} is {source}, the contract says {target}")


def normalise(kind: Kind, frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with every contract column in its contract type; refuses frames that cannot be made so."""
    specs = SPECS[kind]
    missing = [s.name for s in specs.values() if s.required and s.name not in frame.columns]
    if missing:
        raise FrameError(f"the {kind} frame has no column {', '.join(map(repr, missing))}")
    casts = [_cast(frame, name, spec.dtype).alias(name) for name, spec in specs.items() if name in frame.columns]
    if kind == "assess":
        casts += [_cast(frame, name, pl.String()).alias(name) for name in rating_columns(frame)]
    return frame.with_columns(casts) if casts else frame


def complete(kind: Kind, frame: pl.DataFrame, strings: Sequence[str] = ()) -> pl.DataFrame:
    """The frame with every contract column it leaves out (and each of ``strings``) added as nulls.

    Expressions of the evaluator are built once per policy and name their columns; a column left
    out of a frame means a value absent from every request.
    """
    missing = [pl.lit(None, dtype=s.dtype).alias(n) for n, s in SPECS[kind].items() if n not in frame.columns]
    missing += [pl.lit(None, dtype=pl.String()).alias(n) for n in strings if n not in frame.columns]
    return frame.with_columns(missing) if missing else frame


def column(name: str) -> pl.Expr:
    """A column of a :func:`complete` frame."""
    return pl.col(name)


def value(kind: Kind, name: str) -> pl.Expr:
    """A contract column with the request model's default in place of an absent value."""
    spec = SPECS[kind][name]
    expr = pl.col(name)
    if spec.default is None:
        return expr
    if spec.check == "steps_taken":
        return expr.fill_null(pl.lit([], dtype=STEPS_TAKEN_DTYPE))
    return expr.fill_null(pl.lit(spec.default, dtype=spec.dtype))


# --- row checks -----------------------------------------------------------------------------
def _length_between(expr: pl.Expr, low: int, high: int) -> pl.Expr:
    n = expr.str.len_chars()
    return (n >= low) & (n <= high)


def _decimal_within(expr: pl.Expr, low: Decimal | None, high: Decimal, *, inclusive_high: bool) -> pl.Expr:
    above = expr >= pl.lit(low) if low is not None else pl.lit(True)
    below = expr <= pl.lit(high) if inclusive_high else expr < pl.lit(high)
    return above & below


def _date_in_calendar(expr: pl.Expr) -> pl.Expr:
    days = expr.cast(pl.Int32)
    return (days >= FIRST_DAY) & (days <= LAST_DAY)


def _ok(spec: ColumnSpec, expr: pl.Expr) -> tuple[pl.Expr, str]:
    """Whether a present value passes the model's check, and what the model says when it does not."""
    limit = Decimal(_LIMIT)
    match spec.check:
        case "id" | "optional_id":
            return _length_between(expr, 1, 64), "must be 1 to 64 characters"
        case "grade":
            return _length_between(expr, 1, 16), "must be 1 to 16 characters"
        case "text64":
            return _length_between(expr, 1, 64), "must be 1 to 64 characters"
        case "terms_text":
            return _length_between(expr, 1, 200), "must be 1 to 200 characters"
        case "segment":
            return expr.is_in(list(SEGMENTS)), f"must be one of {', '.join(SEGMENTS)}"
        case "currency":
            return expr.str.contains(r"^[A-Z]{3}$"), "must be a 3-letter currency code"
        case "money":
            return _decimal_within(expr, Decimal(0), limit, inclusive_high=False), "must be 0 to 10^14"
        case "positive_money":
            return _decimal_within(expr, Decimal("0.01"), limit, inclusive_high=False), "must be above 0, below 10^14"
        case "signed_money" | "number":
            return _decimal_within(expr, -limit, limit, inclusive_high=False) & (expr != pl.lit(-limit)), (
                "must be a finite number of sensible size"
            )
        case "ratio":
            return _decimal_within(expr, Decimal(0), Decimal(1), inclusive_high=True), "must be between 0 and 1"
        case "count":
            return (expr >= 0) & (expr <= _MAX_COUNT), f"must be 0 to {_MAX_COUNT}"
        case "days":
            return (expr >= 0) & (expr <= _MAX_DAYS), f"must be 0 to {_MAX_DAYS}"
        case "date":
            return _date_in_calendar(expr), "must be a date of years 1 to 9999"
        case "bool":
            return pl.lit(True), ""
        case "steps_taken":
            steps_ok = expr.list.eval(
                pl.element().struct.field("step").is_in(list(LADDER_STEPS)).fill_null(False)
                & _date_in_calendar(pl.element().struct.field("on")).fill_null(True)
            ).list.all()
            return (expr.list.len() <= _MAX_STEPS_TAKEN) & steps_ok, (
                f"at most {_MAX_STEPS_TAKEN} steps, each one of {', '.join(LADDER_STEPS)}"
            )
    raise AssertionError(spec.check)  # pragma: no cover - every check is handled above


def _pointer(name: str) -> str:
    return "/" + name.replace(".", "/")


def row_problem(kind: Kind, ratings: Sequence[str] = ()) -> pl.Expr:
    """The first problem the request model would find in each row (null: the row is a valid request).

    ``ratings`` are the ``ratings.<name>`` columns of a customers frame.
    """
    problems: list[pl.Expr] = []
    required = _REQUIRED_VALUES[kind]
    for name, spec in SPECS[kind].items():
        expr = pl.col(name)
        if name in required:
            problems.append(pl.when(expr.is_null()).then(pl.lit(f"{_pointer(name)}: field required")))
        ok, message = _ok(spec, expr)
        problems.append(pl.when(expr.is_not_null() & ~ok.fill_null(False)).then(pl.lit(f"{_pointer(name)}: {message}")))
    if kind == "assess":
        problems += _rating_problems(ratings)
    if kind == "settlement":
        text, grade = pl.col("terms.text"), pl.col("terms.grade")
        one_of = "/terms: give exactly one of terms.text or terms.grade"
        problems.append(pl.when(text.is_null() == grade.is_null()).then(pl.lit(one_of)))
        paid_on, paid = pl.col("payment.date"), pl.col("payment.amount")
        both = "/payments/0: a payment needs a date and an amount"
        problems.append(pl.when(paid_on.is_null() != paid.is_null()).then(pl.lit(both)))
    return pl.coalesce(problems) if problems else pl.lit(None, dtype=pl.String)


def _rating_problems(names: Sequence[str]) -> list[pl.Expr]:
    problems: list[pl.Expr] = []
    for name in names:
        rating = name.removeprefix(RATING_PREFIX)
        expr = pl.col(name)
        if not _RATING_NAME.match(rating):
            problems.append(pl.when(expr.is_not_null()).then(pl.lit(f"/credit_file/ratings/{rating}: bad rating name")))
        else:
            too_long = expr.str.len_chars() > 64
            problems.append(pl.when(too_long).then(pl.lit(f"/credit_file/ratings/{rating}: at most 64 characters")))
    if len(names) > _MAX_RATINGS:
        given = pl.sum_horizontal([pl.col(n).is_not_null().cast(pl.Int32) for n in names])
        problems.append(pl.when(given > _MAX_RATINGS).then(pl.lit("/credit_file/ratings: at most 50 ratings")))
    return problems


# --- rows as requests, requests as rows -----------------------------------------------------
_SECTIONS = ("financials", "payment", "records", "outlook", "trade")


def _set(target: dict[str, Any], path: Sequence[str], item: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = item


def requests_of(kind: Kind, frame: pl.DataFrame, *, as_of: dt.date | None = None) -> list[dict[str, Any]]:
    """The request payload of each row (``engine.decide.decide`` input); absent values are left out.

    ``as_of`` is the assessment date of a customers frame (its rows carry none).
    """
    frame = normalise(kind, frame)
    rows = frame.iter_rows(named=True)
    if kind == "assess":
        if as_of is None:
            raise ValueError("a customers frame needs as_of")
        ratings = rating_columns(frame)
        return [_assess_request(row, ratings, as_of) for row in rows]
    names = [n for n in SPECS[kind] if n in frame.columns]
    out = []
    for row in rows:
        payload: dict[str, Any] = {}
        for name in names:
            item = row[name]
            if item is None:
                continue
            if name == "arrears.steps_taken":
                item = [{k: v for k, v in step.items() if v is not None} for step in item]
            if kind == "settlement" and name.startswith("payment."):
                continue
            _set(payload, name.split("."), item)
        if kind == "settlement":
            payload.setdefault("payments", [])
            if row.get("payment.date") is not None or row.get("payment.amount") is not None:
                payload["payments"] = [{"date": row.get("payment.date"), "amount": row.get("payment.amount")}]
        out.append(payload)
    return out


def _assess_request(row: Mapping[str, Any], ratings: Iterable[str], as_of: dt.date) -> dict[str, Any]:
    customer: dict[str, Any] = {"id": row["id"]}
    if row.get("segment") is not None:
        customer["segment"] = row["segment"]
    credit_file: dict[str, Any] = {}
    for name, spec in SPECS["assess"].items():
        section = name.split(".")[0]
        if section in _SECTIONS and row.get(name) is not None:
            _set(credit_file, name.split("."), row[name])
        del spec
    rated = {n.removeprefix(RATING_PREFIX): row[n] for n in ratings if row[n] is not None}
    if rated:
        credit_file["ratings"] = rated
    payload: dict[str, Any] = {"customer": customer, "credit_file": credit_file, "as_of": as_of}
    if row.get("portfolio.allocated") is not None:
        payload["portfolio"] = {"allocated": row["portfolio.allocated"]}
    return payload


def _flatten(prefix: str, data: Mapping[str, Any], out: dict[str, Any]) -> None:
    for key, item in data.items():
        path = f"{prefix}.{key}" if prefix else key
        # A dict first: the Mapping check (an ABC) costs more than the rest of the walk.
        if (type(item) is dict or isinstance(item, Mapping)) and path != "credit_file.ratings":
            _flatten(path, item, out)
        else:
            out[path] = item


def frame_of(kind: Kind, payloads: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """A frame with one row per request payload (the inverse of :func:`requests_of`).

    Only what the frame contract can hold is accepted: an order with an inline credit file, or a
    settlement with more than one payment, raises :class:`FrameError`.
    """
    specs = SPECS[kind]
    rows: list[dict[str, Any]] = []
    extra: dict[str, pl.DataType] = {}
    for payload in payloads:
        flat: dict[str, Any] = {}
        _flatten("", payload, flat)
        row: dict[str, Any] = {}
        for path, item in flat.items():
            name = _column_name(kind, path, item, row)
            if name is None:
                continue
            if name not in specs:
                if not name.startswith(RATING_PREFIX):
                    raise FrameError(f"{path} has no column in the {kind} frame contract")
                extra[name] = pl.String()
            row[name] = item
        if kind == "assess":  # the ratings of a credit file, put in the row by _column_name
            extra |= {name: pl.String() for name in row if name.startswith(RATING_PREFIX)}
        rows.append(row)
    schema: dict[str, pl.DataType] = {name: spec.dtype for name, spec in specs.items()}
    schema.update(extra)
    # Rows put their values in place (a row holds a few of the columns), then each column is typed
    # by one converter chosen once: comparing Polars types per value costs more than the rest.
    columns: dict[str, list[Any]] = {name: [None] * len(rows) for name in schema}
    for index, row in enumerate(rows):
        for name, item in row.items():
            columns[name][index] = item
    for name, dtype in schema.items():
        convert = _converter(dtype)
        if convert is not None:
            columns[name] = [None if v is None else convert(v) for v in columns[name]]
    return pl.DataFrame(columns, schema=schema)


def _column_name(kind: Kind, path: str, item: Any, row: dict[str, Any]) -> str | None:
    if kind == "assess":
        if path in ("customer.id", "customer.segment"):
            return path.removeprefix("customer.")
        if path == "as_of":
            return None  # an assessment date is an argument of the evaluation, not a column
        if path == "credit_file.ratings":
            for rating, text in dict(item).items():
                row[f"{RATING_PREFIX}{rating}"] = text
            return None
        return path.removeprefix("credit_file.")
    if kind == "order" and path.startswith("customer.credit_file"):
        raise FrameError("an order frame holds grade and limit, not a credit file to assess inline")
    if kind == "settlement" and path == "payments":
        payments = list(item)
        if len(payments) > 1:
            raise FrameError("a settlement frame holds at most one payment per invoice")
        for payment in payments:
            row["payment.date"] = payment.get("date")
            row["payment.amount"] = payment.get("amount")
        return None
    return path


def _converter(dtype: pl.DataType) -> Callable[[Any], Any] | None:
    """How a present value of a column of ``dtype`` is typed (None: kept as it is)."""
    if isinstance(dtype, pl.Decimal):
        return _decimal
    if dtype == pl.Date:
        return _date
    if dtype == STEPS_TAKEN_DTYPE:
        return _steps
    return None


def _decimal(item: Any) -> Decimal:
    return Decimal(str(item))


def _steps(item: Any) -> list[dict[str, Any]]:
    return [{"step": s.get("step"), "on": _date(s.get("on"))} for s in item]


def _date(item: Any) -> Any:
    return dt.date.fromisoformat(item) if isinstance(item, str) else item

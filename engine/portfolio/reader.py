"""Reading a portfolio folder into typed Polars frames, refusing it with every problem at once.

Each table is scanned lazily (``scan_csv`` / ``scan_parquet``), only the contract's columns are
parsed, and every check is a Polars expression over whole columns; the folder is read in one
pass per table. A portfolio with any problem is refused as a whole (:class:`PortfolioInvalid`):
a simulation over a portfolio with rows quietly left out would be wrong without anyone knowing.

The frames of a :class:`Portfolio` are collected, not lazy: validation has to read every row
anyway, and handing over the very rows that were validated means a file changed on disk after
reading can never slip unchecked data into a simulation. ``frame.lazy()`` costs nothing.
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import polars as pl

from engine.errors import PortfolioProblem
from engine.portfolio.problems import MAX_PROBLEMS, ProblemLog
from engine.portfolio.schema import CUSTOMERS, INVOICES, MAX_RATINGS, ORDERS, RATING_COLUMN, TableSpec
from engine.portfolio.values import ColumnPlan, ValueCheck, given, plan_column, source_problem, text_name
from policy.errors import ExpressionError
from policy.terms import parse_terms, terms_problems

__all__ = ["Portfolio", "read_portfolio"]

ROW = "__portfolio_row__"  # the 1-based data row, kept while checking


@dataclass(frozen=True, eq=False)
class Portfolio:
    """The three tables of a portfolio, typed to the contract (engine.portfolio.schema), with their files.

    Every contract column is present in each frame, in contract order, a column the file did not
    have being all null (for the policy an absent fact and an empty one are the same: missing);
    the customers frame then has the ``ratings.<name>`` columns of the file. Rows are in file
    order: row ``n`` of a file is row ``n - 1`` of its frame.
    """

    customers: pl.DataFrame
    orders: pl.DataFrame
    invoices: pl.DataFrame
    customers_file: Path
    orders_file: Path
    invoices_file: Path


@dataclass(frozen=True)
class _Table:
    """A table as read: its file, the typed frame with the row column (None when unreadable)."""

    spec: TableSpec
    index: int
    file: Path | None
    frame: pl.DataFrame | None
    positions: dict[str, int]  # column name -> position in the file, for ordering problems
    read: frozenset[str] = frozenset()  # the contract columns read from the file (others are null)


@dataclass(frozen=True)
class _Source:
    frame: pl.LazyFrame  # the scan, with the row column
    header: list[str]  # column names in file order
    columns: list[tuple[str, pl.Expr, pl.DataType]]  # (name, how to select it, stored type)
    format: Literal["csv", "parquet"]


def read_portfolio(path: str | Path) -> Portfolio:
    """Read and validate the portfolio in folder ``path``; raise :class:`PortfolioInvalid` with every problem."""
    folder = Path(path)
    log = ProblemLog()
    if not folder.is_dir():
        message = "the portfolio must be a folder holding customers, orders and invoices (.csv or .parquet)"
        log.add(PortfolioProblem("not_a_folder", str(folder), None, None, message), table=0, column=0)
        _raise(log)
    tables = [_read_table(folder, index, spec, log) for index, spec in enumerate((CUSTOMERS, ORDERS, INVOICES))]
    customers, orders, invoices = tables
    _check_references(customers, orders, invoices, log)
    _raise(log)
    assert customers.frame is not None and orders.frame is not None and invoices.frame is not None
    assert customers.file is not None and orders.file is not None and invoices.file is not None
    return Portfolio(
        customers=customers.frame.drop(ROW),
        orders=orders.frame.drop(ROW),
        invoices=invoices.frame.drop(ROW),
        customers_file=customers.file,
        orders_file=orders.file,
        invoices_file=invoices.file,
    )


def _raise(log: ProblemLog) -> None:
    error = log.error()
    if error is not None:
        raise error


# --- one table --------------------------------------------------------------------------------
def _locate(folder: Path, index: int, spec: TableSpec, log: ProblemLog) -> Path | None:
    """The table's file: exactly one of ``<name>.parquet`` and ``<name>.csv``."""
    found = [folder / f"{spec.name}.{ext}" for ext in ("parquet", "csv") if (folder / f"{spec.name}.{ext}").is_file()]
    if len(found) == 1:
        return found[0]
    if found:
        message = f"both {found[0].name} and {found[1].name} are here; keep one, so it is clear which is read"
        log.add(PortfolioProblem("ambiguous_table", str(found[1]), None, None, message), table=index, column=0)
        return None
    present = sorted(p.name for p in folder.iterdir() if p.suffix in (".csv", ".parquet"))
    close = difflib.get_close_matches(f"{spec.name}.csv", present, n=1) or difflib.get_close_matches(
        f"{spec.name}.parquet", present, n=1
    )
    hint = f" (found '{close[0]}': rename it?)" if close else ""
    message = f"the portfolio needs the {spec.name} table: {spec.name}.parquet or {spec.name}.csv{hint}"
    log.add(
        PortfolioProblem("missing_table", str(folder / f"{spec.name}.csv"), None, None, message), table=index, column=0
    )
    return None


def _read_table(folder: Path, index: int, spec: TableSpec, log: ProblemLog) -> _Table:
    """One table typed and checked in one collect; its problems go to ``log``, the frame is None if unreadable."""
    file = _locate(folder, index, spec, log)
    if file is None:
        return _Table(spec, index, None, None, {})
    name = str(file)
    source = _open_csv(file, index, log) if file.suffix == ".csv" else _open_parquet(file, index, log)
    if source is None:
        return _Table(spec, index, file, None, {})
    positions = {column: position for position, column in reversed(list(enumerate(source.header)))}
    plans = _plan_columns(spec, source, name, index, log)
    ratings = tuple(plan.spec.name for plan in plans if plan.spec.name not in spec.names)
    texts = [plan.text for plan in plans]
    planned = {plan.spec.name for plan in plans}
    absent = [c for c in spec.columns if c.name not in planned]
    query = source.frame.select(
        ROW,
        *texts,
        *(pl.lit(None, dtype=pl.String).alias(text_name(c.name)) for c in absent),
    ).with_columns(
        *(plan.typed for plan in plans),
        *(pl.lit(None, dtype=c.dtype).alias(c.name) for c in absent),
    )
    try:
        frame = query.collect()
    except pl.exceptions.PolarsError as exc:
        _diagnose_unreadable(file, source, str(exc), index, log)
        return _Table(spec, index, file, None, positions)
    checks = [(plan.spec.name, check) for plan in plans for check in plan.checks]
    checks += _row_checks(spec, frame)
    _run_checks(frame, checks, name, index, positions, log)
    _check_duplicate_ids(frame, name, index, positions, log)
    typed = frame.select(ROW, *spec.schema(ratings).names())
    return _Table(spec, index, file, typed, positions, frozenset(planned))


def _plan_columns(spec: TableSpec, source: _Source, file: str, index: int, log: ProblemLog) -> list[ColumnPlan]:
    """A plan for each contract column of the file; every other column is reported."""
    plans: list[ColumnPlan] = []
    seen: set[str] = set()
    ratings = 0
    for position, (name, expr, dtype) in enumerate(source.columns):
        where = {"table": index, "column": position}
        if name in seen:
            message = f"the column {name!r} appears twice in the header; keep one"
            log.add(PortfolioProblem("duplicate_column", file, None, name, message), **where)
            continue
        seen.add(name)
        column = spec.column(name)
        if column is None:
            log.add(PortfolioProblem("unknown_column", file, None, name, _unknown_column(name, spec)), **where)
            continue
        if RATING_COLUMN.match(name) and column.name not in spec.names:
            ratings += 1
            if ratings == MAX_RATINGS + 1:
                message = f"a credit file holds at most {MAX_RATINGS} ratings; this column is one too many"
                log.add(PortfolioProblem("too_many_ratings", file, None, name, message), **where)
        if source.format == "parquet":
            problem = source_problem(column.kind, dtype)
            if problem is not None:
                log.add(PortfolioProblem(problem[0], file, None, name, problem[1]), **where)
                continue
        plans.append(plan_column(column, expr, dtype))
    for position, column in enumerate(spec.columns):
        if column.required and column.name not in seen:
            message = f"the column {column.name!r} is required ({column.doc})"
            where = {"table": index, "column": len(source.columns) + position}
            log.add(PortfolioProblem("missing_column", file, None, column.name, message), **where)
    return plans


def _unknown_column(name: str, spec: TableSpec) -> str:
    if name.startswith("ratings.") and spec.ratings:
        return (
            f"unknown column {name!r}: a rating name starts with a lower-case letter and has only "
            "lower-case letters, digits and '_' (at most 63 characters), like ratings.visit_impression"
        )
    close = difflib.get_close_matches(name, spec.names, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"unknown column {name!r} ({hint}the {spec.name} columns are listed in docs/portfolio.md)"


# --- opening files ------------------------------------------------------------------------------
def _open_csv(file: Path, index: int, log: ProblemLog) -> _Source | None:
    """The scan of a CSV file, every column as text; the header is read here to catch duplicates."""
    name = str(file)
    try:
        with file.open("rb") as raw:
            header = next(csv.reader(_decoded_lines(raw)))
    except StopIteration:
        message = "the file is empty; its first line must name the columns"
        log.add(PortfolioProblem("unreadable_file", name, None, None, message), table=index, column=0)
        return None
    except (UnicodeDecodeError, csv.Error) as exc:
        message = f"the header line cannot be read as CSV text in UTF-8 ({exc})"
        log.add(PortfolioProblem("unreadable_file", name, None, None, message), table=index, column=0)
        return None
    # Columns are renamed by position: a duplicated or odd header name must not confuse the scan.
    internal = [f"__column_{i}__" for i in range(len(header))]
    frame = pl.scan_csv(
        file,
        infer_schema=False,
        new_columns=internal,
        row_index_name=ROW,
        row_index_offset=1,
        raise_if_empty=False,
    )
    columns: list[tuple[str, pl.Expr, pl.DataType]] = [
        (column, pl.col(i), pl.String()) for column, i in zip(header, internal, strict=True)
    ]
    return _Source(frame, header, columns, "csv")


def _decoded_lines(raw: BinaryIO) -> Iterator[str]:
    """The lines of a file as text, decoded one at a time: reading the header must not decode further."""
    for number, data in enumerate(raw):
        yield data.decode("utf-8-sig" if number == 0 else "utf-8")


def _open_parquet(file: Path, index: int, log: ProblemLog) -> _Source | None:
    try:
        frame = pl.scan_parquet(file, row_index_name=ROW, row_index_offset=1)
        schema = frame.collect_schema()
    except pl.exceptions.PolarsError as exc:
        message = f"the file cannot be read as Parquet ({_first_line(str(exc))})"
        log.add(PortfolioProblem("unreadable_file", str(file), None, None, message), table=index, column=0)
        return None
    header = [c for c in schema.names() if c != ROW]
    columns = [(column, pl.col(column), schema[column]) for column in header]
    return _Source(frame, header, columns, "parquet")


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def _diagnose_unreadable(file: Path, source: _Source, error: str, index: int, log: ProblemLog) -> None:
    """Say where a file that Polars could not read goes wrong: the rows, if Python's csv can find them."""
    name = str(file)
    found = _damaged_csv_rows(file, len(source.header)) if source.format == "csv" else []
    for code, row, message in found:
        log.add(PortfolioProblem(code, name, row, None, message), table=index, column=0)
    if not found:
        message = f"the file cannot be read ({_first_line(error)})"
        log.add(PortfolioProblem("unreadable_file", name, None, None, message), table=index, column=0)


def _damaged_csv_rows(file: Path, width: int) -> list[tuple[str, int | None, str]]:
    """(code, row, message) of the first line not in UTF-8, or of the rows with more fields than the header.

    Runs only after the fast reader failed, to turn its one-line error into located problems. A
    line that is not UTF-8 is named by its line number: rows cannot be counted past it.
    """
    with file.open("rb") as raw:
        for line, data in enumerate(raw, start=1):
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                return [("unreadable_file", None, f"line {line} of the file is not UTF-8 text; save the file as UTF-8")]
    found: list[tuple[str, int | None, str]] = []
    with file.open(encoding="utf-8-sig", newline="") as text:
        reader = csv.reader(text)
        next(reader, None)
        for row, record in enumerate(reader, start=1):
            if len(record) > width:
                message = f"the row has {len(record)} fields but the header names {width} columns"
                found.append(("malformed_row", row, message))
                if len(found) == MAX_PROBLEMS:
                    break
    return found


# --- checks over the rows of one table -----------------------------------------------------------
def _run_checks(
    frame: pl.DataFrame,
    checks: list[tuple[str, ValueCheck]],
    file: str,
    index: int,
    positions: dict[str, int],
    log: ProblemLog,
) -> None:
    """Count every check's failing rows in one pass, then fetch the first rows of those that failed."""
    if not checks:
        return
    counts = frame.select(
        *(check.failing.fill_null(False).sum().alias(str(number)) for number, (_, check) in enumerate(checks))
    ).row(0)
    for (column, check), count in zip(checks, counts, strict=True):
        if not count:
            continue
        failing = frame.filter(check.failing.fill_null(False)).head(MAX_PROBLEMS)
        shown = failing.select(ROW, check.shown.cast(pl.String).alias("shown")).rows()
        log.add_rows(
            ((row, check.message(value)) for row, value in shown),
            count=count,
            code=check.code,
            file=file,
            column=column,
            table=index,
            position=positions.get(column, len(positions)),
        )


def _row_checks(spec: TableSpec, frame: pl.DataFrame) -> list[tuple[str, ValueCheck]]:
    """Checks that read more than one column, or need the values' parse (terms)."""
    if spec is not INVOICES:
        return []
    invoice_date = pl.col("invoice_date")
    dated = pl.col("invoice_date").cast(pl.String)
    checks: list[tuple[str, ValueCheck]] = [
        (
            "payment_amount",
            ValueCheck(
                "payment_incomplete",
                given("payment_date") & ~given("payment_amount"),
                lambda _v: "the invoice has a payment_date, so it needs the payment_amount too",
                pl.col(text_name("payment_date")).cast(pl.String),
            ),
        ),
        (
            "payment_date",
            ValueCheck(
                "payment_incomplete",
                given("payment_amount") & ~given("payment_date"),
                lambda _v: "the invoice has a payment_amount, so it needs the payment_date too",
                pl.col(text_name("payment_amount")).cast(pl.String),
            ),
        ),
        (
            "payment_date",
            ValueCheck(
                "payment_before_invoice",
                pl.col("payment_date") < invoice_date,
                lambda v: f"{v}: a payment cannot come before its invoice",
                pl.concat_str(pl.lit("paid "), pl.col("payment_date").cast(pl.String), pl.lit(", invoiced "), dated),
            ),
        ),
        (
            "write_off_date",
            ValueCheck(
                "write_off_before_invoice",
                pl.col("write_off_date") < invoice_date,
                lambda v: f"{v}: an invoice cannot be written off before it is issued",
                pl.concat_str(
                    pl.lit("written off "), pl.col("write_off_date").cast(pl.String), pl.lit(", invoiced "), dated
                ),
            ),
        ),
    ]
    checks += [("terms", check) for check in _terms_checks(frame)]
    return checks


def _terms_checks(frame: pl.DataFrame) -> list[ValueCheck]:
    """One check per terms problem code, over the distinct terms texts (a portfolio uses a handful)."""
    texts = frame.get_column("terms").drop_nulls().unique().to_list()
    by_code: dict[str, dict[str, str]] = {}
    for text in texts:
        problem = _terms_problem(text)
        if problem is not None:
            by_code.setdefault(problem[0], {})[text] = problem[1]
    checks = []
    for code, messages in sorted(by_code.items()):
        bad = pl.Series(list(messages), dtype=pl.String)
        checks.append(
            ValueCheck(
                code,
                pl.col("terms").is_in(bad.implode()),
                _lookup(messages),
                pl.col("terms"),
            )
        )
    return checks


def _lookup(messages: dict[str, str]) -> Callable[[str | None], str]:
    def message(value: str | None) -> str:
        return messages.get(value or "", "invalid terms")

    return message


def _terms_problem(text: str) -> tuple[str, str] | None:
    """(code, message) of the first problem of a terms text, as a settlement request would get it."""
    if len(text) > 200:
        return None  # already text_too_long
    try:
        parsed = parse_terms(text)
    except ExpressionError as exc:
        return exc.code, f"{text!r} at character {exc.column}: {exc.message}"
    problems = terms_problems(parsed.tiers, parsed.credit_days, text)
    if problems:
        first = problems[0]
        return first.code, f"{text!r} at character {first.column}: {first.message}"
    return None


def _check_duplicate_ids(
    frame: pl.DataFrame, file: str, index: int, positions: dict[str, int], log: ProblemLog
) -> None:
    """Every repeat of an id after its first row, naming that first row."""
    ids = frame.select(ROW, "id").filter(pl.col("id").is_not_null())
    repeated = ids.filter(pl.col("id").is_duplicated())
    if repeated.is_empty():
        return
    first = repeated.group_by("id").agg(pl.col(ROW).min().alias("first"))
    repeats = repeated.join(first, on="id").filter(pl.col(ROW) != pl.col("first")).sort(ROW)
    log.add_rows(
        (
            (row, f"the id {_shown(value)} is already used on row {first_row}")
            for row, value, first_row in repeats.head(MAX_PROBLEMS).select(ROW, "id", "first").rows()
        ),
        count=repeats.height,
        code="duplicate_id",
        file=file,
        column="id",
        table=index,
        position=positions.get("id", 0),
    )


def _shown(value: object) -> str:
    text = str(value)
    return repr(text if len(text) <= 40 else text[:40] + "…")


# --- references between tables ------------------------------------------------------------------
def _check_references(customers: _Table, orders: _Table, invoices: _Table, log: ProblemLog) -> None:
    """Orders and invoices name existing customers; an invoice's order exists, is the customer's, and came first."""
    # A reference is checked only against a column that could be read: when the ids themselves
    # are unreadable, "unknown" would be reported for every reference and hide the real problem.
    if customers.frame is not None and customers.file is not None and "id" in customers.read:
        known = customers.frame.select("id").drop_nulls().unique()
        for table in (orders, invoices):
            if table.frame is None or "customer" not in table.read:
                continue
            unknown = table.frame.filter(pl.col("customer").is_not_null()).join(
                known, left_on="customer", right_on="id", how="anti"
            )
            _add_frame_rows(log, table, unknown, "unknown_customer", "customer", _not_in(customers.file.name))
    if orders.frame is None or invoices.frame is None or orders.file is None:
        return
    if "id" not in orders.read or "order" not in invoices.read:
        return
    known_orders = (
        orders.frame.select(
            pl.col("id").alias("order"),
            pl.col("customer").alias("order_customer"),
            pl.col("date").alias("order_date"),
            pl.lit(True).alias("found"),
        )
        .drop_nulls("order")
        .unique("order", keep="first", maintain_order=True)
    )
    linked = invoices.frame.filter(pl.col("order").is_not_null()).join(known_orders, on="order", how="left")
    orders_name = orders.file.name
    _add_frame_rows(
        log,
        invoices,
        linked.filter(pl.col("found").is_null()),
        "unknown_order",
        "order",
        lambda r: f"order {_shown(r['order'])} is not in {orders_name}",
    )
    _add_frame_rows(
        log,
        invoices,
        linked.filter(pl.col("order_customer") != pl.col("customer")),
        "order_customer_mismatch",
        "order",
        lambda r: (
            f"order {_shown(r['order'])} belongs to customer {_shown(r['order_customer'])}, "
            f"not to {_shown(r['customer'])}"
        ),
    )
    _add_frame_rows(
        log,
        invoices,
        linked.filter(pl.col("invoice_date") < pl.col("order_date")),
        "invoice_before_order",
        "invoice_date",
        lambda r: (
            f"the invoice date {r['invoice_date']} is before the date of its order "
            f"{_shown(r['order'])} ({r['order_date']})"
        ),
    )


def _not_in(file_name: str) -> Callable[[Mapping[str, object]], str]:
    def message(row: Mapping[str, object]) -> str:
        return f"customer {_shown(row['customer'])} is not in {file_name}"

    return message


def _add_frame_rows(
    log: ProblemLog,
    table: _Table,
    bad: pl.DataFrame,
    code: str,
    column: str,
    message: Callable[[Mapping[str, object]], str],
) -> None:
    if bad.is_empty():
        return
    rows = bad.sort(ROW).head(MAX_PROBLEMS).to_dicts()
    log.add_rows(
        ((int(str(r[ROW])), message(r)) for r in rows),
        count=bad.height,
        code=code,
        file=str(table.file),
        column=column,
        table=table.index,
        position=table.positions.get(column, len(table.positions)),
    )

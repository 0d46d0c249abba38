"""read_portfolio: the typed frames of a valid portfolio; one test per problem code with its file, row, column."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from engine.errors import PortfolioInvalid, PortfolioProblem
from engine.portfolio import CUSTOMERS, INVOICES, ORDERS, read_portfolio
from engine.portfolio.problems import CODES, MAX_PROBLEMS
from engine.portfolio.schema import MONEY, NUMBER

D = Decimal

CUSTOMERS_CSV = """\
id,segment,financials.revenue,payment.on_time_ratio,payment.max_days_late,records.owns_premises,records.bank_record,ratings.character
C1,core,1000.50,0.95,3,true,normal,good
C2,,2000,,,,,
"""
ORDERS_CSV = """\
id,customer,date,amount,currency
O1,C1,2026-01-05,100.00,CNY
O2,C2,2026-01-06,50,CNY
"""
INVOICES_CSV = """\
id,customer,order,invoice_date,amount,terms,payment_date,payment_amount,write_off_date
I1,C1,O1,2026-01-06,100.00,"2/10, n/30",2026-01-15,98.00,
I2,C2,O2,2026-01-07,50.00,,,,
I3,C2,,2026-01-08,5.00,n/30,,,2026-06-01
"""
TEXTS = {"customers": CUSTOMERS_CSV, "orders": ORDERS_CSV, "invoices": INVOICES_CSV}


def write_csv_portfolio(folder: Path, **changes: tuple[str, str]) -> Path:
    """The valid portfolio, with ``table=(old, new)`` replacing one snippet of a table's text."""
    folder.mkdir(parents=True, exist_ok=True)
    for table, text in TEXTS.items():
        if table in changes:
            old, new = changes[table]
            assert text.count(old) == 1, f"{old!r} must occur once in {table}"
            text = text.replace(old, new)
        (folder / f"{table}.csv").write_text(text, encoding="utf-8")
    return folder


def problems_of(folder: Path) -> PortfolioInvalid:
    with pytest.raises(PortfolioInvalid) as caught:
        read_portfolio(folder)
    return caught.value


def located(error: PortfolioInvalid) -> list[tuple[str, str, int | None, str | None]]:
    return [(p.code, Path(p.file).name, p.row, p.column) for p in error.problems]


# --- a valid portfolio -----------------------------------------------------------------------------
def test_a_valid_csv_portfolio_reads_into_frames_typed_to_the_contract(tmp_path: Path) -> None:
    portfolio = read_portfolio(write_csv_portfolio(tmp_path))
    assert portfolio.customers_file == tmp_path / "customers.csv"
    assert portfolio.customers.schema == CUSTOMERS.schema(("ratings.character",))
    assert portfolio.orders.schema == ORDERS.schema()
    assert portfolio.invoices.schema == INVOICES.schema()
    first = portfolio.customers.row(0, named=True)
    assert first["financials.revenue"] == D("1000.50")
    assert first["payment.on_time_ratio"] == D("0.9500")
    assert (first["payment.max_days_late"], first["records.owns_premises"], first["ratings.character"]) == (
        3,
        True,
        "good",
    )
    assert first["financials.net_assets"] is None  # not in the file: a column of nulls
    second = portfolio.customers.row(1, named=True)
    assert (second["segment"], second["financials.revenue"], second["records.bank_record"]) == (
        None,
        D("2000.00"),
        None,
    )
    assert portfolio.orders.get_column("amount").to_list() == [D("100.00"), D("50.00")]
    invoice = portfolio.invoices.row(0, named=True)
    assert (invoice["terms"], invoice["payment_date"], invoice["payment_amount"]) == (
        "2/10, n/30",
        dt.date(2026, 1, 15),
        D("98.00"),
    )
    assert portfolio.invoices.get_column("order").to_list() == ["O1", "O2", None]


def test_money_is_read_exactly_from_its_text(tmp_path: Path) -> None:
    folder = write_csv_portfolio(
        tmp_path, customers=("C1,core,1000.50,", "C1,core,99999999999999.99,"), orders=(",50,CNY", ",0003.1000,CNY")
    )
    portfolio = read_portfolio(folder)
    assert portfolio.customers.item(0, "financials.revenue") == D("99999999999999.99")
    assert portfolio.orders.item(1, "amount") == D("3.10")  # trailing zeros are not decimals


def test_a_parquet_portfolio_reads_like_the_csv_one(tmp_path: Path) -> None:
    csv = read_portfolio(write_csv_portfolio(tmp_path / "csv"))
    folder = tmp_path / "parquet"
    folder.mkdir()
    csv.customers.write_parquet(folder / "customers.parquet")
    csv.orders.write_parquet(folder / "orders.parquet")
    csv.invoices.write_parquet(folder / "invoices.parquet")
    parquet = read_portfolio(folder)
    assert parquet.customers.equals(csv.customers) and parquet.orders.equals(csv.orders)
    assert parquet.invoices.equals(csv.invoices)
    assert parquet.invoices_file.name == "invoices.parquet"


def test_optional_invoice_columns_may_be_left_out(tmp_path: Path) -> None:
    folder = write_csv_portfolio(tmp_path)
    (folder / "invoices.csv").write_text("id,customer,invoice_date,amount\nI1,C1,2026-01-06,100.00\n")
    portfolio = read_portfolio(folder)
    assert portfolio.invoices.schema == INVOICES.schema()
    assert portfolio.invoices.row(0) == ("I1", "C1", None, dt.date(2026, 1, 6), D("100.00"), None, None, None, None)


def test_crlf_line_ends_and_quoted_line_breaks_read_as_data(tmp_path: Path) -> None:
    folder = write_csv_portfolio(tmp_path)
    text = 'id,customer,date,amount,currency\r\n"O1",C1,2026-01-05,100.00,CNY\r\nO2,C2,2026-01-06,50,CNY\r\n'
    (folder / "orders.csv").write_bytes(text.encode())
    assert read_portfolio(folder).orders.get_column("currency").to_list() == ["CNY", "CNY"]


# --- one case per code ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    code: str
    table: str
    old: str
    new: str
    row: int | None
    column: str | None

    @property
    def id(self) -> str:
        return f"{self.code}-{self.table}"


C1 = "C1,core,1000.50,0.95,3,true,normal,good"
I1_PAID = '"2/10, n/30",2026-01-15,98.00,'
CASES = [
    Case("missing_value", "orders", ",50,CNY", ",,CNY", 2, "amount"),
    Case("missing_value", "invoices", "I2,C2,O2,2026-01-07,50.00", "I2,,O2,2026-01-07,50.00", 2, "customer"),
    Case("not_a_number", "customers", "1000.50", "10OO.50", 1, "financials.revenue"),
    Case("not_a_number", "invoices", "98.00", "98.00 CNY", 1, "payment_amount"),
    Case("not_an_integer", "customers", ",0.95,3,", ",0.95,3.5,", 1, "payment.max_days_late"),
    Case("not_a_date", "orders", "2026-01-05", "05/01/2026", 1, "date"),
    Case("not_a_date", "invoices", "2026-06-01", "2026-06-31", 3, "write_off_date"),
    Case("not_a_boolean", "customers", "true", "yes", 1, "records.owns_premises"),
    Case("money_precision", "orders", "100.00,CNY", "100.001,CNY", 1, "amount"),
    Case("number_precision", "customers", ",0.95,", ",0.95001,", 1, "payment.on_time_ratio"),
    Case("out_of_range", "customers", ",0.95,", ",1.05,", 1, "payment.on_time_ratio"),
    Case("out_of_range", "customers", ",2000,", ",-2000,", 2, "financials.revenue"),
    Case("out_of_range", "customers", ",2000,", ",100000000000000,", 2, "financials.revenue"),
    Case("out_of_range", "customers", ",0.95,3,", ",0.95,1000001,", 1, "payment.max_days_late"),
    Case("out_of_range", "invoices", ",5.00,", ",0.00,", 3, "amount"),
    Case("text_too_long", "customers", ",normal,", "," + "n" * 65 + ",", 1, "records.bank_record"),
    Case("text_too_long", "orders", "O2,", "O" * 65 + ",", 2, "id"),
    Case("unknown_segment", "customers", "C1,core,", "C1,Core,", 1, "segment"),
    Case("currency_format", "orders", "50,CNY", "50,yuan", 2, "currency"),
    Case("terms_syntax", "invoices", '"2/10, n/30"', '"2/10, net"', 1, "terms"),
    Case("discount_rate_range", "invoices", '"2/10, n/30"', '"100/10, n/30"', 1, "terms"),
    Case("discount_days_order", "invoices", '"2/10, n/30"', '"2/0, n/30"', 1, "terms"),
    Case("discount_beyond_period", "invoices", '"2/10, n/30"', '"2/40, n/30"', 1, "terms"),
    Case("discount_rate_order", "invoices", '"2/10, n/30"', '"2/10, 3/20, n/30"', 1, "terms"),
    Case("terms_period_range", "invoices", ",n/30,", ",n/4000,", 3, "terms"),
    Case("duplicate_id", "invoices", "I3,", "I1,", 3, "id"),
    Case("unknown_customer", "orders", "O2,C2,", "O2,C7,", 2, "customer"),
    Case("unknown_customer", "invoices", "I3,C2,", "I3,C7,", 3, "customer"),
    Case("unknown_order", "invoices", "I2,C2,O2,", "I2,C2,O7,", 2, "order"),
    Case("order_customer_mismatch", "invoices", "I2,C2,O2,", "I2,C2,O1,", 2, "order"),
    Case("invoice_before_order", "invoices", "O1,2026-01-06", "O1,2026-01-04", 1, "invoice_date"),
    Case("payment_incomplete", "invoices", I1_PAID, '"2/10, n/30",2026-01-15,,', 1, "payment_amount"),
    Case("payment_incomplete", "invoices", I1_PAID, '"2/10, n/30",,98.00,', 1, "payment_date"),
    Case("payment_before_invoice", "invoices", "2026-01-15", "2026-01-01", 1, "payment_date"),
    Case("write_off_before_invoice", "invoices", "2026-06-01", "2026-01-01", 3, "write_off_date"),
    Case("unknown_column", "customers", "financials.revenue,", "financials.revenu,", None, "financials.revenu"),
    Case("unknown_column", "customers", "ratings.character", "ratings.Character", None, "ratings.Character"),
    Case("missing_column", "orders", "amount,currency", "amount,kurrency", None, "currency"),
    Case("duplicate_column", "customers", "records.bank_record,", "segment,", None, "segment"),
    Case("malformed_row", "orders", "50,CNY", "50,CNY,extra", 2, None),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_problem_is_located_by_file_row_and_column(tmp_path: Path, case: Case) -> None:
    error = problems_of(write_csv_portfolio(tmp_path, **{case.table: (case.old, case.new)}))
    assert (case.code, f"{case.table}.csv", case.row, case.column) in located(error)
    assert error.code == "portfolio_invalid"


def test_messages_say_what_is_wrong_and_how_to_fix_it(tmp_path: Path) -> None:
    folder = write_csv_portfolio(
        tmp_path,
        customers=("financials.revenue,", "financials.revenu,"),
        orders=("100.00,CNY", "100.001,CNY"),
        invoices=("I2,C2,O2,", "I2,C2,O1,"),
    )
    messages = {p.code: p.message for p in problems_of(folder).problems}
    assert "did you mean 'financials.revenue'?" in messages["unknown_column"]
    assert messages["money_precision"] == "'100.001' has more than 2 decimal places; an amount here has at most 2"
    assert messages["order_customer_mismatch"] == "order 'O1' belongs to customer 'C1', not to 'C2'"


def test_every_problem_of_every_table_comes_at_once_in_reading_order(tmp_path: Path) -> None:
    folder = write_csv_portfolio(
        tmp_path,
        customers=(C1, "C1,core,x,0.95,3,maybe,normal,good"),
        orders=("50,CNY", "50,cny"),
        invoices=("I3,C2,,2026-01-08,5.00,n/30", "I3,C2,,2026-13-08,5.00,n/x"),
    )
    assert located(problems_of(folder)) == [
        ("not_a_number", "customers.csv", 1, "financials.revenue"),
        ("not_a_boolean", "customers.csv", 1, "records.owns_premises"),
        ("currency_format", "orders.csv", 2, "currency"),
        ("not_a_date", "invoices.csv", 3, "invoice_date"),
        ("terms_syntax", "invoices.csv", 3, "terms"),
    ]


def test_rows_are_counted_as_data_rows_after_the_header(tmp_path: Path) -> None:
    folder = write_csv_portfolio(tmp_path)
    # Row 2 spans two lines (a quoted line break): the bad value is on line 5 but in data row 3.
    text = 'id,customer,date,amount,currency\nO1,C1,2026-01-05,100.00,CNY\n"O\n2",C2,2026-01-06,50,CNY\nO3,C1,x,1,CNY\n'
    (folder / "orders.csv").write_text(text)
    assert ("not_a_date", "orders.csv", 3, "date") in located(problems_of(folder))


def test_problems_are_capped_and_the_rest_counted(tmp_path: Path) -> None:
    folder = write_csv_portfolio(tmp_path)
    rows = "".join(f"O{n},C1,2026-01-05,1.001,CNY\n" for n in range(150))
    (folder / "orders.csv").write_text("id,customer,date,amount,currency\n" + rows)
    (folder / "invoices.csv").write_text("id,customer,invoice_date,amount\n")
    error = problems_of(folder)
    assert (len(error.problems), error.total) == (MAX_PROBLEMS, 150)
    assert [p.row for p in error.problems] == list(range(1, 101))
    assert str(error).endswith("... and 50 more problems")
    assert str(error).startswith("the portfolio has 150 problems:\n")


def test_a_problem_prints_as_file_row_column_message_and_code() -> None:
    problem = PortfolioProblem("out_of_range", "p/orders.csv", 3, "amount", "'-1' is out of range")
    assert str(problem) == "p/orders.csv row 3 column amount: '-1' is out of range [out_of_range]"


# --- files and folders -----------------------------------------------------------------------------
def test_a_missing_table_names_a_close_file(tmp_path: Path) -> None:
    folder = write_csv_portfolio(tmp_path)
    (folder / "orders.csv").rename(folder / "order.csv")
    (problem,) = problems_of(folder).problems
    assert (problem.code, Path(problem.file).name) == ("missing_table", "orders.csv")
    assert "found 'order.csv'" in problem.message


def test_a_table_in_both_formats_is_ambiguous(tmp_path: Path) -> None:
    folder = write_csv_portfolio(tmp_path)
    pl.DataFrame({"id": ["O1"]}).write_parquet(folder / "orders.parquet")
    assert [(p.code, Path(p.file).name) for p in problems_of(folder).problems] == [("ambiguous_table", "orders.csv")]


def test_a_path_that_is_not_a_folder(tmp_path: Path) -> None:
    assert located(problems_of(tmp_path / "nowhere")) == [("not_a_folder", "nowhere", None, None)]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty; its first line must name the columns"),
        (
            b"id,customer,date,amount,currency\nO1,C1,2026-01-05,1\xff00.00,CNY\n",
            "line 2 of the file is not UTF-8 text; save the file as UTF-8",
        ),
        (b"id,\xffcustomer\n", "the header line cannot be read as CSV text in UTF-8"),
    ],
    ids=["empty", "bad-utf8-row", "bad-utf8-header"],
)
def test_an_unreadable_csv_file(tmp_path: Path, content: bytes, message: str) -> None:
    folder = write_csv_portfolio(tmp_path)
    (folder / "orders.csv").write_bytes(content)
    (problem,) = problems_of(folder).problems
    assert (problem.code, Path(problem.file).name, problem.row) == ("unreadable_file", "orders.csv", None)
    assert problem.message.startswith(message)


def test_a_file_that_is_not_parquet(tmp_path: Path) -> None:
    folder = write_csv_portfolio(tmp_path)
    (folder / "orders.csv").unlink()
    (folder / "orders.parquet").write_bytes(b"not parquet at all")
    assert located(problems_of(folder)) == [("unreadable_file", "orders.parquet", None, None)]


def test_more_than_50_ratings_is_too_many(tmp_path: Path) -> None:
    folder = write_csv_portfolio(tmp_path)
    names = [f"ratings.r{n}" for n in range(51)]
    (folder / "customers.csv").write_text("id," + ",".join(names) + "\nC1" + ",good" * 51 + "\nC2" + "," * 51 + "\n")
    assert located(problems_of(folder)) == [("too_many_ratings", "customers.csv", None, "ratings.r50")]


# --- Parquet column types ---------------------------------------------------------------------------
def parquet_portfolio(folder: Path, **frames: pl.DataFrame) -> Path:
    base = read_portfolio(write_csv_portfolio(folder / "base"))
    tables = {"customers": base.customers, "orders": base.orders, "invoices": base.invoices} | frames
    for name, frame in tables.items():
        frame.write_parquet(folder / f"{name}.parquet")
    return folder


def orders_with(**columns: pl.Series) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "id": ["O1", "O2"],
            "customer": ["C1", "C2"],
            "date": [dt.date(2026, 1, 5), dt.date(2026, 1, 6)],
            "amount": pl.Series([D("100.00"), D("50.00")], dtype=MONEY),
            "currency": ["CNY", "CNY"],
        }
    )
    return frame.with_columns(**columns)


def test_a_float_money_column_is_refused_with_how_to_write_it(tmp_path: Path) -> None:
    folder = parquet_portfolio(tmp_path, orders=orders_with(amount=pl.Series([100.0, 50.0])))
    (problem,) = problems_of(folder).problems
    assert (problem.code, problem.column) == ("float_column", "amount")
    assert "pl.Decimal(38, 2)" in problem.message and "'1234.50'" in problem.message


@pytest.mark.parametrize(
    ("column", "values"),
    [
        ("date", pl.Series([dt.datetime(2026, 1, 5), dt.datetime(2026, 1, 6)])),
        ("currency", pl.Series([1.5, 2.5])),
        ("id", pl.Series([True, False])),
    ],
)
def test_a_column_of_another_type_is_refused(tmp_path: Path, column: str, values: pl.Series) -> None:
    folder = parquet_portfolio(tmp_path, orders=orders_with(**{column: values}))
    assert [(p.code, p.column) for p in problems_of(folder).problems] == [("wrong_type", column)]


def test_exact_parquet_types_other_than_the_contract_are_converted(tmp_path: Path) -> None:
    orders = orders_with(
        id=pl.Series([1, 2], dtype=pl.Int32),
        amount=pl.Series([D("100.000"), D("50.100")], dtype=pl.Decimal(20, 3)),
        date=pl.Series(["2026-01-05", "2026-01-06"]),
    )
    invoices = pl.DataFrame(
        {
            "id": ["I1"],
            "customer": pl.Series(["C1"], dtype=pl.Categorical),
            "order": pl.Series([1], dtype=pl.Int64),
            "invoice_date": [dt.date(2026, 1, 6)],
            "amount": pl.Series([100], dtype=pl.UInt16),
            "write_off_date": pl.Series([None], dtype=pl.Null),
        }
    )
    portfolio = read_portfolio(parquet_portfolio(tmp_path, orders=orders, invoices=invoices))
    assert portfolio.orders.rows() == [
        ("1", "C1", dt.date(2026, 1, 5), D("100.00"), "CNY"),
        ("2", "C2", dt.date(2026, 1, 6), D("50.10"), "CNY"),
    ]
    assert portfolio.invoices.row(0)[:5] == ("I1", "C1", "1", dt.date(2026, 1, 6), D("100.00"))
    assert portfolio.invoices.schema == INVOICES.schema()


def test_parquet_values_are_checked_like_text(tmp_path: Path) -> None:
    orders = orders_with(amount=pl.Series([D("100.001"), D("-1.000")], dtype=pl.Decimal(20, 3)))
    customers = pl.DataFrame(
        {
            "id": ["C1", "C2"],
            "payment.defaults_3y": pl.Series([2**63, 1], dtype=pl.UInt64),
            "financials.revenue": pl.Series([D("100000000000000.00"), D("1.00")], dtype=MONEY),
            "payment.on_time_ratio": pl.Series([D("1.0001"), D("0.5")], dtype=NUMBER),
        }
    )
    folder = parquet_portfolio(tmp_path, orders=orders, customers=customers)
    assert [(p.code, p.row, p.column) for p in problems_of(folder).problems] == [
        ("out_of_range", 1, "payment.defaults_3y"),
        ("out_of_range", 1, "financials.revenue"),
        ("out_of_range", 1, "payment.on_time_ratio"),
        ("money_precision", 1, "amount"),
        ("out_of_range", 2, "amount"),
    ]


# --- every code is tested and documented -------------------------------------------------------------
OTHER_TESTS = {
    "not_a_folder",
    "missing_table",
    "ambiguous_table",
    "unreadable_file",
    "too_many_ratings",
    "float_column",
    "wrong_type",
}


def test_every_code_has_a_test_and_nothing_else_is_a_code() -> None:
    assert {c.code for c in CASES} | OTHER_TESTS == set(CODES)


def test_every_code_is_documented() -> None:
    doc = (Path(__file__).parents[3] / "docs" / "portfolio.md").read_text(encoding="utf-8")
    assert sorted(code for code in CODES if f"`{code}`" not in doc) == []

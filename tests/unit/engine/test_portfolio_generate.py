"""The synthetic portfolio: reproducible to the byte, valid for the reader and the shipped policy, and realistic.

Realistic means what a simulation relies on: the riskier a customer (by its hidden latent risk,
and by the grade the shipped policy gives its credit file) the later it pays and the more of it
is written off; a minority of customers makes most of the sales.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from engine.decide import decide
from engine.ir import CompiledPolicy
from engine.portfolio import generate_portfolio, read_portfolio, synthesize_portfolio
from engine.portfolio.generate import BANK_RECORDS, RATING_NAMES, RATING_WORDS, SyntheticPortfolio
from engine.portfolio.schema import CUSTOMERS, INVOICES, ORDERS, credit_file_of
from policy.fields import SEGMENTS
from policy.terms import parse_terms

SMALL: dict[str, Any] = {"customers": 300, "invoices": 3000, "years": 2, "seed": 5}


@pytest.fixture(scope="module")
def book() -> SyntheticPortfolio:
    return synthesize_portfolio(customers=3000, invoices=30_000, years=3, seed=11)


@pytest.fixture(scope="module")
def grades(book: SyntheticPortfolio, shipped_python: CompiledPolicy) -> pl.DataFrame:
    """customer, grade and grade level (A, B, C/D) the shipped policy gives each credit file."""
    payloads = [
        {
            "customer": {"id": row["id"], "segment": row["segment"] or "ordinary"},
            "credit_file": credit_file_of(row).model_dump(mode="json"),
            "as_of": "2026-06-30",
        }
        for row in book.customers.iter_rows(named=True)
    ]
    outputs = [decide(shipped_python, "assess", payload).output() for payload in payloads]
    level = {"AAA": "A", "AA": "A", "A": "A", "BBB": "B", "BB": "B", "B": "B"}
    return pl.DataFrame(
        {
            "customer": [o["customer_id"] for o in outputs],
            "grade": [o["grade"] for o in outputs],
            "level": [level.get(o["grade"], "C/D") for o in outputs],
        }
    )


# --- reproducible, valid ----------------------------------------------------------------------------
@pytest.mark.parametrize("file_format", ["parquet", "csv"])
def test_the_same_seed_writes_the_same_bytes(tmp_path: Path, file_format: str) -> None:
    first = generate_portfolio(**SMALL, out=tmp_path / "a", format=file_format)  # type: ignore[arg-type]
    again = generate_portfolio(**SMALL, out=tmp_path / "b", format=file_format)  # type: ignore[arg-type]
    other = generate_portfolio(**(SMALL | {"seed": 6}), out=tmp_path / "c", format=file_format)  # type: ignore[arg-type]
    for name in ("customers", "orders", "invoices"):
        data = (first.folder / f"{name}.{file_format}").read_bytes()
        assert data == (again.folder / f"{name}.{file_format}").read_bytes()
        assert data != (other.folder / f"{name}.{file_format}").read_bytes()


@pytest.mark.parametrize("file_format", ["parquet", "csv"])
def test_a_generated_portfolio_passes_the_reader(tmp_path: Path, file_format: str) -> None:
    written = generate_portfolio(**SMALL, out=tmp_path, format=file_format)  # type: ignore[arg-type]
    portfolio = read_portfolio(tmp_path)
    assert (written.customers, written.invoices) == (300, 3000)
    assert (portfolio.customers.height, portfolio.orders.height, portfolio.invoices.height) == (
        written.customers,
        written.orders,
        written.invoices,
    )
    ratings = tuple(f"ratings.{name}" for name in RATING_NAMES)
    assert portfolio.customers.schema == CUSTOMERS.schema(ratings)
    assert portfolio.orders.schema == ORDERS.schema() and portfolio.invoices.schema == INVOICES.schema()
    in_memory = synthesize_portfolio(**SMALL)
    assert portfolio.invoices.equals(in_memory.invoices) and portfolio.customers.equals(in_memory.customers)


def test_every_customer_is_a_valid_credit_file_the_shipped_policy_grades(grades: pl.DataFrame) -> None:
    assert grades.height == 3000
    # Every grade of the scale occurs: the book holds good, average and bad customers.
    assert set(grades.get_column("grade")) == {"AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C", "D"}


def test_progress_is_reported_stage_by_stage(tmp_path: Path) -> None:
    seen: list[tuple[str, int, int]] = []
    generate_portfolio(**SMALL, out=tmp_path, progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert [done for _, done, _ in seen] == [1, 2, 3, 4, 5] and {total for _, _, total in seen} == {5}
    assert seen[-1][0] == "writing invoices"


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="format"):
        generate_portfolio(**SMALL, out=tmp_path, format="xlsx")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="customer"):
        synthesize_portfolio(customers=0, invoices=1, years=1, seed=1)
    with pytest.raises(ValueError, match="years"):
        synthesize_portfolio(customers=1, invoices=1, years=0, seed=1)
    generate_portfolio(**SMALL, out=tmp_path, format="csv")
    with pytest.raises(FileExistsError):
        generate_portfolio(**SMALL, out=tmp_path, format="parquet")


def test_tiny_portfolios_are_still_valid(tmp_path: Path) -> None:
    for invoices in (0, 1, 2):
        folder = tmp_path / str(invoices)
        generate_portfolio(customers=1, invoices=invoices, years=1, seed=invoices, out=folder)
        assert read_portfolio(folder).invoices.height == invoices


# --- realistic ---------------------------------------------------------------------------------------
def test_sales_are_concentrated(book: SyntheticPortfolio) -> None:
    sales = book.invoices.group_by("customer").agg(pl.col("amount").sum()).get_column("amount")
    ranked = sorted(sales.to_list(), reverse=True)
    top = ranked[: len(book.customers) // 5]
    assert sum(top, Decimal(0)) / sum(ranked, Decimal(0)) > Decimal("0.6")


def lateness_and_write_offs(
    book: SyntheticPortfolio, by: pl.DataFrame, column: str
) -> list[tuple[str, float, Decimal]]:
    """(group, mean days paid after the due date, written-off share of amounts) per group of customers.

    Lateness is measured on invoices with explicit terms, whose due date the files state; the
    write-off share on every invoice.
    """
    texts = book.invoices.get_column("terms").drop_nulls().unique().to_list()
    net_days = {text: parse_terms(text).credit_days for text in texts}
    invoices = book.invoices.join(by, on="customer").with_columns(
        pl.col("terms").replace_strict(net_days, default=None, return_dtype=pl.Int64).alias("net_days")
    )
    late = (pl.col("payment_date") - pl.col("invoice_date")).dt.total_days() - pl.col("net_days")
    summary = invoices.group_by(column).agg(
        late.clip(lower_bound=0).mean().alias("late"),
        pl.col("amount").filter(pl.col("write_off_date").is_not_null()).sum().alias("written_off"),
        pl.col("amount").sum().alias("amount"),
    )
    return [
        (str(row[column]), float(row["late"]), row["written_off"] / row["amount"])
        for row in summary.sort(column).iter_rows(named=True)
    ]


def test_riskier_customers_pay_later_and_default_more(book: SyntheticPortfolio) -> None:
    ranked = book.latent_risk.with_columns(
        (pl.col("risk").rank("ordinal") * 3 // (pl.len() + 1)).alias("tercile")
    ).select(pl.col("id").alias("customer"), "tercile")
    rows = lateness_and_write_offs(book, ranked, "tercile")
    late = [r[1] for r in rows]
    written_off = [r[2] for r in rows]
    assert late[0] < late[1] < late[2] and late[2] > 3 * late[0]
    assert written_off[0] < written_off[2] and written_off[1] < written_off[2]


def test_better_graded_credit_files_pay_better(book: SyntheticPortfolio, grades: pl.DataFrame) -> None:
    rows = lateness_and_write_offs(book, grades.select("customer", "level"), "level")
    assert [r[0] for r in rows] == ["A", "B", "C/D"]
    late = [r[1] for r in rows]
    written_off = [r[2] for r in rows]
    assert late[0] < late[1] < late[2]
    assert written_off[0] < written_off[1] < written_off[2]


def test_the_credit_file_words_are_those_the_shipped_policy_rates(book: SyntheticPortfolio) -> None:
    customers = book.customers
    for name in RATING_NAMES:
        assert set(customers.get_column(f"ratings.{name}").drop_nulls()) == set(RATING_WORDS)
    assert set(customers.get_column("records.bank_record").drop_nulls()) == set(BANK_RECORDS)
    segments = customers.get_column("segment")
    assert set(segments.drop_nulls()) == set(SEGMENTS)
    # Mostly absent (derived by the simulation) or ordinary.
    assert (segments.is_null() | (segments == "ordinary")).mean() > 0.85  # type: ignore[operator]


def test_the_book_has_every_state_an_analyst_meets(book: SyntheticPortfolio) -> None:
    invoices, orders = book.invoices, book.orders
    end = dt.date(2026, 6, 30)
    assert invoices.select(pl.col("invoice_date").max()).item() == end
    assert orders.select(pl.col("date").min()).item() >= dt.date(2023, 7, 1)
    invoiced = set(invoices.get_column("order").drop_nulls())
    not_invoiced = orders.filter(~pl.col("id").is_in(list(invoiced)))
    assert 0 < not_invoiced.height < 0.05 * orders.height
    # Recent, as at any cut-off; older ones only where the customer defaulted and was not delivered.
    defaulted = book.latent_risk.filter(pl.col("defaulted")).get_column("id")
    recent = not_invoiced.filter(~pl.col("customer").is_in(defaulted.implode()))
    assert recent.select(pl.col("date").min()).item() >= end - dt.timedelta(days=60)
    shares = invoices.select(
        pl.col("terms").is_null().mean().alias("grade_terms"),
        (pl.col("payment_date").is_null() & pl.col("write_off_date").is_null()).mean().alias("open"),
        pl.col("write_off_date").is_not_null().mean().alias("written_off"),
        (pl.col("payment_amount") < pl.col("amount")).mean().alias("discount_taken"),
        pl.col("order").is_null().mean().alias("without_order"),
        pl.col("order").is_duplicated().mean().alias("delivered_in_parts"),
    ).row(0, named=True)
    assert 0.7 < shares["grade_terms"] < 0.95
    assert 0.01 < shares["open"] < 0.15
    assert 0.002 < shares["written_off"] < 0.05
    assert 0.005 < shares["discount_taken"] < 0.2
    assert 0.01 < shares["without_order"] < 0.05
    assert 0.02 < shares["delivered_in_parts"] < 0.2
    assert all(parse_terms(t) for t in invoices.get_column("terms").drop_nulls().unique())

"""Exposure at an order and invoice states on their boundaries: the day an invoice is paid, issued or due."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from engine.errors import InputError
from engine.portfolio.exposure import EXPOSURE_COLUMNS, exposures_at_orders, invoice_states
from engine.portfolio.schema import MONEY

D = Decimal
DAY = dt.date(2026, 5, 10)


def day(offset: int) -> dt.date:
    return DAY + dt.timedelta(days=offset)


OrderRow = tuple[str, str, int, str]  # id, customer, day offset, amount
# id, customer, order, invoice day, amount, payment day, write-off day, due day
InvoiceRow = tuple[str, str, str | None, int, str, int | None, int | None, int]


def orders_frame(rows: list[OrderRow]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": [r[0] for r in rows],
            "customer": [r[1] for r in rows],
            "date": [day(r[2]) for r in rows],
            "amount": [D(r[3]) for r in rows],
        },
        schema={"id": pl.String, "customer": pl.String, "date": pl.Date, "amount": MONEY},
    )


def invoices_frame(rows: list[InvoiceRow]) -> tuple[pl.DataFrame, pl.Series]:
    frame = pl.DataFrame(
        {
            "id": [r[0] for r in rows],
            "customer": [r[1] for r in rows],
            "order": [r[2] for r in rows],
            "invoice_date": [day(r[3]) for r in rows],
            "amount": [D(r[4]) for r in rows],
            "payment_date": [None if r[5] is None else day(r[5]) for r in rows],
            "payment_amount": [None if r[5] is None else D(r[4]) for r in rows],
            "write_off_date": [None if r[6] is None else day(r[6]) for r in rows],
        },
        schema={
            "id": pl.String,
            "customer": pl.String,
            "order": pl.String,
            "invoice_date": pl.Date,
            "amount": MONEY,
            "payment_date": pl.Date,
            "payment_amount": MONEY,
            "write_off_date": pl.Date,
        },
    )
    return frame, pl.Series("due", [day(r[7]) for r in rows], dtype=pl.Date)


def exposure_of(orders: list[OrderRow], invoices: list[InvoiceRow], order_id: str) -> tuple[D, D, D, int]:
    frame, due = invoices_frame(invoices)
    got = exposures_at_orders(orders_frame(orders), frame, due)
    row = got.filter(pl.col("id") == order_id).select(EXPOSURE_COLUMNS).rows()[0]
    return row[0], row[1], row[2], row[3]


ORDER: OrderRow = ("O9", "C", 0, "50.00")


def test_an_invoice_paid_on_the_order_date_no_longer_counts() -> None:
    invoices: list[InvoiceRow] = [("I1", "C", None, -20, "100.00", 0, None, -10)]
    assert exposure_of([ORDER], invoices, "O9") == (D("0.00"), D("0.00"), D("0.00"), 0)


def test_an_invoice_paid_the_day_after_counts_and_is_overdue() -> None:
    invoices: list[InvoiceRow] = [("I1", "C", None, -20, "100.00", 1, None, -10)]
    assert exposure_of([ORDER], invoices, "O9") == (D("100.00"), D("0.00"), D("100.00"), 10)


def test_a_write_off_closes_an_invoice_like_a_payment() -> None:
    invoices: list[InvoiceRow] = [
        ("I1", "C", None, -90, "70.00", None, 0, -60),
        ("I2", "C", None, -90, "30.00", None, 1, -60),
    ]
    assert exposure_of([ORDER], invoices, "O9") == (D("30.00"), D("0.00"), D("30.00"), 60)


def test_an_invoice_due_on_the_order_date_is_not_overdue_yet() -> None:
    invoices: list[InvoiceRow] = [("I1", "C", None, -30, "100.00", None, None, 0)]
    assert exposure_of([ORDER], invoices, "O9") == (D("100.00"), D("0.00"), D("0.00"), 0)


def test_an_invoice_issued_on_the_order_date_counts() -> None:
    invoices: list[InvoiceRow] = [("I1", "C", None, 0, "100.00", None, None, 30)]
    assert exposure_of([ORDER], invoices, "O9") == (D("100.00"), D("0.00"), D("0.00"), 0)


def test_the_oldest_overdue_is_the_earliest_due_date_still_open() -> None:
    invoices: list[InvoiceRow] = [
        ("I1", "C", None, -100, "10.00", -1, None, -70),  # oldest, but paid before the order
        ("I2", "C", None, -60, "20.00", None, None, -45),
        ("I3", "C", None, -40, "30.00", None, None, -5),
    ]
    assert exposure_of([ORDER], invoices, "O9") == (D("50.00"), D("0.00"), D("50.00"), 45)


def test_an_order_never_counts_itself_nor_its_own_invoice() -> None:
    orders: list[OrderRow] = [ORDER]
    invoices: list[InvoiceRow] = [("I1", "C", "O9", 0, "50.00", None, None, 30)]
    assert exposure_of(orders, invoices, "O9") == (D("0.00"), D("0.00"), D("0.00"), 0)


def test_same_day_orders_follow_the_order_book() -> None:
    orders: list[OrderRow] = [("O1", "C", 0, "40.00"), ("O2", "C", 0, "25.00"), ("O3", "C", 0, "5.00")]
    invoices: list[InvoiceRow] = [("I1", "C", "O1", 0, "40.00", None, None, 30)]
    # O1 sees nothing; O2 sees O1 already invoiced (a receivable, not an open order); O3 sees O2 open too.
    assert exposure_of(orders, invoices, "O1") == (D("0.00"), D("0.00"), D("0.00"), 0)
    assert exposure_of(orders, invoices, "O2") == (D("40.00"), D("0.00"), D("0.00"), 0)
    assert exposure_of(orders, invoices, "O3") == (D("40.00"), D("25.00"), D("0.00"), 0)


def test_an_earlier_order_is_open_for_the_part_not_yet_invoiced() -> None:
    orders: list[OrderRow] = [("O1", "C", -10, "100.00"), ("O2", "C", -10, "30.00"), ORDER]
    invoices: list[InvoiceRow] = [
        ("I1", "C", "O1", -5, "60.00", None, None, 25),
        ("I2", "C", "O1", 1, "40.00", None, None, 31),  # invoiced after the order date: not yet
        ("I3", "C", "O2", -2, "45.00", None, None, 28),  # invoiced above the order amount
    ]
    assert exposure_of(orders, invoices, "O9") == (D("105.00"), D("40.00"), D("0.00"), 0)


def test_other_customers_do_not_count() -> None:
    orders: list[OrderRow] = [("O1", "X", -3, "100.00"), ORDER]
    invoices: list[InvoiceRow] = [("I1", "X", None, -20, "100.00", None, None, -10)]
    assert exposure_of(orders, invoices, "O9") == (D("0.00"), D("0.00"), D("0.00"), 0)


def test_rows_come_back_in_the_orders_order_with_the_contract_types() -> None:
    orders: list[OrderRow] = [("O2", "B", 3, "1.00"), ("O1", "A", 1, "2.00"), ("O3", "B", 0, "3.00")]
    frame, due = invoices_frame([])
    got = exposures_at_orders(orders_frame(orders), frame, due)
    assert got.get_column("id").to_list() == ["O2", "O1", "O3"]
    assert got.get_column("exposure.open_orders").to_list() == [D("3.00"), D("0.00"), D("0.00")]
    expected: dict[str, pl.DataType] = {
        "id": pl.String(),
        "customer": pl.String(),
        "date": pl.Date(),
        "exposure.open_receivables": MONEY,
        "exposure.open_orders": MONEY,
        "exposure.overdue_amount": MONEY,
        "exposure.oldest_overdue_days": pl.Int64(),
    }
    assert got.schema == pl.Schema(expected)


def test_no_orders_gives_an_empty_frame() -> None:
    frame, due = invoices_frame([("I1", "C", None, 0, "1.00", None, None, 0)])
    got = exposures_at_orders(orders_frame([]), frame, due)
    assert got.height == 0 and got.columns[3:] == list(EXPOSURE_COLUMNS)


@pytest.mark.parametrize(
    ("invoices", "due", "code"),
    [
        ([("I1", "C", None, 0, "1.00", None, None, 0)], [], "due_dates_length"),
        ([("I1", "C", None, 0, "1.00", None, None, 0)], [None], "due_date_missing"),
        ([("I1", "C", None, 0, "1.00", None, None, 0)], [day(-1)], "due_before_invoice"),
        ([("I1", "C", "O7", 0, "1.00", None, None, 0)], None, "unknown_order"),
        ([("I1", "X", "O9", 0, "1.00", None, None, 0)], None, "order_customer_mismatch"),
        ([("I1", "C", "O9", -1, "1.00", None, None, 0)], None, "invoice_before_order"),
    ],
)
def test_inputs_the_sweep_cannot_order_are_refused(
    invoices: list[InvoiceRow], due: list[dt.date | None] | None, code: str
) -> None:
    frame, due_dates = invoices_frame(invoices)
    if due is not None:
        due_dates = pl.Series("due", due, dtype=pl.Date)
    with pytest.raises(InputError) as caught:
        exposures_at_orders(orders_frame([ORDER]), frame, due_dates)
    assert caught.value.code == code


def test_duplicate_order_ids_are_refused() -> None:
    frame, due = invoices_frame([])
    with pytest.raises(InputError) as caught:
        exposures_at_orders(orders_frame([ORDER, ORDER]), frame, due)
    assert caught.value.code == "duplicate_id"


# --- invoice states -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("due_offset", "status", "days", "bucket"),
    [
        (5, "open", 0, "0-30"),
        (0, "open", 0, "0-30"),  # due today: not overdue yet
        (-1, "overdue", 1, "0-30"),
        (-30, "overdue", 30, "0-30"),
        (-31, "overdue", 31, "31-60"),
        (-60, "overdue", 60, "31-60"),
        (-61, "overdue", 61, "61-90"),
        (-90, "overdue", 90, "61-90"),
        (-91, "overdue", 91, "90+"),
    ],
)
def test_aging_buckets_count_days_overdue(due_offset: int, status: str, days: int, bucket: str) -> None:
    frame, due = invoices_frame([("I1", "C", None, -200, "12.34", None, None, due_offset)])
    got = invoice_states(frame, due, DAY).row(0, named=True)
    assert (str(got["status"]), got["days_overdue"], str(got["aging_bucket"]), got["open_amount"]) == (
        status,
        days,
        bucket,
        D("12.34"),
    )


@pytest.mark.parametrize(
    ("invoice", "status"),
    [
        (("I1", "C", None, 1, "1.00", None, None, 30), "not_issued"),
        (("I1", "C", None, -9, "1.00", 0, None, 30), "paid"),  # paid on the day: closed
        (("I1", "C", None, -9, "1.00", 1, None, -1), "overdue"),  # paid tomorrow: still open today
        (("I1", "C", None, -9, "1.00", None, 0, -1), "written_off"),
        (("I1", "C", None, -9, "1.00", -2, -3, -1), "written_off"),  # the earlier of the two closed it
        (("I1", "C", None, -9, "1.00", -3, -3, -1), "paid"),
    ],
)
def test_invoice_status_at_the_end_of_the_day(invoice: InvoiceRow, status: str) -> None:
    frame, due = invoices_frame([invoice])
    got = invoice_states(frame, due, DAY).row(0, named=True)
    assert str(got["status"]) == status
    assert got["aging_bucket"] is None if status != "overdue" else got["aging_bucket"] is not None
    assert got["open_amount"] == (D("1.00") if status in ("open", "overdue") else D("0.00"))

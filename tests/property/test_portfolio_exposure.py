"""Exposures at orders and invoice states equal a brute-force reference on small random portfolios.

The reference reads the definitions of engine.portfolio.exposure literally, one order and one
invoice at a time, with Decimal and dates; the portfolios crowd a few customers into a few days
so that same-day orders, invoices issued and paid on an order's day, partial invoicing and due
dates on the order's day all come up often.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from unittest.mock import patch

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.portfolio import exposure
from engine.portfolio.exposure import AGING_BUCKETS, exposures_at_orders, invoice_states
from engine.portfolio.schema import MONEY

DAY0 = dt.date(2026, 3, 1)
CUSTOMERS = ("C1", "C2", "C3")


@dataclass(frozen=True)
class Order:
    id: str
    customer: str
    date: dt.date
    amount: Decimal


@dataclass(frozen=True)
class Invoice:
    id: str
    customer: str
    order: str | None
    invoice_date: dt.date
    amount: Decimal
    payment_date: dt.date | None
    write_off_date: dt.date | None
    due: dt.date

    @property
    def closed(self) -> dt.date | None:
        dates = [d for d in (self.payment_date, self.write_off_date) if d is not None]
        return min(dates) if dates else None


def day(n: int) -> dt.date:
    return DAY0 + dt.timedelta(days=n)


def cents(n: int) -> Decimal:
    return Decimal(n) / 100


@st.composite
def portfolios(draw: st.DrawFn) -> tuple[list[Order], list[Invoice]]:
    count = draw(st.integers(0, 14))
    orders = [
        Order(f"O{i}", draw(st.sampled_from(CUSTOMERS)), day(draw(st.integers(0, 8))), cents(draw(st.integers(0, 900))))
        for i in range(count)
    ]
    invoices: list[Invoice] = []
    for i in range(draw(st.integers(0, 16))):
        linked = draw(st.none() | st.integers(0, count - 1)) if count else None
        if linked is None:
            customer, invoice_date, order = draw(st.sampled_from(CUSTOMERS)), day(draw(st.integers(0, 10))), None
        else:
            o = orders[linked]
            customer, invoice_date, order = o.customer, o.date + dt.timedelta(days=draw(st.integers(0, 3))), o.id
        # Payments and write-offs around the invoice date, now and then (in hand-made data) before it.
        paid = draw(st.none() | st.integers(-1, 9))
        written_off = draw(st.none() | st.integers(-1, 12))
        invoices.append(
            Invoice(
                id=f"I{i}",
                customer=customer,
                order=order,
                invoice_date=invoice_date,
                amount=cents(draw(st.integers(1, 700))),
                payment_date=None if paid is None else invoice_date + dt.timedelta(days=paid),
                write_off_date=None if written_off is None else invoice_date + dt.timedelta(days=written_off),
                due=invoice_date + dt.timedelta(days=draw(st.integers(0, 5))),
            )
        )
    return orders, invoices


def reference(orders: list[Order], invoices: list[Invoice]) -> list[tuple[Decimal, Decimal, Decimal, int]]:
    """The definitions, read literally (see the engine.portfolio.exposure docstring)."""
    book = {o.id: (o.date, row) for row, o in enumerate(orders)}  # order-book position
    rows = []
    for row, o in enumerate(orders):
        now, me = o.date, (o.date, row)
        receivables = overdue = Decimal(0)
        oldest = 0
        for inv in invoices:
            if inv.customer != o.customer or inv.invoice_date > now:
                continue
            if inv.order is not None and book[inv.order] >= me:
                continue  # an invoice of this order or of a later one
            if inv.closed is not None and inv.closed <= now:
                continue
            receivables += inv.amount
            if inv.due < now:
                overdue += inv.amount
                oldest = max(oldest, (now - inv.due).days)
        open_orders = Decimal(0)
        for row2, earlier in enumerate(orders):
            if earlier.customer != o.customer or (earlier.date, row2) >= me:
                continue
            invoiced = sum((i.amount for i in invoices if i.order == earlier.id and i.invoice_date <= now), Decimal(0))
            open_orders += max(Decimal(0), earlier.amount - invoiced)
        rows.append((receivables, open_orders, overdue, oldest))
    return rows


def frames(orders: list[Order], invoices: list[Invoice]) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series]:
    order_frame = pl.DataFrame(
        {
            "id": [o.id for o in orders],
            "customer": [o.customer for o in orders],
            "date": [o.date for o in orders],
            "amount": [o.amount for o in orders],
        },
        schema={"id": pl.String, "customer": pl.String, "date": pl.Date, "amount": MONEY},
    )
    invoice_frame = pl.DataFrame(
        {
            "id": [i.id for i in invoices],
            "customer": [i.customer for i in invoices],
            "order": [i.order for i in invoices],
            "invoice_date": [i.invoice_date for i in invoices],
            "amount": [i.amount for i in invoices],
            "payment_date": [i.payment_date for i in invoices],
            "write_off_date": [i.write_off_date for i in invoices],
        },
        schema={
            "id": pl.String,
            "customer": pl.String,
            "order": pl.String,
            "invoice_date": pl.Date,
            "amount": MONEY,
            "payment_date": pl.Date,
            "write_off_date": pl.Date,
        },
    )
    return order_frame, invoice_frame, pl.Series("due", [i.due for i in invoices], dtype=pl.Date)


@settings(max_examples=400, deadline=None)
@given(portfolios())
def test_exposures_equal_the_reference(portfolio: tuple[list[Order], list[Invoice]]) -> None:
    orders, invoices = portfolio
    got = exposures_at_orders(*frames(orders, invoices))
    exposures = reference(orders, invoices)
    expected = [(o.id, o.customer, o.date, *exposure) for o, exposure in zip(orders, exposures, strict=True)]
    assert got.rows() == expected


def state_reference(inv: Invoice, as_of: dt.date) -> tuple[str, Decimal, int, str | None]:
    if inv.invoice_date > as_of:
        return "not_issued", Decimal(0), 0, None
    paid = inv.payment_date if inv.payment_date is not None and inv.payment_date <= as_of else None
    written_off = inv.write_off_date if inv.write_off_date is not None and inv.write_off_date <= as_of else None
    if paid is not None and (written_off is None or paid <= written_off):
        return "paid", Decimal(0), 0, None
    if written_off is not None:
        return "written_off", Decimal(0), 0, None
    days = max(0, (as_of - inv.due).days)
    bucket = (
        AGING_BUCKETS[0]
        if days <= 30
        else AGING_BUCKETS[1]
        if days <= 60
        else AGING_BUCKETS[2]
        if days <= 90
        else AGING_BUCKETS[3]
    )
    return ("overdue" if days else "open"), inv.amount, days, bucket


@settings(max_examples=200, deadline=None)
@given(portfolios(), st.integers(-2, 130))
def test_invoice_states_equal_the_reference(portfolio: tuple[list[Order], list[Invoice]], offset: int) -> None:
    orders, invoices = portfolio
    as_of = day(offset)
    _, invoice_frame, due = frames(orders, invoices)
    got = invoice_states(invoice_frame, due, as_of)
    rows = got.select(
        pl.col("status").cast(pl.String), "open_amount", "days_overdue", pl.col("aging_bucket").cast(pl.String)
    ).rows()
    assert rows == [state_reference(i, as_of) for i in invoices]


@settings(max_examples=100, deadline=None)
@given(portfolios())
def test_exposures_summed_in_128_bits_equal_the_reference(portfolio: tuple[list[Order], list[Invoice]]) -> None:
    """The Int128 path (taken only for sums beyond 2**62 cents) gives the same answers."""
    orders, invoices = portfolio
    with patch.object(exposure, "_sum_type", lambda *_: pl.Int128()):
        got = exposures_at_orders(*frames(orders, invoices))
    rows = got.select(
        "exposure.open_receivables", "exposure.open_orders", "exposure.overdue_amount", "exposure.oldest_overdue_days"
    ).rows()
    assert rows == reference(orders, invoices)

"""A customer's exposure at each of its orders, and the state of its invoices on a day.

The order check reads ``exposure.*`` as the order system would have seen it when the order came
in. Replaying a portfolio needs that for every order, and a naive "open invoices of this customer
on this day" per order is quadratic in the orders of a large customer — the customers that matter
most. Here every quantity is one sorted sweep over events (an invoice issued, paid or written off,
falling overdue; an order placed, invoiced), with cumulative sums per customer; the oldest overdue
invoice, which a sum cannot give, comes from one as-of join on running maxima (see
:func:`_oldest_overdue`). Amounts are summed exactly, as whole cents in 128-bit integers.

**The moment of an order check.** Orders are sequenced by date, then by their row in the orders
table (the order book: on one day, an order listed earlier came first). The check of order *o*
placed on day *d* sees the end of day *d* for payments and write-offs, and everything that came
before *o* in the order book:

- ``exposure.open_receivables``: the invoices of the customer issued on or before *d* and neither
  paid nor written off on or before *d*, leaving out the invoices of *o* itself and of orders
  that come after *o* (an invoice of an order cannot exist before the order). An invoice paid on
  *d* no longer counts; one issued on *d* (for an earlier order, or for none) does.
- ``exposure.open_orders``: each order of the customer placed before *o* in the order book, for
  its amount less what was invoiced against it on or before *d*, never below zero (an order
  delivered in parts is open for the part not yet invoiced). *o* itself is never counted.
- ``exposure.overdue_amount``: the open receivables whose due date is before *d* (an invoice due
  on *d* is not overdue on *d*).
- ``exposure.oldest_overdue_days``: *d* minus the earliest due date among those, 0 if none.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import polars as pl

from engine.errors import InputError
from engine.portfolio.schema import MONEY

__all__ = [
    "AGING_BUCKETS",
    "EXPOSURE_COLUMNS",
    "InvoiceStatus",
    "exposures_at_orders",
    "invoice_states",
]

EXPOSURE_COLUMNS = (
    "exposure.open_receivables",
    "exposure.open_orders",
    "exposure.overdue_amount",
    "exposure.oldest_overdue_days",
)
AGING_BUCKETS = ("0-30", "31-60", "61-90", "90+")
_CHECK, _EVENT = 0, 1  # at the same moment a check comes before the events: it sees what came before
_START_OF_DAY = -1  # the position of payments, write-offs and due dates among the orders of a day


class InvoiceStatus(StrEnum):
    NOT_ISSUED = "not_issued"
    OPEN = "open"  # issued, not paid, not yet due (or due today)
    OVERDUE = "overdue"
    PAID = "paid"
    WRITTEN_OFF = "written_off"


def _cents(column: str) -> pl.Expr:
    """An amount as whole cents (exact: the decimal's own integer)."""
    return pl.col(column).cast(MONEY).to_physical().cast(pl.Int128)


def _money(cents: pl.Expr) -> pl.Expr:
    return cents.cast(MONEY) / 100


def _day(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.Date).to_physical().cast(pl.Int32)


def exposures_at_orders(orders: pl.DataFrame, invoices: pl.DataFrame, due_dates: pl.Series) -> pl.DataFrame:
    """The exposure of each order's customer at the order check, one row per order in the orders' order.

    ``orders`` needs ``id, customer, date, amount``; ``invoices`` needs ``customer, order,
    invoice_date, amount, payment_date, write_off_date`` (the contract's names); ``due_dates`` is
    each invoice's due date, row for row: it comes from the invoice's terms or, where it has
    none, from its customer's grade in the policy being simulated. Returns ``id, customer, date``
    and the four ``exposure.*`` columns (money as Decimal(38, 2), days as Int64).
    """
    order_rows = orders.select(
        pl.col("id"),
        pl.col("customer"),
        pl.col("date").cast(pl.Date),
        _cents("amount").alias("cents"),
    ).with_row_index("seq")
    invoice_rows = _invoices_with_dates(invoices, due_dates, order_rows)
    customers = pl.concat([order_rows.select("customer"), invoice_rows.select("customer")]).unique(maintain_order=True)
    numbered = customers.with_row_index("cust")
    order_rows = order_rows.join(numbered, on="customer", how="left", maintain_order="left")
    invoice_rows = invoice_rows.join(numbered, on="customer", how="left", maintain_order="left")
    sums = _sum_type(order_rows.get_column("cents"), invoice_rows.get_column("cents"))
    order_rows = order_rows.with_columns(pl.col("cents").cast(sums))
    invoice_rows = invoice_rows.with_columns(pl.col("cents").cast(sums), pl.col("order_cents").cast(sums))
    sweep = _sweep(order_rows, invoice_rows, sums)
    at_checks = (
        sweep.filter(pl.col("kind") == _CHECK)
        .select("seq", "receivables", "open_orders", "overdue")
        .with_columns(_oldest_overdue(sweep))
        .sort("seq")
    )
    exposure = at_checks.select(
        _money(pl.col("receivables")).alias(EXPOSURE_COLUMNS[0]),
        _money(pl.col("open_orders")).alias(EXPOSURE_COLUMNS[1]),
        _money(pl.col("overdue")).alias(EXPOSURE_COLUMNS[2]),
        pl.col("oldest_overdue_days").alias(EXPOSURE_COLUMNS[3]),
    )
    return order_rows.select("id", "customer", "date").hstack(exposure)


def _sum_type(*amounts: pl.Series) -> pl.DataType:
    """Int64 when no running sum can overflow it (any real portfolio), else Int128 (slower, as exact)."""
    bound = 0
    for cents in amounts:
        if cents.len():
            low, high = cents.min(), cents.max()
            assert isinstance(low, int) and isinstance(high, int)
            bound += max(abs(low), abs(high)) * cents.len()
    return pl.Int64() if bound < 2**62 else pl.Int128()


def _invoices_with_dates(invoices: pl.DataFrame, due_dates: pl.Series, order_rows: pl.DataFrame) -> pl.DataFrame:
    """The invoices with their due date, closing date and order; refuses what the sweep cannot order."""
    if due_dates.len() != invoices.height:
        raise InputError(
            f"{due_dates.len()} due dates for {invoices.height} invoices; give one per invoice",
            field="due_dates",
            code="due_dates_length",
        )
    invoice_rows = invoices.select(
        pl.col("customer"),
        pl.col("order"),
        pl.col("invoice_date").cast(pl.Date),
        _cents("amount").alias("cents"),
        pl.min_horizontal(pl.col("payment_date").cast(pl.Date), pl.col("write_off_date").cast(pl.Date)).alias("closed"),
        due_dates.cast(pl.Date).alias("due"),
    ).with_row_index("inv")
    if invoice_rows.get_column("due").null_count():
        raise InputError("every invoice needs a due date", field="due_dates", code="due_date_missing")
    if invoice_rows.select((pl.col("due") < pl.col("invoice_date")).any()).item():
        raise InputError("a due date is before its invoice date", field="due_dates", code="due_before_invoice")
    if order_rows.get_column("id").is_duplicated().any():
        raise InputError("order ids must be unique", field="orders.id", code="duplicate_id")
    linked = invoice_rows.join(
        order_rows.select(
            pl.col("id").alias("order"),
            pl.col("seq").alias("order_seq"),
            pl.col("customer").alias("order_customer"),
            pl.col("date").alias("order_date"),
            pl.col("cents").alias("order_cents"),
        ),
        on="order",
        how="left",
        maintain_order="left",
    )
    dangling = linked.filter(pl.col("order").is_not_null() & pl.col("order_seq").is_null())
    if dangling.height:
        raise InputError(
            f"invoice of an unknown order {dangling.item(0, 'order')!r}", field="invoices.order", code="unknown_order"
        )
    if linked.select((pl.col("order_customer") != pl.col("customer")).any()).item():
        raise InputError(
            "an invoice's order belongs to another customer", field="invoices.order", code="order_customer_mismatch"
        )
    if linked.select((pl.col("invoice_date") < pl.col("order_date")).any()).item():
        raise InputError(
            "an invoice is dated before its order", field="invoices.invoice_date", code="invoice_before_order"
        )
    return linked


def _sweep(order_rows: pl.DataFrame, invoice_rows: pl.DataFrame, sums: pl.DataType) -> pl.DataFrame:
    """Checks and events in time order per customer, with the running sums at each row.

    A moment is (customer, day, position, kind). Payments, write-offs and due dates take the
    first position of a day, before every order; an order and its own check take the order's
    sequence number; an invoice issued on its order's day takes that order's position (it
    exists only after the order), any other invoice the first position. At equal moments the
    check comes first, so a check counts exactly the events strictly before it.
    """
    day_of = _day("invoice_date")
    # An invoice issued on its order's day takes the order's position; any other the start of day.
    issue_position = (
        pl.when(pl.col("order_date") == pl.col("invoice_date")).then(pl.col("order_seq")).otherwise(_START_OF_DAY)
    ).cast(pl.Int64)
    invoice_rows = invoice_rows.with_columns(
        issue_position.alias("issue_position"),
        # Paid or written off before it was issued (possible only in hand-made data) counts as closed at issue.
        pl.max_horizontal(pl.col("closed"), pl.col("invoice_date")).alias("closed_at"),
        (pl.col("closed").is_null() | (pl.col("closed") > pl.col("due"))).alias("falls_overdue"),
    ).with_columns(
        pl.when(pl.col("closed_at") == pl.col("invoice_date"))
        .then(pl.col("issue_position"))
        .otherwise(_START_OF_DAY)
        .alias("close_position"),
    )
    zero = pl.lit(0, dtype=sums)  # Int128 has no negation in Polars: subtract from zero
    none = pl.lit(-1, dtype=pl.Int64)

    def moment(day: pl.Expr, position: pl.Expr, kind: int) -> list[pl.Expr]:
        return [
            pl.col("cust"),
            day.cast(pl.Int32).alias("day"),
            position.cast(pl.Int64).alias("position"),
            pl.lit(kind, dtype=pl.Int8).alias("kind"),
        ]

    columns = ("receivables", "open_orders", "overdue")

    def deltas(receivables: pl.Expr, open_orders: pl.Expr, overdue: pl.Expr) -> list[pl.Expr]:
        return [e.cast(sums).alias(name) for e, name in zip((receivables, open_orders, overdue), columns, strict=True)]

    order_part = _invoiced_part(invoice_rows)
    issued = invoice_rows.join(order_part, on="inv", how="left").select(
        *moment(day_of, pl.col("issue_position"), _EVENT),
        *deltas(pl.col("cents"), zero - pl.col("invoiced_part").fill_null(0), zero),
        none.alias("inv"),
        none.alias("seq"),
    )
    closed = invoice_rows.filter(pl.col("closed").is_not_null()).select(
        *moment(_day("closed_at"), pl.col("close_position"), _EVENT),
        *deltas(
            zero - pl.col("cents"), zero, pl.when(pl.col("falls_overdue")).then(zero - pl.col("cents")).otherwise(zero)
        ),
        # Only the close of an invoice that fell overdue matters to the oldest-overdue search.
        pl.when(pl.col("falls_overdue")).then(pl.col("inv").cast(pl.Int64)).otherwise(-1).alias("inv"),
        none.alias("seq"),
    )
    overdue = invoice_rows.filter(pl.col("falls_overdue")).select(
        *moment(_day("due") + 1, pl.lit(_START_OF_DAY), _EVENT),
        *deltas(zero, zero, pl.col("cents")),
        pl.col("inv").cast(pl.Int64).alias("inv"),
        none.alias("seq"),
    )
    placed = order_rows.select(
        *moment(_day("date"), pl.col("seq"), _EVENT),
        *deltas(zero, pl.col("cents"), zero),
        none.alias("inv"),
        none.alias("seq"),
    )
    asked = order_rows.select(
        *moment(_day("date"), pl.col("seq"), _CHECK),
        *deltas(zero, zero, zero),
        none.alias("inv"),
        pl.col("seq").cast(pl.Int64).alias("seq"),
    )
    events = pl.concat([asked, placed, issued, closed, overdue]).sort(["cust", "day", "position", "kind"])
    last_of_customer = pl.col("cust") != pl.col("cust").shift(-1)
    return (
        events.with_row_index("ordinal")
        .with_columns(pl.col("ordinal").cast(pl.Int64))
        .with_columns(
            *(_running_sum(name, "cust").alias(name) for name in columns),
            pl.when(last_of_customer.fill_null(True))
            .then(pl.col("ordinal"))
            .otherwise(None)
            .backward_fill()
            .alias("last_of_customer"),
        )
    )


def _running_sum(column: str, block: str) -> pl.Expr:
    """Running sum of ``column`` within consecutive blocks of equal ``block`` (the frame is sorted by it).

    A global running sum less its value just before the block starts: no grouping, one pass.
    """
    total = pl.col(column).cum_sum()
    starts = (pl.col(block) != pl.col(block).shift(1)).fill_null(True)
    return total - pl.when(starts).then(total - pl.col(column)).otherwise(None).forward_fill()


def _invoiced_part(invoice_rows: pl.DataFrame) -> pl.DataFrame:
    """(inv, cents) by which each invoice reduces its order's open amount: what it invoices, up to what was left."""
    linked = invoice_rows.filter(pl.col("order_seq").is_not_null()).sort(["order_seq", "invoice_date", "inv"])
    invoiced_after = _running_sum("cents", "order_seq")
    left_before = (pl.col("order_cents") - (invoiced_after - pl.col("cents"))).clip(lower_bound=0)
    left_after = (pl.col("order_cents") - invoiced_after).clip(lower_bound=0)
    return linked.select(pl.col("inv"), (left_before - left_after).alias("invoiced_part"))


def _oldest_overdue(sweep: pl.DataFrame) -> pl.Series:
    """Days overdue of the oldest open overdue invoice at each check (in sweep order), in one as-of join.

    At a check, the oldest overdue invoice is the open one with the earliest due date, provided
    that date is before the check's day. Take the customer's invoices that ever fall overdue in
    order of due date, each with the ordinal of its close in the sweep (an open one closes "after
    the customer's last row"). The first of them still open at the check — closing after it — is
    the first whose close ordinal exceeds the check's: it is where the running maximum of close
    ordinals first passes the check's ordinal, and a forward as-of join on the running maxima
    (kept where they rise, so they are strictly increasing) finds it. Every close ordinal lies
    within its customer's block of the sweep, so one global running maximum serves every
    customer and a match in another customer's block means "none open". An invoice not yet
    overdue at the check has its due date on or after the check's day, so any earlier due date
    found is overdue; a match on or after the day means no overdue invoice is open. An invoice
    still open but not yet issued cannot be first: its due date is after the check's day too.
    """
    # Rows carrying an invoice number: the day after its due date (it falls overdue) and, if it
    # was paid or written off after that, its close. The due date is the first of those days less one.
    starts = (
        sweep.filter(pl.col("inv") >= 0)
        .group_by("inv")
        .agg(
            pl.col("cust").first(),
            (pl.col("day").min() - 1).alias("due"),
            pl.col("ordinal").max().alias("close"),
            pl.len().alias("rows"),
            pl.col("last_of_customer").first(),
        )
    )
    ends = starts.with_columns(
        # An invoice still open has one row (its overdue start): it closes after the customer's last row.
        pl.when(pl.col("rows") == 2)
        .then(pl.col("close") * 2)
        .otherwise(pl.col("last_of_customer") * 2 + 1)
        .alias("close2"),
    ).sort(["cust", "due", "inv"])
    running = ends.with_columns(pl.col("close2").cum_max().alias("reach"))
    rises = running.filter(pl.col("close2") > pl.col("reach").shift(1).fill_null(-1)).select(
        pl.col("reach"), pl.col("cust").alias("found_cust"), pl.col("due").alias("found_due")
    )
    at_checks = sweep.filter(pl.col("kind") == _CHECK).select(
        (pl.col("ordinal") * 2).alias("at"), pl.col("cust"), pl.col("day")
    )
    # Both sides are sorted on the join keys by construction (the sweep's order; rising maxima),
    # which Polars cannot see through the filters: its check would only cost a pass.
    matched = at_checks.join_asof(rises, left_on="at", right_on="reach", strategy="forward", check_sortedness=False)
    return matched.select(
        pl.when((pl.col("found_cust") == pl.col("cust")) & (pl.col("found_due") < pl.col("day")))
        .then(pl.col("day") - pl.col("found_due"))
        .otherwise(0)
        .cast(pl.Int64)
        .alias("oldest_overdue_days"),
    ).to_series()


def invoice_states(invoices: pl.DataFrame, due_dates: pl.Series, as_of: dt.date) -> pl.DataFrame:
    """Each invoice at the end of day ``as_of``: status, open amount, days overdue and aging bucket.

    Paid or written off on or before ``as_of`` closes it (the earlier of the two, a payment on the
    same day as a write-off counting as paid); otherwise an invoice issued on or before ``as_of``
    is open, and overdue when its due date is before ``as_of``. The aging bucket counts days
    overdue — "0-30" also holds the invoices not yet due, "90+" those more than 90 days overdue —
    and is empty for an invoice that is not open.
    """
    if due_dates.len() != invoices.height:
        raise InputError(
            f"{due_dates.len()} due dates for {invoices.height} invoices; give one per invoice",
            field="due_dates",
            code="due_dates_length",
        )
    day = pl.lit(as_of, dtype=pl.Date)
    paid = pl.col("payment_date").is_not_null() & (pl.col("payment_date") <= day)
    written_off = pl.col("write_off_date").is_not_null() & (pl.col("write_off_date") <= day)
    paid_first = paid & (~written_off | (pl.col("payment_date") <= pl.col("write_off_date")))
    issued = pl.col("invoice_date") <= day
    overdue_days = (day - pl.col("due_date")).dt.total_days()
    status = (
        pl.when(~issued)
        .then(pl.lit(InvoiceStatus.NOT_ISSUED.value))
        .when(paid_first)
        .then(pl.lit(InvoiceStatus.PAID.value))
        .when(written_off)
        .then(pl.lit(InvoiceStatus.WRITTEN_OFF.value))
        .when(overdue_days > 0)
        .then(pl.lit(InvoiceStatus.OVERDUE.value))
        .otherwise(pl.lit(InvoiceStatus.OPEN.value))
    )
    is_open = pl.col("status").is_in([InvoiceStatus.OPEN.value, InvoiceStatus.OVERDUE.value])
    days = pl.when(pl.col("status") == InvoiceStatus.OVERDUE.value).then(overdue_days).otherwise(0)
    bucket = (
        pl.when(~is_open)
        .then(None)
        .when(pl.col("days_overdue") <= 30)
        .then(pl.lit(AGING_BUCKETS[0]))
        .when(pl.col("days_overdue") <= 60)
        .then(pl.lit(AGING_BUCKETS[1]))
        .when(pl.col("days_overdue") <= 90)
        .then(pl.lit(AGING_BUCKETS[2]))
        .otherwise(pl.lit(AGING_BUCKETS[3]))
    )
    return (
        invoices.select(
            "id",
            "customer",
            "invoice_date",
            "amount",
            "payment_date",
            "write_off_date",
        )
        .with_columns(due_dates.cast(pl.Date).alias("due_date"))
        .with_columns(status.cast(pl.Enum([s.value for s in InvoiceStatus])).alias("status"))
        .with_columns(days.cast(pl.Int64).alias("days_overdue"))
        .with_columns(
            pl.when(is_open).then(pl.col("amount").cast(MONEY)).otherwise(pl.lit(0, dtype=MONEY)).alias("open_amount"),
            bucket.cast(pl.Enum(AGING_BUCKETS)).alias("aging_bucket"),
        )
        .select("id", "customer", "due_date", "status", "open_amount", "days_overdue", "aging_bucket")
    )

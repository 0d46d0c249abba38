"""A realistic synthetic portfolio, so that a policy can be simulated before any real data is at hand.

One latent risk per customer (a standard normal draw, higher is riskier) drives everything the
files show about it: the financial statements, the payment history and ratings of its credit
file, how late it pays our invoices, whether it defaults and what is written off. So a better
credit file really does pay better, and a policy that grades credit files well separates good
payers from bad ones in a simulation. Sales are concentrated as in any real book: customer sizes
and order frequencies are log-normal, so a minority of customers makes most of the revenue.

Everything is drawn with NumPy from one seeded generator and assembled with Polars, without a
Python loop over rows; the same arguments give byte-identical files. Amounts are drawn as whole
cents (integers) and become decimal columns only at the end: no amount is ever a float.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from engine.models import MAX_AMOUNT
from engine.portfolio.schema import CUSTOMERS, INVOICES, MONEY, NUMBER, ORDERS
from policy.fields import SEGMENTS
from policy.terms import parse_terms

__all__ = [
    "RATING_NAMES",
    "GeneratedPortfolio",
    "ProgressCallback",
    "SyntheticPortfolio",
    "generate_portfolio",
    "synthesize_portfolio",
]

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

# (stage, stages done, stages in all): enough for a CLI to drive a progress bar.
ProgressCallback = Callable[[str, int, int], None]

EPOCH = dt.date(1970, 1, 1)
DEFAULT_END = dt.date(2026, 6, 30)
CURRENCY = "CNY"  # the shipped policy's currency

# The words the shipped policy (rules/standard.yaml) scores, best first.
RATING_WORDS = ("excellent", "good", "fair", "poor", "bad")
RATING_NAMES = ("character", "visit_impression", "industry_prospects", "economic_conditions")
BANK_RECORDS = ("normal", "special_mention", "substandard", "doubtful", "loss")
# Terms written on invoices under a negotiated contract, most common first (weights beside).
CONTRACT_TERMS = (
    ("2/10, n/30", 0.35),
    ("n/30", 0.25),
    ("3/10, 2/20, n/45", 0.12),
    ("1/10, n/30", 0.10),
    ("n/60", 0.10),
    ("n/15", 0.08),
)
# Net days of the shipped policy's grade terms, used to draw realistic payment dates for an
# invoice without explicit terms; the simulation itself resolves a grade's terms from the policy.
GRADE_DAYS_BY_RISK = ((-1.3, 60), (-0.8, 45), (-0.2, 30), (0.5, 30), (1.0, 20), (1.5, 15))
WEAKEST_GRADE_DAYS = 10

_STAGES = ("customers", "orders and invoices", "writing customers", "writing orders", "writing invoices")
_MAX_CENTS = int(MAX_AMOUNT * 100) - 1


@dataclass(frozen=True, eq=False)
class SyntheticPortfolio:
    """The generated tables in memory, and each customer's latent risk (which no file shows)."""

    customers: pl.DataFrame
    orders: pl.DataFrame
    invoices: pl.DataFrame
    latent_risk: pl.DataFrame  # id, risk (higher is riskier), defaulted


@dataclass(frozen=True)
class GeneratedPortfolio:
    """Where a generated portfolio was written, and how many rows each table has."""

    folder: Path
    customers_file: Path
    orders_file: Path
    invoices_file: Path
    customers: int
    orders: int
    invoices: int


def generate_portfolio(
    *,
    customers: int,
    invoices: int,
    years: int,
    seed: int,
    out: str | Path,
    format: Literal["parquet", "csv"] = "parquet",
    end: dt.date = DEFAULT_END,
    progress: ProgressCallback | None = None,
) -> GeneratedPortfolio:
    """Write a synthetic portfolio of ``customers`` and exactly ``invoices`` invoices over ``years`` to ``out``.

    Orders run over the ``years`` before ``end`` (a fixed date, not today, so that a seed always
    gives the same files); some recent orders are not invoiced yet. ``out`` is created if needed;
    table files already there in the other format are refused, as the folder would be ambiguous.
    """
    if format not in ("parquet", "csv"):
        raise ValueError(f"format must be 'parquet' or 'csv', not {format!r}")
    folder = Path(out)
    other = "csv" if format == "parquet" else "parquet"
    clashing = [
        folder / f"{t.name}.{other}" for t in (CUSTOMERS, ORDERS, INVOICES) if (folder / f"{t.name}.{other}").exists()
    ]
    if clashing:
        raise FileExistsError(f"{clashing[0]} exists: a portfolio folder holds each table in one format only")
    portfolio = synthesize_portfolio(
        customers=customers, invoices=invoices, years=years, seed=seed, end=end, progress=progress
    )
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for number, (table, frame) in enumerate(
        (("customers", portfolio.customers), ("orders", portfolio.orders), ("invoices", portfolio.invoices)), start=3
    ):
        file = folder / f"{table}.{format}"
        if format == "parquet":
            frame.write_parquet(file, compression="zstd", statistics=True)
        else:
            frame.write_csv(file)
        files.append(file)
        _report(progress, number)
    return GeneratedPortfolio(
        folder=folder,
        customers_file=files[0],
        orders_file=files[1],
        invoices_file=files[2],
        customers=portfolio.customers.height,
        orders=portfolio.orders.height,
        invoices=portfolio.invoices.height,
    )


def _report(progress: ProgressCallback | None, done: int) -> None:
    if progress is not None:
        progress(_STAGES[done - 1], done, len(_STAGES))


def synthesize_portfolio(
    *,
    customers: int,
    invoices: int,
    years: int,
    seed: int,
    end: dt.date = DEFAULT_END,
    progress: ProgressCallback | None = None,
) -> SyntheticPortfolio:
    """The synthetic portfolio as frames typed to the contract (what :func:`generate_portfolio` writes)."""
    if customers < 1:
        raise ValueError("a portfolio needs at least 1 customer")
    if invoices < 0:
        raise ValueError("the number of invoices cannot be negative")
    if years < 1:
        raise ValueError("years must be at least 1")
    rng = np.random.default_rng(seed)
    end_day = (end - EPOCH).days
    start_day = end_day - 365 * years
    traits = _draw_traits(rng, customers, start_day, end_day)
    customer_frame = _customer_frame(rng, traits, end_day)
    _report(progress, 1)
    orders, invoice_frame = _orders_and_invoices(rng, traits, invoices, end_day)
    _report(progress, 2)
    latent = pl.DataFrame(
        {"id": customer_frame.get_column("id"), "risk": traits.risk, "defaulted": traits.default_day <= end_day}
    )
    return SyntheticPortfolio(customer_frame, orders, invoice_frame, latent)


# --- customers ------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Traits:
    """What drives a customer's behaviour; arrays indexed by customer."""

    risk: Floats
    log_size: Floats  # standardised log of revenue
    revenue_cents: Ints
    weight: Floats  # relative order frequency
    order_size: Floats  # typical order amount in CNY
    first_day: Ints  # first day it may order (new customers join during the period)
    last_day: Ints  # last day it may order (a defaulter is cut off a month after defaulting)
    default_day: Ints  # day it defaults; beyond the end for those that do not
    on_time: Floats  # probability of paying an invoice by its due date
    late_days: Floats  # mean days late when late
    grade_days: Ints  # net days of the terms its grade would likely get
    contract_terms: Ints  # index into CONTRACT_TERMS, -1 for none


def _sigmoid(x: Floats) -> Floats:
    result: Floats = 1.0 / (1.0 + np.exp(-x))
    return result


def _draw_traits(rng: np.random.Generator, n: int, start_day: int, end_day: int) -> _Traits:
    risk = rng.standard_normal(n)
    log_size = rng.standard_normal(n)
    revenue = np.exp(np.log(2.0e7) + 1.3 * log_size)
    revenue_cents = np.clip(np.round(revenue) * 100, 2.0e7, 5.0e12).astype(np.int64)
    weight = np.exp(1.0 * rng.standard_normal(n) + 0.6 * log_size)
    order_size = np.exp(np.log(2.5e4) + 0.6 * log_size + 0.5 * rng.standard_normal(n))
    span = end_day - start_day
    # Two customers in three have traded with us since before the period; the others join during it.
    joins = rng.random(n) < 1 / 3
    first_day = np.where(joins, start_day + (rng.random(n) * (span - 60)).astype(np.int64), start_day)
    defaults = rng.random(n) < _sigmoid(-4.2 + 1.7 * risk)
    default_day = np.where(
        defaults,
        first_day + 60 + (rng.random(n) * np.maximum(end_day + 180 - first_day - 60, 1)).astype(np.int64),
        end_day + 10_000,
    )
    last_day = np.minimum(end_day, default_day + 30)
    grade_days = np.full(n, WEAKEST_GRADE_DAYS, dtype=np.int64)
    for bound, days in reversed(GRADE_DAYS_BY_RISK):
        grade_days = np.where(risk < bound, days, grade_days)
    weights = np.array([w for _, w in CONTRACT_TERMS])
    contract = np.where(
        rng.random(n) < 0.15 + 0.05 * (log_size > 1), rng.choice(len(CONTRACT_TERMS), size=n, p=weights), -1
    )
    return _Traits(
        risk=risk,
        log_size=log_size,
        revenue_cents=revenue_cents,
        weight=weight,
        order_size=order_size,
        first_day=first_day.astype(np.int64),
        last_day=last_day.astype(np.int64),
        default_day=default_day.astype(np.int64),
        on_time=_sigmoid(2.2 - 1.6 * risk),
        late_days=np.exp(2.0 + 0.7 * risk),
        grade_days=grade_days,
        contract_terms=contract.astype(np.int64),
    )


def _money(cents: Ints, missing: Bools | None = None) -> pl.Series:
    """Whole cents as an exact Decimal(38, 2) column (the division by 100 is exact at scale 2)."""
    series = pl.Series(np.clip(cents, -_MAX_CENTS, _MAX_CENTS), dtype=pl.Int64).cast(MONEY) / 100
    return _blank(series.cast(MONEY), missing)


def _number(value: Floats, decimals: int, missing: Bools | None = None) -> pl.Series:
    """A number rounded to ``decimals`` (at most 4) as an exact Decimal(38, 4) column."""
    units = np.round(value * 10**decimals).astype(np.int64) * 10 ** (4 - decimals)
    return _blank((pl.Series(units, dtype=pl.Int64).cast(NUMBER) / 10_000).cast(NUMBER), missing)


def _blank(series: pl.Series, missing: Bools | None) -> pl.Series:
    if missing is None or not missing.any():
        return series
    blank = pl.lit(None, dtype=series.dtype)
    return pl.select(pl.when(pl.Series(missing)).then(blank).otherwise(series).alias(series.name)).to_series()


def _words(score: Floats, cuts: tuple[float, ...]) -> Ints:
    """Index of the word for each score: above cuts[0] the first word, ... below the last cut the last."""
    return np.searchsorted(-np.asarray(cuts), -score, side="right").astype(np.int64)


def _word_column(index: Ints, words: tuple[str, ...], missing: Bools | None = None) -> pl.Series:
    return _blank(pl.Series(words, dtype=pl.String).gather(index), missing)


def _customer_frame(rng: np.random.Generator, t: _Traits, end_day: int) -> pl.DataFrame:
    n = t.risk.size
    z = t.risk
    noise = rng.standard_normal
    revenue = t.revenue_cents.astype(np.float64)
    total_assets = revenue * np.exp(-0.2 + 0.3 * noise(n))
    debt_ratio = np.clip(0.45 + 0.17 * z + 0.08 * noise(n), 0.05, 1.25)
    net_assets = total_assets * (1 - debt_ratio)
    current_assets = total_assets * np.clip(0.5 + 0.1 * noise(n), 0.15, 0.9)
    current_ratio = np.clip(np.exp(np.log(1.8) - 0.3 * z + 0.2 * noise(n)), 0.3, 6.0)
    current_liabilities = current_assets / current_ratio
    margin = 0.05 - 0.03 * z + 0.02 * noise(n)
    net_profit = revenue * margin
    cash_flow = net_profit * rng.uniform(0.5, 1.5, n) + 0.1 * current_liabilities * (0.8 - 0.5 * z + noise(n)) / 2
    liquidation = total_assets * rng.uniform(0.3, 0.6, n)
    paid_in = total_assets * rng.uniform(0.05, 0.3, n)
    no_statements = rng.random(n) < 0.04 + 0.04 * (z > 1)
    no_cash_flow = no_statements | (rng.random(n) < 0.1)
    collateral = np.where(rng.random(n) < 0.3, total_assets * rng.uniform(0.01, 0.1, n), 0.0)
    new_customer = t.first_day > end_day - 365  # no payment history with us yet

    def cents(x: Floats) -> Ints:
        return np.round(x).astype(np.int64)

    late_share = 1 - t.on_time
    avg_late = np.maximum(0.0, late_share * t.late_days + noise(n))
    max_late = np.maximum(np.round(t.late_days * rng.uniform(1.0, 4.0, n) * (late_share > 0.03)), 0)
    quality = -z + 0.7 * noise(n)
    economy = 0.3 - 0.2 * z + 0.8 * noise(n)
    industry = -0.4 * z + 0.9 * noise(n)
    cuts = (1.2, 0.3, -0.6, -1.5)
    # Most customers have no segment (the simulation derives it from sales); some are set by hand.
    segment = np.full(n, -1, dtype=np.int64)
    segment[rng.random(n) < 0.25] = SEGMENTS.index("ordinary")
    segment[(t.log_size + 0.5 * noise(n) > 1.7) & (t.first_day == t.first_day.min())] = SEGMENTS.index("core")
    segment[(z > 1.8) & (rng.random(n) < 0.7)] = SEGMENTS.index("high_risk")
    columns: dict[str, pl.Series] = {
        "id": pl.Series(_ids("C-", n, 6)),
        "segment": _word_column(np.maximum(segment, 0), SEGMENTS, segment < 0),
        "financials.current_assets": _money(cents(current_assets), no_statements),
        "financials.current_liabilities": _money(cents(current_liabilities), no_statements),
        "financials.total_assets": _money(cents(total_assets), no_statements),
        "financials.net_assets": _money(cents(net_assets), no_statements),
        "financials.revenue": _money(t.revenue_cents, no_statements),
        "financials.net_profit": _money(cents(net_profit), no_statements),
        "financials.operating_cash_flow": _money(cents(cash_flow), no_cash_flow),
        "financials.liquidation_value": _money(cents(liquidation), no_statements),
        "financials.fixed_assets": _money(cents(total_assets - current_assets), no_statements),
        "financials.paid_in_capital": _money(cents(paid_in), no_statements),
        "payment.on_time_ratio": _number(np.clip(t.on_time + 0.03 * noise(n), 0, 1), 4, new_customer),
        "payment.avg_days_late": _number(avg_late, 1, new_customer),
        "payment.max_days_late": _counts(max_late, new_customer),
        "payment.defaults_3y": _counts(rng.poisson(0.04 * np.exp(1.2 * z)), new_customer),
        "payment.bounced_cheques": _counts(rng.poisson(0.03 * np.exp(1.2 * z)), new_customer),
        "records.years_in_business": _number(np.clip(np.exp(np.log(12) - 0.3 * z + 0.6 * noise(n)), 0.5, 80), 1),
        "records.litigation_count": _counts(rng.poisson(0.1 * np.exp(0.9 * z))),
        "records.bank_record": _word_column(
            _words(-(z + 0.5 * noise(n)), (-1.2, -1.9, -2.5, -3.0)), BANK_RECORDS, rng.random(n) < 0.05
        ),
        "records.owns_premises": pl.Series(rng.random(n) < _sigmoid(0.5 - 0.8 * z)),
        "outlook.expected_dso_days": _number(
            np.clip(20 + 0.8 * t.grade_days + late_share * t.late_days + 3 * noise(n), 0, 365), 1
        ),
        "outlook.expected_bad_debt_rate": _number(np.clip(0.004 * np.exp(1.1 * z), 0, 0.5), 4),
        "trade.collateral_value": _money(cents(collateral), collateral == 0),
        "trade.has_guarantee": pl.Series(rng.random(n) < 0.08),
        "ratings.character": _word_column(_words(quality, cuts), RATING_WORDS, rng.random(n) < 0.05),
        "ratings.visit_impression": _word_column(
            _words(quality + 0.5 * noise(n), cuts), RATING_WORDS, rng.random(n) < 0.2
        ),
        "ratings.industry_prospects": _word_column(_words(industry, cuts), RATING_WORDS),
        "ratings.economic_conditions": _word_column(_words(economy, cuts), RATING_WORDS),
    }
    return pl.DataFrame(columns).select(CUSTOMERS.schema(tuple(f"ratings.{r}" for r in RATING_NAMES)).names())


def _counts(values: npt.NDArray[np.int64] | Floats, missing: Bools | None = None) -> pl.Series:
    series = pl.Series(np.clip(np.asarray(values), 0, 1_000_000).astype(np.int64), dtype=pl.Int64)
    return _blank(series, missing)


def _ids(prefix: str, n: int, width: int) -> pl.Series:
    digits = max(width, len(str(n)))
    return pl.select(pl.format(prefix + "{}", pl.int_range(1, n + 1).cast(pl.String).str.zfill(digits))).to_series()


# --- orders and invoices ----------------------------------------------------------------------------
def _pick_customers(rng: np.random.Generator, t: _Traits, count: int) -> Ints:
    p = t.weight / t.weight.sum()
    return rng.choice(t.weight.size, size=count, p=p).astype(np.int64)


def _day_in(rng: np.random.Generator, low: Ints, high: Ints) -> Ints:
    """A uniform day in [low, high] for each pair (high is raised to low where the window is empty)."""
    high = np.maximum(high, low)
    return low + (rng.random(low.size) * (high - low + 1)).astype(np.int64)


def _amount_cents(rng: np.random.Generator, typical: Floats) -> Ints:
    amount = typical * np.exp(0.6 * rng.standard_normal(typical.size) - 0.18)
    return np.clip(np.round(amount * 100), 10_000, 10**11).astype(np.int64)


def _orders_and_invoices(
    rng: np.random.Generator, t: _Traits, invoice_count: int, end_day: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    unlinked = int(round(invoice_count * 0.03))
    linked = invoice_count - unlinked
    invoiced_orders = int(round(linked / 1.05))
    split = linked - invoiced_orders  # orders delivered (and invoiced) in two parts
    span = max(int(end_day - t.first_day.min()), 1)
    pending = int(round(invoiced_orders * 14 / span)) if invoiced_orders else 0

    # Invoiced orders: invoiced 0..10 days after the order (delivery), on or before the end.
    customer = _pick_customers(rng, t, invoiced_orders)
    lag = np.minimum(rng.geometric(0.35, invoiced_orders) - 1, 10).astype(np.int64)
    order_day = _day_in(rng, t.first_day[customer], t.last_day[customer] - lag)
    invoice_day = np.minimum(order_day + lag, end_day)
    amount = _amount_cents(rng, t.order_size[customer])
    # Orders placed in the last two weeks that are not invoiced yet.
    pending_customer = _pick_customers(rng, t, pending)
    pending_day = _day_in(
        rng, np.maximum(t.last_day[pending_customer] - 13, t.first_day[pending_customer]), t.last_day[pending_customer]
    )
    pending_amount = _amount_cents(rng, t.order_size[pending_customer])

    all_customer = np.concatenate([customer, pending_customer])
    all_day = np.concatenate([order_day, pending_day])
    all_amount = np.concatenate([amount, pending_amount])
    order_sequence = np.lexsort((all_customer, all_day))  # the order book: by day, then customer
    order_number = np.empty_like(order_sequence)
    order_number[order_sequence] = np.arange(order_sequence.size)
    orders = pl.DataFrame(
        {
            "id": _ids("O-", order_sequence.size, 7),
            "customer": _customer_ids(t, all_customer[order_sequence]),
            "date": _dates(all_day[order_sequence]),
            "amount": _money(all_amount[order_sequence]),
            "currency": pl.select(pl.repeat(CURRENCY, order_sequence.size, dtype=pl.String)).to_series(),
        }
    )

    # Invoices: one per invoiced order, a second one for the orders delivered in two parts, and
    # a few without an order (services, extra charges).
    two_parts = rng.choice(invoiced_orders, size=split, replace=False) if split else np.empty(0, np.int64)
    first_share = rng.uniform(0.4, 0.8, split)
    first_part = np.clip(np.round(amount[two_parts] * first_share), 1, amount[two_parts] - 1).astype(np.int64)
    invoice_amount = amount.copy()
    invoice_amount[two_parts] = first_part
    second_day = np.minimum(invoice_day[two_parts] + 5 + rng.geometric(0.08, split), end_day)
    loose_customer = _pick_customers(rng, t, unlinked)
    loose_day = _day_in(rng, t.first_day[loose_customer], t.last_day[loose_customer])
    loose_amount = _amount_cents(rng, 0.2 * t.order_size[loose_customer])

    inv_customer = np.concatenate([customer, customer[two_parts], loose_customer])
    inv_day = np.concatenate([invoice_day, second_day, loose_day])
    inv_amount = np.concatenate([invoice_amount, amount[two_parts] - first_part, loose_amount])
    inv_order = np.concatenate([order_number[:invoiced_orders], order_number[two_parts], np.full(unlinked, -1)])
    terms = _invoice_terms(rng, t, inv_customer)
    payment_day, paid_cents, write_off_day = _settle(rng, t, inv_customer, inv_day, inv_amount, terms, end_day)

    sequence = np.lexsort((inv_order, inv_customer, inv_day))
    order_ids = orders.get_column("id")
    linked_order = inv_order[sequence]
    invoices = pl.DataFrame(
        {
            "id": _ids("I-", sequence.size, 7),
            "customer": _customer_ids(t, inv_customer[sequence]),
            "order": _blank(order_ids.gather(np.maximum(linked_order, 0)), linked_order < 0)
            if order_ids.len()
            else pl.Series([None] * sequence.size, dtype=pl.String),
            "invoice_date": _dates(inv_day[sequence]),
            "amount": _money(inv_amount[sequence]),
            "terms": _terms_column(terms[sequence]),
            "payment_date": _dates(payment_day[sequence], payment_day[sequence] < 0),
            "payment_amount": _money(paid_cents[sequence], payment_day[sequence] < 0),
            "write_off_date": _dates(write_off_day[sequence], write_off_day[sequence] < 0),
        }
    )
    return orders.select(ORDERS.names), invoices.select(INVOICES.names)


def _customer_ids(t: _Traits, index: Ints) -> pl.Series:
    return _ids("C-", t.risk.size, 6).gather(index)


def _dates(days: Ints, missing: Bools | None = None) -> pl.Series:
    return _blank(pl.Series(days, dtype=pl.Int64).cast(pl.Int32).cast(pl.Date), missing)


_PARSED_TERMS = [parse_terms(text) for text, _ in CONTRACT_TERMS]
_NET_DAYS = np.array([p.credit_days for p in _PARSED_TERMS], dtype=np.int64)
_FIRST_DISCOUNT_DAYS = np.array([p.tiers[0].days if p.tiers else 0 for p in _PARSED_TERMS], dtype=np.int64)
# Discount rates in basis points (0.02 -> 200), so the discount on whole cents stays integer.
_FIRST_DISCOUNT_BP = np.array([int(p.tiers[0].rate * 10_000) if p.tiers else 0 for p in _PARSED_TERMS], dtype=np.int64)


def _invoice_terms(rng: np.random.Generator, t: _Traits, customer: Ints) -> Ints:
    """Index of the explicit terms on each invoice, -1 for the grade's terms (most invoices)."""
    contract = t.contract_terms[customer]
    weights = np.array([w for _, w in CONTRACT_TERMS])
    one_off = rng.choice(len(CONTRACT_TERMS), size=customer.size, p=weights)
    u = rng.random(customer.size)
    return np.where((contract >= 0) & (u < 0.9), contract, np.where(u > 0.97, one_off, -1)).astype(np.int64)


def _terms_column(terms: Ints) -> pl.Series:
    return _word_column(np.maximum(terms, 0), tuple(text for text, _ in CONTRACT_TERMS), terms < 0)


def _settle(
    rng: np.random.Generator,
    t: _Traits,
    customer: Ints,
    invoice_day: Ints,
    amount: Ints,
    terms: Ints,
    end_day: int,
) -> tuple[Ints, Ints, Ints]:
    """(payment day, amount paid, write-off day) of each invoice; -1 where there is none.

    A customer pays on time with its own probability, taking an offered discount when it is a
    good payer; otherwise it pays late by an exponential number of days whose mean grows with
    its risk. A defaulter never pays what it was invoiced from 90 days before its default, and
    that is written off 3 to 12 months later; a rare invoice is written off after a lost dispute.
    Anything that would happen after the end has not happened yet: the invoice is open.
    """
    n = customer.size
    explicit = terms >= 0
    net_days = np.where(explicit, _NET_DAYS[np.maximum(terms, 0)], t.grade_days[customer])
    due = invoice_day + net_days
    on_time = rng.random(n) < t.on_time[customer]
    early = invoice_day + np.round(net_days * rng.uniform(0.2, 1.0, n)).astype(np.int64)
    late = due + 1 + np.floor(rng.exponential(t.late_days[customer])).astype(np.int64)
    payment_day = np.where(on_time, early, late)
    discount_days = _FIRST_DISCOUNT_DAYS[np.maximum(terms, 0)]
    takes_discount = explicit & (discount_days > 0) & on_time & (t.on_time[customer] > 0.85) & (rng.random(n) < 0.6)
    payment_day = np.where(
        takes_discount, invoice_day + 1 + (rng.random(n) * discount_days).astype(np.int64), payment_day
    )
    discount = np.where(takes_discount, (amount * _FIRST_DISCOUNT_BP[np.maximum(terms, 0)] + 5_000) // 10_000, 0)
    paid = amount - discount

    defaulted = invoice_day >= t.default_day[customer] - 90
    disputed = ~defaulted & (rng.random(n) < 0.002)
    unpaid = defaulted | disputed
    write_off = np.where(
        defaulted,
        np.maximum(due, t.default_day[customer]) + rng.integers(90, 366, n),
        due + rng.integers(60, 301, n),
    )
    write_off = np.where(unpaid & (write_off <= end_day), write_off, -1)
    payment_day = np.where(unpaid | (payment_day > end_day), -1, payment_day)
    return payment_day.astype(np.int64), paid.astype(np.int64), write_off.astype(np.int64)

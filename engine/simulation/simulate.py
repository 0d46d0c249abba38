"""A candidate policy against the baseline on a whole portfolio: every measure of ``summary.json``.

Both versions are evaluated by the vectorised evaluator (:mod:`engine.vectorised`, proven equal to
the per-decision engine); this module reads what they decided and the portfolio's history, and
adds them up. How each measure is made (``docs/simulation.md`` says the same for analysts):

* **Customers** are assessed on their credit file as of the as-of date; the portfolio total is
  shared out in the evaluator's allocation order (best grade first, then higher score, then
  customer id). A customer neither version can assess (its file breaks the request model) is
  counted apart and left out of every measure.
* **Segments**, where the portfolio gives none: *core* are the customers that make the first 70 %
  of the sales of the 3 years before the as-of date; *high_risk* those the baseline grades below its
  minimum grade (a large customer graded that low is high risk: it wins over core); the others
  *ordinary*.
* **Due dates** of the history are the invoices' own terms, or the baseline grade's where an invoice
  names none (history is what happened: the same for both versions), and **exposures** at each
  order's date are rebuilt from them (:func:`engine.portfolio.exposures_at_orders`).
* **Orders** are re-decided by each version with the customer's grade and limit from its
  assessment and the exposure the customer had on the order's date. Sales are the orders a version
  approves.
* **Terms**: each paid invoice of a customer the version grants credit is settled under the
  version's terms of the customer's grade, paid in full on the day it was paid: the discounts
  earned are the terms' cost. A customer keeps its habit: it pays as many days after the due date
  as it did, or on the same day where that day earns a discount; DSO is the amount-weighted days
  from invoice to payment.
* **Risk**: a customer defaulted when any of its invoices was written off. PD per grade is the
  share of defaulted customers among those the version grades so (or the assumptions' figure);
  expected loss is PD × LGD × the limit granted (the exposure at default).
* **Collection**: each invoice overdue on the as-of date is planned on the version's ladder for its
  customer's segment and grade (no step taken yet, no arbitration agreement on file).
* **Marginal analysis** (the domain's rule for changing a credit policy): marginal revenue is the
  change in approved sales times the gross margin; marginal cost the change in carrying cost (sales
  × DSO / days per year × cost of capital), in collection cost (each invoice of a customer the
  version grants credit passes every ladder step its days past due reach, at the assumed cost per
  step), in expected loss and in discount cost. Adopt the candidate when revenue exceeds cost.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

import polars as pl

from engine.ir import CompiledPolicy
from engine.portfolio import AGING_BUCKETS, Portfolio, exposures_at_orders, invoice_states
from engine.simulation.summary import (
    Assumptions,
    CollectionSummary,
    CoreSummary,
    CountAmount,
    CreditChanges,
    Headline,
    LimitsSummary,
    MarginalAnalysis,
    Migration,
    OrdersSummary,
    PolicyVersionRef,
    PortfolioFacts,
    RiskSummary,
    Summary,
    TermsSummary,
    Transition,
    VersionSummary,
)
from engine.vectorised import ALLOCATION_ORDER, VectorisedPolicy
from policy.fields import SEGMENTS
from policy.schema import AUXILIARY_ACTIONS, LADDER_STEPS
from policy.terms import parse_terms

__all__ = ["CORE_SHARE", "SALES_YEARS", "Progress", "SimulatedPolicy", "Simulation", "simulate"]

CORE_SHARE = Decimal("0.70")  # core customers make the first 70 % of cumulative sales ...
SALES_YEARS = 3  # ... of the last 3 years
OUTCOMES = ("approve", "hold", "reject")
MONEY = pl.Decimal(38, 2)
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
Progress = Callable[[str, int, int], None]
Unit = Literal["money", "count", "rate", "days"]
Better = Literal["higher", "lower"]
STAGES = ("segments", "assessing", "exposures", "orders", "terms", "collection", "summary")


@dataclass(frozen=True)
class SimulatedPolicy:
    """A version to simulate: its compiled form and where it came from."""

    compiled: CompiledPolicy
    ref: PolicyVersionRef


@dataclass(frozen=True)
class Simulation:
    """The summary, and the tables behind it: customers, orders, overdue invoices (CSV in the output)."""

    summary: Summary
    tables: Mapping[str, pl.DataFrame]


# --- exact sums -----------------------------------------------------------------------------------
def _money(value: object) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT, rounding=ROUND_HALF_UP)


def _total(frame: pl.DataFrame, column: str) -> Decimal:
    """The exact sum of a money column (Decimal in Polars), 0.00 for none."""
    return _money(frame.select(pl.col(column).sum()).item() if frame.height else 0)


def _ratio(numerator: Decimal, denominator: Decimal, places: str = "0.0001") -> Decimal:
    if not denominator:
        return Decimal(places) * 0
    return (numerator / denominator).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def _count_amount(frame: pl.DataFrame, column: str = "amount") -> CountAmount:
    return CountAmount(count=frame.height, amount=_total(frame, column))


def _weighted(frame: pl.DataFrame, amount: str, weight: str) -> Decimal:
    """Σ amount × weight exactly (an integer weight: days)."""
    if not frame.height:
        return Decimal(0)
    return Decimal(str(frame.select((pl.col(amount) * pl.col(weight).cast(pl.Int64)).sum()).item() or 0))


# --- the history --------------------------------------------------------------------------------
def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _sales(orders: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """customer, sales: what each customer ordered in the 3 years up to the as-of date."""
    start = _years_before(as_of, SALES_YEARS)
    recent = orders.filter((pl.col("date") > start) & (pl.col("date") <= as_of))
    return recent.group_by("customer").agg(pl.col("amount").sum().alias("sales"))


def _core(customers: pl.DataFrame, sales: pl.DataFrame) -> pl.Series:
    """Whether each customer is among those making the first 70 % of the 3 years' sales."""
    ranked = (
        customers.select("id")
        .join(sales, left_on="id", right_on="customer", how="left")
        .with_columns(pl.col("sales").fill_null(ZERO).cast(MONEY))
        .sort(["sales", "id"], descending=[True, False])
    )
    total = _total(ranked, "sales")
    if not total:
        return pl.Series("core", [False] * customers.height)
    line = pl.lit(total * CORE_SHARE, dtype=MONEY)
    flags = ranked.select(
        "id", (((pl.col("sales").cum_sum() - pl.col("sales")) < line) & (pl.col("sales") > 0)).alias("core")
    )
    return customers.select("id").join(flags, on="id", how="left")["core"].fill_null(False)


def _below_minimum(compiled: CompiledPolicy, grades: pl.Series) -> pl.Series:
    """Whether each grade is below the policy's minimum grade (the worst grade's when it names none)."""
    minimum = compiled.standards.min_grade
    last = compiled.grade(minimum).rank if minimum is not None else len(compiled.grades) - 1
    return grades.is_in([g.grade for g in compiled.grades[last + 1 :]]).fill_null(False)


def _segments(customers: pl.DataFrame, sales: pl.DataFrame, baseline: VectorisedPolicy, as_of: dt.date) -> pl.Series:
    """The portfolio's segments, or derived ones where it gives none (see the module doc)."""
    given = customers["segment"]
    if given.null_count() < customers.height:
        return given.fill_null("ordinary")
    core = _core(customers, sales)
    named = pl.Series("segment", ["core" if flag else "ordinary" for flag in core.to_list()], dtype=pl.String)
    grades = baseline.assess(customers.with_columns(named), as_of=as_of)["grade"]
    high_risk = _below_minimum(baseline.compiled, grades)
    return pl.Series(
        "segment",
        ["high_risk" if weak else segment for weak, segment in zip(high_risk.to_list(), named.to_list(), strict=True)],
        dtype=pl.String,
    )


def _due_dates(invoices: pl.DataFrame, grade_days: pl.DataFrame) -> pl.Series:
    """Each invoice's due date: its own terms, else its customer's baseline grade's (0 days without one)."""
    text_days = {text: parse_terms(text).credit_days for text in invoices["terms"].drop_nulls().unique().to_list()}
    days = (
        invoices.select("customer", "terms", "invoice_date")
        .join(grade_days, left_on="customer", right_on="id", how="left")
        .select(
            pl.when(pl.col("terms").is_not_null())
            .then(pl.col("terms").replace_strict(text_days, default=0, return_dtype=pl.Int64))
            .otherwise(pl.col("credit_days").fill_null(0))
            .alias("days"),
            "invoice_date",
        )
    )
    return days.select((pl.col("invoice_date") + pl.duration(days=pl.col("days"))).alias("due_date"))["due_date"]


def _paid(as_of: dt.date) -> pl.Expr:
    """Paid on or before the as-of date, and not written off before it was paid."""
    return (
        pl.col("payment_date").is_not_null()
        & (pl.col("payment_date") <= as_of)
        & (pl.col("write_off_date").is_null() | (pl.col("payment_date") <= pl.col("write_off_date")))
    )


def _written_off(as_of: dt.date) -> pl.Expr:
    """Written off on or before the as-of date, before any payment."""
    return (
        pl.col("write_off_date").is_not_null()
        & (pl.col("write_off_date") <= as_of)
        & (pl.col("payment_date").is_null() | (pl.col("write_off_date") < pl.col("payment_date")))
    )


def _sold(history: pl.DataFrame, orders: pl.DataFrame, customers: pl.DataFrame) -> pl.DataFrame:
    """The invoices of the business a version keeps: those of the orders it approves, and those invoiced
    without an order to the customers it grants credit."""
    approved = orders.filter(pl.col("outcome") == "approve").select(pl.col("id").alias("order"))
    granted = customers.filter(pl.col("eligible")).select(pl.col("id").alias("customer"))
    of_orders = history.filter(pl.col("order").is_not_null()).join(approved, on="order", how="semi")
    unlinked = history.filter(pl.col("order").is_null()).join(granted, on="customer", how="semi")
    return pl.concat([of_orders, unlinked])


# --- one version ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Version:
    """What one version decided on the portfolio, row by row."""

    policy: SimulatedPolicy
    customers: pl.DataFrame  # id, segment, grade, eligible, credit_limit, uncapped_limit, credit_days
    orders: pl.DataFrame  # id, customer, date, amount, outcome (null: not decided)
    sold: pl.DataFrame  # the invoices of the business it keeps (the history's columns, days_past_due)
    payments: pl.DataFrame  # id, customer, amount, discount, days_to_pay, days_past_due (the paid ones)
    collection: pl.DataFrame  # id, customer, amount, days_overdue, step, actions, penalty (overdue invoices)


def _assess(vp: VectorisedPolicy, customers: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    shared = vp.assess(customers, as_of=as_of, allocation="portfolio")
    # The same assessment without the portfolio total: which limits the total cut.
    alone = vp.assess(customers.with_columns(pl.lit(ZERO, dtype=MONEY).alias("portfolio.allocated")), as_of=as_of)
    days = {grade: terms.credit_days for grade, terms in vp.compiled.terms.items()}
    return pl.DataFrame(
        {
            "id": customers["id"],
            "segment": customers["segment"],
            "grade": shared["grade"],
            "eligible": shared["eligible"],
            "credit_limit": shared["credit_limit"],
            "uncapped_limit": alone["credit_limit"],
        }
    ).with_columns(
        pl.when(pl.col("eligible"))
        .then(pl.col("grade").replace_strict(days, default=0, return_dtype=pl.Int64))
        .otherwise(pl.lit(0, dtype=pl.Int64))
        .alias("credit_days")
    )


def _orders(vp: VectorisedPolicy, orders: pl.DataFrame, customers: pl.DataFrame) -> pl.DataFrame:
    graded = customers.filter(pl.col("grade").is_not_null()).select(
        pl.col("id").alias("customer.id"),
        pl.col("segment").alias("customer.segment"),
        pl.col("grade").alias("customer.grade"),
        pl.col("credit_limit").alias("customer.limit"),
    )
    requests = orders.join(graded, left_on="customer", right_on="customer.id", how="inner").select(
        pl.col("customer").alias("customer.id"),
        "customer.segment",
        "customer.grade",
        "customer.limit",
        pl.col("id").alias("order.id"),
        pl.col("amount").alias("order.amount"),
        pl.col("currency").alias("order.currency"),
        "exposure.open_receivables",
        "exposure.open_orders",
        "exposure.overdue_amount",
        "exposure.oldest_overdue_days",
        pl.col("date").alias("as_of"),
    )
    decided = vp.check_orders(requests).select(pl.col("order.id").alias("id"), "outcome")
    return orders.select("id", "customer", "date", "amount").join(decided, on="id", how="left")


def _payments(vp: VectorisedPolicy, paid: pl.DataFrame, customers: pl.DataFrame) -> pl.DataFrame:
    """The paid invoices of the customers the version grants credit, paid as their habit says under its terms."""
    granted = customers.filter(pl.col("eligible")).select("id", "grade", "credit_days")
    rows = paid.join(granted, left_on="customer", right_on="id", how="inner")
    if not rows.height:
        empty: dict[str, pl.DataType] = {"id": pl.String(), "customer": pl.String(), "amount": MONEY, "discount": MONEY}
        return pl.DataFrame(schema={**empty, "days_to_pay": pl.Int64(), "days_past_due": pl.Int64()})
    settled = vp.settle(
        rows.select(
            pl.col("id").alias("invoice.id"),
            pl.col("amount").alias("invoice.amount"),
            pl.col("invoice_date").alias("invoice.date"),
            pl.col("grade").alias("terms.grade"),
            pl.col("payment_date").alias("payment.date"),
            pl.col("amount").alias("payment.amount"),
            pl.col("payment_date").alias("as_of"),
        )
    )
    day = (pl.col("payment_date") - pl.col("invoice_date")).dt.total_days()
    late = (pl.col("payment_date") - pl.col("due_date")).dt.total_days().clip(lower_bound=0)
    return rows.with_columns(settled["discount_amount"].fill_null(ZERO).cast(MONEY).alias("discount")).select(
        "id",
        "customer",
        "amount",
        "discount",
        # Taking a discount is a choice: where the day paid earns one, the customer keeps that day.
        pl.when(pl.col("discount") > 0).then(day).otherwise(pl.col("credit_days") + late).alias("days_to_pay"),
        late.alias("days_past_due"),
    )


def _collection(vp: VectorisedPolicy, overdue: pl.DataFrame, customers: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    graded = customers.filter(pl.col("grade").is_not_null()).select("id", "segment", "grade")
    rows = overdue.join(graded, left_on="customer", right_on="id", how="inner")
    aux = [f"auxiliary.{action}.due_now" for action in AUXILIARY_ACTIONS]
    if not rows.height:
        schema: dict[str, pl.DataType] = {"id": pl.String(), "customer": pl.String(), "amount": MONEY}
        schema.update({"days_overdue": pl.Int64(), "step": pl.String(), **dict.fromkeys(aux, pl.Boolean())})
        return pl.DataFrame(schema={**schema, "penalty": MONEY})
    planned = vp.plan_collection(
        rows.select(
            pl.col("customer").alias("customer.id"),
            pl.col("segment").alias("customer.segment"),
            pl.col("grade").alias("customer.grade"),
            pl.col("open_amount").alias("arrears.amount"),
            pl.col("days_overdue").alias("arrears.days_overdue"),
            pl.lit(as_of).alias("as_of"),
        )
    )
    present = [column for column in aux if column in planned.columns]
    penalty = "auxiliary.penalty_interest.amount"
    return pl.concat(
        [
            rows.select("id", "customer", pl.col("open_amount").alias("amount"), "days_overdue"),
            planned.select(
                pl.col("next_step.step").fill_null("none").alias("step"),
                *(pl.col(column).fill_null(False) for column in present),
                *(pl.lit(False).alias(column) for column in aux if column not in present),
                (pl.col(penalty) if penalty in planned.columns else pl.lit(None, dtype=MONEY))
                .fill_null(ZERO)
                .cast(MONEY)
                .alias("penalty"),
            ),
        ],
        how="horizontal",
    )


# --- measures of one version ----------------------------------------------------------------------
def _pd_by_grade(
    compiled: CompiledPolicy, customers: pl.DataFrame, defaulted: pl.Series, given: Mapping[str, Decimal] | None
) -> dict[str, Decimal]:
    """PD per grade: the assumptions' figure, else the share of defaulted customers the version grades so."""
    flagged = customers.with_columns(pl.col("id").is_in(defaulted.implode()).alias("defaulted"))
    found: dict[str, Decimal] = {}
    for grade in compiled.grades:
        if given is not None and grade.grade in given:
            found[grade.grade] = given[grade.grade]
            continue
        graded = flagged.filter(pl.col("grade") == grade.grade)
        found[grade.grade] = _ratio(Decimal(int(graded["defaulted"].sum())), Decimal(graded.height))
    return found


def _collection_cost(version: _Version, assumptions: Assumptions) -> Decimal:
    """Each invoice the version keeps passes every ladder step its days past due reach (no arbitration
    agreement on file, so never arbitration), at the assumed cost per step."""
    late = version.sold.join(version.customers.select("id", "segment"), left_on="customer", right_on="id")
    cost = Decimal(0)
    for segment, ladder in version.policy.compiled.ladders.items():
        in_segment = late.filter(pl.col("segment") == segment)["days_past_due"]
        for step, days in ladder.steps:
            if step != "arbitration":
                cost += int((in_segment >= max(days, 1)).sum()) * assumptions.collection_cost[step]
    return _money(cost)


@dataclass(frozen=True)
class _Measured:
    summary: VersionSummary
    sales: Decimal  # approved order amounts
    carrying_cost: Decimal
    collection_cost: Decimal


def _measure(
    version: _Version,
    *,
    open_receivables: Decimal,
    defaulted: pl.Series,
    assumptions: Assumptions,
    aging: Mapping[str, Decimal],
    as_of: dt.date,
) -> _Measured:
    compiled = version.policy.compiled
    customers = version.customers.filter(pl.col("grade").is_not_null())
    granted = customers.filter(pl.col("eligible"))
    total = _total(granted, "credit_limit")
    segments = [s for s in SEGMENTS if customers.filter(pl.col("segment") == s).height]
    limits = LimitsSummary(
        total_granted=total,
        portfolio_total=_money(compiled.portfolio_total),
        allocation_order=", then ".join(ALLOCATION_ORDER),
        customers_capped_by_total=granted.filter(pl.col("credit_limit") < pl.col("uncapped_limit")).height,
        by_grade={g.grade: _total(granted.filter(pl.col("grade") == g.grade), "credit_limit") for g in compiled.grades},
        by_segment={s: _total(granted.filter(pl.col("segment") == s), "credit_limit") for s in segments},
        open_receivables=open_receivables,
        utilisation=_ratio(open_receivables, total),
    )
    decided = version.orders.filter(pl.col("outcome").is_not_null())
    by_outcome = {outcome: _count_amount(decided.filter(pl.col("outcome") == outcome)) for outcome in OUTCOMES}
    sales = by_outcome["approve"].amount
    payments = version.payments
    paid = _total(payments, "amount")
    dso = _ratio(_weighted(payments, "amount", "days_to_pay"), paid, "0.01")
    credit_sales = version.orders.filter(pl.col("outcome") == "approve").join(
        customers.select("id", "credit_days"), left_on="customer", right_on="id"
    )
    terms = TermsSummary(
        discount_cost=_total(payments, "discount"),
        discounted_invoices=payments.filter(pl.col("discount") > 0).height,
        average_credit_days=_ratio(_weighted(credit_sales, "amount", "credit_days"), sales, "0.01"),
        dso_days=dso,
    )
    pd = _pd_by_grade(compiled, customers, defaulted, assumptions.pd_by_grade)
    limits_by_grade = limits.by_grade
    expected_loss = sum((pd[g] * assumptions.loss_given_default * limits_by_grade[g] for g in pd), Decimal(0))
    risk = RiskSummary(
        pd_source="assumptions" if assumptions.pd_by_grade else "history",
        pd_by_grade=pd,
        exposure_at_default=total,
        expected_loss=_money(expected_loss),
        write_offs=_total(version.sold.filter(_written_off(as_of)), "amount"),
    )
    overdue = version.collection
    aux_columns = {action: f"auxiliary.{action}.due_now" for action in AUXILIARY_ACTIONS}
    collection = CollectionSummary(
        by_step={step: _count_amount(overdue.filter(pl.col("step") == step)) for step in (*LADDER_STEPS, "none")},
        auxiliary_due={action: int(overdue[column].sum()) for action, column in aux_columns.items()},
        penalty_interest=_total(overdue, "penalty"),
        aging=dict(aging),
    )
    core_ids = customers.filter(pl.col("segment") == "core").select("id")
    core_orders = decided.join(core_ids, left_on="customer", right_on="id").filter(pl.col("outcome") != "approve")
    core = CoreSummary(
        customers=core_ids.height,
        eligible=granted.filter(pl.col("segment") == "core").height,
        limits_total=_total(granted.filter(pl.col("segment") == "core"), "credit_limit"),
        orders_not_approved=_count_amount(core_orders),
    )
    summary = VersionSummary(
        policy=version.policy.ref,
        grades={g.grade: customers.filter(pl.col("grade") == g.grade).height for g in compiled.grades},
        eligible=granted.height,
        ineligible=customers.height - granted.height,
        limits=limits,
        orders=OrdersSummary(by_outcome=by_outcome),
        terms=terms,
        risk=risk,
        collection=collection,
        core=core,
    )
    carrying = sales * dso / assumptions.days_per_year * assumptions.cost_of_capital
    return _Measured(summary, sales, _money(carrying), _collection_cost(version, assumptions))


# --- both versions --------------------------------------------------------------------------------
def _migration(baseline: _Version, candidate: _Version) -> Migration:
    rows = [g.grade for g in baseline.policy.compiled.grades]
    columns = [g.grade for g in candidate.policy.compiled.grades]
    pairs = (
        baseline.customers.select("id", pl.col("grade").alias("from"))
        .join(candidate.customers.select("id", pl.col("grade").alias("to")), on="id")
        .drop_nulls()
        .group_by("from", "to")
        .len()
    )
    counts = {(row["from"], row["to"]): row["len"] for row in pairs.iter_rows(named=True)}
    return Migration(
        baseline_grades=rows,
        candidate_grades=columns,
        counts=[[counts.get((r, c), 0) for c in columns] for r in rows],
    )


def _credit_changes(baseline: _Version, candidate: _Version, limit_change: Decimal) -> CreditChanges:
    both = (
        baseline.customers.select("id", "eligible", "credit_limit")
        .join(candidate.customers.select("id", "eligible", "credit_limit"), on="id", suffix="_b")
        .drop_nulls()
    )
    return CreditChanges(
        gaining=both.filter(pl.col("credit_limit_b") > pl.col("credit_limit")).height,
        losing=both.filter(pl.col("credit_limit_b") < pl.col("credit_limit")).height,
        newly_eligible=both.filter(~pl.col("eligible") & pl.col("eligible_b")).height,
        newly_ineligible=both.filter(pl.col("eligible") & ~pl.col("eligible_b")).height,
        limit_change=limit_change,
    )


def _transitions(orders: pl.DataFrame) -> tuple[list[Transition], CountAmount, CountAmount]:
    changed = orders.filter(pl.col("outcome").is_not_null() & pl.col("outcome_b").is_not_null())
    moved = changed.filter(pl.col("outcome") != pl.col("outcome_b"))
    grouped = (
        moved.group_by("outcome", "outcome_b")
        .agg(pl.len().alias("count"), pl.col("amount").sum().alias("amount"))
        .sort(["amount", "outcome", "outcome_b"], descending=[True, False, False])
    )
    transitions = [
        Transition(from_=row["outcome"], to=row["outcome_b"], count=row["count"], amount=_money(row["amount"]))
        for row in grouped.iter_rows(named=True)
    ]
    stopped = moved.filter(pl.col("outcome") == "approve")
    released = moved.filter(pl.col("outcome_b") == "approve")
    return transitions, _count_amount(stopped), _count_amount(released)


def _marginal(a: _Measured, b: _Measured, assumptions: Assumptions) -> MarginalAnalysis:
    sales_change = b.sales - a.sales
    margin_change = _money(sales_change * assumptions.gross_margin)
    carrying = b.carrying_cost - a.carrying_cost
    collection = b.collection_cost - a.collection_cost
    bad_debt = b.summary.risk.expected_loss - a.summary.risk.expected_loss
    discount = b.summary.terms.discount_cost - a.summary.terms.discount_cost
    cost = carrying + collection + bad_debt + discount
    net = margin_change - cost
    return MarginalAnalysis(
        sales_change=_money(sales_change),
        margin_change=margin_change,
        carrying_cost_change=_money(carrying),
        collection_cost_change=_money(collection),
        bad_debt_change=_money(bad_debt),
        discount_cost_change=_money(discount),
        marginal_cost=_money(cost),
        net_benefit=_money(net),
        verdict="adopt" if net > 0 else "keep the baseline" if net < 0 else "neutral",
    )


def _headline(a: VersionSummary, b: VersionSummary) -> list[Headline]:
    def line(
        key: str, label: str, unit: Unit, better: Better, measure: Callable[[VersionSummary], Decimal]
    ) -> Headline:
        base, cand = measure(a), measure(b)
        return Headline(
            key=key, label=label, unit=unit, better=better, baseline=base, candidate=cand, change=cand - base
        )

    def stopped(v: VersionSummary) -> Decimal:
        return Decimal(v.orders.by_outcome["hold"].count + v.orders.by_outcome["reject"].count)

    return [
        line("sales_approved", "Sales approved", "money", "higher", lambda v: v.orders.by_outcome["approve"].amount),
        line("orders_stopped", "Orders held or rejected", "count", "lower", stopped),
        line("customers_eligible", "Customers granted credit", "count", "higher", lambda v: Decimal(v.eligible)),
        line("limits_granted", "Limits granted", "money", "higher", lambda v: v.limits.total_granted),
        line("expected_loss", "Expected loss", "money", "lower", lambda v: v.risk.expected_loss),
        line("dso_days", "DSO (days)", "days", "lower", lambda v: v.terms.dso_days),
        line("discount_cost", "Discount cost", "money", "lower", lambda v: v.terms.discount_cost),
    ]


def simulate(
    portfolio: Portfolio,
    baseline: SimulatedPolicy,
    candidate: SimulatedPolicy,
    *,
    as_of: dt.date,
    assumptions: Assumptions,
    path: str,
    progress: Progress | None = None,
) -> Simulation:
    """Every measure of both versions on ``portfolio`` as of ``as_of`` (see the module doc)."""

    def step(stage: str) -> None:
        if progress is not None:
            progress(stage, STAGES.index(stage), len(STAGES))

    policies = (VectorisedPolicy(baseline.compiled), VectorisedPolicy(candidate.compiled))
    step("segments")
    sales = _sales(portfolio.orders, as_of)
    segments = _segments(portfolio.customers, sales, policies[0], as_of)
    customers = portfolio.customers.with_columns(segments)
    derived = portfolio.customers["segment"].null_count() == portfolio.customers.height
    step("assessing")
    graded = [_assess(vp, customers, as_of) for vp in policies]
    step("exposures")
    invoices = portfolio.invoices
    due = _due_dates(invoices, graded[0].select("id", "credit_days"))
    orders = portfolio.orders.join(
        exposures_at_orders(portfolio.orders, invoices, due).select("id", *_EXPOSURE), on="id", how="left"
    )
    step("orders")
    decided = [_orders(vp, orders, customers) for vp, customers in zip(policies, graded, strict=True)]
    step("terms")
    history = invoices.with_columns(due.alias("due_date")).with_columns(
        (pl.coalesce("payment_date", "write_off_date", pl.lit(as_of)) - pl.col("due_date"))
        .dt.total_days()
        .clip(lower_bound=0)
        .alias("days_past_due")
    )
    sold = [_sold(history, orders_, customers) for orders_, customers in zip(decided, graded, strict=True)]
    payments = [
        _payments(vp, kept.filter(_paid(as_of)), customers)
        for vp, kept, customers in zip(policies, sold, graded, strict=True)
    ]
    step("collection")
    states = invoice_states(invoices, due, as_of)
    overdue = states.filter(pl.col("status") == "overdue")
    plans = [_collection(vp, overdue, customers, as_of) for vp, customers in zip(policies, graded, strict=True)]
    step("summary")
    versions = [
        _Version(policy, *rest)
        for policy, *rest in zip((baseline, candidate), graded, decided, sold, payments, plans, strict=True)
    ]
    open_receivables = _total(states, "open_amount")
    aging = {bucket: _total(states.filter(pl.col("aging_bucket") == bucket), "open_amount") for bucket in AGING_BUCKETS}
    defaulted = history.filter(_written_off(as_of))["customer"].unique()
    measured = [
        _measure(
            v, open_receivables=open_receivables, defaulted=defaulted, assumptions=assumptions, aging=aging, as_of=as_of
        )
        for v in versions
    ]
    a, b = measured
    both_orders = versions[0].orders.join(
        versions[1].orders.select("id", pl.col("outcome").alias("outcome_b")), on="id"
    )
    transitions, stopped, released = _transitions(both_orders)
    failed = graded[0].filter(pl.col("grade").is_null()).height
    facts = PortfolioFacts(
        path=path,
        customers=portfolio.customers.height,
        customers_not_assessed=failed,
        orders=portfolio.orders.height,
        invoices=invoices.height,
        currency=baseline.compiled.meta.currency,
        first_order=portfolio.orders["date"].min(),
        last_order=portfolio.orders["date"].max(),
        segments="derived" if derived else "given",
    )
    summary = Summary(
        as_of=as_of,
        portfolio=facts,
        assumptions=assumptions,
        baseline=a.summary,
        candidate=b.summary,
        migration=_migration(versions[0], versions[1]),
        credit_changes=_credit_changes(
            versions[0], versions[1], b.summary.limits.total_granted - a.summary.limits.total_granted
        ),
        order_transitions=transitions,
        sales_stopped=stopped,
        sales_released=released,
        marginal=_marginal(a, b, assumptions),
        headline=_headline(a.summary, b.summary),
    )
    tables = {
        "customers": _customer_table(versions[0], versions[1]),
        "orders": both_orders.join(orders.select("id", *_EXPOSURE), on="id", how="left").select(
            "id",
            "customer",
            "date",
            "amount",
            *_EXPOSURE,  # what the customer owed on the order's day: why an order was held
            pl.col("outcome").alias("baseline"),
            pl.col("outcome_b").alias("candidate"),
        ),
        "overdue": _overdue_table(versions[0], versions[1]),
    }
    return Simulation(summary, tables)


_EXPOSURE = (
    "exposure.open_receivables",
    "exposure.open_orders",
    "exposure.overdue_amount",
    "exposure.oldest_overdue_days",
)


def _customer_table(a: _Version, b: _Version) -> pl.DataFrame:
    columns = ("grade", "eligible", "credit_limit")
    return a.customers.select("id", "segment", *(pl.col(c).alias(f"baseline_{c}") for c in columns)).join(
        b.customers.select("id", *(pl.col(c).alias(f"candidate_{c}") for c in columns)), on="id", how="left"
    )


def _overdue_table(a: _Version, b: _Version) -> pl.DataFrame:
    return a.collection.select("id", "customer", "amount", "days_overdue", pl.col("step").alias("baseline_step")).join(
        b.collection.select("id", pl.col("step").alias("candidate_step")), on="id", how="left"
    )

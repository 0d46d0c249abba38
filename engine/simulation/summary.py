"""The result of a policy simulation, as ``summary.json`` holds it: a documented, stable schema.

A simulation evaluates a **baseline** policy version and a **candidate** on one portfolio and
reports, per version and as the change between them, what a credit committee weighs: grades,
limits against the portfolio total, the order history re-decided, terms and their cost, risk,
collection, core customers, and the marginal analysis of the change. ``docs/simulation.md``
documents every member; the schema name carries a version (``creditpolicy.simulation/1``) that
changes only with an incompatible change.

Money is a decimal string with two places, rates are decimal strings with four, counts are
integers, dates ISO 8601. Nothing depends on the time the simulation ran: the same versions,
portfolio, as-of date and assumptions give a byte-identical file.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

__all__ = [
    "SCHEMA",
    "Assumptions",
    "CollectionSummary",
    "CoreSummary",
    "CountAmount",
    "CreditChanges",
    "Headline",
    "LimitsSummary",
    "MarginalAnalysis",
    "Migration",
    "Money",
    "Number",
    "OrdersSummary",
    "PolicyVersionRef",
    "PortfolioFacts",
    "Rate",
    "RiskSummary",
    "Summary",
    "TermsSummary",
    "Transition",
    "VersionSummary",
]

SCHEMA: Literal["creditpolicy.simulation/1"] = "creditpolicy.simulation/1"


def _money_text(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


def _rate_text(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.0001")), "f")


Money = Annotated[Decimal, PlainSerializer(_money_text, return_type=str)]
Rate = Annotated[Decimal, PlainSerializer(_rate_text, return_type=str)]  # ratios, shares, days with decimals
Number = Annotated[Decimal, PlainSerializer(lambda value: format(value, "f"), return_type=str)]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class PolicyVersionRef(_Part):
    """Which version was simulated, and where it came from (a file, or the store)."""

    id: str
    version: str
    sha256: str
    source: str = Field(description="`file:<path>` or `stored:<status>`")


class PortfolioFacts(_Part):
    """What was simulated on."""

    path: str
    customers: int
    customers_not_assessed: int = Field(description="customers whose credit file the policies cannot assess")
    orders: int
    invoices: int
    currency: str
    first_order: dt.date | None
    last_order: dt.date | None
    segments: Literal["given", "derived"] = Field(
        description="derived: core = the customers making the first 70 % of the last 3 years' sales; "
        "high_risk = the customers the baseline grades below its minimum grade; the others ordinary"
    )


class Assumptions(_Part):
    """The economics of the marginal analysis, echoed as used (defaults where the file gave none)."""

    gross_margin: Rate = Field(description="margin on a sale, share of the sale amount")
    cost_of_capital: Rate = Field(description="yearly cost of the money tied up in receivables")
    collection_cost: dict[str, Money] = Field(description="cost of one collection step, by step")
    days_per_year: int = 365
    pd_by_grade: dict[str, Rate] | None = Field(
        None, description="probability of default per grade; None: estimated from the portfolio's history"
    )
    loss_given_default: Rate = Field(description="share of the exposure lost when a customer defaults")


class CountAmount(_Part):
    count: int
    amount: Money


class LimitsSummary(_Part):
    """Limits granted, against the policy's portfolio total (enforced in the allocation order)."""

    total_granted: Money
    portfolio_total: Money
    allocation_order: str = Field(description="the order in which the portfolio total is shared out")
    customers_capped_by_total: int
    by_grade: dict[str, Money]
    by_segment: dict[str, Money]
    open_receivables: Money = Field(description="receivables open on the as-of date")
    utilisation: Rate = Field(description="open receivables / total granted (0 when nothing is granted)")


class OrdersSummary(_Part):
    """The order history re-decided with the exposure each customer had on each order's date."""

    by_outcome: dict[str, CountAmount] = Field(description="approve, hold, reject")


class TermsSummary(_Part):
    """What the terms cost, given each customer's payment behaviour."""

    discount_cost: Money = Field(description="discounts the paid invoices would earn under this version's terms")
    discounted_invoices: int
    average_credit_days: Rate = Field(description="credit period, weighted by sales")
    dso_days: Rate = Field(description="days sales outstanding: open receivables / credit sales per day")


class RiskSummary(_Part):
    pd_source: Literal["history", "assumptions"]
    pd_by_grade: dict[str, Rate]
    exposure_at_default: Money = Field(description="limits granted (the most a customer can owe)")
    expected_loss: Money = Field(description="sum over customers of PD(grade) × LGD × limit")
    write_offs: Money = Field(description="historic write-offs of the customers this version grants credit")


class CollectionSummary(_Part):
    """The overdue invoices on the as-of date, on this version's collection ladder."""

    by_step: dict[str, CountAmount] = Field(description="the next step due per overdue invoice, `none` if not yet")
    auxiliary_due: dict[str, int] = Field(description="invoices for which each auxiliary measure is due")
    penalty_interest: Money
    aging: dict[str, Money] = Field(
        description="open receivables by days past due: 0-30 (with those not yet due), 31-60, 61-90, 90+"
    )


class CoreSummary(_Part):
    """How the core customers fare under this version."""

    customers: int
    eligible: int
    limits_total: Money
    orders_not_approved: CountAmount


class VersionSummary(_Part):
    """Every measure of one version on the portfolio."""

    policy: PolicyVersionRef
    grades: dict[str, int] = Field(description="customers per grade, in the policy's order")
    eligible: int
    ineligible: int
    limits: LimitsSummary
    orders: OrdersSummary
    terms: TermsSummary
    risk: RiskSummary
    collection: CollectionSummary
    core: CoreSummary


class Migration(_Part):
    """Customers by baseline grade (rows) and candidate grade (columns)."""

    baseline_grades: list[str]
    candidate_grades: list[str]
    counts: list[list[int]]


class CreditChanges(_Part):
    gaining: int = Field(description="customers whose limit rises")
    losing: int = Field(description="customers whose limit falls")
    newly_eligible: int
    newly_ineligible: int
    limit_change: Money = Field(description="candidate total granted - baseline total granted")


class Transition(_Part):
    from_: str = Field(alias="from")
    to: str
    count: int
    amount: Money


class MarginalAnalysis(_Part):
    """Change the policy only if the marginal revenue exceeds the marginal cost (the domain's rule)."""

    sales_change: Money = Field(description="approved sales, candidate - baseline")
    margin_change: Money = Field(description="sales change × gross margin: the marginal revenue")
    carrying_cost_change: Money = Field(description="receivables tied up × cost of capital × time")
    collection_cost_change: Money
    bad_debt_change: Money = Field(description="expected loss, candidate - baseline")
    discount_cost_change: Money
    marginal_cost: Money = Field(description="the sum of the four cost changes")
    net_benefit: Money = Field(description="marginal revenue - marginal cost")
    verdict: Literal["adopt", "keep the baseline", "neutral"]


class Headline(_Part):
    """One of the figures the report leads with."""

    key: str
    label: str
    unit: Literal["money", "count", "rate", "days"]
    baseline: Number
    candidate: Number
    change: Number
    better: Literal["higher", "lower"]


class Summary(_Part):
    """``summary.json``."""

    schema_: Literal["creditpolicy.simulation/1"] = Field(SCHEMA, alias="schema")
    as_of: dt.date
    portfolio: PortfolioFacts
    assumptions: Assumptions
    baseline: VersionSummary
    candidate: VersionSummary
    migration: Migration
    credit_changes: CreditChanges
    order_transitions: list[Transition]
    sales_stopped: CountAmount = Field(description="orders the baseline approves and the candidate does not")
    sales_released: CountAmount = Field(description="orders the candidate approves and the baseline does not")
    marginal: MarginalAnalysis
    headline: list[Headline]

    def to_json(self) -> str:
        """The file's text: members in schema order, two-space indents, a final newline."""
        return self.model_dump_json(by_alias=True, indent=2) + "\n"

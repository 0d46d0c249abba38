"""Inputs and outputs of the four decisions (pydantic: this is where JSON comes in and goes out).

Money is ``Decimal`` in, accepted as a decimal string or a number, and always leaves as a string
with two decimals; ratios and scores leave as strings too, so that a decision serialises to the
same bytes every time.

The other inputs take only what they say, never what pydantic's lax mode would turn into them:
counts and days are JSON integers (``true``, ``"3"`` and ``3.0`` are refused: a count written as
a boolean, a string or a fraction is a bug in the caller, not a number to guess), flags are JSON
``true``/``false`` (not ``1``, ``"yes"`` or ``"on"``), and dates are ISO 8601 calendar dates
``YYYY-MM-DD`` (not a Unix timestamp: ``0`` is no date, and neither is ``2026-06-30T00:00:00``).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    Strict,
    model_validator,
)
from pydantic_core import PydanticCustomError

__all__ = [
    "ISO_DATE",
    "AssessRequest",
    "AssessResult",
    "CollectionRequest",
    "CollectionResult",
    "CreditFile",
    "CustomerRef",
    "KindName",
    "Exposure",
    "Financials",
    "IsoDate",
    "OrderCustomer",
    "OrderLine",
    "OrderRequest",
    "OrderResult",
    "Payment",
    "PaymentHistory",
    "PolicyRef",
    "SettlementRequest",
    "SettlementResult",
    "iso_date",
]

KindName = Literal["assess", "order", "settlement", "collection"]
Segment = Literal["core", "ordinary", "high_risk"]
# Amounts beyond this are not trade credit any more; the bound also keeps every amount exact
# inside the rules engine (fixed-point integers, see engine.rules_adapter).
MAX_AMOUNT = Decimal("1e14")


def _decimal_text(value: Decimal) -> str:
    return format(value, "f")


def _amount(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise PydanticCustomError("not_finite", "must be a finite number")
    if abs(value) >= MAX_AMOUNT:
        raise PydanticCustomError("amount_too_large", "must be below 100 000 000 000 000")
    if value != value.quantize(Decimal("0.01")):
        raise PydanticCustomError("money_precision", "an amount has at most 2 decimal places")
    return value.quantize(Decimal("0.01"))


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise PydanticCustomError("negative_amount", "must be zero or more")
    return value


def _ratio(value: Decimal) -> Decimal:
    if not value.is_finite() or not (0 <= value <= 1):
        raise PydanticCustomError("ratio_range", "must be between 0 and 1")
    return value


def _number(value: Decimal) -> Decimal:
    if not value.is_finite() or abs(value) >= MAX_AMOUNT:
        raise PydanticCustomError("not_finite", "must be a finite number of sensible size")
    return value


ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def iso_date(value: Any) -> Any:
    """An ISO 8601 calendar date (``YYYY-MM-DD``) as ``date``; a ``date`` (from YAML) as it is; nothing else."""
    if isinstance(value, dt.datetime):
        raise PydanticCustomError("date_format", "must be a date, YYYY-MM-DD, without a time")
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not ISO_DATE.match(value):
        raise PydanticCustomError("date_format", "must be an ISO 8601 date, YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("date_invalid", "is no day of the calendar (YYYY-MM-DD)") from None


Text = PlainSerializer(_decimal_text, return_type=str)
# A signed amount (profit, cash flow, equity can be negative) and a non-negative one.
SignedMoney = Annotated[Decimal, AfterValidator(_amount), Text]
Money = Annotated[Decimal, AfterValidator(_amount), AfterValidator(_non_negative), Text]
Ratio = Annotated[Decimal, AfterValidator(_ratio), Text]
Number = Annotated[Decimal, AfterValidator(_number), Text]
# Outputs are computed, not typed in: they are serialised as text but not range-checked again.
MoneyOut = Annotated[Decimal, Text]
Count = Annotated[int, Strict(), Field(ge=0, le=1_000_000)]
Days = Annotated[int, Strict(), Field(ge=0, le=36_500)]
Flag = Annotated[bool, Strict()]
IsoDate = Annotated[dt.date, BeforeValidator(iso_date)]
Id = Annotated[str, Field(min_length=1, max_length=64)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- the credit file ------------------------------------------------------------------------
class Financials(_In):
    current_assets: Money | None = None
    current_liabilities: Money | None = None
    total_assets: Money | None = None
    net_assets: SignedMoney | None = None
    revenue: Money | None = None
    net_profit: SignedMoney | None = None
    operating_cash_flow: SignedMoney | None = None
    liquidation_value: Money | None = None
    fixed_assets: Money | None = None
    paid_in_capital: Money | None = None


class PaymentHistory(_In):
    on_time_ratio: Ratio | None = None
    avg_days_late: Number | None = None
    max_days_late: Count | None = None
    defaults_3y: Count | None = None
    bounced_cheques: Count | None = None


class Records(_In):
    years_in_business: Number | None = None
    litigation_count: Count | None = None
    bank_record: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    owns_premises: Flag | None = None


class Outlook(_In):
    expected_dso_days: Number | None = None
    expected_bad_debt_rate: Ratio | None = None


class Trade(_In):
    collateral_value: Money | None = None
    has_guarantee: Flag | None = None


class CreditFile(_In):
    """What the investigation found about a customer (every fact optional: absent is scored as missing)."""

    financials: Financials = Financials()
    payment: PaymentHistory = PaymentHistory()
    records: Records = Records()
    outlook: Outlook = Outlook()
    trade: Trade = Trade()
    ratings: Annotated[
        dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")], Annotated[str, Field(max_length=64)]],
        Field(max_length=50),
    ] = {}


class CustomerRef(_In):
    id: Id
    segment: Segment = "ordinary"


class Portfolio(_In):
    allocated: Money = Decimal("0.00")  # limits already granted to other customers


class AssessRequest(_In):
    customer: CustomerRef
    credit_file: CreditFile
    as_of: IsoDate
    portfolio: Portfolio = Portfolio()


# --- outputs shared by the decisions --------------------------------------------------------
class PolicyRef(_Out):
    id: str
    version: str
    sha256: str


class Reason(_Out):
    rule: str
    reason: str
    source: str | None = None
    outcome: str | None = None


class FactorScore(_Out):
    id: str
    group: str
    input: str
    value: str | None  # the value read (text), None when missing
    points: Annotated[Decimal, Text]
    weight: Annotated[Decimal, Text]
    weighted: Annotated[Decimal, Text]


class Discount(_Out):
    rate: Annotated[Decimal, Text]
    days: int


class PenaltyTerms(_Out):
    rate: Annotated[Decimal, Text]
    per: Literal["day", "year"]
    basis: int
    grace_days: int
    daily_rate: Annotated[Decimal, Text]


class TermsOut(_Out):
    text: str
    credit_days: int
    cash_in_advance: bool
    discounts: list[Discount]
    penalty: PenaltyTerms


class AssessResult(_Out):
    customer_id: str
    score: Annotated[Decimal, Text]
    grade: str
    eligible: bool
    reasons: list[Reason]  # the standards not met (empty when eligible)
    credit_limit: MoneyOut
    terms: TermsOut
    review_interval_days: int
    next_review: dt.date
    factors: list[FactorScore]
    policy: PolicyRef


# --- order ----------------------------------------------------------------------------------
class OrderCustomer(_In):
    """Either the current grade and limit, or a credit file to assess inline."""

    id: Id
    segment: Segment = "ordinary"
    grade: Annotated[str, Field(min_length=1, max_length=16)] | None = None
    limit: Money | None = None
    credit_file: CreditFile | None = None
    blacklisted: Flag = False

    @model_validator(mode="after")
    def _grade_or_file(self) -> OrderCustomer:
        if self.credit_file is None and (self.grade is None or self.limit is None):
            raise PydanticCustomError(
                "grade_or_credit_file", "give either grade and limit, or a credit_file to assess inline"
            )
        if self.credit_file is not None and (self.grade is not None or self.limit is not None):
            raise PydanticCustomError("grade_and_credit_file", "give grade and limit, or a credit_file, not both")
        return self


class OrderLine(_In):
    id: Id
    # The business reference of the order (the buyer's PO number, the ERP order number): a held or
    # rejected order re-submitted under a new id is still the same order for its credit case.
    reference: Id | None = None
    amount: Money
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class Exposure(_In):
    open_receivables: Money = Decimal("0.00")
    open_orders: Money = Decimal("0.00")
    overdue_amount: Money = Decimal("0.00")
    oldest_overdue_days: Days = 0


class OrderRequest(_In):
    customer: OrderCustomer
    order: OrderLine
    exposure: Exposure = Exposure()
    as_of: IsoDate


class OrderResult(_Out):
    order_id: str
    customer_id: str
    outcome: Literal["approve", "hold", "reject"]
    reasons: list[Reason]
    grade: str
    eligible: bool
    credit_limit: MoneyOut
    exposure_total: MoneyOut
    available_before: MoneyOut
    available_after: MoneyOut
    policy: PolicyRef


# --- settlement -----------------------------------------------------------------------------
class Payment(_In):
    date: IsoDate
    amount: Annotated[Decimal, AfterValidator(_amount), AfterValidator(_non_negative), Text, Field()]

    @model_validator(mode="after")
    def _positive(self) -> Payment:
        if self.amount <= 0:
            raise PydanticCustomError("payment_not_positive", "a payment must be more than zero")
        return self


class Invoice(_In):
    id: Id | None = None
    amount: Money
    date: IsoDate
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None


class TermsChoice(_In):
    """The terms of the invoice: written out, or those of a grade of the policy."""

    text: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    grade: Annotated[str, Field(min_length=1, max_length=16)] | None = None

    @model_validator(mode="after")
    def _one(self) -> TermsChoice:
        if (self.text is None) == (self.grade is None):
            raise PydanticCustomError("terms_text_or_grade", "give exactly one of terms.text or terms.grade")
        return self


class SettlementRequest(_In):
    invoice: Invoice
    terms: TermsChoice
    payments: Annotated[list[Payment], Field(max_length=500)] = []
    as_of: IsoDate


class PaymentLine(_Out):
    date: dt.date
    amount: MoneyOut
    day: int  # days after the invoice date
    discount_rate: Annotated[Decimal, Text]
    discount: MoneyOut
    principal_settled: MoneyOut  # invoice amount this payment settled (amount + discount)
    penalty_paid: MoneyOut
    overpaid: MoneyOut
    days_overdue: int


class PenaltyPeriod(_Out):
    start: dt.date  # inclusive
    end: dt.date  # exclusive
    days: int
    principal: MoneyOut
    interest: MoneyOut


class SettlementResult(_Out):
    invoice_id: str | None
    terms: TermsOut
    due_date: dt.date
    payments: list[PaymentLine]
    discount_rate: Annotated[Decimal, Text]  # effective: discount earned / invoice amount
    discount_amount: MoneyOut
    principal_settled: MoneyOut
    amount_due: MoneyOut  # principal still open
    days_overdue: int  # as of as_of, 0 when the principal is settled
    paid_days_late: int  # for a settled invoice: how late the settling payment was
    penalty_interest_accrued: MoneyOut
    penalty_interest_paid: MoneyOut
    penalty_interest_due: MoneyOut
    penalty_periods: list[PenaltyPeriod]
    total_due: MoneyOut  # amount_due + penalty_interest_due
    overpaid: MoneyOut
    discount_rate_today: Annotated[Decimal, Text]  # what paying the rest on as_of would earn
    pay_today_to_settle: MoneyOut
    status: Literal["open", "overdue", "paid", "paid_late", "paid_with_penalty_due"]
    policy: PolicyRef


# --- collection -----------------------------------------------------------------------------
class StepTaken(_In):
    step: Literal["letter", "visit", "agency", "arbitration", "litigation"]
    on: IsoDate | None = None


class Arrears(_In):
    amount: Money
    days_overdue: Days
    steps_taken: Annotated[list[StepTaken], Field(max_length=20)] = []
    arbitration_agreement: Flag = False
    disputed: Flag = False


class CollectionCustomer(_In):
    id: Id
    segment: Segment
    grade: Annotated[str, Field(min_length=1, max_length=16)]


class CollectionRequest(_In):
    customer: CollectionCustomer
    arrears: Arrears
    as_of: IsoDate


class NextStep(_Out):
    step: str
    threshold_days: int
    due_on: dt.date
    due_now: bool
    skipped: list[str]  # steps passed over (only where the segment may skip)


class AuxiliaryOut(_Out):
    action: str
    threshold_days: int
    due_now: bool
    due_on: dt.date
    amount: MoneyOut | None = None  # penalty interest accrued, for penalty_interest


class CollectionResult(_Out):
    customer_id: str
    segment: str
    current_step: str | None
    next_step: NextStep | None
    paused: bool
    reasons: list[Reason]
    auxiliary: list[AuxiliaryOut]
    actions_due_now: list[str]
    policy: PolicyRef


def dump(model: BaseModel) -> dict[str, Any]:
    """JSON-ready dict of a result (money and rates as strings, dates ISO)."""
    return model.model_dump(mode="json")

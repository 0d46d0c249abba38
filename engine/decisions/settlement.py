"""settlement: an invoice, its terms and the payments made → discount, amount due, days overdue, penalty.

What a credit manager can rely on:

* **Terms** are the customer grade's, or written out in the request (``"2/10, n/30"``); written
  terms carry the policy-wide penalty interest (``terms.penalty``) and must pass the checks a
  policy's terms pass (discounts above 0 % and below 100 %, shorter periods for richer
  discounts, every discount period within the credit period), with the same error codes.
* **Days** count from the invoice date: a payment on the invoice date is day 0. The due date is
  the invoice date + the credit period (``n/30`` → day 30); with cash in advance it is the invoice
  date itself. A payment on the due date is on time; the next day is 1 day overdue.
* **Payments** are applied in date order (payments of the same date in the order given). A
  payment dated before the invoice or after ``as_of`` is refused.
* **Cash discount**: a payment on day d earns the highest rate among the tiers ``r/D`` with
  d ≤ D (the rules engine decides, rule ``terms.discount_window``). A payment ``p`` at rate r
  settles ``p / (1 - r)`` of the invoice (cents, half up), at most what is still open; when it
  settles the rest, only ``rest × (1 - r)`` (cents, half up) of it is used. The discount is the
  principal settled minus the cash used for it. Partial payments earn their discount too:
  4,900.00 on day 5 under ``3/10, …`` settles 5,051.55.
* **Penalty interest** is simple interest at the terms' daily rate (``rate / basis`` when given
  per year) on the principal still open, counted from the due date + the terms' ``grace_days``:
  the grace days are interest-free for everybody, also when the payment comes later (the same
  rule the collection decision uses for its penalty amount). Nothing accrues before the due date,
  never from the invoice date. Interest runs in periods ``[start, end)`` split at each payment
  date, each charged on the principal open during it and rounded to cents half up, until the
  principal is settled or, while it is open, until ``as_of`` (a period ending on ``as_of``
  charges the days before it: 5 days overdue are 5 days of interest).
* **Application of a payment**: first the principal (with its discount), then the penalty
  interest accrued up to the payment date, and what is left is ``overpaid``. Penalty interest is
  never dropped when the principal is paid: what is not paid stays due.
* **Status**: ``open`` (principal open, not yet past the due date), ``overdue`` (principal open
  after the due date), ``paid`` (settled by the due date, no penalty left), ``paid_late``
  (settled after the due date, no penalty left), ``paid_with_penalty_due`` (principal settled,
  penalty interest still owed).
* **Today**: ``discount_rate_today`` is the rate a payment on ``as_of`` would earn on the open
  principal, ``pay_today_to_settle`` what it takes to clear everything on ``as_of``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from engine.compiler import terms_ir
from engine.decisions.kind import DecisionKind
from engine.errors import InputError
from engine.ir import CompiledPolicy, Fact, TermsIR, TierIR
from engine.models import (
    MAX_AMOUNT,
    Payment,
    PaymentLine,
    PenaltyPeriod,
    SettlementRequest,
    SettlementResult,
)
from engine.results import policy_ref, terms_out
from engine.trace import Trace
from policy.errors import ExpressionError
from policy.terms import terms_problems

__all__ = [
    "RATE_QUANTUM",
    "SETTLEMENT",
    "add_days",
    "check_terms",
    "discount_rates",
    "resolve_terms",
    "settle_invoice",
]

CENT = Decimal("0.01")
RATE_QUANTUM = Decimal("0.0001")  # rates leave with 4 decimals so the text is stable ("0.0200")
ZERO = Decimal("0.00")
WINDOW_RULE = "terms.discount_window"
Status = Literal["open", "overdue", "paid", "paid_late", "paid_with_penalty_due"]


def _bounded(values: dict[str, Decimal]) -> None:
    """Results must stay amounts the service can return (below 10^14), else the input is refused."""
    for name, value in values.items():
        if value >= MAX_AMOUNT:
            raise InputError(
                f"the {name.replace('_', ' ')} would reach {value}, beyond any trade credit",
                field="payments" if name == "overpaid" else "as_of",
                code="amount_out_of_range",
            )


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _rate(value: Decimal) -> Decimal:
    return value.quantize(RATE_QUANTUM, rounding=ROUND_HALF_UP)


def add_days(date: dt.date, days: int, field_path: str) -> dt.date:
    """``date + days``, refused as an input error beyond the calendar (year 9999)."""
    try:
        return date + dt.timedelta(days=days)
    except OverflowError:
        raise InputError(
            f"{date} + {days} days is beyond the calendar", field=field_path, code="date_out_of_range"
        ) from None


def check_terms(terms: TermsIR, text: str, where: str) -> None:
    """Refuse terms the policy language refuses (policy.terms.terms_problems), with the same codes; the first wins."""
    problems = terms_problems(terms.tiers, terms.credit_days, text)
    if problems:
        first = problems[0]
        raise InputError(f"column {first.column}: {first.message}", field=where, code=first.code)


def resolve_terms(compiled: CompiledPolicy, request: SettlementRequest) -> TermsIR:
    """The invoice's terms: parsed from the text given (with the policy's default penalty) or the grade's."""
    choice = request.terms
    if choice.text is None:
        assert choice.grade is not None  # the model requires exactly one of text and grade
        if choice.grade not in compiled.terms:
            known = ", ".join(compiled.terms)
            raise InputError(
                f"unknown grade {choice.grade!r} (the policy's grades are {known})",
                field="terms.grade",
                code="unknown_grade",
            )
        return compiled.terms[choice.grade]  # validated with the policy
    try:
        terms = terms_ir(choice.text, compiled.default_penalty, None)
    except ExpressionError as exc:
        raise InputError(f"column {exc.column}: {exc.message}", field="terms.text", code="terms_syntax") from None
    check_terms(terms, choice.text, "terms.text")
    return terms


def discount_rates(compiled: CompiledPolicy, tiers: Sequence[TierIR], days: Sequence[int]) -> list[TierIR | None]:
    """The best tier a payment on each day earns (None: no discount), asked of the settlement rules in one call."""
    if not tiers or not days:
        return [None for _ in days]
    facts: list[Fact] = [{"day": Decimal(day), "window_days": Decimal(tier.days)} for day in days for tier in tiers]
    hits = compiled.rulesets.settlement.match(facts)
    best: list[TierIR | None] = []
    for i in range(len(days)):
        row = hits[i * len(tiers) : (i + 1) * len(tiers)]
        holding = [tier for tier, fired in zip(tiers, row, strict=True) if WINDOW_RULE in fired]
        best.append(max(holding, key=lambda t: t.rate) if holding else None)
    return best


@dataclass
class _Account:
    """The running state of an invoice while its payments are applied in date order."""

    residual: Decimal  # principal still open
    daily_rate: Decimal
    cursor: dt.date  # penalty interest is counted up to (excluding) this date
    accrued: Decimal = ZERO
    penalty_paid: Decimal = ZERO
    overpaid: Decimal = ZERO
    discount: Decimal = ZERO
    settled_on: dt.date | None = None
    periods: list[PenaltyPeriod] = field(default_factory=list)

    def accrue_to(self, date: dt.date) -> None:
        """Charge interest on the open principal from the cursor up to ``date`` (one period)."""
        if self.residual <= 0 or date <= self.cursor:
            return
        days = (date - self.cursor).days
        interest = _cents(self.residual * self.daily_rate * days)
        _bounded({"penalty_interest": self.accrued + interest})
        self.periods.append(
            PenaltyPeriod(start=self.cursor, end=date, days=days, principal=self.residual, interest=interest)
        )
        self.accrued += interest
        self.cursor = date

    def pay(self, date: dt.date, amount: Decimal, rate: Decimal) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """Apply one payment: principal (with discount), then accrued penalty, then overpaid."""
        settled = discount = penalty = over = ZERO
        cash = amount
        if self.residual > 0:
            needed = _cents(self.residual * (1 - rate))  # cash that settles the whole rest
            if cash >= needed:
                settled, used = self.residual, needed
            else:
                settled, used = min(self.residual, _cents(cash / (1 - rate))), cash
            discount = settled - used
            cash -= used
            self.residual -= settled
            self.discount += discount
            if self.residual == 0:
                self.settled_on = date
        penalty = min(cash, self.accrued - self.penalty_paid)
        self.penalty_paid += penalty
        over = cash - penalty
        self.overpaid += over
        return settled, discount, penalty, over


def _check_dates(request: SettlementRequest) -> list[int]:
    """Indexes of the payments in the order they are applied; refuses impossible dates."""
    invoice_date = request.invoice.date
    if request.as_of < invoice_date:
        raise InputError(
            f"as_of {request.as_of} is before the invoice date {invoice_date}",
            field="as_of",
            code="as_of_before_invoice",
        )
    for i, p in enumerate(request.payments):
        if p.date < invoice_date:
            raise InputError(
                f"paid on {p.date}, before the invoice date {invoice_date}",
                field=f"payments[{i}].date",
                code="payment_before_invoice",
            )
        if p.date > request.as_of:
            raise InputError(
                f"paid on {p.date}, after as_of {request.as_of}",
                field=f"payments[{i}].date",
                code="payment_after_as_of",
            )
    return sorted(range(len(request.payments)), key=lambda i: request.payments[i].date)  # stable


def _status(acc: _Account, due_date: dt.date, as_of: dt.date, penalty_due: Decimal) -> Status:
    if acc.residual > 0:
        return "overdue" if as_of > due_date else "open"
    if penalty_due > 0:
        return "paid_with_penalty_due"
    return "paid_late" if acc.settled_on is not None and acc.settled_on > due_date else "paid"


def _apply_payments(
    acc: _Account,
    payments: Sequence[Payment],
    days: Sequence[int],
    tiers: Sequence[TierIR | None],
    due_date: dt.date,
    trace: Trace,
) -> list[PaymentLine]:
    """Apply the payments in date order, charging penalty interest up to each; trace each tier decision."""
    lines: list[PaymentLine] = []
    decisions: list[dict[str, Any]] = []
    for p, day, tier in zip(payments, days, tiers, strict=True):
        acc.accrue_to(p.date)
        rate = tier.rate if tier is not None and acc.residual > 0 else Decimal(0)
        settled, discount, penalty, over = acc.pay(p.date, p.amount, rate)
        if tier is not None:
            trace.fired("settlement", [WINDOW_RULE])
        decisions.append(
            {
                "date": p.date,
                "day": day,
                "amount": p.amount,
                "tier": None if tier is None else {"rate": tier.rate, "days": tier.days},
                "rule": None if tier is None else WINDOW_RULE,
                "rate_applied": rate,  # 0 when the principal was already settled
            }
        )
        lines.append(
            PaymentLine(
                date=p.date,
                amount=p.amount,
                day=day,
                discount_rate=_rate(rate),
                discount=discount,
                principal_settled=settled,
                penalty_paid=penalty,
                overpaid=over,
                days_overdue=max(0, (p.date - due_date).days),
            )
        )
    trace.set("payments", decisions)
    return lines


def settle_invoice(compiled: CompiledPolicy, request: SettlementRequest, trace: Trace) -> SettlementResult:
    """Apply the payments to the invoice under its terms; report discount, what is due, and penalty interest."""
    inv = request.invoice
    if inv.currency is not None and inv.currency != compiled.meta.currency:
        raise InputError(
            f"the policy decides in {compiled.meta.currency}, the invoice is in {inv.currency}",
            field="invoice.currency",
            code="currency_mismatch",
        )
    terms = resolve_terms(compiled, request)
    order = _check_dates(request)
    due_date = add_days(inv.date, terms.credit_days, "invoice.date")
    accrual_start = add_days(due_date, terms.penalty.grace_days, "invoice.date")
    payments = [request.payments[i] for i in order]
    days = [(p.date - inv.date).days for p in payments]
    today = (request.as_of - inv.date).days
    tiers = discount_rates(compiled, terms.tiers, [*days, today])
    acc = _Account(residual=inv.amount, daily_rate=terms.penalty.daily_rate, cursor=accrual_start)
    acc.settled_on = None if inv.amount > 0 else inv.date
    lines = _apply_payments(acc, payments, days, tiers[:-1], due_date, trace)
    acc.accrue_to(request.as_of)
    penalty_due = acc.accrued - acc.penalty_paid
    tier_today = tiers[-1] if acc.residual > 0 else None
    rate_today = tier_today.rate if tier_today is not None else Decimal(0)
    pay_today = _cents(acc.residual * (1 - rate_today)) + penalty_due
    _bounded({"overpaid": acc.overpaid, "total_due": acc.residual + penalty_due})
    settled_total = inv.amount - acc.residual
    late = (acc.settled_on - due_date).days if acc.settled_on is not None and acc.residual == 0 else 0
    status = _status(acc, due_date, request.as_of, penalty_due)
    trace.set(
        "terms",
        {
            "text": terms.text,
            "source": None if terms.source is None else str(terms.source),
            "credit_days": terms.credit_days,
            "due_date": due_date,
            "penalty_daily_rate": terms.penalty.daily_rate,
            "grace_days": terms.penalty.grace_days,
            "penalty_from": accrual_start,
        },
    )
    trace.set("penalty_periods", [pp.model_dump(mode="json") for pp in acc.periods])
    trace.set("today", {"as_of": request.as_of, "day": today, "discount_rate": rate_today})
    return SettlementResult(
        invoice_id=inv.id,
        terms=terms_out(terms),
        due_date=due_date,
        payments=lines,
        discount_rate=_rate(acc.discount / inv.amount) if inv.amount > 0 else _rate(Decimal(0)),
        discount_amount=acc.discount,
        principal_settled=settled_total,
        amount_due=acc.residual,
        days_overdue=max(0, (request.as_of - due_date).days) if acc.residual > 0 else 0,
        paid_days_late=max(0, late),
        penalty_interest_accrued=acc.accrued,
        penalty_interest_paid=acc.penalty_paid,
        penalty_interest_due=penalty_due,
        penalty_periods=acc.periods,
        total_due=acc.residual + penalty_due,
        overpaid=acc.overpaid,
        discount_rate_today=_rate(rate_today),
        pay_today_to_settle=pay_today,
        status=status,
        policy=policy_ref(compiled),
    )


SETTLEMENT = DecisionKind(
    name="settlement",
    request=SettlementRequest,
    result=SettlementResult,
    evaluate=settle_invoice,
    outcome=lambda result: result.status,
    as_of=lambda request: request.as_of,
    customer_id=lambda request: None,  # an invoice is settled whoever owes it
    order_id=lambda request: None,
)

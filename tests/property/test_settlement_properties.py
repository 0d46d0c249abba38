"""Properties of settlement: discounts only inside their window and never larger when paid later;
penalty interest never negative and never before the due date; the money always adds up; durable-rules
and plain Python answer alike; nothing escapes but the engine's own coded errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine.decisions.settlement import settle_invoice
from engine.errors import EngineError
from engine.ir import CompiledPolicy
from engine.models import MAX_AMOUNT, Invoice, Payment, SettlementRequest, SettlementResult, TermsChoice
from engine.trace import Trace
from policy.terms import parse_terms
from tests.engine_factories import compiled_policy

DURABLE = compiled_policy("durable")
PYTHON = compiled_policy("python")
INVOICE_DATE = dt.date(2026, 3, 1)


def _outcome(compiled: CompiledPolicy, request: SettlementRequest) -> tuple[str, Any]:
    trace = Trace(compiled, "settlement")
    try:
        return "result", (settle_invoice(compiled, request, trace).model_dump_json(), trace.to_dict())
    except EngineError as exc:
        return "error", (type(exc).__name__, exc.code, str(exc))


def settle_both(request: SettlementRequest) -> SettlementResult:
    """The decision under durable-rules, after checking plain Python gives the same result, trace or error."""
    durable, python = _outcome(DURABLE, request), _outcome(PYTHON, request)
    assert durable == python
    if durable[0] == "error":
        settle_invoice(DURABLE, request, Trace(DURABLE, "settlement"))  # raises the error compared above
    return SettlementResult.model_validate_json(durable[1][0])


@st.composite
def terms_texts(draw: st.DrawFn) -> str:
    """Valid terms text: up to 3 discounts, richer for shorter periods, within the net period."""
    if draw(st.integers(0, 9)) == 0:
        return "cash in advance"
    net = draw(st.integers(0, 120))
    count = draw(st.integers(0, min(3, net)))
    days = sorted(draw(st.sets(st.integers(1, net), min_size=count, max_size=count))) if count else []
    rates = sorted(draw(st.sets(st.integers(1, 300), min_size=count, max_size=count)), reverse=True)
    tiers = [f"{Decimal(rate) / 10}/{day}" for rate, day in zip(rates, days, strict=True)]
    return ", ".join([*tiers, f"n/{net}"])


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2)


def request_for(terms: str, amount: Decimal, payments: list[tuple[int, Decimal]], as_of_day: int) -> SettlementRequest:
    return SettlementRequest(
        invoice=Invoice(amount=amount, date=INVOICE_DATE),
        terms=TermsChoice(text=terms),
        payments=[Payment(date=INVOICE_DATE + dt.timedelta(days=d), amount=a) for d, a in payments],
        as_of=INVOICE_DATE + dt.timedelta(days=as_of_day),
    )


# --- discounts ------------------------------------------------------------------------------
@settings(deadline=None)
@given(
    terms_texts(),
    amounts,
    st.lists(st.tuples(st.integers(0, 100), amounts), min_size=1, max_size=5),
    st.integers(1, 60),
)
# Early, the first payment settles the invoice in the 0.8 % window and the second is all overpaid.
@example("0.8/4, 0.2/5, 0.1/6, n/6", Decimal("0.63"), [(4, Decimal("0.62")), (4, Decimal("0.01"))], 1)
def test_paying_later_never_earns_a_larger_discount(
    terms: str, amount: Decimal, payments: list[tuple[int, Decimal]], delay: int
) -> None:
    as_of_day = max(d for d, _ in payments) + delay
    early = settle_both(request_for(terms, amount, payments, as_of_day))
    late = settle_both(request_for(terms, amount, [(d + delay, paid) for d, paid in payments], as_of_day))
    assert late.discount_amount <= early.discount_amount
    for before, after in zip(early.payments, late.payments, strict=True):
        # A payment that settles no principal (the invoice was already paid: all of it overpaid)
        # takes no discount and shows rate 0; only payments settling principal on both dates compare.
        if after.principal_settled > 0 and before.principal_settled > 0:
            assert after.discount_rate <= before.discount_rate


@settings(deadline=None)
@given(terms_texts(), amounts, st.lists(st.tuples(st.integers(0, 150), amounts), min_size=1, max_size=6))
def test_a_discount_is_the_best_tier_whose_window_includes_the_day(
    terms: str, amount: Decimal, payments: list[tuple[int, Decimal]]
) -> None:
    tiers = parse_terms(terms).tiers
    r = settle_both(request_for(terms, amount, payments, max(d for d, _ in payments)))
    for line in r.payments:
        in_window = [t.rate for t in tiers if line.day <= t.days]
        if not in_window:
            assert line.discount == 0 and line.discount_rate == 0  # no discount after its window
        elif line.principal_settled > 0:
            assert line.discount_rate == max(in_window)


# --- penalty interest and the money ---------------------------------------------------------
@settings(deadline=None)
@given(
    st.one_of(
        terms_texts().map(lambda t: TermsChoice(text=t)), st.sampled_from("ABCD").map(lambda g: TermsChoice(grade=g))
    ),
    amounts,
    st.lists(st.tuples(st.integers(0, 400), amounts), max_size=6),
    st.integers(0, 400),
)
def test_penalty_is_never_negative_nor_before_the_due_date(
    terms: TermsChoice, amount: Decimal, payments: list[tuple[int, Decimal]], extra: int
) -> None:
    as_of_day = max([0, *(d for d, _ in payments)]) + extra
    request = request_for("n/1", amount, payments, as_of_day).model_copy(update={"terms": terms})
    r = settle_both(request)
    starts_from = r.due_date + dt.timedelta(days=r.terms.penalty.grace_days)
    assert min(r.penalty_interest_accrued, r.penalty_interest_paid, r.penalty_interest_due) >= 0
    assert r.penalty_interest_accrued == sum((p.interest for p in r.penalty_periods), Decimal(0))
    for before, after in zip(r.penalty_periods, r.penalty_periods[1:], strict=False):
        assert before.end == after.start  # contiguous, no day counted twice
    for period in r.penalty_periods:
        assert period.start >= starts_from >= r.due_date >= INVOICE_DATE
        assert period.end <= request.as_of and period.days > 0 and period.interest >= 0
    if request.as_of <= starts_from:
        assert r.penalty_interest_accrued == 0
    paid = sum((p.amount for p in request.payments), Decimal(0))
    assert paid == r.principal_settled - r.discount_amount + r.penalty_interest_paid + r.overpaid
    assert r.principal_settled + r.amount_due == amount
    assert r.total_due == r.amount_due + r.penalty_interest_due
    assert (r.amount_due > 0) == (r.status in ("open", "overdue"))


# --- arbitrary valid-typed input ------------------------------------------------------------
dates = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))
near = st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2027, 12, 31))
money = st.decimals(min_value=0, max_value=MAX_AMOUNT - Decimal("0.01"), places=2)
positive = st.decimals(min_value=Decimal("0.01"), max_value=MAX_AMOUNT - Decimal("0.01"), places=2)
currencies = st.sampled_from([None, None, "CNY", "CNY", "CNY", "USD"])
term_choices = st.one_of(
    st.builds(TermsChoice, text=terms_texts()),
    st.builds(TermsChoice, text=st.text(alphabet="0123456789/.,n tcashinadvCIA%-", min_size=1, max_size=40)),
    st.builds(TermsChoice, text=st.text(min_size=1, max_size=40)),
    st.builds(TermsChoice, grade=st.sampled_from(["A", "B", "C", "D", "AAA", "x"])),
)
invoice_ids = st.one_of(st.none(), st.text(min_size=1, max_size=10))


def _shifted(base: dt.date, days: int) -> dt.date:
    return dt.date.fromordinal(min(max(base.toordinal() + days, 1), dt.date.max.toordinal()))


@st.composite
def settlement_requests(draw: st.DrawFn) -> SettlementRequest:
    """Requests whose dates mostly make sense together (payments around the invoice date, as_of after them)."""
    base = draw(st.one_of(near, dates))
    payments = draw(
        st.lists(
            st.builds(Payment, date=st.integers(-1, 400).map(lambda n: _shifted(base, n)), amount=positive),
            max_size=8,
        )
    )
    latest = max([base, *(p.date for p in payments)])
    return draw(
        st.builds(
            SettlementRequest,
            invoice=st.builds(Invoice, id=invoice_ids, amount=money, date=st.just(base), currency=currencies),
            terms=st.one_of(st.builds(TermsChoice, text=terms_texts()), term_choices),
            payments=st.just(payments),
            as_of=st.integers(-1, 300).map(lambda n: _shifted(latest, n)),
        )
    )


unrelated_requests = st.builds(
    SettlementRequest,
    invoice=st.builds(Invoice, id=invoice_ids, amount=money, date=dates, currency=currencies),
    terms=term_choices,
    payments=st.lists(st.builds(Payment, date=dates, amount=positive), max_size=8),
    as_of=dates,
)


@settings(deadline=None, max_examples=300)
@given(st.one_of(settlement_requests(), unrelated_requests))
def test_only_coded_engine_errors_escape(request: SettlementRequest) -> None:
    try:
        settle_both(request)
    except EngineError as exc:
        assert exc.code and exc.code != EngineError.code

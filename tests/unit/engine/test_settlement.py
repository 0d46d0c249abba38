"""settlement: discounts, amounts due, days overdue and penalty interest, on the domain's worked examples."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from engine.decisions.settlement import settle_invoice
from engine.errors import InputError
from engine.ir import CompiledPolicy
from engine.models import SettlementRequest
from engine.trace import Trace
from tests.engine_factories import MatcherKind, compiled_policy, settle

INVOICE_DATE = dt.date(2026, 3, 1)  # under n/30 the due date is 2026-03-31


def day(n: int) -> dt.date:
    return INVOICE_DATE + dt.timedelta(days=n)


@pytest.fixture(params=["python", "durable"])
def compiled(request: pytest.FixtureRequest) -> CompiledPolicy:
    kind: MatcherKind = request.param
    return compiled_policy(kind)


D = Decimal


# --- the worked examples --------------------------------------------------------------------
def test_day_15_earns_2_percent(compiled: CompiledPolicy) -> None:
    r = settle(compiled, payments=[(day(15), "9800.00")])
    assert (r.discount_rate, r.discount_amount, r.amount_due, r.status) == (D("0.0200"), D("200.00"), D("0.00"), "paid")
    assert format(r.discount_rate, "f") == "0.0200"
    assert r.payments[0].day == 15 and r.payments[0].principal_settled == D("10000.00")


def test_day_10_earns_3_percent(compiled: CompiledPolicy) -> None:
    r = settle(compiled, payments=[(day(10), "9700.00")])
    assert (r.discount_rate, r.discount_amount, r.amount_due, r.status) == (D("0.0300"), D("300.00"), D("0.00"), "paid")


def test_day_25_earns_nothing(compiled: CompiledPolicy) -> None:
    r = settle(compiled, payments=[(day(25), "10000.00")])
    assert (r.discount_rate, r.discount_amount, r.amount_due, r.status) == (D("0.0000"), D("0.00"), D("0.00"), "paid")


def test_paying_9800_on_day_25_leaves_200_open(compiled: CompiledPolicy) -> None:
    r = settle(compiled, payments=[(day(25), "9800.00")])
    assert (r.discount_amount, r.amount_due, r.status) == (D("0.00"), D("200.00"), "open")


def test_day_35_is_5_days_late(compiled: CompiledPolicy) -> None:
    r = settle(compiled, payments=[(day(35), "10000.00")])
    assert r.paid_days_late == 5 and r.days_overdue == 0
    assert r.payments[0].days_overdue == 5
    assert r.penalty_interest_accrued == D("25.00")  # 10,000 × 0.0005 × 5 days
    assert r.status == "paid_with_penalty_due"


def test_unpaid_on_day_35_is_5_days_overdue(compiled: CompiledPolicy) -> None:
    r = settle(compiled, as_of=day(35))
    assert (r.days_overdue, r.status, r.amount_due) == (5, "overdue", D("10000.00"))
    assert r.due_date == dt.date(2026, 3, 31)
    assert r.penalty_interest_due == D("25.00") and r.total_due == D("10025.00")
    assert r.pay_today_to_settle == D("10025.00") and r.discount_rate_today == D("0")


@pytest.mark.parametrize(("paid_on", "rate", "due"), [(10, "0.0200", "0.00"), (11, "0.0000", "200.00")])
def test_2_10_net_30_window_includes_day_10(compiled: CompiledPolicy, paid_on: int, rate: str, due: str) -> None:
    r = settle(compiled, terms="2/10, n/30", payments=[(day(paid_on), "9800.00")])
    assert (r.discount_rate, r.amount_due) == (D(rate), D(due))


def test_unpaid_before_due_date_is_open_with_todays_discount(compiled: CompiledPolicy) -> None:
    r = settle(compiled, as_of=day(20))
    assert (r.status, r.days_overdue, r.discount_rate_today, r.pay_today_to_settle) == (
        "open",
        0,
        D("0.0200"),
        D("9800.00"),
    )
    assert r.penalty_periods == [] and r.penalty_interest_accrued == 0


# --- partial payments -----------------------------------------------------------------------
def test_partial_payment_earns_its_discount_and_the_rest_continues(compiled: CompiledPolicy) -> None:
    r = settle(compiled, payments=[(day(5), "4900.00")], as_of=day(12))
    line = r.payments[0]
    assert (line.discount_rate, line.principal_settled, line.discount) == (D("0.0300"), D("5051.55"), D("151.55"))
    assert (r.amount_due, r.status, r.discount_rate_today) == (D("4948.45"), "open", D("0.0200"))
    assert r.pay_today_to_settle == D("4849.48")  # 4,948.45 × 0.98, cents half up


def test_partial_payments_then_the_rest_at_the_next_tier(compiled: CompiledPolicy) -> None:
    r = settle(compiled, payments=[(day(5), "4900.00"), (day(15), "4849.48")])
    assert [(p.discount_rate, p.discount) for p in r.payments] == [
        (D("0.0300"), D("151.55")),
        (D("0.0200"), D("98.97")),
    ]
    assert (r.amount_due, r.discount_amount, r.discount_rate, r.status) == (D("0.00"), D("250.52"), D("0.0251"), "paid")


def test_partial_payment_rest_without_discount(compiled: CompiledPolicy) -> None:
    r = settle(compiled, payments=[(day(5), "4900.00"), (day(25), "4948.45")])
    assert (r.amount_due, r.discount_amount, r.status) == (D("0.00"), D("151.55"), "paid")


def test_payments_are_applied_in_date_order(compiled: CompiledPolicy) -> None:
    r = settle(compiled, payments=[(day(25), "4948.45"), (day(5), "4900.00")])
    assert [p.date for p in r.payments] == [day(5), day(25)]
    assert r.discount_amount == D("151.55") and r.amount_due == 0


def test_payments_of_the_same_date_keep_their_order(compiled: CompiledPolicy) -> None:
    r = settle(compiled, terms="n/30", payments=[(day(40), "10000.00"), (day(40), "50.00"), (day(40), "7.00")])
    assert [p.amount for p in r.payments] == [D("10000.00"), D("50.00"), D("7.00")]
    assert [p.penalty_paid for p in r.payments] == [D("0.00"), D("50.00"), D("0.00")]
    assert [p.overpaid for p in r.payments] == [D("0.00"), D("0.00"), D("7.00")]


def test_overpayment_is_reported(compiled: CompiledPolicy) -> None:
    r = settle(compiled, payments=[(day(25), "10100.00")])
    assert (r.overpaid, r.amount_due, r.status) == (D("100.00"), D("0.00"), "paid")
    assert r.payments[0].overpaid == D("100.00")


def test_payment_after_settlement_earns_no_discount(compiled: CompiledPolicy) -> None:
    r = settle(compiled, payments=[(day(5), "9700.00"), (day(6), "10.00")])
    assert r.payments[1].discount_rate == 0 and r.payments[1].overpaid == D("10.00")
    assert r.discount_amount == D("300.00")


# --- penalty interest -----------------------------------------------------------------------
def test_penalty_is_recomputed_after_each_partial_payment(compiled: CompiledPolicy) -> None:
    r = settle(compiled, terms="n/30", payments=[(day(40), "4000.00"), (day(50), "6000.00")], as_of=day(60))
    periods = [(p.start, p.end, p.days, p.principal, p.interest) for p in r.penalty_periods]
    assert periods == [
        (day(30), day(40), 10, D("10000.00"), D("50.00")),
        (day(40), day(50), 10, D("6000.00"), D("30.00")),
    ]
    assert (r.penalty_interest_accrued, r.penalty_interest_paid, r.penalty_interest_due) == (
        D("80.00"),
        D(0),
        D("80.00"),
    )
    assert (r.amount_due, r.paid_days_late, r.days_overdue, r.status) == (D(0), 20, 0, "paid_with_penalty_due")
    assert r.total_due == D("80.00") and r.pay_today_to_settle == D("80.00")


def test_penalty_counts_from_the_due_date_never_the_invoice_date(compiled: CompiledPolicy) -> None:
    r = settle(compiled, terms="n/30", payments=[(day(20), "5000.00")], as_of=day(40))
    assert [(p.start, p.principal, p.days) for p in r.penalty_periods] == [(day(30), D("5000.00"), 10)]
    assert r.penalty_interest_accrued == D("25.00")
    assert r.days_overdue == 10 and r.status == "overdue"


def test_penalty_is_not_dropped_when_the_principal_is_paid(compiled: CompiledPolicy) -> None:
    r = settle(compiled, terms="n/30", payments=[(day(40), "10000.00")], as_of=day(90))
    assert r.penalty_interest_due == D("50.00") and r.status == "paid_with_penalty_due"
    assert r.penalty_periods[-1].end == day(40)  # interest stops when the principal is settled


def test_penalty_is_paid_after_the_principal_from_the_same_payment(compiled: CompiledPolicy) -> None:
    r = settle(compiled, terms="n/30", payments=[(day(40), "10030.00")])
    line = r.payments[0]
    assert (line.principal_settled, line.penalty_paid, line.overpaid) == (D("10000.00"), D("30.00"), D("0.00"))
    assert (r.penalty_interest_due, r.status) == (D("20.00"), "paid_with_penalty_due")


def test_penalty_paid_in_full_makes_it_paid_late(compiled: CompiledPolicy) -> None:
    r = settle(compiled, terms="n/30", payments=[(day(40), "10000.00"), (day(45), "60.00")])
    assert (r.penalty_interest_paid, r.penalty_interest_due, r.overpaid) == (D("50.00"), D(0), D("10.00"))
    assert (r.status, r.paid_days_late) == ("paid_late", 10)


def test_a_partial_payment_pays_principal_before_penalty(compiled: CompiledPolicy) -> None:
    r = settle(compiled, terms="n/30", payments=[(day(40), "100.00")])
    assert (r.payments[0].principal_settled, r.payments[0].penalty_paid) == (D("100.00"), D(0))
    assert r.penalty_interest_accrued == D("50.00") and r.amount_due == D("9900.00")


def test_each_period_is_rounded_to_cents_half_up(compiled: CompiledPolicy) -> None:
    r = settle(compiled, amount="3333.33", terms="n/30", as_of=day(33))
    assert r.penalty_periods[0].interest == D("5.00")  # 3,333.33 × 0.0005 × 3 = 4.999995


def test_grace_days_are_interest_free(compiled: CompiledPolicy) -> None:
    # Grade B: "2/10, n/30" with 5 days' grace.
    within = settle(compiled, grade="B", payments=[(day(33), "10000.00")])
    assert (within.penalty_interest_accrued, within.status, within.paid_days_late) == (D(0), "paid_late", 3)
    later = settle(compiled, grade="B", payments=[(day(40), "10000.00")])
    assert [(p.start, p.days) for p in later.penalty_periods] == [(day(35), 5)]
    assert later.penalty_interest_accrued == D("25.00") and later.paid_days_late == 10
    unpaid = settle(compiled, grade="B", as_of=day(34))
    assert (unpaid.days_overdue, unpaid.status, unpaid.penalty_interest_accrued) == (4, "overdue", D(0))


def test_yearly_penalty_rate_uses_its_basis(compiled: CompiledPolicy) -> None:
    r = settle(compiled, grade="C", as_of=day(25))  # n/15, 18 % a year on 360 days = 0.05 % a day
    assert r.terms.penalty.daily_rate == D("0.0005")
    assert (r.days_overdue, r.penalty_interest_accrued) == (10, D("50.00"))


def test_terms_of_a_grade(compiled: CompiledPolicy) -> None:
    r = settle(compiled, grade="A", payments=[(day(15), "9800.00")])
    assert r.terms.text == "3/10, 2/20, n/30" and r.discount_amount == D("200.00")


def test_text_terms_take_the_policy_default_penalty() -> None:
    compiled = compiled_policy("python", penalty={"rate": "0.001", "per": "day", "grace_days": 2})
    r = settle(compiled, terms="n/30", as_of=day(40))
    assert r.terms.penalty.grace_days == 2 and r.terms.penalty.rate == D("0.001")
    assert r.penalty_interest_accrued == D("80.00")  # 10,000 × 0.001 × (10 − 2)


@pytest.mark.parametrize("terms", ["cash in advance", None])
def test_cash_in_advance_is_due_on_the_invoice_date(compiled: CompiledPolicy, terms: str | None) -> None:
    grade = "D" if terms is None else None
    paid = settle(compiled, terms=terms, grade=grade, payments=[(day(0), "10000.00")])
    assert (paid.due_date, paid.status, paid.terms.cash_in_advance) == (INVOICE_DATE, "paid", True)
    unpaid = settle(compiled, terms=terms, grade=grade, as_of=day(10))
    assert (unpaid.days_overdue, unpaid.status, unpaid.penalty_interest_accrued) == (10, "overdue", D("50.00"))
    assert unpaid.penalty_periods[0].start == INVOICE_DATE


def test_zero_invoice_is_paid(compiled: CompiledPolicy) -> None:
    r = settle(compiled, amount="0.00", as_of=day(40))
    assert (r.status, r.amount_due, r.days_overdue, r.discount_rate) == ("paid", D(0), 0, D("0.0000"))


def test_same_currency_is_accepted(compiled: CompiledPolicy) -> None:
    assert settle(compiled, currency="CNY", as_of=day(1)).status == "open"


# --- the trace ------------------------------------------------------------------------------
def test_trace_names_the_discount_rule_and_the_periods(compiled: CompiledPolicy) -> None:
    request = SettlementRequest.model_validate(
        {
            "invoice": {"amount": "10000.00", "date": INVOICE_DATE},
            "terms": {"text": "3/10, 2/20, n/30"},
            "payments": [{"date": day(15), "amount": "4900.00"}, {"date": day(40), "amount": "100.00"}],
            "as_of": day(45),
        }
    )
    trace = Trace(compiled, "settlement")
    settle_invoice(compiled, request, trace)
    data = trace.to_dict()
    assert [r["id"] for r in data["rules_fired"]] == ["terms.discount_window"]
    assert data["rules_fired"][0]["source"]
    assert [p["tier"] for p in data["payments"]] == [{"rate": "0.02", "days": 20}, None]
    assert data["terms"]["due_date"] == "2026-03-31" and data["terms"]["penalty_from"] == "2026-03-31"
    assert [(p["start"], p["end"]) for p in data["penalty_periods"]] == [
        ("2026-03-31", "2026-04-10"),
        ("2026-04-10", "2026-04-15"),
    ]


def test_results_repeat_byte_for_byte(compiled: CompiledPolicy) -> None:
    first = settle(compiled, payments=[(day(5), "4900.00"), (day(40), "100.00")], as_of=day(50))
    second = settle(compiled, payments=[(day(5), "4900.00"), (day(40), "100.00")], as_of=day(50))
    assert first.model_dump_json() == second.model_dump_json()


# --- errors ---------------------------------------------------------------------------------
def _error(compiled: CompiledPolicy, **kwargs: object) -> InputError:
    with pytest.raises(InputError) as info:
        settle(compiled, **kwargs)  # type: ignore[arg-type]
    return info.value


def test_bad_terms_text_names_the_column(compiled: CompiledPolicy) -> None:
    e = _error(compiled, terms="3/10, x, n/30")
    assert (e.code, e.field) == ("terms_syntax", "terms.text")
    assert "column 7" in e.message and "'x'" in e.message


def test_unknown_grade(compiled: CompiledPolicy) -> None:
    e = _error(compiled, terms=None, grade="ZZZ")
    assert (e.code, e.field) == ("unknown_grade", "terms.grade")


def test_currency_mismatch(compiled: CompiledPolicy) -> None:
    e = _error(compiled, currency="USD")
    assert (e.code, e.field) == ("currency_mismatch", "invoice.currency")


def test_payment_before_invoice_names_the_payment(compiled: CompiledPolicy) -> None:
    e = _error(compiled, payments=[(day(3), "1.00"), (day(-1), "1.00")], as_of=day(5))
    assert (e.code, e.field) == ("payment_before_invoice", "payments[1].date")


def test_payment_after_as_of(compiled: CompiledPolicy) -> None:
    e = _error(compiled, payments=[(day(9), "1.00")], as_of=day(5))
    assert (e.code, e.field) == ("payment_after_as_of", "payments[0].date")


def test_as_of_before_invoice(compiled: CompiledPolicy) -> None:
    e = _error(compiled, as_of=day(-1))
    assert (e.code, e.field) == ("as_of_before_invoice", "as_of")


@pytest.mark.parametrize(
    ("terms", "code", "column"),
    [
        ("100/10, n/30", "discount_rate_range", 1),
        ("3/10, 0/20, n/30", "discount_rate_range", 7),
        ("2/0, n/30", "discount_days_order", 1),
        ("3/20, 2/10, n/30", "discount_days_order", 7),
        ("2/10, 3/20, n/30", "discount_rate_order", 7),
        ("2/40, n/30", "discount_beyond_period", 1),
        ("n/4000", "terms_period_range", 1),
    ],
)
def test_written_terms_are_checked_like_policy_terms(
    compiled: CompiledPolicy, terms: str, code: str, column: int
) -> None:
    e = _error(compiled, terms=terms)
    assert (e.code, e.field) == (code, "terms.text")
    assert f"column {column}:" in e.message


def test_due_date_beyond_the_calendar(compiled: CompiledPolicy) -> None:
    e = _error(compiled, terms="n/30", date=dt.date(9999, 12, 20), as_of=dt.date(9999, 12, 21))
    assert (e.code, e.field) == ("date_out_of_range", "invoice.date")


def test_penalty_beyond_any_trade_credit(compiled: CompiledPolicy) -> None:
    e = _error(compiled, terms="n/30", amount="99999999999999.99", date=dt.date(1, 1, 1), as_of=dt.date(9999, 1, 1))
    assert e.code == "amount_out_of_range"

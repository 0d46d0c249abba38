"""settle_invoice for a whole invoices frame (each invoice with no payment or one): at once.

Each row gets what ``engine.decisions.settlement.settle_invoice`` gives for its request: the
terms (the grade's, or written out and checked like a policy's), the due date, the discount tier
the payment's day earns, penalty interest from the due date plus the grace days in the periods
the payment splits, the payment applied to principal (with its discount), then penalty, then
overpaid, what paying the rest on ``as_of`` would take, the status, and the same refusals in the
same order (an invalid request, another currency, unknown or bad terms, impossible dates, dates
beyond the calendar, amounts beyond any trade credit).

Amounts are Int128 cents and discount rates Int128 units of 10^-12. Every Decimal step of the
engine is exact here when its operands are short enough, which the policy language makes the
normal case: ``residual × (1 - rate)`` needs at most 28 digits when the rate has at most 12
decimals, and ``residual × daily rate × days`` when the daily rate is short. A payment's share
``cash / (1 - rate)`` is a true division: it is exact in Int128 except within 10^-27 of a
half-cent, where the Decimal engine's 28 digits could tip the cent. The rows where an operand is
too long or a division lands that close are computed with the engine's own expressions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

import polars as pl

from engine.compiler import terms_ir
from engine.decisions.settlement import check_terms
from engine.errors import InputError
from engine.ir import CompiledPolicy, TermsIR
from engine.models import MAX_AMOUNT
from engine.vectorised.fallback import patch_rows
from engine.vectorised.fixedpoint import I128, decimals, from_cents, from_units, half_up_div, int_lit, scaled
from engine.vectorised.frames import LAST_DAY, FrameError, column, complete, normalise, row_problem, value
from policy.errors import ExpressionError

__all__ = ["RESULT_COLUMNS", "SettlementEvaluator", "TermsResolver", "line_columns", "period_columns"]

CENT: Final = Decimal("0.01")
RATE_SCALE: Final = 12  # discount rates as integers of 10^-12
_ONE: Final = 10**RATE_SCALE
_MAX_CENTS: Final = int(MAX_AMOUNT) * 100
_DIGITS_28: Final = 10**28
RESULT_COLUMNS: Final = (
    "error",
    "error_message",
    "terms",
    "due_date",
    "discount_rate",
    "discount_amount",
    "principal_settled",
    "amount_due",
    "days_overdue",
    "paid_days_late",
    "penalty_interest_accrued",
    "penalty_interest_paid",
    "penalty_interest_due",
    "total_due",
    "overpaid",
    "discount_rate_today",
    "pay_today_to_settle",
    "status",
)
_LINE: Final = ("day", "discount_rate", "discount", "principal_settled", "penalty_paid", "overpaid", "days_overdue")
_PERIOD: Final = ("start", "end", "days", "principal", "interest")


def line_columns() -> dict[str, str]:
    """The result columns of the payment line (null without a payment), by PaymentLine field."""
    return {f: f"payment_line.{f}" for f in _LINE}


def period_columns(number: int) -> dict[str, str]:
    """The result columns of penalty period 1 (up to the payment) or 2 (up to as_of), by PenaltyPeriod field."""
    return {f: f"penalty_period_{number}.{f}" for f in _PERIOD}


@dataclass(frozen=True)
class _Terms:
    """Terms resolved from a grade or a text: the compiled terms, or the error code of the request."""

    terms: TermsIR | None
    error: str | None
    message: str | None


class TermsResolver:
    """``engine.decisions.settlement.resolve_terms`` per distinct grade or text (cached)."""

    def __init__(self, compiled: CompiledPolicy) -> None:
        self.compiled = compiled
        self._cache: dict[tuple[str, str], _Terms] = {}

    def resolve(self, text: str | None, grade: str | None) -> _Terms:
        key = ("text", text) if text is not None else ("grade", grade or "")
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._resolve(text, grade)
        return found

    def _resolve(self, text: str | None, grade: str | None) -> _Terms:
        if text is None:
            terms = self.compiled.terms.get(grade or "")
            if terms is None:
                return _Terms(None, "unknown_grade", f"unknown grade {grade!r}")
            return _Terms(terms, None, None)
        try:
            parsed = terms_ir(text, self.compiled.default_penalty, None)
        except ExpressionError as exc:
            return _Terms(None, "terms_syntax", f"column {exc.column}: {exc.message}")
        try:
            check_terms(parsed, text, "terms.text")
        except InputError as exc:
            return _Terms(None, exc.code, exc.message)
        return _Terms(parsed, None, None)


def _mantissa(value: Decimal) -> tuple[int, int, int]:
    """``value = m · up / down`` with integers (down, up powers of ten)."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int) and sign == 0
    m = int("".join(map(str, digits)))
    return m, 10 ** max(0, exponent), 10 ** max(0, -exponent)


class SettlementEvaluator:
    """The settlement decision of one compiled policy as Polars expressions."""

    def __init__(self, compiled: CompiledPolicy) -> None:
        self.compiled = compiled
        self.resolver = TermsResolver(compiled)

    def _terms_table(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
        """One row per distinct (text, grade) of the frame with the terms' integers."""
        pairs = frame.select(
            column("terms.text").alias("__text"),
            column("terms.grade").alias("__tgrade"),
        ).unique()
        rows: list[dict[str, Any]] = []
        resolved = [(t, g, self.resolver.resolve(t, g)) for t, g in pairs.iter_rows()]
        width = max((len(r.terms.tiers) for _, _, r in resolved if r.terms is not None), default=0)
        for text, grade, r in resolved:
            row: dict[str, Any] = {
                "__text": text,
                "__tgrade": grade,
                "__terms_error": r.error,
                "__terms_message": r.message,
            }
            if r.terms is not None:
                terms = r.terms
                m, up, down = _mantissa(terms.penalty.daily_rate)
                tame = all(decimals(t.rate) <= RATE_SCALE for t in terms.tiers)
                row |= {
                    "__terms_text": terms.text,
                    "__credit_days": terms.credit_days,
                    "__grace": terms.penalty.grace_days,
                    "__dr_m": m,
                    "__dr_up": up,
                    "__dr_down": down,
                    "__tame": tame,
                }
                for i, tier in enumerate(terms.tiers):
                    row[f"__tier_days:{i}"] = tier.days
                    row[f"__tier_r:{i}"] = scaled(tier.rate, RATE_SCALE) if tame else None
                    row[f"__tier_r4:{i}"] = scaled(tier.rate.quantize(Decimal("0.0001"), ROUND_HALF_UP), 4)
            rows.append(row)
        schema: dict[str, pl.DataType] = {
            "__text": pl.String(),
            "__tgrade": pl.String(),
            "__terms_error": pl.String(),
            "__terms_message": pl.String(),
            "__terms_text": pl.String(),
            "__credit_days": pl.Int32(),
            "__grace": pl.Int32(),
            "__dr_m": I128,
            "__dr_up": I128,
            "__dr_down": I128,
            "__tame": pl.Boolean(),
        }
        for i in range(width):
            schema |= {f"__tier_days:{i}": pl.Int32(), f"__tier_r:{i}": I128, f"__tier_r4:{i}": pl.Int64()}
        table = pl.DataFrame({k: [row.get(k) for row in rows] for k in schema}, schema=schema)
        return table, width

    @staticmethod
    def _tier(day: pl.Expr, width: int) -> pl.Expr:
        """Index of the best tier a payment on ``day`` earns (tiers: days increase, rates decrease)."""
        if width == 0:
            return pl.lit(None, dtype=pl.Int32)
        return pl.coalesce(
            [pl.when(day <= pl.col(f"__tier_days:{i}")).then(pl.lit(i, dtype=pl.Int32)) for i in range(width)]
        )

    @staticmethod
    def _of_tier(index: pl.Expr, name: str, width: int, dtype: pl.DataType) -> pl.Expr:
        if width == 0:
            return pl.lit(None, dtype=dtype)
        return pl.coalesce([pl.when(index == i).then(pl.col(f"{name}:{i}")) for i in range(width)])

    def _interest(self, work: pl.DataFrame, principal: str, days: str, rows: pl.Expr, out: str) -> pl.DataFrame:
        """``_cents(residual × daily_rate × days)`` in cents: Int128 when the engine rounds nothing, else Decimal."""
        m, up, down = pl.col("__dr_m"), pl.col("__dr_up"), pl.col("__dr_down")
        # A mantissa of 12 digits or more goes to the fallback; zeroing it first keeps the products in Int128.
        short = m < int_lit(10**12)
        first = pl.col(principal) * pl.when(short).then(m).otherwise(int_lit(0))
        product = first * pl.col(days).cast(I128)
        exact = short & (first < int_lit(_DIGITS_28)) & (product < int_lit(_DIGITS_28))
        work = work.with_columns(pl.when(rows & exact).then(half_up_div(product * up, down)).alias(out))
        resolver = self.resolver

        def compute(row: Mapping[str, Any]) -> list[int]:
            rate = resolver.resolve(row["text"], row["grade"]).terms
            assert rate is not None
            interest = (Decimal(row["principal"]).scaleb(-2) * rate.penalty.daily_rate * row["days"]).quantize(
                CENT, rounding=ROUND_HALF_UP
            )
            return [int(interest.scaleb(2))]

        inputs = {
            "text": pl.col("__text"),
            "grade": pl.col("__tgrade"),
            "principal": pl.col(principal),
            "days": pl.col(days),
        }
        return patch_rows(work, rows & ~exact.fill_null(False), inputs, {out: I128}, compute)

    def evaluate(self, invoices: pl.DataFrame) -> pl.DataFrame:
        """One result row per invoice, appended to the frame's own columns."""
        frame = normalise("settlement", invoices)
        clashes = [
            c for c in frame.columns if c in RESULT_COLUMNS or c.startswith(("payment_line.", "penalty_period_", "__"))
        ]
        if clashes:
            raise FrameError(f"the invoices frame has columns the result uses: {', '.join(clashes)}")
        full = complete("settlement", frame)
        table, width = self._terms_table(full)
        work = full.with_columns(
            row_problem("settlement").alias("__problem"),
            column("terms.text").alias("__text"),
            column("terms.grade").alias("__tgrade"),
        ).join(table, on=["__text", "__tgrade"], how="left", nulls_equal=True, maintain_order="left")
        valid = pl.col("__problem").is_null()
        currency = column("invoice.currency")
        invoice_day = value("settlement", "invoice.date").cast(pl.Int32)
        as_of_day = value("settlement", "as_of").cast(pl.Int32)
        paid_on = column("payment.date").cast(pl.Int32)
        due = invoice_day + pl.col("__credit_days")
        start = due + pl.col("__grace")
        refused = (
            pl.when(~valid)
            .then(pl.lit("invalid_request"))
            .when(currency.is_not_null() & (currency != self.compiled.meta.currency))
            .then(pl.lit("currency_mismatch"))
            .when(pl.col("__terms_error").is_not_null())
            .then(pl.col("__terms_error"))
            .when(as_of_day < invoice_day)
            .then(pl.lit("as_of_before_invoice"))
            .when(paid_on.is_not_null() & (paid_on < invoice_day))
            .then(pl.lit("payment_before_invoice"))
            .when(paid_on.is_not_null() & (paid_on > as_of_day))
            .then(pl.lit("payment_after_as_of"))
            .when((due > LAST_DAY) | (start > LAST_DAY))
            .then(pl.lit("date_out_of_range"))
            .otherwise(pl.lit(None, dtype=pl.String))
        )
        work = work.with_columns(refused.alias("__refused"))
        ok = pl.col("__refused").is_null()
        amount = value("settlement", "invoice.amount").to_physical()
        paid = column("payment.amount").to_physical()
        work = work.with_columns(
            pl.when(ok).then(amount).alias("__amount"),
            pl.when(ok).then(paid).alias("__paid"),
            pl.when(ok).then(invoice_day).alias("__invoice_day"),
            pl.when(ok).then(as_of_day).alias("__as_of"),
            pl.when(ok).then(paid_on).alias("__paid_on"),
            pl.when(ok).then(due).alias("__due"),
            pl.when(ok).then(start).alias("__start"),
        )
        has_payment = ok & pl.col("__paid_on").is_not_null()
        day = pl.col("__paid_on") - pl.col("__invoice_day")
        today = pl.col("__as_of") - pl.col("__invoice_day")
        work = work.with_columns(
            self._tier(day, width).alias("__tier_p"),
            self._tier(today, width).alias("__tier_t"),
            has_payment.alias("__has_payment"),
            day.alias("__day"),
        )
        # accrue_to(payment date): interest on the whole amount from the start of accrual.
        first_days = pl.col("__paid_on") - pl.col("__start")
        accrues = pl.col("__has_payment") & (pl.col("__amount") > 0) & (first_days > 0)
        work = work.with_columns(accrues.alias("__accrues1"), first_days.alias("__days1"))
        work = self._interest(work, "__amount", "__days1", pl.col("__accrues1"), "__i1")
        work = work.with_columns(pl.col("__i1").fill_null(int_lit(0)).alias("__i1"))
        work = self._pay(work, width)
        # accrue_to(as_of) on what is still open, from the payment date (or the start of accrual).
        cursor = pl.when(pl.col("__accrues1")).then(pl.col("__paid_on")).otherwise(pl.col("__start"))
        second_days = pl.col("__as_of") - cursor
        accrues2 = ok & (pl.col("__residual") > 0) & (second_days > 0)
        work = work.with_columns(accrues2.alias("__accrues2"), second_days.alias("__days2"), cursor.alias("__cursor"))
        work = self._interest(work, "__residual", "__days2", pl.col("__accrues2"), "__i2")
        work = work.with_columns(pl.col("__i2").fill_null(int_lit(0)).alias("__i2"))
        work = self._today(work, width)
        return self._results(frame, work)

    def _pay(self, work: pl.DataFrame, width: int) -> pl.DataFrame:
        """``_Account.pay`` for the one payment: principal with its discount, then penalty, then overpaid."""
        amount, cash = pl.col("__amount"), pl.col("__paid")
        tier = pl.col("__tier_p")
        rate = (
            pl.when(tier.is_not_null() & (amount > 0))
            .then(self._of_tier(tier, "__tier_r", width, I128))
            .otherwise(int_lit(0))
        )
        rate4 = (
            pl.when(tier.is_not_null() & (amount > 0))
            .then(self._of_tier(tier, "__tier_r4", width, pl.Int64()))
            .otherwise(0)
        )
        tame = pl.col("__tame") | tier.is_null() | (amount <= 0)
        keep = int_lit(_ONE) - rate  # (1 - rate) in 10^-12
        needed = half_up_div(amount * keep, int_lit(_ONE))
        numerator = cash * int_lit(_ONE)
        share = (numerator * 2 + keep) // (keep * 2)  # cents(cash / (1 - rate)), half up (cash ≥ 0)
        fraction = numerator % keep
        off_half = (fraction * 2 - keep).abs()
        doubtful = (off_half != 0) & (off_half <= numerator * 2 // int_lit(10**27) + 1)
        work = work.with_columns(
            pl.when(pl.col("__has_payment") & tame).then(needed).alias("__needed"),
            pl.when(pl.col("__has_payment") & tame).then(share).alias("__share"),
            (pl.col("__has_payment") & (amount > 0) & (~tame | doubtful.fill_null(False))).alias("__python_pay"),
            rate4.alias("__rate4_p"),
        )
        resolver = self.resolver

        def compute(row: Mapping[str, Any]) -> list[int]:
            terms = resolver.resolve(row["text"], row["grade"]).terms
            assert terms is not None
            chosen = row["tier"]
            rate = terms.tiers[chosen].rate if chosen is not None else Decimal(0)
            residual, paid = Decimal(row["amount"]).scaleb(-2), Decimal(row["paid"]).scaleb(-2)
            need = (residual * (1 - rate)).quantize(CENT, rounding=ROUND_HALF_UP)
            part = (paid / (1 - rate)).quantize(CENT, rounding=ROUND_HALF_UP)
            return [int(need.scaleb(2)), int(part.scaleb(2))]

        inputs = {
            "text": pl.col("__text"),
            "grade": pl.col("__tgrade"),
            "tier": pl.col("__tier_p"),
            "amount": amount,
            "paid": cash,
        }
        work = patch_rows(work, pl.col("__python_pay"), inputs, {"__needed": I128, "__share": I128}, compute)
        needed, share = pl.col("__needed"), pl.col("__share")
        whole = cash >= needed
        settled = (
            pl.when(amount <= 0).then(int_lit(0)).when(whole).then(amount).otherwise(pl.min_horizontal(amount, share))
        )
        used = pl.when(amount <= 0).then(int_lit(0)).when(whole).then(needed).otherwise(cash)
        work = work.with_columns(settled.alias("__settled"), used.alias("__used"))
        left = cash - pl.col("__used")
        penalty = pl.min_horizontal(left, pl.col("__i1"))
        residual = amount - pl.col("__settled")
        return work.with_columns(
            pl.when(pl.col("__has_payment"))
            .then(pl.col("__settled") - pl.col("__used"))
            .otherwise(int_lit(0))
            .alias("__discount"),
            pl.when(pl.col("__has_payment")).then(penalty).otherwise(int_lit(0)).alias("__penalty_paid"),
            pl.when(pl.col("__has_payment")).then(left - penalty).otherwise(int_lit(0)).alias("__overpaid"),
            pl.when(pl.col("__has_payment")).then(residual).otherwise(amount).alias("__residual"),
        )

    def _today(self, work: pl.DataFrame, width: int) -> pl.DataFrame:
        """What is due on as_of: penalty, discount today, what settles everything today, the refusals of size."""
        residual = pl.col("__residual")
        accrued = pl.col("__i1") + pl.col("__i2")
        penalty_due = accrued - pl.col("__penalty_paid")
        tier = pl.when(residual > 0).then(pl.col("__tier_t"))
        rate = pl.when(tier.is_not_null()).then(self._of_tier(tier, "__tier_r", width, I128)).otherwise(int_lit(0))
        rate4 = pl.when(tier.is_not_null()).then(self._of_tier(tier, "__tier_r4", width, pl.Int64())).otherwise(0)
        tame = pl.col("__tame") | tier.is_null()
        keep = int_lit(_ONE) - rate
        work = work.with_columns(
            accrued.alias("__accrued"),
            penalty_due.alias("__penalty_due"),
            rate4.alias("__rate4_t"),
            pl.when(tame).then(half_up_div(residual * keep, int_lit(_ONE))).alias("__rest_today"),
            (pl.col("__refused").is_null() & ~tame.fill_null(True)).alias("__python_today"),
            tier.alias("__tier_today"),
        )
        resolver = self.resolver

        def compute(row: Mapping[str, Any]) -> list[int]:
            terms = resolver.resolve(row["text"], row["grade"]).terms
            assert terms is not None
            rate = terms.tiers[row["tier"]].rate
            rest = (Decimal(row["residual"]).scaleb(-2) * (1 - rate)).quantize(CENT, rounding=ROUND_HALF_UP)
            return [int(rest.scaleb(2))]

        inputs = {
            "text": pl.col("__text"),
            "grade": pl.col("__tgrade"),
            "tier": pl.col("__tier_today"),
            "residual": residual,
        }
        work = patch_rows(work, pl.col("__python_today"), inputs, {"__rest_today": I128}, compute)
        limit = int_lit(_MAX_CENTS)
        too_large = (
            (pl.col("__accrues1") & (pl.col("__i1") >= limit))
            | (pl.col("__accrues2") & (pl.col("__accrued") >= limit))
            | (pl.col("__overpaid") >= limit)
            | ((residual + pl.col("__penalty_due")) >= limit)
        )
        error = (
            pl.when(pl.col("__refused").is_not_null())
            .then(pl.col("__refused"))
            .when(too_large.fill_null(False))
            .then(pl.lit("amount_out_of_range"))
        )
        return work.with_columns(error.otherwise(pl.lit(None, dtype=pl.String)).alias("error"))

    def _results(self, frame: pl.DataFrame, work: pl.DataFrame) -> pl.DataFrame:
        decided = pl.col("error").is_null()
        amount, residual = pl.col("__amount"), pl.col("__residual")
        paid = decided & pl.col("__has_payment")
        settled_on = (
            pl.when(amount <= 0)
            .then(pl.col("__invoice_day"))
            .when(pl.col("__has_payment") & (residual == 0))
            .then(pl.col("__paid_on"))
        )
        due = pl.col("__due")
        late = pl.when(residual == 0).then(settled_on - due).otherwise(0)
        status = (
            pl.when(residual > 0)
            .then(pl.when(pl.col("__as_of") > due).then(pl.lit("overdue")).otherwise(pl.lit("open")))
            .when(pl.col("__penalty_due") > 0)
            .then(pl.lit("paid_with_penalty_due"))
            .when(settled_on > due)
            .then(pl.lit("paid_late"))
            .otherwise(pl.lit("paid"))
        )
        effective = pl.when(amount > 0).then(half_up_div(pl.col("__discount") * 10_000, amount)).otherwise(int_lit(0))
        message = (
            pl.when(pl.col("error") == "invalid_request")
            .then(pl.col("__problem"))
            .when(pl.col("error") == pl.col("__terms_error"))
            .then(pl.col("__terms_message"))
        )

        def money(name: str) -> pl.Expr:
            return pl.when(decided).then(from_cents(pl.col(name)))

        out = [
            pl.col("error"),
            message.otherwise(pl.lit(None, dtype=pl.String)).alias("error_message"),
            pl.when(decided).then(pl.col("__terms_text")).alias("terms"),
            pl.when(decided).then(due.cast(pl.Date)).alias("due_date"),
            pl.when(decided).then(from_units(effective, 4)).alias("discount_rate"),
            money("__discount").alias("discount_amount"),
            pl.when(decided).then(from_cents(amount - residual)).alias("principal_settled"),
            money("__residual").alias("amount_due"),
            pl.when(decided)
            .then(pl.when(residual > 0).then(pl.max_horizontal(pl.col("__as_of") - due, pl.lit(0))).otherwise(0))
            .cast(pl.Int64)
            .alias("days_overdue"),
            pl.when(decided).then(pl.max_horizontal(late, pl.lit(0))).cast(pl.Int64).alias("paid_days_late"),
            money("__accrued").alias("penalty_interest_accrued"),
            money("__penalty_paid").alias("penalty_interest_paid"),
            money("__penalty_due").alias("penalty_interest_due"),
            pl.when(decided).then(from_cents(residual + pl.col("__penalty_due"))).alias("total_due"),
            money("__overpaid").alias("overpaid"),
            pl.when(decided).then(from_units(pl.col("__rate4_t").cast(I128), 4)).alias("discount_rate_today"),
            pl.when(decided)
            .then(from_cents(pl.col("__rest_today") + pl.col("__penalty_due")))
            .alias("pay_today_to_settle"),
            pl.when(decided).then(status).alias("status"),
        ]
        line = line_columns()
        out += [
            pl.when(paid).then(pl.col("__day").cast(pl.Int64)).alias(line["day"]),
            pl.when(paid).then(from_units(pl.col("__rate4_p").cast(I128), 4)).alias(line["discount_rate"]),
            pl.when(paid).then(from_cents(pl.col("__discount"))).alias(line["discount"]),
            pl.when(paid).then(from_cents(pl.col("__settled"))).alias(line["principal_settled"]),
            pl.when(paid).then(from_cents(pl.col("__penalty_paid"))).alias(line["penalty_paid"]),
            pl.when(paid).then(from_cents(pl.col("__overpaid"))).alias(line["overpaid"]),
            pl.when(paid)
            .then(pl.max_horizontal(pl.col("__paid_on") - due, pl.lit(0)).cast(pl.Int64))
            .alias(line["days_overdue"]),
        ]
        for number, (flag, begin, end, days, principal, interest) in enumerate(
            (
                ("__accrues1", "__start", "__paid_on", "__days1", "__amount", "__i1"),
                ("__accrues2", "__cursor", "__as_of", "__days2", "__residual", "__i2"),
            ),
            start=1,
        ):
            period = period_columns(number)
            shown = decided & pl.col(flag)
            out += [
                pl.when(shown).then(pl.col(begin).cast(pl.Date)).alias(period["start"]),
                pl.when(shown).then(pl.col(end).cast(pl.Date)).alias(period["end"]),
                pl.when(shown).then(pl.col(days).cast(pl.Int64)).alias(period["days"]),
                pl.when(shown).then(from_cents(pl.col(principal))).alias(period["principal"]),
                pl.when(shown).then(from_cents(pl.col(interest))).alias(period["interest"]),
            ]
        results = work.select(out)
        return pl.concat([frame, results], how="horizontal")

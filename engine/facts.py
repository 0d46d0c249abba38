"""Facts: the flat, typed view of a decision input that rules are matched against.

Every number in a fact has at most 4 decimal places (the rules engine compares fixed-point
integers); derived values are computed here, exactly, with ``Decimal``. Arithmetic written in a
condition is hoisted by the compiler into a *computed field* (``_c1 = left - right``) evaluated
here, so the rules engine only ever compares a field with a constant or another field — its own
arithmetic is floating point and would not be exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, ROUND_UP, Decimal, DivisionByZero, InvalidOperation, localcontext

from engine.ir import ComputedField, Fact, FactValue
from engine.models import CreditFile
from policy.expressions import FieldRef, Literal, Value

__all__ = [
    "FACT_QUANTUM",
    "INEXACT_FIELDS",
    "ComputedField",
    "credit_file_fact",
    "evaluate_value",
    "quantize",
    "ratio",
    "with_computed",
]

FACT_QUANTUM = Decimal("0.0001")


def quantize(value: Decimal) -> Decimal:
    """A number as the rules see it: at most 4 decimal places (half-even), otherwise as given."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -4:
        return value
    return value.quantize(FACT_QUANTUM, rounding=ROUND_HALF_EVEN)


# Derived ratios are kept exact (28 significant digits), not rounded to the rules engine's 4
# decimals: the compiler hoists every condition that reads one into a computed difference whose
# sign is exact, so `credit.utilisation_after > 0.8` holds at 0.80004.
INEXACT_FIELDS = frozenset(
    {
        "ratios.current_ratio",
        "ratios.debt_ratio",
        "ratios.net_margin",
        "ratios.cash_flow_ratio",
        "credit.utilisation_after",
    }
)


def ratio(numerator: Decimal | None, denominator: Decimal | None) -> Decimal | None:
    """numerator / denominator, exactly to 28 digits; absent when either is absent or on division by zero."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    with localcontext() as ctx:
        ctx.prec = 28
        return numerator / denominator


def evaluate_value(value: Value, fact: Mapping[str, FactValue]) -> Decimal | None:
    """Exact value of an arithmetic expression; None when a field is absent or on division by zero."""
    if isinstance(value, Literal):
        return value.value if isinstance(value.value, Decimal) else None
    if isinstance(value, FieldRef):
        got = fact.get(value.path)
        return got if isinstance(got, Decimal) else None
    left = evaluate_value(value.left, fact)
    right = evaluate_value(value.right, fact)
    if left is None or right is None:
        return None
    with localcontext() as ctx:
        ctx.prec = 34
        try:
            if value.op == "+":
                return left + right
            if value.op == "-":
                return left - right
            if value.op == "*":
                return left * right
            return left / right
        except (DivisionByZero, InvalidOperation):
            return None


def with_computed(fact: dict[str, FactValue], computed: tuple[ComputedField, ...]) -> dict[str, FactValue]:
    """Add the computed fields; rounding away from zero keeps the sign of a tiny difference."""
    for c in computed:
        v = evaluate_value(c.expression, fact)
        fact[c.path] = None if v is None else v.quantize(FACT_QUANTUM, rounding=ROUND_UP)
    return fact


def _q(value: Decimal | int | None) -> Decimal | None:
    if value is None:
        return None
    return quantize(Decimal(value))


def credit_file_fact(customer_id: str, segment: str, cf: CreditFile) -> dict[str, FactValue]:
    """The assess-context fact of a credit file, with derived values (before score and grade)."""
    f, p, r, o, t = cf.financials, cf.payment, cf.records, cf.outlook, cf.trade
    working_capital = (
        None if f.current_assets is None or f.current_liabilities is None else f.current_assets - f.current_liabilities
    )
    debt = None if f.total_assets is None or f.net_assets is None else f.total_assets - f.net_assets
    # Amounts arrive with at most 2 decimals (the request model checks it): only rates and counts
    # need bringing to the rules engine's 4 decimals.
    fact: dict[str, FactValue] = {
        "customer.id": customer_id,
        "customer.segment": segment,
        "financials.current_assets": f.current_assets,
        "financials.current_liabilities": f.current_liabilities,
        "financials.total_assets": f.total_assets,
        "financials.net_assets": f.net_assets,
        "financials.revenue": f.revenue,
        "financials.net_profit": f.net_profit,
        "financials.operating_cash_flow": f.operating_cash_flow,
        "financials.liquidation_value": f.liquidation_value,
        "financials.fixed_assets": f.fixed_assets,
        "financials.paid_in_capital": f.paid_in_capital,
        "financials.working_capital": working_capital,
        "ratios.current_ratio": ratio(f.current_assets, f.current_liabilities),
        "ratios.debt_ratio": ratio(debt, f.total_assets),
        "ratios.net_margin": ratio(f.net_profit, f.revenue),
        "ratios.cash_flow_ratio": ratio(f.operating_cash_flow, f.current_liabilities),
        "payment.on_time_ratio": _q(p.on_time_ratio),
        "payment.avg_days_late": _q(p.avg_days_late),
        "payment.max_days_late": _q(p.max_days_late),
        "payment.defaults_3y": _q(p.defaults_3y),
        "payment.bounced_cheques": _q(p.bounced_cheques),
        "records.years_in_business": _q(r.years_in_business),
        "records.litigation_count": _q(r.litigation_count),
        "records.bank_record": r.bank_record,
        "records.owns_premises": r.owns_premises,
        "outlook.expected_dso_days": _q(o.expected_dso_days),
        "outlook.expected_bad_debt_rate": _q(o.expected_bad_debt_rate),
        "trade.collateral_value": t.collateral_value,
        "trade.has_guarantee": t.has_guarantee,
    }
    for name, rating in sorted(cf.ratings.items()):
        fact[f"ratings.{name}"] = rating
    return fact


def read(fact: Fact, path: str) -> FactValue:
    """A field of a fact; absent ratings and unknown paths read as absent."""
    return fact.get(path)

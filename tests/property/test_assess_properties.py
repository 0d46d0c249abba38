"""Properties of assess and order a credit manager relies on, on the shipped policy.

- a better credit file never gets a worse grade or a lower limit;
- a limit never exceeds its caps (net assets, working capital, absolute, portfolio remaining);
- durable-rules and the plain-Python twin decide identically;
- arbitrary valid-typed input raises nothing but the engine's own coded errors.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine.decide import decide
from engine.errors import EngineError
from engine.ir import CompiledPolicy
from engine.models import AssessRequest, OrderRequest

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
BANK = ["loss", "doubtful", "substandard", "special_mention", "normal"]  # worst → best
RATING = ["bad", "poor", "fair", "good", "excellent"]


def money(lo: int, hi: int) -> st.SearchStrategy[Decimal]:
    return st.integers(lo * 100, hi * 100).map(lambda cents: Decimal(cents) / 100)


@st.composite
def credit_files(draw: st.DrawFn) -> dict[str, Any]:
    """A complete credit file as numbers and rating indexes (0 worst)."""
    total = draw(money(1_000_000, 50_000_000))
    return {
        "current_assets": draw(money(0, 30_000_000)),
        "current_liabilities": draw(money(1, 30_000_000)),
        "total_assets": total,
        "net_assets": (draw(money(0, 1)) * total).quantize(Decimal("0.01")),
        "revenue": draw(money(1_000_000, 90_000_000)),
        "net_profit": draw(money(-2_000_000, 5_000_000)),
        "operating_cash_flow": draw(money(-2_000_000, 5_000_000)),
        "liquidation_value": draw(money(0, 30_000_000)),
        "collateral_value": draw(money(0, 5_000_000)),
        "on_time_ratio": Decimal(draw(st.integers(0, 100))) / 100,
        "max_days_late": draw(st.integers(0, 200)),
        "defaults_3y": draw(st.integers(0, 3)),
        "bounced_cheques": draw(st.integers(0, 3)),
        "litigation_count": draw(st.integers(0, 6)),
        "years_in_business": Decimal(draw(st.integers(0, 40))),
        "bank_record": draw(st.integers(0, 4)),
        "ratings": draw(st.lists(st.integers(0, 4), min_size=4, max_size=4)),
        "dso": Decimal(draw(st.integers(10, 120))),
        "bad_debt": Decimal(draw(st.integers(0, 80))) / 1000,
    }


@st.composite
def improvements(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """The same customer, better or equal on every fact the shipped scorecard and limits read."""

    def up(cap: int) -> Decimal:
        return draw(money(0, cap))

    better = dict(base)
    better["current_assets"] += up(5_000_000)
    cut = up(5_000_000)
    better["current_liabilities"] -= max(Decimal(0), min(base["current_liabilities"] - Decimal("0.01"), cut))
    better["net_assets"] = min(base["total_assets"], base["net_assets"] + up(5_000_000))
    better["net_profit"] += up(1_000_000)
    better["operating_cash_flow"] += up(1_000_000)
    better["liquidation_value"] += up(5_000_000)
    better["collateral_value"] += up(1_000_000)
    better["on_time_ratio"] = min(Decimal(1), base["on_time_ratio"] + Decimal(draw(st.integers(0, 30))) / 100)
    better["max_days_late"] = max(0, base["max_days_late"] - draw(st.integers(0, 60)))
    better["defaults_3y"] = max(0, base["defaults_3y"] - draw(st.integers(0, 2)))
    better["bounced_cheques"] = max(0, base["bounced_cheques"] - draw(st.integers(0, 2)))
    better["litigation_count"] = max(0, base["litigation_count"] - draw(st.integers(0, 3)))
    better["years_in_business"] += Decimal(draw(st.integers(0, 10)))
    better["bank_record"] = min(4, base["bank_record"] + draw(st.integers(0, 2)))
    better["ratings"] = [min(4, r + draw(st.integers(0, 2))) for r in base["ratings"]]
    better["dso"] = max(Decimal(0), base["dso"] - Decimal(draw(st.integers(0, 40))))
    better["bad_debt"] = max(Decimal(0), base["bad_debt"] - Decimal(draw(st.integers(0, 30))) / 1000)
    return better


def payload(f: dict[str, Any], allocated: Decimal = Decimal(0)) -> dict[str, Any]:

    def text(value: Decimal) -> str:
        return format(value, "f")

    names = ["character", "visit_impression", "industry_prospects", "economic_conditions"]
    return {
        "customer": {"id": "C-PROP", "segment": "ordinary"},
        "as_of": "2026-06-30",
        "portfolio": {"allocated": text(allocated)},
        "credit_file": {
            "financials": {
                k: text(f[k])
                for k in (
                    "current_assets",
                    "current_liabilities",
                    "total_assets",
                    "net_assets",
                    "revenue",
                    "net_profit",
                    "operating_cash_flow",
                    "liquidation_value",
                )
            },
            "payment": {
                "on_time_ratio": text(f["on_time_ratio"]),
                "max_days_late": f["max_days_late"],
                "defaults_3y": f["defaults_3y"],
                "bounced_cheques": f["bounced_cheques"],
            },
            "records": {
                "years_in_business": text(f["years_in_business"]),
                "litigation_count": f["litigation_count"],
                "bank_record": BANK[f["bank_record"]],
            },
            "outlook": {"expected_dso_days": text(f["dso"]), "expected_bad_debt_rate": text(f["bad_debt"])},
            "trade": {"collateral_value": text(f["collateral_value"])},
            "ratings": {n: RATING[r] for n, r in zip(names, f["ratings"], strict=True)},
        },
    }


def rank(compiled: CompiledPolicy, grade: str) -> int:
    return compiled.grade(grade).rank


@st.composite
def better_pairs(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    base = draw(credit_files())
    return base, draw(improvements(base))


@SETTINGS
@given(pair=better_pairs())
def test_a_better_credit_file_never_gets_a_worse_grade_or_a_lower_limit(
    shipped_python: CompiledPolicy, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    base, better = pair
    before = decide(shipped_python, "assess", payload(base)).output()
    after = decide(shipped_python, "assess", payload(better)).output()
    assert rank(shipped_python, after["grade"]) <= rank(shipped_python, before["grade"])
    assert Decimal(after["score"]) >= Decimal(before["score"])
    assert Decimal(after["credit_limit"]) >= Decimal(before["credit_limit"])
    assert after["eligible"] or not before["eligible"]


@SETTINGS
@given(f=credit_files(), allocated=money(0, 200_000_000))
def test_a_limit_never_exceeds_its_caps(shipped_python: CompiledPolicy, f: dict[str, Any], allocated: Decimal) -> None:
    decision = decide(shipped_python, "assess", payload(f, allocated))
    out = decision.output()
    limit = Decimal(out["credit_limit"])
    assert limit >= 0
    if not out["eligible"]:
        assert limit == 0
        return
    rule = shipped_python.limits[out["grade"]]
    working_capital = f["current_assets"] - f["current_liabilities"]
    if rule.caps.net_assets:
        assert limit <= max(Decimal(0), f["net_assets"])
    if rule.caps.working_capital:
        assert limit <= max(Decimal(0), working_capital)
    if rule.caps.absolute is not None:
        assert limit <= rule.caps.absolute
    assert limit <= max(Decimal(0), shipped_python.portfolio_total - allocated)
    assert limit % shipped_python.rounding_step == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(f=credit_files())
def test_durable_rules_and_the_python_twin_assess_identically(
    shipped: CompiledPolicy, shipped_python: CompiledPolicy, f: dict[str, Any]
) -> None:
    p = payload(f)
    durable, python = decide(shipped, "assess", p), decide(shipped_python, "assess", p)
    assert durable.output() == python.output()
    assert durable.trace == python.trace


GRADES = ["AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C", "D"]


@st.composite
def orders(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "customer": {
            "id": draw(st.sampled_from(["C-1", "CN-91310000-0457"])),
            "segment": draw(st.sampled_from(["core", "ordinary", "high_risk"])),
            "grade": draw(st.sampled_from(GRADES)),
            "limit": str(draw(money(0, 3_000_000))),
            "blacklisted": draw(st.booleans()),
        },
        "order": {"id": "SO", "amount": str(draw(money(0, 2_000_000))), "currency": "CNY"},
        "exposure": {
            "open_receivables": str(draw(money(0, 2_000_000))),
            "open_orders": str(draw(money(0, 500_000))),
            "overdue_amount": str(draw(money(0, 100_000))),
            "oldest_overdue_days": draw(st.integers(0, 400)),
        },
        "as_of": "2026-06-30",
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(p=orders())
def test_durable_rules_and_the_python_twin_check_orders_identically(
    shipped: CompiledPolicy, shipped_python: CompiledPolicy, p: dict[str, Any]
) -> None:
    assert decide(shipped, "order", p).output() == decide(shipped_python, "order", p).output()


extreme_money = st.one_of(
    money(0, 10),
    st.integers(0, 10**16 - 1).map(lambda cents: format(Decimal(cents) / 100, "f")),
    st.sampled_from(["0", "0.01", "99999999999999.99"]),
).map(str)
any_text = st.text(min_size=1, max_size=64)
any_date = st.dates().map(lambda d: d.isoformat())


@st.composite
def wild_orders(draw: st.DrawFn) -> OrderRequest:
    """Valid-typed order inputs at the edges: huge amounts, any text, any date, any grade name."""
    raw = {
        "customer": {
            "id": draw(any_text),
            "segment": draw(st.sampled_from(["core", "ordinary", "high_risk"])),
            "grade": draw(st.one_of(st.sampled_from(GRADES), st.text(min_size=1, max_size=16))),
            "limit": draw(extreme_money),
            "blacklisted": draw(st.booleans()),
        },
        "order": {
            "id": draw(any_text),
            "amount": draw(extreme_money),
            "currency": draw(st.sampled_from(["CNY", "USD", "EUR"])),
        },
        "exposure": {k: draw(extreme_money) for k in ("open_receivables", "open_orders", "overdue_amount")}
        | {"oldest_overdue_days": draw(st.integers(0, 36_500))},
        "as_of": draw(any_date),
    }
    try:
        return OrderRequest.model_validate(raw)
    except ValueError:
        assume(False)
        raise


@st.composite
def wild_assessments(draw: st.DrawFn) -> AssessRequest:
    """Valid-typed credit files at the edges: any subset of facts, extreme values, free ratings."""
    signed = st.one_of(extreme_money, extreme_money.map(lambda m: "-" + m))
    financials = draw(
        st.dictionaries(
            st.sampled_from(["current_assets", "current_liabilities", "total_assets", "revenue", "liquidation_value"]),
            extreme_money,
        )
    )
    financials |= draw(st.dictionaries(st.sampled_from(["net_assets", "net_profit", "operating_cash_flow"]), signed))
    raw = {
        "customer": {"id": draw(any_text)},
        "as_of": draw(any_date),
        "portfolio": {"allocated": draw(extreme_money)},
        "credit_file": {
            "financials": financials,
            "payment": {
                "on_time_ratio": str(draw(st.decimals(0, 1, places=6))),
                "max_days_late": draw(st.integers(0, 1_000_000)),
                "defaults_3y": draw(st.integers(0, 1_000_000)),
            },
            "records": {
                "years_in_business": draw(extreme_money),
                "bank_record": draw(st.text(min_size=1, max_size=64)),
            },
            "outlook": {"expected_dso_days": draw(extreme_money)},
            "ratings": draw(
                st.dictionaries(
                    st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True), st.text(max_size=64), max_size=5
                )
            ),
        },
    }
    try:
        return AssessRequest.model_validate(raw)
    except ValueError:
        assume(False)
        raise


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=wild_orders())
def test_arbitrary_valid_typed_orders_raise_only_engine_errors(shipped: CompiledPolicy, request: OrderRequest) -> None:
    try:
        decide(shipped, "order", request)
    except EngineError as exc:
        assert exc.code in {"currency_mismatch", "unknown_grade", "value_out_of_range", "amount_out_of_range"}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=wild_assessments())
def test_arbitrary_valid_typed_credit_files_raise_only_engine_errors(
    shipped: CompiledPolicy, request: AssessRequest
) -> None:
    try:
        decide(shipped, "assess", request)
    except EngineError as exc:
        assert exc.code in {"value_out_of_range", "amount_out_of_range"}

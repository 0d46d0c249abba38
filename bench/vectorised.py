"""Throughput of the vectorised evaluator against per-decision ``decide()``, under the shipped policy.

Run by hand (``.venv/bin/python bench/vectorised.py [--customers 100000] [--orders 1000000]``);
prints figures, asserts nothing. In one run:

- ``VectorisedPolicy.assess`` over a generated customers frame and ``check_orders`` over a
  generated orders frame (medians of ``--repeat`` runs, on the durable-rules compiled policy and on
  its plain-Python twin: the evaluator follows whichever it is given);
- ``decide()`` per row over a sample of the same rows, on durable-rules and on the twin, as rows/s;
- how many rows the exact fallback computed in Python (``engine.vectorised.fallback``).

Goals of the simulation this serves (issue 9): assess 100 000 customers in ≲ 2 s, check
1 000 000 orders in ≲ 3 s, the whole pipeline in ≤ 20 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import engine.vectorised.fallback as fallback  # noqa: E402
from engine.compiler import compile_policy, python_twin  # noqa: E402
from engine.decide import decide  # noqa: E402
from engine.errors import EngineError  # noqa: E402
from engine.ir import CompiledPolicy  # noqa: E402
from engine.vectorised import VectorisedPolicy, requests_of  # noqa: E402
from engine.vectorised.fixedpoint import from_cents  # noqa: E402
from policy.validate import load_policy  # noqa: E402

AS_OF = dt.date(2026, 6, 30)
RATINGS = ["excellent", "good", "fair", "poor", "bad"]
BANK = ["normal", "special_mention", "substandard", "doubtful", "loss"]


def _pick(seed: int, high: int) -> pl.Expr:
    """A pseudo-random integer 0..high-1 per row (a hash of the row number: fast, reproducible)."""
    return (pl.int_range(pl.len(), dtype=pl.UInt64).hash(seed) % high).cast(pl.Int64)


def _money(seed: int, high: int, low: int = 0) -> pl.Expr:
    return from_cents((_pick(seed, (high - low) * 100) + low * 100).cast(pl.Int128))


def _ratio(seed: int, high_ten_thousandths: int) -> pl.Expr:
    return _pick(seed, high_ten_thousandths + 1).cast(pl.Decimal(38, 0)) * pl.lit(Decimal("0.0001"))


def _choice(seed: int, values: list[str]) -> pl.Expr:
    return _pick(seed, len(values)).replace_strict(list(range(len(values))), values, return_dtype=pl.String)


def customers(n: int) -> pl.DataFrame:
    """A portfolio of customers with complete credit files of every quality."""
    base = pl.DataFrame({"n": pl.int_range(n, eager=True)})
    frame = base.select(
        pl.format("C-{}", pl.col("n")).alias("id"),
        _choice(1, ["core", "ordinary", "high_risk"]).alias("segment"),
        _money(2, 30_000_000).alias("financials.current_assets"),
        _money(3, 30_000_000, 1).alias("financials.current_liabilities"),
        _money(4, 80_000_000, 1_000_000).alias("financials.total_assets"),
        _money(5, 40_000_000, -2_000_000).alias("financials.net_assets"),
        _money(6, 90_000_000, 1_000_000).alias("financials.revenue"),
        _money(7, 5_000_000, -2_000_000).alias("financials.net_profit"),
        _money(8, 5_000_000, -2_000_000).alias("financials.operating_cash_flow"),
        _money(9, 30_000_000).alias("financials.liquidation_value"),
        _money(10, 5_000_000).alias("trade.collateral_value"),
        _ratio(11, 10_000).alias("payment.on_time_ratio"),
        _pick(12, 200).alias("payment.max_days_late"),
        _pick(13, 4).alias("payment.defaults_3y"),
        _pick(14, 4).alias("payment.bounced_cheques"),
        _pick(15, 7).alias("records.litigation_count"),
        (_ratio(16, 400_000)).alias("records.years_in_business"),
        _choice(17, BANK).alias("records.bank_record"),
        (_ratio(18, 1_200_000)).alias("outlook.expected_dso_days"),
        _ratio(19, 800).alias("outlook.expected_bad_debt_rate"),
        _choice(20, RATINGS).alias("ratings.character"),
        _choice(21, RATINGS).alias("ratings.visit_impression"),
        _choice(22, RATINGS).alias("ratings.industry_prospects"),
        _choice(23, RATINGS).alias("ratings.economic_conditions"),
    )
    return frame


def orders(n: int, grades: list[str]) -> pl.DataFrame:
    """Orders of customers of every grade and segment, some over their limit, some overdue."""
    base = pl.DataFrame({"n": pl.int_range(n, eager=True)})
    return base.select(
        pl.format("C-{}", _pick(30, 200_000)).alias("customer.id"),
        _choice(31, ["core", "ordinary", "high_risk"]).alias("customer.segment"),
        _choice(32, grades).alias("customer.grade"),
        _money(33, 3_000_000).alias("customer.limit"),
        (_pick(34, 50) == 0).alias("customer.blacklisted"),
        pl.format("SO-{}", pl.col("n")).alias("order.id"),
        _money(35, 500_000).alias("order.amount"),
        pl.lit("CNY").alias("order.currency"),
        _money(36, 2_000_000).alias("exposure.open_receivables"),
        _money(37, 500_000).alias("exposure.open_orders"),
        _money(38, 100_000).alias("exposure.overdue_amount"),
        _pick(39, 120).alias("exposure.oldest_overdue_days"),
        pl.lit(AS_OF).alias("as_of"),
    )


def median_seconds(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def per_decision(compiled: CompiledPolicy, kind: str, payloads: list[dict[str, Any]]) -> tuple[float, list[Any]]:
    """Rows/s of decide() over the payloads, and its outputs (an error's code for a refused row)."""
    outputs: list[Any] = []
    start = time.perf_counter()
    for payload in payloads:
        try:
            outputs.append(decide(compiled, kind, payload).output())
        except EngineError as exc:  # refused rows cost their time too
            outputs.append({"error": exc.code})
    return len(payloads) / (time.perf_counter() - start), outputs


def same(vectorised: list[dict[str, Any]], decided: list[Any]) -> int:
    """How many rows the two evaluators answer identically (errors compared by code)."""
    plain = [{"error": o["error"]["code"]} if "error" in o else o for o in vectorised]
    return sum(a == b for a, b in zip(plain, decided, strict=True))


class FallbackCounter:
    """Counts the rows the exact fallback computes in Python (by wrapping patch_rows)."""

    def __init__(self) -> None:
        self.rows = 0
        self.original = fallback.patch_rows

    def __enter__(self) -> FallbackCounter:
        import engine.vectorised.assess as assess_module
        import engine.vectorised.collection as collection_module
        import engine.vectorised.conditions as conditions_module
        import engine.vectorised.settlement as settlement_module

        self.modules = [assess_module, collection_module, conditions_module, settlement_module]
        original = self.original

        def counted(work: pl.DataFrame, rows: pl.Expr, *args: Any, **kwargs: Any) -> pl.DataFrame:
            self.rows += work.select(rows.fill_null(False).sum()).item()
            return original(work, rows, *args, **kwargs)

        for module in self.modules:
            module.patch_rows = counted  # type: ignore[attr-defined]
        return self

    def __exit__(self, *exc: object) -> None:
        for module in self.modules:
            module.patch_rows = self.original  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=2_000, help="rows decided one by one per engine")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    loaded = load_policy((ROOT / "rules" / "standard.yaml").read_text(encoding="utf-8"), "rules/standard.yaml")
    durable = compile_policy(loaded)
    twin = python_twin(durable)
    grades = [g.grade for g in durable.grades]
    start = time.perf_counter()
    customer_frame = customers(args.customers)
    order_frame = orders(args.orders, grades)
    print(f"generated {args.customers:,} customers and {args.orders:,} orders in {time.perf_counter() - start:.1f} s")
    print(f"polars {pl.__version__}, {pl.thread_pool_size()} threads; medians of {args.repeat} runs\n")

    for name, compiled in (("durable-rules", durable), ("python twin", twin)):
        start = time.perf_counter()
        vp = VectorisedPolicy(compiled)
        built = time.perf_counter() - start
        with FallbackCounter() as counter:
            assess_rows = vp.assess(customer_frame, as_of=AS_OF)
            vp.check_orders(order_frame)
        assess_s = median_seconds(lambda vp=vp: vp.assess(customer_frame, as_of=AS_OF), args.repeat)
        portfolio_s = median_seconds(
            lambda vp=vp: vp.assess(customer_frame, as_of=AS_OF, allocation="portfolio"), args.repeat
        )
        orders_s = median_seconds(lambda vp=vp: vp.check_orders(order_frame), args.repeat)
        print(f"vectorised on the {name} policy (built in {built * 1000:.0f} ms):")
        print(f"  assess {args.customers:>9,} customers  {assess_s:6.2f} s  {args.customers / assess_s:>12,.0f} rows/s")
        print(f"  assess, portfolio allocation   {portfolio_s:6.2f} s  {args.customers / portfolio_s:>12,.0f} rows/s")
        print(f"  orders {args.orders:>9,} orders     {orders_s:6.2f} s  {args.orders / orders_s:>12,.0f} rows/s")
        print(f"  rows computed by the exact fallback: {counter.rows:,}")
        grade_counts = assess_rows.group_by("grade").len().sort("grade")
        print(f"  grades: {dict(zip(grade_counts['grade'], grade_counts['len'], strict=True))}\n")

    sample_customers = requests_of("assess", customer_frame.head(args.sample), as_of=AS_OF)
    sample_orders = requests_of("order", order_frame.head(args.sample))
    print(f"per-decision decide() over {args.sample:,} rows of each (and the vectorised outputs of those rows):")
    for name, compiled in (("durable-rules", durable), ("python twin", twin)):
        vp = VectorisedPolicy(compiled)
        assess_rate, assessed = per_decision(compiled, "assess", sample_customers)
        order_rate, checked = per_decision(compiled, "order", sample_orders)
        assess_same = same(vp.outputs("assess", vp.assess(customer_frame.head(args.sample), as_of=AS_OF)), assessed)
        orders_same = same(vp.outputs("order", vp.check_orders(order_frame.head(args.sample))), checked)
        print(
            f"  {name:<13}  assess {assess_rate:>9,.0f} rows/s ({args.customers / assess_rate:7.1f} s for all)"
            f"   orders {order_rate:>9,.0f} rows/s ({args.orders / order_rate:7.1f} s for all)"
            f"   identical outputs: {assess_same:,} and {orders_same:,} of {args.sample:,}"
        )


if __name__ == "__main__":
    main()

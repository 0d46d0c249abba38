"""Decision latency in process: median and p99 µs per decision of each kind, with baselines.

Run by hand (`make bench` or `.venv/bin/python bench/decide.py [--n 5000]`); prints figures,
asserts nothing. Baselines measured in the same run:
- a raw durable-rules `post` of one rule (the floor any durable-based engine pays per call);
- the same order check evaluated by the plain-Python twin of the compiled policy (the batch path).
Goals (issue 3): order p99 ≤ 200 µs, assess p99 ≤ 1 ms, compile of the shipped policy ≤ 200 ms.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.compiler import compile_policy, python_twin  # noqa: E402
from engine.decide import decide, parse_request  # noqa: E402
from policy.validate import load_policy  # noqa: E402

CREDIT_FILE: dict[str, Any] = {
    "financials": {
        "current_assets": "8200000.00",
        "current_liabilities": "4100000.00",
        "total_assets": "15000000.00",
        "net_assets": "6500000.00",
        "revenue": "30000000.00",
        "net_profit": "1800000.00",
        "operating_cash_flow": "2100000.00",
        "liquidation_value": "5200000.00",
    },
    "payment": {"on_time_ratio": "0.93", "avg_days_late": 4, "max_days_late": 12, "defaults_3y": 0},
    "records": {"years_in_business": 11, "litigation_count": 0, "bank_record": "good", "owns_premises": True},
    "outlook": {"expected_dso_days": 42, "expected_bad_debt_rate": "0.01"},
    "ratings": {
        "character": "good",
        "capacity": "good",
        "capital": "fair",
        "conditions": "good",
        "collateral": "fair",
        "industry_prospects": "good",
        "visit_impression": "good",
    },
}

INPUTS: dict[str, dict[str, Any]] = {
    "assess": {"customer": {"id": "C-1001", "segment": "ordinary"}, "credit_file": CREDIT_FILE, "as_of": "2026-06-30"},
    "order": {
        "customer": {"id": "C-1001", "segment": "ordinary", "grade": "A", "limit": "1500000.00"},
        "order": {"id": "SO-1", "amount": "120000.00", "currency": "CNY"},
        "exposure": {
            "open_receivables": "600000.00",
            "open_orders": "100000.00",
            "overdue_amount": "20000.00",
            "oldest_overdue_days": 12,
        },
        "as_of": "2026-06-30",
    },
    "settlement": {
        "invoice": {"amount": "10000.00", "date": "2026-03-01"},
        "terms": {"text": "3/10, 2/20, n/30"},
        "payments": [{"date": "2026-03-16", "amount": "4900.00"}, {"date": "2026-04-10", "amount": "5000.00"}],
        "as_of": "2026-04-30",
    },
    "collection": {
        "customer": {"id": "C-2001", "segment": "ordinary", "grade": "BB"},
        "arrears": {"amount": "250000.00", "days_overdue": 75, "steps_taken": [{"step": "letter", "on": "2026-05-01"}]},
        "as_of": "2026-06-30",
    },
}


def measure(fn: Callable[[], object], n: int) -> tuple[float, float]:
    """Median and p99 in µs of n calls (after a warm-up)."""
    for _ in range(min(200, n)):
        fn()
    samples = []
    gc.disable()
    try:
        for _ in range(n):
            t0 = time.perf_counter_ns()
            fn()
            samples.append((time.perf_counter_ns() - t0) / 1000)
    finally:
        gc.enable()
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def raw_durable_baseline(n: int) -> tuple[float, float]:
    """One rule, one post, straight on durable-rules (threads off, as our adapter runs it)."""
    from durable import engine as dengine  # bench only: the product imports durable in one module

    class QuietHost(dengine.Host):  # type: ignore[misc]
        def _run(self) -> None:  # no background threads (see DURABLE-RULES.md, trap 1)
            return None

        def get_action(self, action_name: str) -> Any:
            return lambda c: None

    host = QuietHost()
    host.register_rulesets({"bench_raw": {"r1": {"all": [{"m": {"$gt": {"amount": 100}}}], "run": "noop"}}})
    host.get_action = lambda name: lambda c: None  # type: ignore[method-assign]
    counter = iter(range(10**9))

    def post() -> None:
        sid = str(next(counter))
        host.post("bench_raw", {"sid": sid, "amount": 500})
        host.delete_state("bench_raw", sid)

    return measure(post, n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="calls per measurement")
    args = parser.parse_args()
    text = (ROOT / "rules" / "standard.yaml").read_text(encoding="utf-8")

    compile_ms = []
    for i in range(7):
        variant = text.replace("version:", f"version: bench-{time.time_ns()}-{i}  # ", 1)
        loaded_variant = load_policy(variant, "rules/standard.yaml")
        t0 = time.perf_counter()
        compile_policy(loaded_variant)
        compile_ms.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    loaded = load_policy(text, "rules/standard.yaml")
    load_ms = (time.perf_counter() - t0) * 1000
    compiled = compile_policy(loaded)
    twin = python_twin(compiled)

    print(f"python {sys.version.split()[0]}, n={args.n} calls per row, µs per decision (in process)")
    print(
        f"load+validate shipped policy: {load_ms:.1f} ms; compile (median of 7, new rulesets each): "
        f"{statistics.median(compile_ms):.1f} ms (goal ≤ 200 ms)"
    )
    print(f"{'case':44} {'median µs':>10} {'p99 µs':>10}")
    rows: dict[str, tuple[float, float]] = {}
    rows["raw durable-rules post, 1 rule (baseline)"] = raw_durable_baseline(args.n)
    for kind, payload in INPUTS.items():
        request = parse_request(kind, payload)
        rows[f"{kind} (durable-rules)"] = measure(lambda k=kind, r=request: decide(compiled, k, r), args.n)
    order_request = parse_request("order", INPUTS["order"])
    rows["order (plain-Python twin, same rules)"] = measure(lambda: decide(twin, "order", order_request), args.n)
    rows["order incl. JSON parsing (durable-rules)"] = measure(
        lambda: decide(compiled, "order", INPUTS["order"]), args.n
    )
    for name, (med, p99) in rows.items():
        print(f"{name:44} {med:10.1f} {p99:10.1f}")
    raw = rows["raw durable-rules post, 1 rule (baseline)"][0]
    order = rows["order (durable-rules)"]
    python_order = rows["order (plain-Python twin, same rules)"][0]
    print(
        f"order median / raw durable post: {order[0] / raw:.2f}x; order durable / plain Python: "
        f"{order[0] / python_order:.2f}x"
    )
    print(f"goals: order p99 {order[1]:.0f} µs (≤ 200), assess p99 {rows['assess (durable-rules)'][1]:.0f} µs (≤ 1000)")


if __name__ == "__main__":
    main()

"""Simulation speed: from the portfolio files to the report, and the vectorised path against per-decision evaluation.

Run by hand (prints figures, asserts nothing)::

    .venv/bin/python bench/simulate.py                    # 100k and 1M invoices
    .venv/bin/python bench/simulate.py --sizes 100000 1000000 10000000

For each size (customers = invoices / 10) it generates a portfolio in a temporary folder (not
timed), then runs ``creditpolicy simulate`` in a fresh process — read and validate the files,
assess 2 versions, rebuild the exposures, re-decide every order twice, settle, plan collection,
write summary.json, report.html and the tables — and prints the wall time and the process's peak
resident memory. The candidate is the shipped policy with a stricter minimum grade and a larger
portfolio total. Then, on the last size's portfolio, it times the vectorised evaluator against
``engine.decide.decide`` on durable-rules (the engine of record) over a sample, in the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This file's directory holds bench/http.py, which would shadow the standard library's http package.
sys.path[0] = str(ROOT)

import polars as pl  # noqa: E402

from engine.compiler import compile_policy  # noqa: E402
from engine.decide import decide  # noqa: E402
from engine.portfolio import generate_portfolio, read_portfolio  # noqa: E402
from engine.vectorised import VectorisedPolicy, requests_of  # noqa: E402
from policy.validate import load_policy  # noqa: E402

SHIPPED = ROOT / "rules" / "standard.yaml"
CLI = Path(sys.executable).parent / "creditpolicy"


def candidate(folder: Path) -> Path:
    text = SHIPPED.read_text(encoding="utf-8")
    text = text.replace("min_grade: CCC", "min_grade: B", 1).replace(
        "portfolio_total: 200000000", "portfolio_total: 5000000000", 1
    )
    path = folder / "candidate.yaml"
    path.write_text(text.replace('version: "2026.1"', 'version: "2026.2"', 1), encoding="utf-8")
    return path


def simulate_once(portfolio: Path, policy: Path, out: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one `creditpolicy simulate` in its own process."""
    command = [str(CLI), "simulate", "--baseline", str(SHIPPED), "--candidate", str(policy)]
    command += ["--portfolio", str(portfolio), "--out", str(out)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"simulate failed: {result.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest child so far (KiB)
    return elapsed, max(peak, before) / 1024


def report(kind: str, fast: float, rows: int, slow: float, sample: int) -> None:
    print(
        f"{kind}: vectorised {fast:,.0f} rows/s over {rows:,}; "
        f"durable-rules decide() {slow:,.0f} rows/s over {sample:,} ({fast / slow:,.0f}×)"
    )


def per_decision(portfolio: Path, sample: int) -> None:
    """Rows per second: the vectorised evaluator on the whole table, durable-rules decide() on a sample."""
    book = read_portfolio(portfolio)
    compiled = compile_policy(load_policy(SHIPPED.read_text(encoding="utf-8"), str(SHIPPED)))
    vectorised = VectorisedPolicy(compiled)
    as_of = dt.date(2026, 6, 30)
    times = []
    for _ in range(3):
        started = time.perf_counter()
        assessed = vectorised.assess(book.customers, as_of=as_of)
        times.append(time.perf_counter() - started)
    fast = book.customers.height / statistics.median(times)
    payloads = requests_of("assess", assessed.head(sample), as_of=as_of)
    started = time.perf_counter()
    for payload in payloads:
        decide(compiled, "assess", payload)
    slow = len(payloads) / (time.perf_counter() - started)
    report("assess", fast, book.customers.height, slow, len(payloads))
    orders = assessed.select(
        pl.col("id").alias("customer.id"),
        pl.col("grade").alias("customer.grade"),
        pl.col("credit_limit").alias("customer.limit"),
    ).drop_nulls()
    frame = book.orders.join(orders, left_on="customer", right_on="customer.id").select(
        pl.col("customer").alias("customer.id"),
        "customer.grade",
        "customer.limit",
        pl.col("id").alias("order.id"),
        pl.col("amount").alias("order.amount"),
        pl.col("currency").alias("order.currency"),
        pl.col("date").alias("as_of"),
    )
    times = []
    for _ in range(3):
        started = time.perf_counter()
        checked = vectorised.check_orders(frame)
        times.append(time.perf_counter() - started)
    fast = frame.height / statistics.median(times)
    payloads = requests_of("order", checked.head(sample))
    started = time.perf_counter()
    for payload in payloads:
        decide(compiled, "order", payload)
    slow = len(payloads) / (time.perf_counter() - started)
    report("orders", fast, frame.height, slow, len(payloads))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000], help="invoices per run")
    parser.add_argument("--sample", type=int, default=2000, help="rows decided one by one on durable-rules")
    args = parser.parse_args()
    print(f"simulate, end to end (files → report), 2 versions, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        policy = candidate(Path(tmp))
        last = None
        for invoices in args.sizes:
            folder = Path(tmp) / f"book-{invoices}"
            written = generate_portfolio(
                customers=max(invoices // 10, 10), invoices=invoices, years=3, seed=1, out=folder
            )
            elapsed, peak = simulate_once(folder, policy, Path(tmp) / f"out-{invoices}")
            print(
                f"  {written.customers:>10,} customers {written.orders:>11,} orders {invoices:>11,} invoices: "
                f"{elapsed:6.1f} s, peak {peak:,.0f} MiB"
            )
            last = folder
        assert last is not None
        per_decision(last, args.sample)


if __name__ == "__main__":
    main()

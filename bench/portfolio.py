"""Portfolio figures: generate, read and compute exposures at scale; prints times, sizes and peak memory.

Run by hand: `.venv/bin/python bench/portfolio.py [--customers 100000] [--invoices 1000000]`.
Asserts nothing. Each step runs in its own process so that its peak RSS is its own. Goals
(issue 9): 100,000 customers and 1,000,000 invoices generated in under 30 s; exposures at
1M orders x 1M invoices fast, also when a few customers hold most of the book.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

from engine.portfolio import exposures_at_orders, generate_portfolio, invoice_states, read_portfolio  # noqa: E402
from policy.terms import parse_terms  # noqa: E402

STEPS = ("generate-parquet", "generate-csv", "read-parquet", "read-csv", "exposures", "concentrated")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def due_dates(invoices: pl.DataFrame) -> pl.Series:
    """Explicit terms' net days, else 30 days (the simulation would take the grade's terms)."""
    texts = invoices.get_column("terms").drop_nulls().unique().to_list()
    net = {text: parse_terms(text).credit_days for text in texts}
    days = pl.col("terms").replace_strict(net, default=30, return_dtype=pl.Int64)
    return invoices.select(pl.col("invoice_date") + pl.duration(days=days)).to_series()


def run_step(step: str, folder: Path, customers: int, invoices: int, years: int, seed: int) -> None:
    if step.startswith("generate-"):
        file_format = step.removeprefix("generate-")
        start = time.perf_counter()
        written = generate_portfolio(
            customers=customers, invoices=invoices, years=years, seed=seed, out=folder / file_format, format=file_format
        )
        elapsed = time.perf_counter() - start
        sizes = ", ".join(
            f"{f.name} {f.stat().st_size / 2**20:.1f} MiB"
            for f in (written.customers_file, written.orders_file, written.invoices_file)
        )
        print(f"{step:18} {elapsed:6.2f} s  {written.customers:,} customers, {written.orders:,} orders, ", end="")
        print(f"{written.invoices:,} invoices; {sizes}; peak RSS {peak_mib():.0f} MiB")
    elif step.startswith("read-"):
        start = time.perf_counter()
        portfolio = read_portfolio(folder / step.removeprefix("read-"))
        elapsed = time.perf_counter() - start
        rows = portfolio.customers.height + portfolio.orders.height + portfolio.invoices.height
        print(f"{step:18} {elapsed:6.2f} s  {rows:,} rows validated; peak RSS {peak_mib():.0f} MiB")
    else:
        if step == "concentrated":
            # The same number of invoices on 100 customers: a few very large accounts.
            generate_portfolio(customers=100, invoices=invoices, years=years, seed=seed, out=folder / "concentrated")
            portfolio = read_portfolio(folder / "concentrated")
        else:
            portfolio = read_portfolio(folder / "parquet")
        due = due_dates(portfolio.invoices)
        base = peak_mib()
        start = time.perf_counter()
        exposures = exposures_at_orders(portfolio.orders, portfolio.invoices, due)
        elapsed = time.perf_counter() - start
        start = time.perf_counter()
        invoice_states(portfolio.invoices, due, portfolio.invoices.select(pl.col("invoice_date").max()).item())
        states = time.perf_counter() - start
        customers_with_orders = portfolio.orders.get_column("customer").n_unique()
        print(
            f"{step:18} {elapsed:6.2f} s  exposures at {exposures.height:,} orders over "
            f"{portfolio.invoices.height:,} invoices of {customers_with_orders:,} customers; "
            f"invoice states {states:.2f} s; peak RSS {peak_mib():.0f} MiB (portfolio in memory: {base:.0f} MiB)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--step", choices=STEPS)
    parser.add_argument("--folder", type=Path)
    args = parser.parse_args()
    if args.step is not None:
        run_step(args.step, args.folder, args.customers, args.invoices, args.years, args.seed)
        return
    with tempfile.TemporaryDirectory() as folder:
        for step in STEPS:
            command = [sys.executable, __file__, "--step", step, "--folder", folder]
            command += ["--customers", str(args.customers), "--invoices", str(args.invoices)]
            command += ["--years", str(args.years), "--seed", str(args.seed)]
            subprocess.run(command, check=True)


if __name__ == "__main__":
    main()

"""Impact over the decision log: 100,000 logged decisions measured end to end (goal: ≤ 10 s).

Run by hand (``.venv/bin/python bench/impact.py [--decisions 100000] [--database-url URL]``);
prints figures, asserts nothing. In one run:

1. fills a fresh store (a SQLite file by default, or the PostgreSQL database given, in a
   throwaway schema) with the shipped policy as the active version A and a draft B that moves
   grade boundaries, limits and an order rule, then with ``--decisions`` logged decisions:
   generated inputs (``engine.portfolio.generate``: customers, their orders, invoices, arrears)
   actually decided under A on the vectorised path, logged as the service logs them (canonical
   input, the response with the decision as its last member), by bulk insert: 10 % each of
   assessments and settlements, 3 % collection steps and the rest orders, over 90 days;
2. runs ``measure_impact(A → B)`` on it ``--repeat`` times and prints the median wall and CPU
   times (and the load average: the machine may be shared); ``--profile`` prints where the first
   run spends its time; ``--store FILE`` keeps a SQLite store to measure again without refilling.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import pstats
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # not bench/: its http.py would shadow the standard library

from api.adapters.db import tables  # noqa: E402
from api.adapters.db.engine import create_db_engine  # noqa: E402
from api.adapters.db.migrate import upgrade_database  # noqa: E402
from api.adapters.db.unit_of_work import UnitOfWork  # noqa: E402
from api.service import versions  # noqa: E402
from api.service.decisions.response import canonical_rates  # noqa: E402
from api.service.impact import ImpactRequest, impact_document, measure_impact  # noqa: E402
from api.service.jsontext import canonical, dumps, iso  # noqa: E402
from api.service.policy_cases import cases_runner  # noqa: E402
from api.service.registry import PolicyRegistry  # noqa: E402
from bench.http import database  # noqa: E402
from engine.compiler import compile_policy  # noqa: E402
from engine.matchers import twin_matcher  # noqa: E402
from engine.portfolio.generate import synthesize_portfolio  # noqa: E402
from engine.vectorised import VectorisedPolicy, requests_of  # noqa: E402
from policy.validate import load_policy  # noqa: E402

END = dt.date(2026, 6, 30)
DAYS = 90
SHIPPED = ROOT / "rules" / "standard.yaml"


def candidate_text(text: str) -> str:
    """The draft B: stricter BBB boundary, lower AAA–A caps, ordinary customers held after 20 days overdue."""
    changes = (
        ('version: "2026.1"', 'version: "2026.9"'),
        ("{grade: BBB, min_score: 72", "{grade: BBB, min_score: 75"),
        ("{grade: BB,  min_score: 65, max_score: 72", "{grade: BB,  min_score: 65, max_score: 75"),
        ("exposure.oldest_overdue_days > 30", "exposure.oldest_overdue_days > 20"),
        ("absolute: 10000000}", "absolute: 8000000}"),
    )
    for old, new in changes:
        if old not in text:
            raise SystemExit(f"the shipped policy changed: {old!r} is not in it")
        text = text.replace(old, new)
    return text


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "as_tuple"):  # Decimal: sent as decimal text, as clients do
        return format(value, "f")
    return value


def _days(n: int, seed: int) -> list[dt.date]:
    return [END - dt.timedelta(days=(i * 7919 + seed) % DAYS) for i in range(n)]


def _requests(vp: VectorisedPolicy, n: int, seed: int) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(kind, input, output) of ``n`` generated decisions decided under ``vp``."""
    shares = {"order": 0.7, "assess": 0.1, "settlement": 0.1, "collection": 0.1}
    counts = {k: int(n * s) for k, s in shares.items()}
    counts["order"] += n - sum(counts.values())
    portfolio = synthesize_portfolio(
        customers=max(counts["assess"], 100), invoices=max(counts["order"], counts["settlement"]), years=1, seed=seed
    )
    customers = portfolio.customers.head(counts["assess"])
    out: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    # Assessments: one per customer, over the days of the period.
    for day, group in customers.with_columns(pl.Series("day", _days(customers.height, seed))).group_by(
        "day", maintain_order=True
    ):
        frame = group.drop("day")
        decided = vp.outputs("assess", vp.assess(frame, as_of=day[0]))
        for payload, output in zip(requests_of("assess", frame, as_of=day[0]), decided, strict=True):
            out.append(("assess", payload, output))
    graded = (
        vp.assess(
            portfolio.customers.drop([c for c in portfolio.customers.columns if c.startswith("portfolio")]), as_of=END
        )
        .select("id", "segment", "grade", "credit_limit")
        .filter(pl.col("grade").is_not_null())
    )
    orders = portfolio.orders.head(counts["order"]).join(graded, left_on="customer", right_on="id")
    overdue = (pl.int_range(pl.len()).hash(seed) % 70).cast(pl.Int64)
    order_frame = orders.select(
        pl.col("customer").alias("customer.id"),
        pl.col("segment").alias("customer.segment"),
        pl.col("grade").alias("customer.grade"),
        pl.col("credit_limit").alias("customer.limit"),
        pl.col("id").alias("order.id"),
        pl.col("amount").alias("order.amount"),
        pl.col("currency").alias("order.currency"),
        (pl.col("credit_limit") * pl.lit(0.3)).cast(pl.Decimal(38, 2)).alias("exposure.open_receivables"),
        pl.when(overdue > 0)
        .then(pl.col("amount"))
        .otherwise(0)
        .cast(pl.Decimal(38, 2))
        .alias("exposure.overdue_amount"),
        overdue.alias("exposure.oldest_overdue_days"),
        pl.Series(_days(orders.height, seed + 1)).alias("as_of"),
    )
    for payload, output in zip(
        requests_of("order", order_frame), vp.outputs("order", vp.check_orders(order_frame)), strict=True
    ):
        out.append(("order", payload, output))
    invoices = portfolio.invoices.head(counts["settlement"]).join(graded, left_on="customer", right_on="id")
    invoice_frame = invoices.select(
        pl.col("id").alias("invoice.id"),
        pl.col("amount").alias("invoice.amount"),
        pl.col("invoice_date").alias("invoice.date"),
        pl.lit("CNY").alias("invoice.currency"),
        pl.lit(None, pl.String()).alias("terms.text"),
        pl.col("grade").alias("terms.grade"),
        pl.col("payment_date").alias("payment.date"),
        pl.when(pl.col("payment_date").is_not_null()).then(pl.col("payment_amount")).alias("payment.amount"),
        pl.max_horizontal(pl.col("invoice_date"), pl.col("payment_date").fill_null(pl.col("invoice_date"))).alias(
            "as_of"
        ),
    )
    for payload, output in zip(
        requests_of("settlement", invoice_frame), vp.outputs("settlement", vp.settle(invoice_frame)), strict=True
    ):
        out.append(("settlement", payload, output))
    arrears = graded.head(counts["collection"])
    arrears = pl.concat([arrears] * (counts["collection"] // max(arrears.height, 1) + 1)).head(counts["collection"])
    arrears_frame = arrears.select(
        pl.col("id").alias("customer.id"),
        pl.col("segment").alias("customer.segment"),
        pl.col("grade").alias("customer.grade"),
        (pl.col("credit_limit") * pl.lit(0.1) + 100).cast(pl.Decimal(38, 2)).alias("arrears.amount"),
        (pl.int_range(pl.len()).hash(seed + 2) % 200).cast(pl.Int64).alias("arrears.days_overdue"),
        pl.Series(_days(arrears.height, seed + 2)).alias("as_of"),
    )
    for payload, output in zip(
        requests_of("collection", arrears_frame),
        vp.outputs("collection", vp.plan_collection(arrears_frame)),
        strict=True,
    ):
        out.append(("collection", payload, output))
    return out


def _row(kind: str, payload: dict[str, Any], output: dict[str, Any], version: Any, at: dt.datetime) -> dict[str, Any]:
    """A log row as ``api.service.decisions.decide.store_decision`` writes it."""
    body = _json_ready(payload)
    decision = canonical_rates(output)
    as_of = dt.date.fromisoformat(body["as_of"])
    decision_id = str(uuid.uuid4())
    outcome = {
        "order": lambda: decision["outcome"],
        "assess": lambda: decision["grade"],
        "settlement": lambda: decision["status"],
        "collection": lambda: (decision["next_step"] or {}).get("step", "none"),
    }[kind]()
    response = {
        "decision_id": decision_id,
        "kind": kind,
        "request_id": None,
        "created_at": iso(at),
        "as_of": as_of.isoformat(),
        "policy": {"id": version.policy_id, "version": version.label, "sha256": version.sha256},
        "outcome": outcome,
        "reasons": list(decision.get("reasons") or []),
        "decision": decision,
    }
    customer = body.get("customer") or {}
    return {
        "decision_id": decision_id,
        "kind": kind,
        "request_id": None,
        "request_hash": None,
        "customer_id": customer.get("id"),
        "order_id": (body.get("order") or {}).get("id"),
        "as_of": as_of,
        "outcome": outcome,
        "created_at": at,
        "caller": "bench",
        "policy_id": version.policy_id,
        "policy_sha256": version.sha256,
        "policy_label": version.label,
        "input_json": canonical(body),
        "output_json": dumps(response),
        "trace_json": None,
    }


def fill(url: str, decisions: int, seed: int) -> None:
    upgrade_database(url)
    engine = create_db_engine(url)
    text = SHIPPED.read_text(encoding="utf-8")
    with UnitOfWork(engine) as uow:
        a, _ = versions.publish(uow, text, "rules/standard.yaml", "bench-author", cases_runner(None, "none"))
        versions.approve(uow, a.sha256, "bench-approver", "bench")
        versions.activate(uow, a.sha256, "bench-approver", "bench")
        versions.publish(uow, candidate_text(text), "rules/standard.yaml", "bench-author", cases_runner(None, "none"))
        uow.commit()
    started = time.perf_counter()
    vp = VectorisedPolicy(compile_policy(load_policy(text, "rules/standard.yaml"), factory=twin_matcher))
    decided = _requests(vp, decisions, seed)
    at = dt.datetime(2026, 7, 1, tzinfo=dt.UTC)
    # A refused request is not logged (the service answers it with a problem).
    logged = [(k, p, o) for k, p, o in decided if "error" not in o]
    orders = [d for d in logged if d[0] == "order"]
    # Orders of customers the policy does not grade, or the short list of arrears, leave the count
    # short: the same orders again (as re-submitted orders are) make it up.
    logged += [orders[i % len(orders)] for i in range(max(0, decisions - len(logged)))]
    rows = [_row(k, p, o, a, at + dt.timedelta(milliseconds=i)) for i, (k, p, o) in enumerate(logged)]
    generated = time.perf_counter() - started
    started = time.perf_counter()
    with engine.begin() as connection:
        for start in range(0, len(rows), 10_000):
            connection.execute(insert(tables.decisions), rows[start : start + 10_000])
    print(
        f"filled: {len(rows):,} decisions decided in {generated:.1f} s, "
        f"inserted in {time.perf_counter() - started:.1f} s"
    )
    engine.dispose()


def run(url: str, repeat: int, profile: bool) -> None:
    engine = create_db_engine(url)
    times = []
    cpu = []
    document: dict[str, Any] = {}
    for number in range(repeat):
        registry = PolicyRegistry()  # cold: each run compiles both versions, as a new process would
        profiler = cProfile.Profile() if profile and number == 0 else None
        started, cpu_started = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        with UnitOfWork(engine) as uow:
            report = measure_impact(uow, registry, ImpactRequest(from_ref="2026.1", to_ref="2026.9"))
        if profiler is not None:
            profiler.disable()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        document = impact_document(report)
        if profiler is not None:
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    engine.dispose()
    records = document["records"]
    print(
        f"impact over {records['decided_by_from']:,} decisions: median {statistics.median(times):.2f} s "
        f"(runs {', '.join(f'{t:.2f}' for t in times)}; CPU median {statistics.median(cpu):.2f} s, load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores); {records['reproduced']:,} reproduce, "
        f"{records['evaluated_per_decision']:,} evaluated per decision"
    )
    for kind, summary in document["kinds"].items():
        print(f"  {kind}: {summary['compared']:,} compared, {summary['changed']:,} change")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="a PostgreSQL URL (a throwaway schema is made in it); SQLite otherwise")
    parser.add_argument("--profile", action="store_true", help="print where the first run spends its time")
    parser.add_argument("--store", type=Path, help="a SQLite file to fill once and measure again on later runs")
    args = parser.parse_args()
    if args.store is not None and not args.database_url:
        url = f"sqlite:///{args.store}"
        if not args.store.exists():
            fill(url, args.decisions, args.seed)
        run(url, args.repeat, args.profile)
        return
    with database(args.database_url) as url:  # a throwaway SQLite file, or schema of the PostgreSQL database
        fill(url, args.decisions, args.seed)
        run(url, args.repeat, args.profile)


if __name__ == "__main__":
    main()

"""What a dry run costs beside the real batch: 1,000 orders through the one batch use case, three ways.

Run by hand::

    .venv/bin/python bench/batch.py                    # SQLite (a temporary file)
    .venv/bin/python bench/batch.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

On a fresh store with the shipped policy in force, it decides ``--orders`` orders (1,000 by
default; a third of them held over their limit, so credit cases open) ``--rounds`` times each way,
in process (``api.service.decisions.decide_batch``, no HTTP), the three ways in turn each round: a
real batch (logged, committed), a dry run by the version in force (durable-rules, rolled back), and
a dry run naming a draft (the plain-Python twin, rolled back). Every round uses new customers and
order references, so the real batches open cases afresh. It prints the median milliseconds per
batch and microseconds per order, and asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import secrets
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(ROOT)


from api.adapters.db.engine import create_db_engine  # noqa: E402
from api.adapters.db.unit_of_work import UnitOfWork  # noqa: E402
from api.bootstrap import bootstrap_database  # noqa: E402
from api.service import versions  # noqa: E402
from api.service.decisions import decide_batch  # noqa: E402
from api.service.keys import Caller  # noqa: E402
from api.service.policy_cases import run_cases_beside  # noqa: E402
from api.service.registry import PolicyRegistry  # noqa: E402
from api.settings import Settings  # noqa: E402
from bench.http import database  # noqa: E402

SHIPPED = ROOT / "rules" / "standard.yaml"
ANALYST = Caller("bench-analyst", "simulate")
ERP = Caller("bench-erp", "decide")


def orders(count: int) -> list[dict[str, Any]]:
    """``count`` orders of new customers; every third is over its limit (held: a case opens)."""
    run = secrets.token_hex(4)
    amounts = ("150000.00", "20000.00", "20000.00")
    return [
        {
            "customer": {"id": f"B-{run}-{index}", "segment": "ordinary", "grade": "A", "limit": "100000.00"},
            "order": {
                "id": f"SO-{run}-{index}",
                "amount": amounts[index % 3],
                "currency": "CNY",
            },
            "exposure": {"open_receivables": "10000.00", "overdue_amount": "0.00"},
            "as_of": "2026-06-30",
        }
        for index in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL (a throwaway schema is used); SQLite otherwise")
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with database(args.postgres) as url:
        bootstrap_database(Settings(database_url=url, policy_file=SHIPPED), out=io.StringIO())
        engine, registry = create_db_engine(url), PolicyRegistry()
        # A draft that holds ordinary customers after 20 days overdue instead of 30 (published without the
        # shipped test cases beside it, which expect 30).
        draft_text = (
            SHIPPED.read_text(encoding="utf-8")
            .replace('version: "2026.1"', 'version: "bench-draft"', 1)
            .replace("exposure.oldest_overdue_days > 30 and", "exposure.oldest_overdue_days > 20 and", 1)
        )
        with UnitOfWork(engine) as uow:
            versions.publish(uow, draft_text, "bench-draft.yaml", "bench", run_cases_beside)
        ways: dict[str, tuple[Caller, dict[str, Any]]] = {
            "real batch (logged, committed)": (ERP, {}),
            "dry run, version in force": (ERP, {"dry_run": True}),
            "dry run, a draft (twin)": (ANALYST, {"dry_run": True, "version": "bench-draft"}),
        }
        print(f"{args.orders} orders per batch, {args.rounds} rounds, {'PostgreSQL' if args.postgres else 'SQLite'}")
        timings: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(args.rounds + 1):  # the first round warms the compiled policies up
            for name, (caller, options) in ways.items():  # in turn: each way sees a store of the same size
                bodies = orders(args.orders)
                started = time.perf_counter()
                with UnitOfWork(engine) as uow:
                    batch = decide_batch(uow, registry, caller, "order", bodies, **options)
                timings[name].append(time.perf_counter() - started)
                assert batch.decided == args.orders, batch.items[0]
        for name, taken in timings.items():
            median = statistics.median(taken[1:])
            print(f"  {name:32} {median * 1000:8.0f} ms per batch  {median / args.orders * 1e6:6.0f} µs per order")
        engine.dispose()


if __name__ == "__main__":
    main()

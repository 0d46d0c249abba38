"""Order decisions while a simulation job runs: p50/p99 latency with and without a 100k-customer job.

Run by hand (prints figures, asserts nothing)::

    .venv/bin/python bench/jobs.py                         # SQLite (a temporary file)
    .venv/bin/python bench/jobs.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

One service process (uvicorn, the real app, one job worker) serves ``POST /v1/decisions/order``
to 32 keep-alive connections (bench/http.py's raw client). It runs on one core and the load
generator on the other (``os.sched_setaffinity``; ``--no-pin`` turns it off), and the job's child
process inherits the server's core: the worst case on a 2-core machine, where the job competes
with the decisions for the very core they run on (at ``CREDITPOLICY_JOB_NICE``; ``--job-nice 0``
shows what the lower priority buys).

Three phases, each a fixed number of decisions: before any job; while a simulation of a generated
100,000-customer portfolio (1,000,000 invoices; ``--customers``) runs — the phase starts when the
job is claimed and its figures count only if the job was still running when the phase ended;
and after it. It prints req/s, p50 and p99 of each phase, and the job's own duration.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This file's directory holds bench/http.py, which would shadow the standard library's http package.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(ROOT)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import datetime as dt  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402

from bench.http import database, decide_key, drive_raw, free_port, percentile, pinning, server, uvicorn_args  # noqa: E402


def prepare(url: str) -> tuple[str, str]:
    """The service's database, the shipped policy in force; the decide key and a simulate key; a candidate draft."""
    from api.adapters.db.engine import create_db_engine
    from api.adapters.db.unit_of_work import UnitOfWork
    from api.service import keys, versions
    from api.service.policy_cases import cases_runner

    decide = decide_key(url)
    text = (ROOT / "rules" / "standard.yaml").read_text(encoding="utf-8")
    candidate = text.replace("min_grade: CCC", "min_grade: BB", 1).replace('version: "2026.1"', 'version: "2026.2"', 1)
    engine = create_db_engine(url)
    try:
        with UnitOfWork(engine) as uow:
            simulate = keys.create_key(uow, "bench-analyst", "simulate")[1]
            versions.publish(uow, candidate, "candidate.yaml", "bench-author", cases_runner(None, "none"))
    finally:
        engine.dispose()
    return decide, simulate


def phase(port: int, key: str, count: int, connections: int, tag: str) -> dict[str, Any]:
    elapsed, latencies, failures = asyncio.run(drive_raw(port, key, count, connections, tag))
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": percentile(latencies, 0.50) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
        "failures": failures,
    }


def job_status(client: httpx.Client, job_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
    return answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", help="benchmark on this PostgreSQL database (a temporary schema)")
    parser.add_argument("--requests", type=int, default=3000, help="decisions per phase (default 3000)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--customers", type=int, default=100_000, help="customers of the generated portfolio")
    parser.add_argument("--job-nice", type=int, default=10, help="CREDITPOLICY_JOB_NICE of the service (default 10)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the server and the load generator")
    args = parser.parse_args()
    server_cores, client_cores = pinning(args.no_pin)
    with database(args.postgres) as url:
        decide, simulate = prepare(url)
        port = free_port()
        env = {
            **os.environ,
            "CREDITPOLICY_DATABASE_URL": url,
            "PYTHONPATH": str(ROOT),
            "CREDITPOLICY_JOB_WORKERS": "1",
            "CREDITPOLICY_JOB_POLL_SECONDS": "0.2",
            "CREDITPOLICY_JOB_NICE": str(args.job_nice),
        }
        with server(
            uvicorn_args("api.entrypoints.http.app:create_app", port, 1, factory=True), env, port, server_cores
        ):
            if client_cores is not None:
                os.sched_setaffinity(0, client_cores)
            headers = {"Authorization": f"Bearer {simulate}"}
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as client:
                phase(port, decide, 500, args.connections, "warm")
                before = phase(port, decide, args.requests, args.connections, "before")
                body = {
                    "baseline": "2026.1",
                    "candidate": "2026.2",
                    "portfolio": {
                        "generate": {"customers": args.customers, "invoices": args.customers * 10, "seed": 1}
                    },
                }
                submitted = client.post("/v1/simulations", json=body)
                submitted.raise_for_status()
                job_id = submitted.json()["id"]
                while job_status(client, job_id)["status"] == "queued":
                    time.sleep(0.05)
                during = phase(port, decide, args.requests, args.connections, "during")
                still = job_status(client, job_id)
                while (status := job_status(client, job_id))["status"] in ("queued", "running"):
                    time.sleep(0.5)
                after = phase(port, decide, args.requests, args.connections, "after")
        started = dt_of(status["started_at"])
        finished = dt_of(status["finished_at"])
        sizes = {a["name"]: a["size"] for a in status["artifacts"]}
        print(
            f"database: {'PostgreSQL' if args.postgres else 'SQLite'}; server core(s) {server_cores}, "
            f"load generator {client_cores}; job nice {args.job_nice}; {args.connections} connections"
        )
        print(
            f"job: {status['status']}, {args.customers:,} customers / {args.customers * 10:,} invoices, "
            f"{(finished - started).total_seconds():.1f} s from claim to results stored; artifacts "
            + ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in sorted(sizes.items()))
        )
        ran_throughout = still["status"] == "running"
        print(f"{'phase':<8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-200':>8}")
        for name, figures in (("before", before), ("during", during), ("after", after)):
            flag = "" if name != "during" or ran_throughout else "  (the job ended before this phase did)"
            print(
                f"{name:<8} {figures['rps']:>8.0f} {figures['p50']:>8.1f} {figures['p99']:>8.1f} "
                f"{figures['failures']:>8}{flag}"
            )


def dt_of(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()

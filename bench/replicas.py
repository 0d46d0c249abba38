"""How fast a policy change made through one replica reaches another: two `creditpolicy serve` on one database.

Run by hand::

    .venv/bin/python bench/replicas.py                    # SQLite (a temporary file): the polled counter
    .venv/bin/python bench/replicas.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

Starts replicas A and B (each `creditpolicy serve`, on its own port, one database: a throwaway
schema on PostgreSQL), publishes a second version of the shipped policy (in force today once
active) and approves it, then ``--changes`` times (20 by default) activates it through A and
retires it through A. After each answer from A it sends B order decisions dated today — each
names the version that decided it, found in B's cached timeline — until B decides with the new
state. It prints the median and the largest of those delays, counted from the request to A
(an upper bound: A commits before it answers) and from A's answer (a lower bound: on SQLite A may
wait for the write lock to read its answer after the commit); they include the probe, one
decision's round trip, printed too. It also prints when a change listener in the benchmark's own
process (what every replica runs) heard each change. Changes are spaced by random pauses, so
they do not fall in step with SQLite's 0.25 s poll. It asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(ROOT)

import httpx  # noqa: E402

from bench.http import database, free_port  # noqa: E402

SHIPPED = ROOT / "rules" / "standard.yaml"
CREDITPOLICY = [sys.executable, "-c", "from api.entrypoints.cli import app; app(prog_name='creditpolicy')"]
REASON = {"reason": "propagation benchmark"}
ORDER = {
    "customer": {"id": "C-1001", "segment": "ordinary", "grade": "A", "limit": "1500000.00"},
    "order": {"id": "SO-1", "amount": "120000.00", "currency": "CNY"},
    "exposure": {"open_receivables": "600000.00", "open_orders": "100000.00", "overdue_amount": "0.00"},
}


@contextlib.contextmanager
def replica(env: dict[str, str]) -> Iterator[str]:
    """A `creditpolicy serve` process; its base URL once /readyz answers."""
    port = free_port()
    command = [*CREDITPOLICY, "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    log = tempfile.TemporaryFile()  # what it prints, read only if it fails (a pipe could fill and block it)
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise SystemExit(f"replica failed: {log.read().decode()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(url + "/readyz").status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit("replica not ready within 120 s")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def keys(database_url: str) -> dict[str, str]:
    from api.adapters.db import UnitOfWork, create_db_engine
    from api.service.keys import create_key

    engine = create_db_engine(database_url)
    try:
        with UnitOfWork(engine) as uow:
            roles = ("author", "approve", "decide")
            return {role: create_key(uow, f"bench-{role}-{n}", role)[1] for n, role in enumerate(roles)}
    finally:
        engine.dispose()


class Heard:
    """The handlers of a change listener: when the last change was heard."""

    def __init__(self) -> None:
        self._heard = threading.Event()
        self._at = 0.0

    def clear(self) -> None:
        self._heard.clear()

    def heard_at(self) -> float:
        if not self._heard.wait(30):
            raise SystemExit("the change was not heard within 30 s")
        return self._at

    def changed(self, topic: str) -> None:
        self._at = time.perf_counter()
        self._heard.set()

    def resynchronised(self) -> None:
        pass

    def lost(self) -> None:
        pass


@contextlib.contextmanager
def listening(database_url: str) -> Iterator[Heard]:
    """A change listener of this process, as each replica runs one."""
    from api.adapters.change_listener import start_change_listener
    from api.adapters.db import create_db_engine

    engine = create_db_engine(database_url)
    heard = Heard()
    listener = start_change_listener(engine, heard)
    try:
        while not listener.live:
            time.sleep(0.01)
        yield heard
    finally:
        listener.stop()
        engine.dispose()


def in_force(client: httpx.Client, decider: dict[str, str]) -> str:
    """The version B decides today's orders with (a logged order decision: ~1-2 ms on an idle machine)."""
    answer = client.post("/v1/decisions/order", headers=decider, json={**ORDER, "as_of": dt.date.today().isoformat()})
    return str(answer.json()["policy"]["version"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", help="replicas on this PostgreSQL database (a temporary schema)")
    parser.add_argument("--changes", type=int, default=20, help="activations (each followed by a retirement)")
    args = parser.parse_args()
    later = (
        SHIPPED.read_text(encoding="utf-8")
        .replace('version: "2026.1"', 'version: "2026.2"', 1)
        .replace("effective_from: 2026-01-01", "effective_from: 2026-06-01", 1)
    )
    with database(args.postgres) as url:
        env = {**os.environ, "CREDITPOLICY_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
        env["CREDITPOLICY_POLICY_FILE"], env["CREDITPOLICY_WEBHOOK_RETRY_SECONDS"] = str(SHIPPED), "0"
        with replica(env) as a_url, replica(env) as b_url:
            key = keys(url)
            author, approver, decider = ({"Authorization": f"Bearer {key[r]}"} for r in ("author", "approve", "decide"))
            with httpx.Client(base_url=a_url, timeout=30) as a, httpx.Client(base_url=b_url, timeout=30) as b:
                a.post("/v1/policies", headers=author, json={"yaml": later, "file": "2026.2.yaml"}).raise_for_status()
                a.post("/v1/policies/versions/2026.2/approve", headers=approver, json=REASON).raise_for_status()
                feed = b.get("/readyz").json()["change_feed"]
                # Seen by B, after the request to A was sent and after A's answer: the commit is in
                # between (A answers once committed, but may still read a little before answering).
                delays: dict[str, list[tuple[float, float]]] = {"activate": [], "retire": []}
                round_trips: list[float] = []
                probe = []  # what one look at B costs: the resolution of the delays below
                for _ in range(20):
                    began = time.perf_counter()
                    in_force(b, decider)
                    probe.append(time.perf_counter() - began)
                heard: list[float] = []  # the same changes as a listener in this process hears them
                with listening(url) as listener:
                    for _ in range(args.changes):
                        for step, expected in (("activate", "2026.2"), ("retire", "2026.1")):
                            # A random pause, so changes do not fall in step with the SQLite poll (0.25 s).
                            time.sleep(random.uniform(0, 0.3))
                            listener.clear()
                            path = f"/v1/policies/versions/2026.2/{step}"
                            sent = time.perf_counter()
                            a.post(path, headers=approver, json=REASON).raise_for_status()
                            answered = time.perf_counter()
                            while in_force(b, decider) != expected:
                                pass
                            seen = time.perf_counter()
                            delays[step].append((seen - sent, seen - answered))
                            heard.append(listener.heard_at() - answered)
                            round_trips.append(answered - sent)
                feed_after = b.get("/readyz").json()["change_feed"]
    print(f"database: {'PostgreSQL' if args.postgres else 'SQLite'}; B hears changes by {feed['via']}")
    print(f"one order decision on B (the probe): median {1000 * statistics.median(probe):.1f} ms")
    ms = sorted(1000 * d for d in heard)
    print(
        f"a change through A, heard by a listener: median {statistics.median(ms):+6.1f} ms   max {ms[-1]:+6.1f} ms "
        "after A's answer reached the client (negative: before it did)"
    )
    print(f"B's change feed before: {feed}; after: {feed_after}")
    print(f"a lifecycle request to A, answered: median {1000 * statistics.median(round_trips):.1f} ms")
    for step, found in delays.items():
        since_sent = sorted(1000 * d for d, _ in found)
        since_answer = sorted(1000 * d for _, d in found)
        print(
            f"{step:>9} through A, seen by B: median {statistics.median(since_sent):6.1f} ms, max "
            f"{since_sent[-1]:6.1f} ms after the request to A was sent; median "
            f"{statistics.median(since_answer):6.1f} ms, max {since_answer[-1]:6.1f} ms after A answered "
            f"(n={len(found)})"
        )


if __name__ == "__main__":
    main()

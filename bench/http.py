"""HTTP throughput of ``POST /v1/decisions/order`` (decided, logged, committed) against two baselines.

Run by hand::

    .venv/bin/python bench/http.py                       # SQLite (a temporary file)
    .venv/bin/python bench/http.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

Three servers run side by side on 127.0.0.1, each in its own uvicorn process:

* **service** — the real app (``create_app``): authenticates the key, resolves the policy version,
  decides on durable-rules, writes the decision log row (through the group committer) and answers
  once its transaction committed;
* **bare** — a FastAPI app whose ``async`` endpoint (like the service's decision routes: no hop to
  a thread) parses the same body into the same pydantic model (``OrderRequest``) and returns a
  constant: the floor of FastAPI + uvicorn + JSON;
* **peer** — what a team would write by hand for the same job: FastAPI, the same pydantic model,
  the order check in plain Python (limit, exposure, overdue days), and one row inserted and
  committed per request with SQLAlchemy (a synchronous endpoint, as the FastAPI tutorial has it).

All three are driven in the same run, in alternating rounds, by 32 concurrent keep-alive
connections, a bounded number of requests each (every one with its own ``request_id``); the
script prints req/s, the ratios service/bare (goal ≥ 0.6) and service/peer (goal ≥ 1.5), p50 and
p99 latency. **The servers run on one core and the load generator on the other**
(``os.sched_setaffinity``; ``--no-pin`` turns it off), so the client's CPU never competes with
the server measured. On PostgreSQL it works in a throwaway schema it drops afterwards. It asserts
nothing; it refuses to run longer than ``--timeout``.

``--shadow`` measures what a challenger in shadow costs: a second **service** on a second store
(same backend) whose policy has a challenger named at a 100 % share (the shipped policy with the
overdue hold at 20 days instead of 30, evaluated beside every order), driven in the same
alternating rounds as the plain service; it prints both rates and the cost (goal ≤ 15 %). The
peer is left out then, to spend the run on the two figures compared.

The load comes from a minimal asyncio HTTP/1.1 client by default. ``--client httpx`` drives the
same load through ``httpx.AsyncClient``, which on a small machine spends more CPU per request
than the bare server does: it then measures itself, and the ratio comes out near 1 whatever the
service costs. Compare the bare figures of both clients before trusting a ratio.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's directory comes first on sys.path and this file (http.py) would
# shadow the standard library's http package: put the project root there instead.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(ROOT)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from typing import Annotated, Any  # noqa: E402

from fastapi import Body, FastAPI  # noqa: E402
from fastapi.responses import Response  # noqa: E402

from engine.decide import parse_request  # noqa: E402

ORDER: dict[str, Any] = {
    "customer": {"id": "C-1001", "segment": "ordinary", "grade": "A", "limit": "1500000.00"},
    "order": {"id": "SO-1", "amount": "120000.00", "currency": "CNY"},
    "exposure": {"open_receivables": "600000.00", "open_orders": "100000.00", "overdue_amount": "0.00"},
    "as_of": "2026-06-30",
}
PATH = "/v1/decisions/order"
SERVICE_APP = "api.entrypoints.http.app:create_app"


# --- the bare baseline ------------------------------------------------------------------------------
def bare_app() -> Any:
    """FastAPI parsing the same body into the same model as the service, answering a constant."""
    app = FastAPI()

    @app.post(PATH)
    async def order(body: Annotated[dict[str, Any], Body()]) -> Response:  # async, like the service's route
        parse_request("order", {k: v for k, v in body.items() if k not in ("request_id", "policy_version")})
        return Response(b'{"outcome":"approve"}', media_type="application/json")

    return app


# --- the hand-written peer --------------------------------------------------------------------------
def peer_app() -> Any:
    """The same job written by hand: parse, check the order in plain Python, insert and commit one row."""
    import datetime as dt
    import uuid

    from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, create_engine, insert

    from engine.models import OrderRequest

    url = os.environ["CREDITPOLICY_DATABASE_URL"]
    engine = create_engine(url, connect_args={"check_same_thread": False} if url.startswith("sqlite") else {})
    metadata = MetaData()
    log = Table(
        "peer_decisions",
        metadata,
        Column("decision_id", String(36), primary_key=True),
        Column("request_id", String(200), unique=True),
        Column("outcome", String(16), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("input_json", Text, nullable=False),
        Column("output_json", Text, nullable=False),
    )
    metadata.create_all(engine)
    app = FastAPI()

    @app.post(PATH)
    def order(body: Annotated[dict[str, Any], Body()]) -> Response:  # sync: FastAPI runs it in its thread pool
        request = OrderRequest.model_validate(
            {k: v for k, v in body.items() if k not in ("request_id", "policy_version")}
        )
        c, o, e = request.customer, request.order, request.exposure
        limit = c.limit if c.limit is not None else 0
        available_after = limit - e.open_receivables - e.open_orders - o.amount
        if c.blacklisted:
            outcome, reason = "reject", "BLACKLISTED"
        elif available_after < 0:
            outcome, reason = "hold", "OVER_LIMIT"
        elif e.oldest_overdue_days > 30:
            outcome, reason = "hold", "OVERDUE"
        else:
            outcome, reason = "approve", "WITHIN_POLICY"
        answer = json.dumps(
            {"order_id": o.id, "outcome": outcome, "reason": reason, "available_after": str(available_after)}
        )
        with engine.begin() as connection:
            connection.execute(
                insert(log).values(
                    decision_id=str(uuid.uuid4()),
                    request_id=body.get("request_id"),
                    outcome=outcome,
                    created_at=dt.datetime.now(dt.UTC),
                    input_json=json.dumps(body),
                    output_json=answer,
                )
            )
        return Response(answer, media_type="application/json")

    return app


# --- servers ----------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server(
    args: list[str], env: dict[str, str], port: int, cores: set[int] | None
) -> Iterator[subprocess.Popen[bytes]]:
    """A server process, pinned to ``cores`` when given (its threads and children inherit it)."""
    pin = None if cores is None else (lambda: os.sched_setaffinity(0, cores))
    process = subprocess.Popen(
        args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=pin
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            if process.poll() is not None:
                raise SystemExit(f"server failed: {process.stderr.read().decode() if process.stderr else ''}")
            time.sleep(0.1)
        else:
            raise SystemExit("server did not start within 60 s")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def uvicorn_args(target: str, port: int, workers: int, factory: bool) -> list[str]:
    args = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port)]
    return [*args, "--workers", str(workers), "--log-level", "warning", "--no-access-log"] + (
        ["--factory"] if factory else []
    )


@contextlib.contextmanager
def database(postgres: str | None) -> Iterator[str]:
    """A SQLite file in a temporary directory, or a throwaway schema of the PostgreSQL database."""
    if postgres is None:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    schema = f"bench_{secrets.token_hex(4)}"
    admin = create_engine(postgres)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        url = make_url(postgres).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


def name_full_share_challenger(database_url: str) -> None:
    """Publish a challenger of the shipped policy (holds after 20 days overdue) and name it at 100 %."""
    from api.adapters.db import UnitOfWork, create_db_engine
    from api.service import shadow, versions
    from api.service.policy_cases import cases_runner

    shipped = (ROOT / "rules" / "standard.yaml").read_text(encoding="utf-8")
    text = shipped.replace('version: "2026.1"', 'version: "2026.2-bench"', 1).replace(
        "exposure.oldest_overdue_days > 30 and", "exposure.oldest_overdue_days > 20 and", 1
    )
    engine = create_db_engine(database_url)
    try:
        with UnitOfWork(engine) as uow:
            record, _ = versions.publish(uow, text, "rules/standard.yaml", "bench-author", cases_runner(None, ""))
            shadow.name_challenger(uow, "standard", record.sha256, "100", "bench-approver", "bench: shadow cost")
    finally:
        engine.dispose()


def decide_key(database_url: str) -> str:
    """Migrate, activate the shipped policy and create the local keys; the decide key."""
    from api.bootstrap import bootstrap_database
    from api.settings import Settings

    created = bootstrap_database(Settings(database_url=database_url), out=io.StringIO())
    return next(plaintext for _, role, plaintext in created if role == "decide")


# --- the load ---------------------------------------------------------------------------------------
Result = tuple[float, list[float], int]  # elapsed seconds, latencies, answers other than 200


async def drive_httpx(port: int, key: str, count: int, connections: int, tag: str) -> Result:
    """``count`` requests over ``connections`` keep-alive connections of one httpx.AsyncClient."""
    import httpx

    latencies: list[float] = []
    failures = 0
    next_index = iter(range(count))
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal failures
            for index in next_index:
                body = {**ORDER, "request_id": f"{tag}-{index}"}
                started = time.perf_counter()
                response = await client.post(PATH, json=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                failures += response.status_code != 200

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        return time.perf_counter() - started, latencies, failures


async def drive_raw(port: int, key: str, count: int, connections: int, tag: str) -> Result:
    """The same load from a minimal HTTP/1.1 keep-alive client: on a small machine httpx itself
    costs a millisecond of CPU per request, which the servers then lack, flattening the ratio."""
    latencies: list[float] = []
    failures = 0
    next_index = iter(range(count))
    head = f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
    head += "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n"

    async def worker() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for index in next_index:
                body = json.dumps({**ORDER, "request_id": f"{tag}-{index}"}).encode()
                started = time.perf_counter()
                writer.write(head.format(len(body)).encode() + body)
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                failures += status_line.split()[1] != b"200"
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return time.perf_counter() - started, latencies, failures


def cpu_seconds(pid: int) -> float:
    """The CPU time a process used so far (user + system, all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", help="benchmark on this PostgreSQL database (a temporary schema)")
    parser.add_argument("--requests", type=int, default=3000, help="measured requests per target (default 3000)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per target")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes per server")
    parser.add_argument("--timeout", type=float, default=600, help="give up after this many seconds")
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw", help="the load generator (see above)")
    parser.add_argument("--app", default=SERVICE_APP, help=f"the service's app factory (default {SERVICE_APP})")
    parser.add_argument("--no-pin", action="store_true", help="do not pin servers and load generator to cores")
    parser.add_argument(
        "--shadow", action="store_true", help="compare the service with a challenger in shadow at 100 %% (see above)"
    )
    args = parser.parse_args()
    started = time.monotonic()
    drive = drive_httpx if args.client == "httpx" else drive_raw
    server_cores, client_cores = pinning(args.no_pin)
    with database(args.postgres) as url, database(args.postgres) as shadow_url:
        key = decide_key(url)
        env = {**os.environ, "CREDITPOLICY_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
        envs = {"service": env, "bare": env, "peer": env}
        names = ("bare", "peer", "service")
        targets = {"service": args.app, "bare": "bench.http:bare_app", "peer": "bench.http:peer_app"}
        shadow_key = key
        if args.shadow:
            # The same service on a store of its own whose policy has a challenger at 100 %; its decide
            # key is the plain store's, created there too.
            shadow_key = decide_key(shadow_url)
            name_full_share_challenger(shadow_url)
            envs = {"service": env, "bare": env, "shadow": {**env, "CREDITPOLICY_DATABASE_URL": shadow_url}}
            names, targets["shadow"] = ("bare", "service", "shadow"), args.app
        keys = {name: shadow_key if name == "shadow" else key for name in names}
        ports = {name: free_port() for name in names}
        pids: dict[str, int] = {}
        with contextlib.ExitStack() as servers:
            for name, port in ports.items():
                command = uvicorn_args(targets[name], port, args.workers, factory=True)
                pids[name] = servers.enter_context(server(command, envs[name], port, server_cores)).pid
            if client_cores is not None:
                os.sched_setaffinity(0, client_cores)
            results: dict[str, Result] = {name: (0.0, [], 0) for name in ports}
            round_rates: dict[str, list[float]] = {name: [] for name in ports}
            cpu: dict[str, float] = dict.fromkeys(ports, 0.0)  # CPU seconds each server spent on the measured rounds
            for name, port in ports.items():  # warm-up, not measured
                asyncio.run(drive(port, keys[name], 300, args.connections, f"warm-{name}"))
            per_round = max(1, args.requests // args.rounds)
            for round_ in range(args.rounds):
                for name in names:
                    port = ports[name]
                    if time.monotonic() - started > args.timeout:
                        raise SystemExit(f"stopped: over {args.timeout} s")
                    used = cpu_seconds(pids[name]) if args.workers == 1 else 0.0
                    elapsed, latencies, failures = asyncio.run(
                        drive(port, keys[name], per_round, args.connections, f"{name}-{round_}")
                    )
                    cpu[name] += (cpu_seconds(pids[name]) if args.workers == 1 else 0.0) - used
                    total, seen, failed = results[name]
                    results[name] = (total + elapsed, seen + latencies, failed + failures)
                    round_rates[name].append(len(latencies) / elapsed)
    backend = "PostgreSQL" if args.postgres else "SQLite"
    where = (
        "unpinned"
        if server_cores is None
        else f"servers on core(s) {sorted(server_cores)}, client on {sorted(client_cores or ())}"
    )
    print(
        f"POST {PATH}, {args.connections} connections ({args.client} client), "
        f"{args.workers} worker(s) per server, {backend}, {where}"
    )
    rates = {}
    for name, (elapsed, latencies, failures) in results.items():
        rates[name] = len(latencies) / elapsed
        print(
            f"  {name:8} {rates[name]:8.0f} req/s   p50 {statistics.median(latencies) * 1000:6.1f} ms   "
            f"p99 {percentile(latencies, 0.99) * 1000:6.1f} ms   ({len(latencies)} requests, {failures} not 200)"
        )
    print(f"  ratio service/bare: {rates['service'] / rates['bare']:.2f} (goal >= 0.6)")
    if "peer" in rates:
        print(f"  ratio service/peer: {rates['service'] / rates['peer']:.2f} (goal >= 1.5)")
    if "shadow" in rates:
        cost = 1 - rates["shadow"] / rates["service"]
        print(f"  shadow cost at a 100 % share: {cost * 100:.1f} % of the service's throughput (goal <= 15 %)")
        # Each round drives the service and then the shadow service back to back: on a shared machine
        # the median of these paired costs moves less than the totals when the load around changes.
        paired = [1 - s / p for p, s in zip(round_rates["service"], round_rates["shadow"], strict=True)]
        shown = " ".join(f"{c * 100:.0f}" for c in paired)
        print(f"  median paired cost: {statistics.median(paired) * 100:.1f} % over {len(paired)} rounds ({shown})")
        if args.workers == 1:
            # The server's own CPU time per request: what a saturated core pays, whatever else runs on
            # the machine (wall-clock rates move with the neighbours' load; CPU seconds much less).
            per = {name: cpu[name] / len(results[name][1]) for name in ("service", "shadow")}
            print(
                f"  server CPU per request: service {per['service'] * 1e6:.0f} us, shadow {per['shadow'] * 1e6:.0f} us"
                f" -> throughput cost {(1 - per['service'] / per['shadow']) * 100:.1f} % (goal <= 15 %)"
            )


def pinning(off: bool) -> tuple[set[int] | None, set[int] | None]:
    """The cores for the servers and for the load generator: the last core against the others."""
    cores = sorted(os.sched_getaffinity(0))
    if off or len(cores) < 2:
        return None, None
    return {cores[-1]}, set(cores[:-1])


if __name__ == "__main__":
    main()

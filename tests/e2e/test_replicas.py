"""Several replicas over one database: `creditpolicy serve` processes on one PostgreSQL schema (and,
the same checks, on one SQLite file), as operators deploy them behind a load balancer.

* a version activated or retired through one replica, or with the CLI, decides on every replica
  within a second, and a key revoked with the CLI is refused by every replica within a second
  (the change listener: LISTEN/NOTIFY, a polled counter on SQLite — not the caches expiring: while
  the listener is live they are trusted 60 s);
* what must happen once happens once across replicas: a request_id sent to two at once is logged
  once with one answer, two holds of one order open one case, two approvals record one event;
* a replica killed (SIGKILL) under load loses nothing it answered, leaves no half-written rows,
  and the survivors keep serving; a client retrying on a survivor gets exactly one decision.

Marked ``replicas``: deselected from the default run (it starts service processes); ``.ci/run``
runs it after ``make test`` with ``pytest -m slow``, and it fails, never skips, without
PostgreSQL.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import Engine, text

from api.adapters.db.engine import create_db_engine
from api.adapters.db.unit_of_work import UnitOfWork
from api.service.keys import create_key
from tests.e2e.conftest import unique
from tests.e2e.inputs import body, second_version_yaml
from tests.integration.conftest import POSTGRES_ENV, REQUIRE_ENV, throwaway_database

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "rules" / "standard.yaml"
# `creditpolicy` itself, run from this checkout (the console script is the same Typer app).
CREDITPOLICY = [sys.executable, "-c", "from api.entrypoints.cli import app; app(prog_name='creditpolicy')"]
PROPAGATION = 1.0  # seconds: the bound the README promises for a change to reach every replica
START = 120.0  # seconds a replica may take to start on a loaded machine (migrations, the shipped policy)
REASON = {"reason": "replicas test"}
T = TypeVar("T")


@dataclass
class Replica:
    """One `creditpolicy serve` process."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, key: str | None = None, json_body: Any = None) -> httpx.Response:
        headers = {} if key is None else {"Authorization": f"Bearer {key}"}
        return httpx.request(method, self.url + path, headers=headers, json=json_body, timeout=30)

    def in_force_today(self) -> str:
        ready = self.request("GET", "/readyz")
        assert ready.status_code == 200, ready.text
        return str(ready.json()["policy"]["version"])


@dataclass
class Deployment:
    """Replicas on one database, a key per role, and the database as the test sees it."""

    backend: str
    database_url: str
    engine: Engine
    directory: Path
    replicas: dict[str, Replica] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "CREDITPOLICY_DATABASE_URL": self.database_url,
            "CREDITPOLICY_POLICY_FILE": str(SHIPPED),
            "CREDITPOLICY_WEBHOOK_RETRY_SECONDS": "0",
        }

    def start(self, *names: str) -> list[Replica]:
        """Start replicas at once (they migrate and bootstrap together) and wait until each is ready."""
        started = []
        for name in names:
            port, log = free_port(), self.directory / f"replica-{name}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [*CREDITPOLICY, "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                    env=self.env(),
                    cwd=ROOT,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            self.replicas[name] = replica = Replica(name, port, process, log)
            started.append(replica)
        for replica in started:
            wait_until_ready(replica)
        return started

    def cli(self, *arguments: str) -> str:
        done = subprocess.run(
            [*CREDITPOLICY, *arguments], env=self.env(), cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as connection:
            return list(connection.execute(text(sql), params))

    def stop(self) -> None:
        for replica in self.replicas.values():
            if replica.process.poll() is None:
                replica.process.send_signal(signal.SIGTERM)
        for replica in self.replicas.values():
            try:
                replica.process.wait(15)
            except subprocess.TimeoutExpired:
                replica.process.kill()
                replica.process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_ready(replica: Replica) -> None:
    deadline = time.monotonic() + START
    while time.monotonic() < deadline:
        if replica.process.poll() is not None:
            pytest.fail(f"replica {replica.name} exited ({replica.process.returncode}):\n{replica.log.read_text()}")
        with contextlib.suppress(httpx.TransportError):
            if replica.request("GET", "/readyz").status_code == 200:
                return
        time.sleep(0.1)
    pytest.fail(f"replica {replica.name} was not ready within {START} s:\n{replica.log.read_text()}")


@contextlib.contextmanager
def database(backend: str, directory: Path) -> Iterator[str]:
    """The database the replicas share; without PostgreSQL the test fails: it must run in CI, never skip."""
    if backend == "postgres" and not os.environ.get(POSTGRES_ENV):
        pytest.fail(f"the replicas tests need PostgreSQL: set {POSTGRES_ENV}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(REQUIRE_ENV, "1")  # an unreachable server fails the test instead of skipping it
        with throwaway_database(backend, directory, prefix="replicas") as url:
            yield url


@pytest.fixture(scope="module", params=["postgres", "sqlite"])
def deployment(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """Replicas A, B and C, started together on an empty database (C is killed by the last test)."""
    directory = tmp_path_factory.mktemp(f"replicas-{request.param}")
    with database(request.param, directory) as url:
        engine = create_db_engine(url)
        deployment = Deployment(request.param, url, engine, directory)
        try:
            deployment.start("A", "B", "C")
            with UnitOfWork(engine) as uow:
                for name, role in (
                    ("decide", "decide"),
                    ("author", "author"),
                    ("approve", "approve"),
                    ("admin", "admin"),
                ):
                    deployment.keys[name] = create_key(uow, f"replicas-{name}", role)[1]
                deployment.keys["approve2"] = create_key(uow, "replicas-approve2", "approve")[1]
            yield deployment
        finally:
            deployment.stop()
            engine.dispose()


def seen_within(what: str, condition: Callable[[], bool], bound: float = PROPAGATION) -> float:
    """Poll ``condition`` until true, for ``bound`` seconds at most; how long it took."""
    began = time.monotonic()
    while not condition():
        assert time.monotonic() - began < bound, f"{what}: not seen within {bound} s"
        time.sleep(0.01)
    return time.monotonic() - began


def at_once(*calls: Callable[[], T]) -> list[T]:
    """Run the calls in threads released together."""
    start = threading.Barrier(len(calls))

    def released(call: Callable[[], T]) -> T:
        start.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return [future.result() for future in [pool.submit(released, call) for call in calls]]


def order(request_id: str | None, customer: str, order_id: str, amount: str = "120000.00") -> dict[str, Any]:
    """An order of the shipped policy: approved at 120,000, held over the limit at 900,000."""
    data = body("order", customer)
    data["order"] = {**data["order"], "id": order_id, "amount": amount}
    if request_id is not None:
        data["request_id"] = request_id
    return data


# --- propagation ---------------------------------------------------------------------------------
def test_every_replica_hears_changes(deployment: Deployment) -> None:
    # What makes the bounds below the listener's doing: caches are trusted 60 s while it is live.
    via = {"postgres": "LISTEN creditpolicy_changes", "sqlite": "polling change_counters"}[deployment.backend]
    for replica in deployment.replicas.values():
        feed = replica.request("GET", "/readyz").json()["change_feed"]
        assert feed["via"] == via and feed["live"] is True, feed


def test_activation_and_retirement_reach_every_replica_within_a_second(deployment: Deployment) -> None:
    a, b = deployment.replicas["A"], deployment.replicas["B"]
    keys = deployment.keys
    later = second_version_yaml(SHIPPED.read_text(encoding="utf-8"), label="2026.2", effective_from="2026-06-01")
    published = a.request("POST", "/v1/policies", keys["author"], {"yaml": later, "file": "standard-2026.2.yaml"})
    assert published.status_code == 201, published.text
    approved = a.request("POST", "/v1/policies/versions/2026.2/approve", keys["approve"], REASON)
    assert approved.status_code == 200, approved.text
    assert b.in_force_today() == "2026.1"  # B caches the timeline now

    activated = a.request("POST", "/v1/policies/versions/2026.2/activate", keys["approve2"], REASON)
    assert activated.status_code == 200, activated.text
    seen_within("activation through A, on B", lambda: b.in_force_today() == "2026.2")
    retired = a.request("POST", "/v1/policies/versions/2026.2/retire", keys["approve2"], REASON)
    assert retired.status_code == 200, retired.text
    seen_within("retirement through A, on B", lambda: b.in_force_today() == "2026.1")

    # The CLI is a process of its own: both replicas hear it, neither made the change.
    deployment.cli("activate", "2026.2", "--key", deployment.keys["approve2"], "--reason", "rollback by hand")
    seen_within("activation by the CLI, on A", lambda: a.in_force_today() == "2026.2")
    seen_within("activation by the CLI, on B", lambda: b.in_force_today() == "2026.2")
    deployment.cli("retire", "2026.2", "--key", deployment.keys["approve2"], "--reason", "back to 2026.1")
    seen_within("retirement by the CLI, on A", lambda: a.in_force_today() == "2026.1")
    seen_within("retirement by the CLI, on B", lambda: b.in_force_today() == "2026.1")


def test_a_key_revoked_with_the_cli_is_refused_by_every_replica_within_a_second(deployment: Deployment) -> None:
    name = unique("revoked")
    with UnitOfWork(deployment.engine) as uow:
        key = create_key(uow, name, "decide")[1]
    replicas = list(deployment.replicas.values())
    for replica in replicas:  # each caches the key now
        assert replica.request("GET", "/v1/cases?limit=1", key).status_code == 200
    deployment.cli("keys", "revoke", name, "--key", deployment.keys["admin"])
    for replica in replicas:
        refused = partial(lambda r: r.request("GET", "/v1/cases?limit=1", key).status_code == 401, replica)
        seen_within(f"revocation on {replica.name}", refused)


# --- exactly once across replicas ------------------------------------------------------------------
def test_one_request_id_sent_to_two_replicas_at_once_is_logged_once(deployment: Deployment) -> None:
    a, b, key = deployment.replicas["A"], deployment.replicas["B"], deployment.keys["decide"]
    for _ in range(8):
        request_id = unique("same")
        data = order(request_id, unique("C"), unique("SO"))
        first, second = at_once(
            partial(a.request, "POST", "/v1/decisions/order", key, data),
            partial(b.request, "POST", "/v1/decisions/order", key, data),
        )
        assert (first.status_code, second.status_code) == (200, 200), (first.text, second.text)
        assert first.content == second.content  # the same answer, byte for byte
        replays = sorted(str(r.headers.get("Idempotent-Replay")) for r in (first, second))
        assert replays == ["None", "true"]  # one decided, the other answered from the log
        logged = deployment.rows("SELECT output_json FROM decisions WHERE request_id = :id", id=request_id)
        assert [row.output_json.encode() for row in logged] == [first.content]


def test_holds_of_one_order_through_two_replicas_open_one_case(deployment: Deployment) -> None:
    a, b, key = deployment.replicas["A"], deployment.replicas["B"], deployment.keys["decide"]
    for _ in range(5):
        customer, order_id = unique("C"), unique("SO")
        first, second = at_once(
            partial(a.request, "POST", "/v1/decisions/order", key, order(unique("r"), customer, order_id, "900000.00")),
            partial(b.request, "POST", "/v1/decisions/order", key, order(unique("r"), customer, order_id, "900000.00")),
        )
        answers = [first.json(), second.json()]
        assert [answer["outcome"] for answer in answers] == ["hold", "hold"], answers
        cases = deployment.rows("SELECT case_id FROM credit_cases WHERE customer_id = :c", c=customer)
        assert len(cases) == 1
        assert {answer["case"]["case_id"] for answer in answers} == {cases[0].case_id}
        assert sorted(answer["case"]["effect"] for answer in answers) == ["held_by_open_case", "opened"]


def test_approvals_through_two_replicas_record_one_event(deployment: Deployment) -> None:
    a, b, keys = deployment.replicas["A"], deployment.replicas["B"], deployment.keys
    shipped = SHIPPED.read_text(encoding="utf-8")
    for n in range(4):
        label = f"2027.{n}"
        text_ = second_version_yaml(shipped, label=label, effective_from="2027-01-01")
        published = a.request("POST", "/v1/policies", keys["author"], {"yaml": text_, "file": f"{label}.yaml"})
        assert published.status_code == 201, published.text
        path = f"/v1/policies/versions/{label}/approve"
        first, second = at_once(
            partial(a.request, "POST", path, keys["approve"], REASON),
            partial(b.request, "POST", path, keys["approve2"], REASON),
        )
        assert sorted([first.status_code, second.status_code]) == [200, 409], (first.text, second.text)
        refused = first if first.status_code == 409 else second
        assert refused.json()["code"] == "invalid_transition"
        events = deployment.rows(
            "SELECT e.actor FROM lifecycle_events e JOIN policy_versions v ON v.id = e.version_id "
            "WHERE v.label = :label AND e.event = 'approved'",
            label=label,
        )
        assert len(events) == 1


# --- a replica killed under load --------------------------------------------------------------------
@dataclass(frozen=True)
class Sent:
    replica: str
    request_id: str
    body: dict[str, Any]
    status: int | None  # None: no answer (the replica died)
    content: bytes


def drive(replica: Replica, key: str, sent: list[Sent], stop: threading.Event) -> None:
    """Send orders (every other one held over the limit) until stopped or the replica stops answering."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    with httpx.Client(base_url=replica.url, headers=headers, timeout=30) as client:
        n = 0
        while not stop.is_set():
            n += 1
            data = order(unique("kill"), unique("C"), unique("SO"), "900000.00" if n % 2 else "120000.00")
            try:
                response = client.post("/v1/decisions/order", content=json.dumps(data))
            except httpx.TransportError:
                sent.append(Sent(replica.name, data["request_id"], data, None, b""))
                return
            sent.append(Sent(replica.name, data["request_id"], data, response.status_code, response.content))


def test_a_replica_killed_under_load_loses_nothing_it_answered(deployment: Deployment) -> None:
    victim = deployment.replicas["C"]
    survivor, key = deployment.replicas["B"], deployment.keys["decide"]
    sent: list[Sent] = []
    stop = threading.Event()
    drivers = [threading.Thread(target=drive, args=(r, key, sent, stop)) for r in (victim, survivor) for _ in range(3)]
    for thread in drivers:
        thread.start()
    try:
        wait_for(lambda: sum(s.replica == "C" and s.status == 200 for s in sent) >= 40, "C answering under load")
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait()
        answered_before = sum(s.replica == "B" for s in sent)
        wait_for(lambda: sum(s.replica == "B" for s in sent) >= answered_before + 40, "B answering after the kill")
    finally:
        stop.set()
        for thread in drivers:
            thread.join()

    on_survivor = [s for s in sent if s.replica == "B"]
    assert {s.status for s in on_survivor} == {200}  # the survivor kept serving throughout
    unanswered = [s for s in sent if s.status != 200]
    assert unanswered and all(s.replica == "C" and s.status is None for s in unanswered)

    # Every answer given is logged, as given.
    stored = {
        row.request_id: row
        for row in deployment.rows(
            "SELECT request_id, decision_id, output_json FROM decisions WHERE request_id LIKE 'kill-%'"
        )
    }
    for s in sent:
        if s.status == 200:
            assert stored[s.request_id].output_json.encode() == s.content
    # No half-written rows: a logged hold has its case, and every case its decision.
    for row in stored.values():
        case = json.loads(row.output_json)["case"]
        if case is not None and case["effect"] == "opened":
            found = deployment.rows("SELECT decision_id FROM credit_cases WHERE case_id = :id", id=case["case_id"])
            assert [r.decision_id for r in found] == [row.decision_id]
    orphans = deployment.rows(
        "SELECT c.case_id FROM credit_cases c LEFT JOIN decisions d ON d.decision_id = c.decision_id "
        "WHERE d.decision_id IS NULL"
    )
    assert orphans == []

    # A client retrying what was not answered, on the survivor, gets each decision exactly once.
    for s in unanswered:
        retried = survivor.request("POST", "/v1/decisions/order", key, s.body)
        assert retried.status_code == 200, retried.text
        if s.request_id in stored:  # committed before the kill, answer lost: replayed as stored
            assert retried.headers.get("Idempotent-Replay") == "true"
            assert retried.content == stored[s.request_id].output_json.encode()
        logged = deployment.rows("SELECT count(*) AS n FROM decisions WHERE request_id = :id", id=s.request_id)
        assert logged[0].n == 1


def wait_for(condition: Callable[[], bool], what: str, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {limit} s"
        time.sleep(0.02)

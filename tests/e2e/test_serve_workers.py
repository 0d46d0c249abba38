"""`creditpolicy serve --workers 2` for real: /metrics from either worker counts the decisions of both.

Slow (two server processes started): marked ``slow``, deselected from ``make test`` and run by
``.ci/run`` after it. SQLite only: what is tested is prometheus_client's multiprocess directory,
which the database does not touch.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from tests.e2e.conftest import ROOT, SHIPPED, running_service
from tests.e2e.inputs import body
from tests.e2e.test_health_http import samples

pytestmark = pytest.mark.slow

DECISIONS = "creditpolicy_decisions_total"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def served(database_url: str, tmp: Path, workers: int) -> Iterator[str]:
    """The CLI serving on a free port until the block ends (SIGINT, as Ctrl-C), its output in ``tmp``."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TMPDIR": str(tmp),  # where the CLI makes its metrics directory
        "CREDITPOLICY_DATABASE_URL": database_url,
        "CREDITPOLICY_POLICY_FILE": str(SHIPPED),
        "CREDITPOLICY_WEBHOOK_RETRY_SECONDS": "0",
        "CREDITPOLICY_METRICS_ACCESS": "open",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [sys.executable, "-c", "from api.entrypoints.cli import app; app()"]
    args = ["serve", "--workers", str(workers), "--port", str(port), "--log-level", "warning"]
    with (tmp / "serve.log").open("wb") as log:
        server = subprocess.Popen([*command, *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # up to a minute for the workers to start
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            assert server.poll() is None, (tmp / "serve.log").read_text()
            time.sleep(0.1)
        else:
            pytest.fail(f"the server did not become ready: {(tmp / 'serve.log').read_text()}")
        yield base
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)


def per_worker_decisions(directory: Path) -> list[float]:
    """Decisions counted by each worker, from its own files of the multiprocess directory."""
    counts = []
    for counter in sorted(directory.glob("counter_*.db")):
        alone = directory.parent / f"alone-{counter.stem}"
        alone.mkdir(exist_ok=True)
        shutil.copy(counter, alone / counter.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))  # type: ignore[no-untyped-call]  # untyped in prometheus_client
        counts.append(sum(s.value for family in registry.collect() for s in family.samples if s.name == DECISIONS))
        shutil.rmtree(alone)
    return counts


def test_metrics_of_several_workers_add_up(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'served.db'}"
    with running_service(url) as started:  # migrated, bootstrapped, with a decide key
        key = started.keys["decide"]
    headers = {"Authorization": f"Bearer {key}"}

    def decide(_: int) -> None:
        with httpx.Client() as client:  # a connection of its own: any worker may accept it
            response = client.post(f"{base}/v1/decisions/settlement", json=body("settlement"), headers=headers)
            assert response.status_code == 200, response.text

    with served(url, tmp_path, workers=2) as base:
        [directory] = tmp_path.glob("creditpolicy-metrics-*")
        sent = 0
        with ThreadPoolExecutor(8) as pool:
            # Until both workers decided some (the kernel hands connections to either).
            while sum(count > 0 for count in per_worker_decisions(directory)) < 2 and sent < 2000:
                list(pool.map(decide, range(40)))
                sent += 40
        assert sum(count > 0 for count in per_worker_decisions(directory)) == 2
        for _ in range(10):  # whichever worker answers the scrape
            with httpx.Client() as client:
                text = client.get(f"{base}/metrics").text
            assert sum(s.value for s in samples(text)[DECISIONS]) == sent
            stored = samples(text)["creditpolicy_group_commit_lone_steps_total"][0].value
            stored += samples(text)["creditpolicy_group_commit_grouped_steps_total"][0].value
            assert stored == sent
    assert not directory.exists()  # fresh per start: removed when the server stops

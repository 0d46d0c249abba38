"""Schemathesis drives every operation of the OpenAPI document against a running server: no 5xx.

A bounded run (``CREDITPOLICY_SCHEMATHESIS_EXAMPLES`` examples per operation, 25 by default),
valid and invalid data, each request with a key of a role that may call the operation — so the
body, the path and the query are really read. It starts a real server (uvicorn in a subprocess)
on SQLite and on PostgreSQL, so it runs from ``.ci/run`` (marker ``slow``), not from
``make test``.
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Err

from api.adapters.db.engine import create_db_engine
from api.adapters.db.unit_of_work import UnitOfWork
from api.bootstrap import bootstrap_database
from api.entrypoints.http.app import create_app
from api.service.keys import ROLES, create_key
from api.settings import Settings
from tests.integration.conftest import throwaway_database

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "rules" / "standard.yaml"
EXAMPLES = int(os.environ.get("CREDITPOLICY_SCHEMATHESIS_EXAMPLES", "25"))


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    keys: dict[str, str]  # role -> key


def role_for(method: str, path: str) -> str:
    """A role whose key may call the operation (so it is not refused before its input is read)."""
    if path.startswith("/v1/decisions/") and method == "POST" and not path.endswith("/replay"):
        return "decide"
    if path.endswith(("/approve", "/activate", "/retire", "/release", "/reject")):
        return "approve"
    if path == "/v1/policies" and method == "POST":
        return "author"
    if path == "/v1/simulations" or path.startswith("/v1/jobs"):
        return "simulate"
    if path.startswith(("/v1/webhooks", "/v1/keys")):
        return "admin"
    return "audit"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def live_server(database_url: str) -> Iterator[LiveServer]:
    """Migrate, put the shipped policy in force, create a key per role, and serve it on a free port."""
    settings_ = Settings(database_url=database_url, policy_file=SHIPPED, webhook_retry_seconds=0)
    bootstrap_database(settings_, out=io.StringIO())
    engine = create_db_engine(database_url)
    try:
        with UnitOfWork(engine) as uow:
            keys = {role: create_key(uow, f"schemathesis-{role}", role)[1] for role in ROLES}
            uow.commit()
    finally:
        engine.dispose()
    port = free_port()
    env = {
        **os.environ,
        "CREDITPOLICY_DATABASE_URL": database_url,
        "CREDITPOLICY_POLICY_FILE": str(SHIPPED),
        "CREDITPOLICY_WEBHOOK_RETRY_SECONDS": "0",
        "CREDITPOLICY_JOB_WORKERS": "0",  # simulations it submits are queued, never run (a fuzzed one may be huge)
    }
    command = [sys.executable, "-m", "uvicorn", "api.entrypoints.http.app:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the server did not start: {process.communicate()[1].decode()}")
            time.sleep(0.1)
        yield LiveServer(base_url, keys)
    finally:
        process.terminate()
        try:
            _, err = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate()
        stderr = err.decode()
        # A traceback in the server's log is a 5xx the client may not have seen (a dropped connection).
        assert "Traceback" not in stderr, stderr


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with throwaway_database(str(request.param), tmp_path_factory.mktemp("schemathesis"), prefix="st") as url:
        with live_server(url) as running:
            yield running


Operation = schemathesis.APIOperation[Any, Any, Any, Any]


def operations() -> list[Operation]:
    """The operations of the app's own OpenAPI document (built without a database)."""
    document = create_app(Settings(database_url="sqlite://")).openapi()
    found = []
    for result in schemathesis.openapi.from_dict(document).get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # our own document must be valid
        found.append(result.ok())
    return found


def takes_input(operation: Operation) -> bool:
    return bool(list(operation.iter_parameters())) or bool(len(operation.body))


# Valid data for every operation; invalid data for those that take any input (an operation
# without parameters or body has nothing to make invalid).
PROBES = [
    pytest.param(operation, mode, id=f"{operation.label}-{mode.value}")
    for operation in operations()
    for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
    if mode is schemathesis.GenerationMode.POSITIVE or takes_input(operation)
]


@pytest.mark.parametrize(("operation", "mode"), PROBES)
def test_no_input_yields_a_server_error(
    operation: Operation, mode: schemathesis.GenerationMode, server: LiveServer
) -> None:
    key = server.keys[role_for(operation.method.upper(), operation.path)]

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(case=operation.as_strategy(generation_mode=mode))
    def probe(case: schemathesis.Case[Any]) -> None:
        response = case.call(base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert response.status_code < 500, f"{response.status_code} {response.text[:500]}\n{case.as_curl_command()}"
        if response.status_code >= 400:
            content_type = response.headers.get("content-type") or [""]
            assert content_type[0].startswith("application/problem+json"), case.as_curl_command()

    probe()

"""The service over HTTP, on SQLite and on PostgreSQL (a throwaway schema; skipped, saying how, without it).

``service`` is one app per backend for the whole session — tests there use their own request ids
and customers, so they never see each other's rows. ``fresh_service`` is a new database per test,
for tests that change the policy versions everyone decides with.
"""

from __future__ import annotations

import contextlib
import io
import secrets
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from json import dumps
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from api.adapters.db.unit_of_work import UnitOfWork
from api.entrypoints.http.app import create_app
from api.service.keys import create_key
from api.settings import Settings
from tests.factories import FakeResolver
from tests.integration.conftest import throwaway_database

with warnings.catch_warnings():
    # Starlette asks for the httpx2 fork; the TestClient works the same on httpx (the project's dependency).
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "rules" / "standard.yaml"

# One key per role, plus a second approver (four eyes needs two people).
KEY_ROLES = {
    "decide": "decide",
    "author": "author",
    "approve": "approve",
    "approve2": "approve",
    "audit": "audit",
    "simulate": "simulate",
    "admin": "admin",
}


@dataclass
class Service:
    """A running app, its client, its database and a key per role."""

    client: TestClient
    app: Any
    database_url: str
    keys: dict[str, str] = field(default_factory=dict)
    banner: str = ""
    dns: dict[str, list[str]] = field(default_factory=dict)  # what the app's fake resolver answers

    def headers(self, who: str | None) -> dict[str, str]:
        return {} if who is None else {"Authorization": f"Bearer {self.keys[who]}"}

    def post(self, path: str, json: Any = None, who: str | None = "decide", **kw: Any) -> Any:
        headers = {**self.headers(who), **kw.pop("headers", {})}
        if json is not None:
            # Encoded here, ASCII-escaped: httpx writes raw UTF-8 and cannot send a lone surrogate,
            # which JSON can spell (\ud800) and the tests send on purpose.
            kw["content"] = dumps(json).encode("ascii")
            headers.setdefault("Content-Type", "application/json")
        return self.client.post(path, headers=headers, **kw)

    def get(self, path: str, who: str | None = "audit", **kw: Any) -> Any:
        return self.client.get(path, headers=self.headers(who), **kw)

    def count(self, table: str, where: str = "1=1", **params: Any) -> int:
        with self.app.state.db_engine.connect() as connection:
            return int(connection.execute(text(f"SELECT count(*) FROM {table} WHERE {where}"), params).scalar_one())


# Webhook receivers of the tests live on this machine (port 9, discard: nothing leaves it); an
# operator would allow them the same way. Anything else internal stays refused.
ALLOWED_WEBHOOK_NETWORKS = "127.0.0.1/32"


@contextlib.contextmanager
def running_service(
    database_url: str, *, settings_options: dict[str, Any] | None = None, **app_options: Any
) -> Iterator[Service]:
    """Start the app (migrations, shipped policy, local keys) and give every role a key."""
    # No background webhook retries here: tests drive deliveries themselves, with fake senders.
    # No job workers either, unless a test asks for them (settings_options): jobs are tested in test_jobs_http.
    settings = Settings(
        database_url=database_url,
        policy_file=SHIPPED,
        webhook_retry_seconds=0,
        webhook_allowed_networks=ALLOWED_WEBHOOK_NETWORKS,
        **{"job_workers": 0, **(settings_options or {})},
    )
    dns: dict[str, list[str]] = {}
    app_options.setdefault("resolver", FakeResolver(dns))  # no test asks real DNS
    app = create_app(settings, **app_options)
    banner = io.StringIO()
    with contextlib.redirect_stdout(banner), TestClient(app, raise_server_exceptions=True) as client:
        service = Service(client, app, database_url, banner=banner.getvalue(), dns=dns)
        with UnitOfWork(app.state.db_engine) as uow:
            for name, role in KEY_ROLES.items():
                service.keys[name] = create_key(uow, f"e2e-{name}", role)[1]
        yield service


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def service(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One app per backend, shared by the tests that only add decisions of their own."""
    with (
        throwaway_database(backend, tmp_path_factory.mktemp("e2e"), prefix="e2e") as url,
        running_service(url) as running,
    ):
        yield running


@pytest.fixture
def fresh_service(backend: str, tmp_path: Path) -> Iterator[Service]:
    """A new database and app: for tests that publish, approve, activate or count every row."""
    with throwaway_database(backend, tmp_path, prefix="e2e") as url, running_service(url) as running:
        yield running


def unique(prefix: str = "r") -> str:
    """An id no other test uses (request ids, customer ids)."""
    return f"{prefix}-{secrets.token_hex(6)}"

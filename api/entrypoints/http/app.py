"""The FastAPI application: ``create_app()`` wires settings, database, registry, routes and problems.

On start (the lifespan) the service:

1. applies the database migrations;
2. on a database without any version of the default policy, publishes the shipped policy file
   (``settings.policy_file``; its ``*.cases.yaml`` beside it must pass), approves it as
   ``system-bootstrap-approver`` (not the publisher, ``system-bootstrap``: four eyes hold even
   here) and activates it — every step a recorded lifecycle event;
3. on a database without any API key, creates ``local-admin`` (role admin: keys, log, versions)
   and ``local-decide`` (role decide: the decision endpoints) and prints both plaintexts once, in
   a banner on stdout. Only their hashes are stored; nothing secret is written to disk.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TextIO

from anyio import CapacityLimiter
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from sqlalchemy import Connection, Engine, event

from api.adapters.db import UnitOfWork, create_db_engine, upgrade_database
from api.adapters.db.engine import READ_ONLY_OPTION
from api.adapters.db.unit_of_work import Clock, utc_now
from api.adapters.group_commit import GroupCommitter
from api.entrypoints.http.deps import KeyCache
from api.entrypoints.http.metrics import Metrics
from api.entrypoints.http.problems import BodyLimit, install_problem_handlers
from api.entrypoints.http.routes import cases, customers, decisions, health, webhooks
from api.entrypoints.http.routes import versions as version_routes
from api.errors import Conflict, ServiceError
from api.service import keys, policy_cases, versions
from api.service import webhooks as webhooks_service
from api.service.registry import DEFAULT_POLICY_ID, PolicyRegistry
from api.settings import Settings, get_settings

__all__ = [
    "BOOTSTRAP_APPROVER",
    "BOOTSTRAP_PUBLISHER",
    "bootstrap",
    "bootstrap_database",
    "create_app",
    "queue_sqlite_writers",
    "warm_up",
]

log = logging.getLogger("creditpolicy")

BOOTSTRAP_PUBLISHER = "system-bootstrap"
BOOTSTRAP_APPROVER = "system-bootstrap-approver"
# A batch of 1000 orders with inline credit files stays well below; anything larger is refused (413).
MAX_BODY_BYTES = 16 * 1024 * 1024
# Threads deciding at once per process: decisions hold the GIL, so beyond a few per core more
# threads only overlap database waits (PostgreSQL) and make the queue less fair.
DECISION_THREADS = 8
LOCAL_KEYS = (("local-admin", "admin"), ("local-decide", "decide"))

DESCRIPTION = """
Trade-credit decisions under versioned policies: grade customers, check orders, settle invoices,
plan collections. Every decision is logged with the policy version and the trace that produced it.

**Keys.** Send `Authorization: Bearer <key>` (or `X-API-Key: <key>`). Roles: `decide` (decisions),
`author` (publish), `approve` (approve, activate, retire, release cases), `audit` (read), `admin`
(keys, read). Create keys with `creditpolicy keys create --name N --role R`.

**Errors** are RFC 9457 `application/problem+json` with a stable `code`; invalid bodies are 422
with one `errors` entry (JSON `pointer`, `message`, `code`) per bad field.
"""


def bootstrap(
    engine: Engine, settings: Settings, default_policy_id: str, out: TextIO | None = None
) -> list[tuple[str, str, str]]:
    """Migrate, put the shipped policy in force on an empty database, create local keys; the keys created."""
    upgrade_database(engine)
    with UnitOfWork(engine) as uow:
        if not uow.versions.list(default_policy_id):
            _put_shipped_policy_in_force(uow, settings.policy_file)
    created: list[tuple[str, str, str]] = []
    with UnitOfWork(engine) as uow:
        existing = len(uow.keys.list())
        if not existing:
            try:
                for name, role in LOCAL_KEYS:
                    created.append((name, role, keys.create_key(uow, name, role)[1]))
            except Conflict:  # another worker of this service created them first
                created = []
    _announce(created, existing, settings, out or sys.stdout)
    return created


def bootstrap_database(settings: Settings, out: TextIO | None = None) -> list[tuple[str, str, str]]:
    """:func:`bootstrap` on its own engine: run once before starting several worker processes."""
    engine = create_db_engine(settings.database_url)
    try:
        return bootstrap(engine, settings, _default_policy_id(settings), out)
    finally:
        engine.dispose()


def _default_policy_id(settings: Settings) -> str:
    # Settings may name the policy decisions use by default; the shipped policy's id otherwise.
    return str(getattr(settings, "default_policy_id", DEFAULT_POLICY_ID))


def warm_up(engine: Engine, registry: PolicyRegistry, clock: Clock) -> None:
    """Compile the version in force today before the first request needs it (it takes ~50 ms)."""
    with UnitOfWork(engine, read_only=True) as uow:
        try:
            registry.for_request(uow, None, clock().date(), None)
        except ServiceError as error:  # /readyz reports it; decisions dated elsewhere may still work
            log.warning("no policy version to warm up: %s", error.message)


def _put_shipped_policy_in_force(uow: UnitOfWork, policy_file: Path) -> None:
    cases_file = policy_cases.cases_beside(policy_file)
    cases_text = cases_file.read_text(encoding="utf-8") if cases_file else None
    runner = version_routes.cases_runner(cases_text, str(cases_file))
    text = policy_cases.read_text(policy_file)
    record, _ = versions.publish(uow, text, str(policy_file), BOOTSTRAP_PUBLISHER, runner)
    try:
        versions.approve(uow, record.sha256, BOOTSTRAP_APPROVER, "shipped policy, approved on first start")
        versions.activate(uow, record.sha256, BOOTSTRAP_APPROVER, "shipped policy, in force from first start")
    except Conflict:  # another worker of this service got there first
        uow.rollback()
    log.info("policy %s %s (%s) published and activated", record.policy_id, record.label, record.sha256[:12])


def _announce(created: list[tuple[str, str, str]], existing: int, settings: Settings, out: TextIO) -> None:
    if not created:
        out.write(
            f"creditpolicy: {existing} API key(s) stored; `creditpolicy keys create --name N --role R` adds one\n"
        )
        out.flush()
        return
    base = f"http://{settings.host}:{settings.port}"
    decide_key = next((plain for _, role, plain in created if role == "decide"), "<key>")
    rule = "=" * 100
    lines = [
        rule,
        "creditpolicy: first start. API keys created — shown this once; only their hashes are stored.",
        "",
        *(f"  {name:<13} role {role:<7} {plaintext}" for name, role, plaintext in created),
        "",
        "Try a decision:",
        f"  curl -s -H 'Authorization: Bearer {decide_key}' -H 'Content-Type: application/json' \\",
        """    -d '{"customer": {"id": "C-1", "grade": "A", "limit": "500000.00"}, """
        """"order": {"id": "SO-1", "amount": "1000.00", "currency": "CNY"}, "as_of": "2026-06-30"}' \\""",
        f"    {base}/v1/decisions/order",
        f"API docs: {base}/docs     More keys: creditpolicy keys create --name NAME --role ROLE",
        rule,
    ]
    out.write("\n".join(lines) + "\n")
    out.flush()


def _openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The schema, with the decision bodies documented as the engine's models plus the envelope."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            ref = "#/components/schemas/{model}"
            for kind, model in decisions.BODY_MODELS.items():
                model_schema = model.model_json_schema(ref_template=ref, mode="validation")
                components.update(model_schema.pop("$defs", {}))
                components[model.__name__] = model_schema
                body = schema["paths"][f"/v1/decisions/{kind}"]["post"]["requestBody"]["content"]["application/json"]
                body["schema"] = {"$ref": ref.format(model=model.__name__)}
            components.update({"PublishRequest": version_routes.PublishRequest.model_json_schema(ref_template=ref)})
            app.openapi_schema = schema
        return app.openapi_schema

    return build


def queue_sqlite_writers(engine: Engine) -> None:
    """Make this process's write transactions on SQLite wait in line for each other.

    SQLite has one writer at a time, and a second ``BEGIN IMMEDIATE`` waits in SQLite's busy
    handler, which polls with sleeps of 1 to 100 ms: under 32 concurrent requests that turns a
    millisecond of work into seconds of tail latency. A lock taken before BEGIN and released at
    commit or rollback queues the threads instead (other processes still meet the busy timeout).
    Read-only units of work do not take it: in WAL mode readers never wait for the writer.
    """
    if engine.dialect.name != "sqlite":
        return
    lock = _FifoLock()

    def begin(connection: Connection) -> None:
        if not connection.get_execution_options().get(READ_ONLY_OPTION, False):
            lock.acquire()
            connection.info[_HOLDS_LOCK] = True

    def end(connection: Connection) -> None:
        if connection.info.pop(_HOLDS_LOCK, False):
            lock.release()

    event.listen(engine, "begin", begin, insert=True)  # before the listener that sends BEGIN IMMEDIATE
    event.listen(engine, "commit", end)
    event.listen(engine, "rollback", end)


_HOLDS_LOCK = "creditpolicy_holds_write_lock"


class _FifoLock:
    """A lock handed to waiters in arrival order (``threading.Lock`` lets some wait for seconds)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._waiters: deque[threading.Lock] = deque()
        self._held = False

    def acquire(self) -> None:
        with self._guard:
            if not self._held:
                self._held = True
                return
            baton = threading.Lock()
            baton.acquire()
            self._waiters.append(baton)
        baton.acquire()  # released by the holder's release(): the lock passes straight to us

    def release(self) -> None:
        with self._guard:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._held = False


def create_app(settings: Settings | None = None, *, clock: Clock = utc_now) -> FastAPI:
    """The application on ``settings`` (read from the environment when None)."""
    settings = settings or get_settings()
    engine = create_db_engine(settings.database_url, echo=settings.database_echo)
    queue_sqlite_writers(engine)
    default_policy_id = _default_policy_id(settings)
    registry = PolicyRegistry(default_policy_id)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        bootstrap(engine, settings, default_policy_id)
        warm_up(engine, registry, clock)
        app.state.decision_threads = CapacityLimiter(DECISION_THREADS)
        # Deliveries are attempted right after each case change commits; this loop retries the
        # ones that failed (with their backoff) even when no further case changes come in.
        stop = threading.Event()
        retrier = None
        if settings.webhook_retry_seconds > 0:
            retrier = threading.Thread(
                target=webhooks_service.deliver_forever,
                args=(lambda: app.state.new_uow(), stop),
                kwargs={"interval": settings.webhook_retry_seconds},
                name="webhook-retries",
                daemon=True,
            )
            retrier.start()
        yield
        app.state.group_commit.close()  # uvicorn has answered every request by now
        stop.set()
        if retrier is not None:
            retrier.join(timeout=15)
        engine.dispose()

    app = FastAPI(
        title="creditpolicy",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db_engine = engine
    app.state.clock = clock
    app.state.registry = registry
    app.state.key_cache = KeyCache()
    app.state.metrics = Metrics()
    # Units of work of the requests; a test may swap new_uow for a failing one (the group
    # committer calls it through app.state, so it sees the swap).
    app.state.new_uow = lambda: UnitOfWork(engine, clock=clock)
    app.state.new_read_uow = lambda: UnitOfWork(engine, read_only=True, clock=clock)
    app.state.group_commit = GroupCommitter(lambda: app.state.new_uow())
    app.state.webhook_sender = webhooks_service.HttpxSender()
    install_problem_handlers(app)
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    app.include_router(decisions.decision_router)
    for module in (decisions, version_routes, cases, customers, webhooks, health):
        app.include_router(module.router)
    app.openapi = _openapi(app)  # type: ignore[method-assign]
    return app

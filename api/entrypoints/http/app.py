"""The FastAPI application: ``create_app()`` wires settings, database, registry, writer, routes and problems.

What a start does (migrations, the shipped policy, the local keys) is :mod:`api.bootstrap`; this
module only puts the parts together and runs the background work of a process: the group
committer's writer thread, the webhook retries, the job workers (:mod:`api.service.jobs.worker`),
and the change listener that keeps this process's
caches true when other processes change versions or keys (:mod:`api.service.changes`).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from anyio import CapacityLimiter
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.types import ASGIApp

from api.adapters.change_listener import start_change_listener
from api.adapters.db import UnitOfWork, create_db_engine
from api.adapters.db.unit_of_work import Clock, utc_now
from api.adapters.group_commit import GroupCommitter
from api.adapters.webhook_sender import HttpxSender
from api.adapters.webhook_targets import AllowList, Resolver, SystemResolver, WebhookTargets
from api.bootstrap import bootstrap, warm_up
from api.entrypoints.http.deps import KeyCache
from api.entrypoints.http.headers import SecurityHeaders
from api.entrypoints.http.metrics import Metrics
from api.entrypoints.http.problems import BodyLimit, document_problems, install_problem_handlers
from api.entrypoints.http.routes import (
    cases,
    customers,
    decisions,
    health,
    impact,
    jobs,
    keys,
    shadow,
    versions,
    webhooks,
)
from api.entrypoints.http.schemas.decisions import document_decision_bodies
from api.entrypoints.http.schemas.jobs import SimulationRequest
from api.entrypoints.http.schemas.versions import PublishRequest
from api.service.changes import KEYS, VERSIONS, CacheInvalidation
from api.service.decisions import DecisionWriter
from api.service.jobs import default_kinds
from api.service.jobs.worker import JobWorker, JobWorkers, WorkerConfig, worker_owner
from api.service.registry import DEFAULT_POLICY_ID, PolicyRegistry
from api.service.webhooks import deliver_forever
from api.settings import Settings, get_settings

__all__ = ["CreditPolicyApp", "create_app"]

# A batch of 1000 orders with inline credit files stays well below; anything larger is refused (413).
MAX_BODY_BYTES = 16 * 1024 * 1024
# Threads order batches run in (single decisions run on the event loop), fewer than FastAPI's 40:
# decisions hold the GIL (and on SQLite the write lock), so more threads only make the queue unfair.
DECISION_THREADS = 8
# Allocations between two young-generation collections while serving (CPython's default is 700).
# A decision allocates a few thousand objects and 32 requests in flight keep theirs alive, so at
# 700 the collector runs several times per request and walks the same in-flight objects again
# and again; measured in-process at 32 concurrent orders on SQLite: 123-138 us of ~850 us per
# request spent collecting, 17-19 us at 5,000 (bench/http.py: see the README's figures).
GC_YOUNG_THRESHOLD = 5_000

DESCRIPTION = """
Trade-credit decisions under versioned policies: grade customers, check orders, settle invoices,
plan collections. Every decision is logged with the policy version and the trace that produced it.

**Keys.** Send `Authorization: Bearer <key>` (or `X-API-Key: <key>`). Roles: `decide` (decisions),
`author` (publish), `approve` (approve, activate, retire, release cases), `audit` (read), `admin`
(keys, read). An admin key creates keys with `POST /v1/keys` (or `creditpolicy keys create --name N
--role R --key <admin key>`).

**Errors** are RFC 9457 `application/problem+json` with a stable `code`; invalid bodies are 422
with one `errors` entry (JSON `pointer`, `message`, `code`) per bad field.
"""


@contextmanager
def _collector_tuned_for_serving() -> Iterator[None]:
    """Freeze what start-up built and collect young objects less often, while the app serves.

    Modules, compiled policies, rulesets and pools live as long as the process: frozen, a full
    collection no longer walks them (~127,000 objects). Restored when the app stops, so an app
    started and stopped in-process (the tests) leaves the collector as it found it.
    """
    gc.collect()
    gc.freeze()
    young, *older = gc.get_threshold()
    gc.set_threshold(max(young, GC_YOUNG_THRESHOLD), *older)
    try:
        yield
    finally:
        gc.set_threshold(young, *older)
        gc.unfreeze()


class CreditPolicyApp(FastAPI):
    """The FastAPI app, whose OpenAPI schema documents the decision bodies as the engine's models."""

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            schema = get_openapi(
                title=self.title, version=self.version, description=self.description, routes=self.routes
            )
            document_decision_bodies(schema)
            document_problems(schema)
            ref = "#/components/schemas/{model}"
            schema["components"]["schemas"]["PublishRequest"] = PublishRequest.model_json_schema(ref_template=ref)
            simulation = SimulationRequest.model_json_schema(ref_template=ref)
            schema["components"]["schemas"].update(simulation.pop("$defs", {}), SimulationRequest=simulation)
            self.openapi_schema = schema
        return self.openapi_schema

    def build_middleware_stack(self) -> ASGIApp:
        # Outside Starlette's ServerErrorMiddleware, which answers a 500 past every inner middleware.
        return SecurityHeaders(super().build_middleware_stack())


def _start_job_workers(app: FastAPI, settings: Settings) -> JobWorkers:
    """This process's job workers (``CREDITPOLICY_JOB_WORKERS``), each running its jobs in a child process."""
    config = WorkerConfig(
        lease_seconds=settings.job_lease_seconds,
        poll_seconds=settings.job_poll_seconds,
        max_attempts=settings.job_max_attempts,
        shutdown_grace_seconds=settings.job_shutdown_grace_seconds,
        nice=settings.job_nice,
    )
    workers = [
        JobWorker(
            settings.database_url,
            lambda: app.state.new_uow(),
            app.state.job_kinds,
            owner=worker_owner(index),
            config=config,
            clock=app.state.clock,
            new_read_uow=lambda: app.state.new_read_uow(),
        )
        for index in range(settings.job_workers)
    ]
    return JobWorkers(workers).start()


def create_app(
    settings: Settings | None = None, *, clock: Clock = utc_now, resolver: Resolver | None = None
) -> FastAPI:
    """The application on ``settings`` (read from the environment when None).

    ``resolver`` answers the webhook targets' DNS questions (the system's by default; tests give a fake).
    """
    settings = settings or get_settings()
    engine = create_db_engine(settings.database_url, echo=settings.database_echo, queue_writers=True)
    registry = PolicyRegistry(DEFAULT_POLICY_ID, max_live_versions=settings.max_live_versions)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        bootstrap(engine, settings)
        # Hears what other processes (replicas, workers, the CLI) change, and drops what it made stale.
        app.state.change_listener = start_change_listener(engine, app.state.cache_invalidation)
        warm_up(engine, registry, clock)
        app.state.decision_threads = CapacityLimiter(DECISION_THREADS)
        # Deliveries are attempted right after each case change commits; this loop retries the
        # ones that failed (with their backoff) even when no further case changes come in.
        stop = threading.Event()
        retrier = None
        if settings.webhook_retry_seconds > 0:
            retrier = threading.Thread(
                target=deliver_forever,
                args=(lambda: app.state.new_uow(), stop),
                kwargs={"sender": app.state.webhook_sender, "interval": settings.webhook_retry_seconds},
                name="webhook-retries",
                daemon=True,
            )
            retrier.start()
        job_workers = _start_job_workers(app, settings)
        with _collector_tuned_for_serving():
            yield
        job_workers.stop()  # stops claiming; a running job finishes, or is queued again after the grace period
        app.state.group_commit.close()  # uvicorn has answered every request by now
        stop.set()
        if retrier is not None:
            retrier.join(timeout=15)
        app.state.change_listener.stop()
        engine.dispose()

    app = CreditPolicyApp(title="creditpolicy", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.db_engine = engine
    app.state.clock = clock
    app.state.registry = registry
    app.state.key_cache = KeyCache()
    app.state.cache_invalidation = CacheInvalidation({VERSIONS: [registry], KEYS: [app.state.key_cache]})
    app.state.change_listener = None  # started with the app (lifespan)
    app.state.metrics = Metrics(settings.metrics_multiprocess_dir)
    # Units of work of the requests; a test may swap new_uow for a failing one (the writer and the
    # group committer call it through app.state, so they see the swap).
    app.state.new_uow = lambda: UnitOfWork(engine, clock=clock)
    app.state.new_read_uow = lambda: UnitOfWork(engine, read_only=True, clock=clock)
    app.state.group_commit = GroupCommitter(
        lambda: app.state.new_uow(), on_count=app.state.metrics.group_commit_counted
    )
    app.state.decision_writer = DecisionWriter(
        registry, lambda: app.state.new_uow(), lambda: app.state.new_read_uow(), app.state.group_commit
    )
    # Registration and delivery vet webhook hosts with the same allowlist and resolver.
    app.state.webhook_targets = WebhookTargets(
        AllowList.from_entries(settings.webhook_allowlist), resolver or SystemResolver()
    )
    app.state.webhook_sender = HttpxSender(app.state.webhook_targets)
    app.state.job_kinds = default_kinds()
    install_problem_handlers(app)
    # Portfolio uploads have their own limit (a form's few hundred bytes of fields on top).
    upload_limit = max(MAX_BODY_BYTES, settings.job_upload_max_bytes + 64 * 1024)
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES, per_path={"/v1/simulations": upload_limit})
    app.include_router(decisions.decision_router)
    for module in (decisions, impact, versions, shadow, cases, customers, webhooks, jobs, keys, health):
        app.include_router(module.router)
    return app

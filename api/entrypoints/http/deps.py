"""FastAPI dependencies, declared once as ``Annotated`` aliases: the caller, units of work, the app's parts.

Routes take what they need by type::

    def list_cases(caller: Annotated[Caller, Depends(require("read_cases"))], uow: ReadUowDep) -> ...

Authentication has one path, :func:`authorize` (the key presented, looked up once and cached per
process until a key change is heard, then the role's permission), used by every route through
:func:`require` and by the decision routes' fast path (:mod:`api.entrypoints.http.fast_path`).
The app's parts — the database engine, the policy registry, the decision writer, the metrics, the
clock — live on ``app.state`` (:func:`api.entrypoints.http.app.create_app` puts them there), so
one process shares one engine and one compiled-policy cache, and a test can build an app on its
own database.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from anyio import to_thread
from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine

from api.adapters.db.unit_of_work import Clock, UnitOfWork
from api.adapters.webhook_sender import WebhookSender
from api.adapters.webhook_targets import WebhookTargets
from api.entrypoints.http.metrics import Metrics
from api.errors import NotAuthenticated, UnsupportedMediaType
from api.service.decisions import batch_permission, check_batch
from api.service.jsontext import loads
from api.service.keys import Caller, authenticate, permit
from api.service.registry import PolicyRegistry
from engine.decide import json_pointer
from engine.errors import InputInvalid

__all__ = [
    "PRINTABLE",
    "BatchAccess",
    "BatchCall",
    "ClockDep",
    "EngineDep",
    "KeyCache",
    "MetricsDep",
    "MetricsReader",
    "ReadUowDep",
    "RegistryDep",
    "SenderDep",
    "TargetsDep",
    "UowDep",
    "UowFactory",
    "UowFactoryDep",
    "Require",
    "authorize",
    "body_of",
    "json_body",
    "presented_key",
    "require",
]


# Ids, labels and filters never hold control characters, and PostgreSQL cannot even compare a NUL:
# path and query parameters carry this pattern, so the same request answers alike on both databases.
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"


async def get_db_engine(request: Request) -> Engine:
    """The app's one SQLAlchemy engine (one pool per process)."""
    engine: Engine = request.app.state.db_engine
    return engine


async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def get_registry(request: Request) -> PolicyRegistry:
    registry: PolicyRegistry = request.app.state.registry
    return registry


async def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


EngineDep = Annotated[Engine, Depends(get_db_engine)]
ClockDep = Annotated[Clock, Depends(get_clock)]
RegistryDep = Annotated[PolicyRegistry, Depends(get_registry)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]


def get_uow(request: Request) -> Iterator[UnitOfWork]:
    """A read-write unit of work for the request (``app.state.new_uow``); services commit,
    anything uncommitted rolls back."""
    with request.app.state.new_uow() as uow:
        yield uow


def get_read_uow(request: Request) -> Iterator[UnitOfWork]:
    """A read-only unit of work (``app.state.new_read_uow``; on SQLite it does not take the write lock)."""
    with request.app.state.new_read_uow() as uow:
        yield uow


UowDep = Annotated[UnitOfWork, Depends(get_uow)]
ReadUowDep = Annotated[UnitOfWork, Depends(get_read_uow)]
UowFactory = Callable[[], UnitOfWork]


async def get_uow_factory(request: Request) -> UowFactory:
    """Opens read-write units of work (``app.state.new_uow``; a test may swap it for a failing one);
    for routes that run all their work in one worker thread (a synchronous generator dependency
    costs two extra hops to the thread pool per request)."""
    factory: UowFactory = request.app.state.new_uow
    return factory


UowFactoryDep = Annotated[UowFactory, Depends(get_uow_factory)]


async def get_webhook_sender(request: Request) -> WebhookSender:
    """The sender deliveries go through: ``app.state.webhook_sender`` (tests put a fake there, no network)."""
    sender: WebhookSender = request.app.state.webhook_sender
    return sender


SenderDep = Annotated[WebhookSender, Depends(get_webhook_sender)]


async def get_webhook_targets(request: Request) -> WebhookTargets:
    """Which hosts webhooks may reach: ``app.state.webhook_targets`` (the operator's allowlist, a resolver)."""
    targets: WebhookTargets = request.app.state.webhook_targets
    return targets


TargetsDep = Annotated[WebhookTargets, Depends(get_webhook_targets)]


# --- the body ------------------------------------------------------------------------------------
# Bodies up to this size are parsed on the event loop (microseconds); larger ones in a worker
# thread, so one big batch never stalls the requests of others.
PARSE_ON_THE_LOOP = 256 * 1024


async def json_body(request: Request) -> Any:
    """The request's JSON body, numbers with a fraction as exact Decimal (:func:`api.service.jsontext.loads`).

    415 ``unsupported_media_type`` unless it is sent as JSON, 400 ``malformed_json`` unless it is
    JSON. Called by the routes that read money, after the caller was authorized.
    """
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType("send the body as JSON, with `Content-Type: application/json`")
    raw = await request.body()
    if len(raw) > PARSE_ON_THE_LOOP:
        return await to_thread.run_sync(loads, raw)
    return loads(raw)


M = TypeVar("M", bound=BaseModel)


def body_of(model: type[M], data: Any) -> M:
    """``data`` validated as ``model``; 422 ``invalid_request`` with a pointer per bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        errors = [
            {"pointer": json_pointer(e["loc"]), "message": e["msg"], "code": e["type"]}
            for e in error.errors(include_url=False)
        ]
        raise InputInvalid(errors) from None


# --- who is asking -----------------------------------------------------------------------------
class KeyCache:
    """Keys recently authenticated, by the sha256 of the presented key, for ``ttl`` seconds at most.

    Looking a key up costs a database round trip per request. A key revoked anywhere (this
    process, another replica, the CLI) is forgotten when the process hears of it
    (:mod:`api.service.changes`: within a second); ``ttl`` bounds how long an entry is trusted
    anyway. Unknown keys are never cached, so a key just created works at once.
    """

    def __init__(self, ttl: float = 1.0) -> None:
        self.ttl = ttl
        self._known: dict[str, tuple[float, Caller]] = {}
        self.pending: dict[str, asyncio.Future[tuple[Caller | None, int]]] = {}  # look-ups under way, by key
        self.generation = 0  # bumped by forget(): a look-up begun before is not stored after it
        self._lock = threading.Lock()

    def get(self, presented: str) -> Caller | None:
        found = self._known.get(self._digest(presented))
        return found[1] if found is not None and time.monotonic() - found[0] < self.ttl else None

    def put(self, presented: str, caller: Caller, generation: int | None = None) -> None:
        """Cache ``caller``, unless the cache was forgotten since the look-up began (at ``generation``)."""
        with self._lock:
            if generation is not None and generation != self.generation:
                return
            if len(self._known) > 10_000:  # bounded: a flood of distinct keys cannot grow it without end
                self._known.clear()
            self._known[self._digest(presented)] = (time.monotonic(), caller)

    def forget(self) -> None:
        """Drop every key: one was revoked (or created) somewhere."""
        with self._lock:
            self.generation += 1
            self._known = {}

    def keep_for(self, seconds: float) -> None:
        """Trust an entry at most ``seconds`` (the change listener sets it)."""
        self.ttl = seconds

    @staticmethod
    def _digest(presented: str) -> str:
        return hashlib.sha256(presented.encode("utf-8")).hexdigest()


def _look_up(engine: Engine, presented: str, cache: KeyCache) -> tuple[Caller | None, int]:
    """The key's caller, and the cache's generation before it was read (see :meth:`KeyCache.put`)."""
    generation = cache.generation
    # Its own short read-only transaction: the route's unit of work is not opened for a stranger.
    with UnitOfWork(engine, read_only=True) as uow:
        return authenticate(uow, presented), generation


def presented_key(request: Request) -> str | None:
    """The key a request presents: ``Authorization: Bearer <key>``, else ``X-API-Key: <key>``."""
    scheme, credentials = get_authorization_scheme_param(request.headers.get("Authorization"))
    if scheme and credentials and scheme.lower() == "bearer":
        return credentials
    return request.headers.get("X-API-Key")


async def authorize(request: Request, permission: str) -> Caller:
    """The caller whose key the request presents, if its role holds ``permission``.

    401 ``not_authenticated`` without a valid key, 403 ``forbidden`` naming the roles that hold the
    permission. One database look-up per key at a time: when the cached entry expires, the
    requests in flight with that key wait for the one look-up instead of each taking a connection.
    """
    presented = presented_key(request)
    if not presented:
        raise NotAuthenticated("an API key is required: send `Authorization: Bearer <key>` or `X-API-Key: <key>`")
    cache: KeyCache = request.app.state.key_cache
    caller = cache.get(presented)
    if caller is None:
        pending = cache.pending.get(presented)
        if pending is None:
            pending = asyncio.ensure_future(run_in_threadpool(_look_up, request.app.state.db_engine, presented, cache))
            cache.pending[presented] = pending
            pending.add_done_callback(lambda _: cache.pending.pop(presented, None))
        caller, generation = await asyncio.shield(pending)
        if caller is None:
            raise NotAuthenticated("the API key is unknown or revoked")
        cache.put(presented, caller, generation)
    return permit(caller, permission)


# Both schemes show in /docs ("Authorize"); auto_error=False so a missing key is our 401 problem.
_bearer = HTTPBearer(auto_error=False, description="An API key as `Authorization: Bearer cp_...`.")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key as `X-API-Key: cp_...`.")


class Require:
    """A dependency yielding the caller (:func:`authorize`) if its role holds ``permission``.

    The two security schemes are declared as parameters so OpenAPI documents them on the route;
    :func:`authorize` reads the key from the request as they do. ``permission`` is read by the
    fast path and the role-matrix test.
    """

    def __init__(self, permission: str) -> None:
        self.permission = permission

    async def __call__(
        self,
        request: Request,
        _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        _api_key: Annotated[str | None, Depends(_api_key)],
    ) -> Caller:
        return await authorize(request, self.permission)


class MetricsReader:
    """The caller of ``/metrics``: a key whose role holds ``read_metrics``, or anyone when the service
    runs with ``CREDITPOLICY_METRICS_ACCESS=open`` (then None). Declared like :class:`Require`, so
    OpenAPI shows the schemes and the role-matrix test reads the permission."""

    permission = "read_metrics"

    async def __call__(
        self,
        request: Request,
        _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        _api_key: Annotated[str | None, Depends(_api_key)],
    ) -> Caller | None:
        if request.app.state.settings.metrics_access == "open":
            return None
        return await authorize(request, self.permission)


@dataclass(frozen=True)
class BatchCall:
    """A batch route's caller, authorized for what the query asks: a real batch or a dry run (of a version)."""

    caller: Caller
    dry_run: bool
    version: str | None


DryRunQuery = Annotated[
    Literal["true", "false"],
    Query(
        description="`true`: decide, keep nothing (no log row, case, grade history, webhook or idempotency entry) "
        "and say so (`dry_run: true`). Exactly `true` or `false`."
    ),
]
VersionQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=100,
        pattern=PRINTABLE,
        description="Dry runs only (role `simulate`): the version that decides every request — label, sha256 or "
        "8+ hex prefix, any status, drafts included. Default: the version a live decision would use.",
    ),
]


class BatchAccess:
    """The caller of a batch route (:class:`BatchCall`), authorized for what the query asks.

    The permission :func:`~api.service.decisions.batch_permission` names — ``decide``, ``dry_run``
    for a dry run, ``simulate`` for one naming a version — then the rest of
    :func:`~api.service.decisions.check_batch`, before the body is read. ``permission`` is a real
    batch's (the role-matrix test reads it, and checks dry runs on its own).
    """

    permission = "decide"

    async def __call__(
        self,
        request: Request,
        _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        _api_key: Annotated[str | None, Depends(_api_key)],
        dry_run: DryRunQuery = "false",
        version: VersionQuery = None,
    ) -> BatchCall:
        dry = dry_run == "true"
        caller = await authorize(request, batch_permission(dry, version))
        check_batch(caller, dry, version)
        return BatchCall(caller, dry, version)


def require(permission: str) -> Require:
    """The dependency of a route that needs ``permission``: ``Annotated[Caller, Depends(require("decide"))]``."""
    return Require(permission)

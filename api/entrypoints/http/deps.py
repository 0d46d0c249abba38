"""FastAPI dependencies, declared once as ``Annotated`` aliases: settings, database, units of work, caller.

Dependencies that only read ``app.state`` are ``async`` so FastAPI calls them on the event loop
instead of handing each to the thread pool; those that touch the database stay synchronous.

Routes take what they need by type::

    def decide_order(uow: UowDep, caller: Annotated[Caller, Depends(require("decide"))]) -> ...

The database engine, the policy registry, the metrics and the clock live on ``app.state``
(:func:`api.entrypoints.http.app.create_app` puts them there), so one process shares one engine and
one compiled-policy cache, and a test can build an app on its own database.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from anyio import CapacityLimiter
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy import Engine

from api.adapters.db.unit_of_work import Clock, UnitOfWork
from api.entrypoints.http.metrics import Metrics
from api.errors import MissingPermission, NotAuthenticated
from api.service.keys import Caller, authenticate, roles_with
from api.service.registry import PolicyRegistry
from api.settings import Settings

__all__ = [
    "PRINTABLE",
    "CallerDep",
    "KEY_SECURITY",
    "KeyCache",
    "ClockDep",
    "DecisionThreadsDep",
    "EngineDep",
    "MetricsDep",
    "ReadUowDep",
    "RegistryDep",
    "SettingsDep",
    "UowDep",
    "UowFactory",
    "UowFactoryDep",
    "get_caller",
    "get_decider",
    "get_db_engine",
    "get_read_uow",
    "get_settings",
    "get_uow",
    "require",
]


# Ids, labels and filters never hold control characters, and PostgreSQL cannot even compare a NUL:
# path and query parameters carry this pattern, so the same request answers alike on both databases.
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with (read once, in api.settings)."""
    settings: Settings = request.app.state.settings
    return settings


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


async def get_decision_threads(request: Request) -> CapacityLimiter:
    threads: CapacityLimiter = request.app.state.decision_threads
    return threads


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_db_engine)]
ClockDep = Annotated[Clock, Depends(get_clock)]
RegistryDep = Annotated[PolicyRegistry, Depends(get_registry)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
# The threads order batches run in (single decisions run on the event loop), fewer than FastAPI's
# 40: decisions hold the GIL (and on SQLite the write lock), so more threads only make the queue
# unfair, stretching the latency tail.
DecisionThreadsDep = Annotated[CapacityLimiter, Depends(get_decision_threads)]


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

# Both schemes show in /docs ("Authorize"); auto_error=False so a missing key is our 401 problem.
_bearer = HTTPBearer(auto_error=False, description="An API key as `Authorization: Bearer cp_...`.")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key as `X-API-Key: cp_...`.")


class KeyCache:
    """Keys recently authenticated, by the sha256 of the presented key, for ``ttl`` seconds.

    Looking a key up costs a database round trip per request; a key revoked meanwhile keeps
    working for at most ``ttl`` seconds (1 s by default). Unknown keys are never cached, so a
    key just created works at once.
    """

    def __init__(self, ttl: float = 1.0) -> None:
        self.ttl = ttl
        self._known: dict[str, tuple[float, Caller]] = {}
        self.pending: dict[str, asyncio.Future[Caller | None]] = {}  # look-ups under way, by key

    def get(self, presented: str) -> Caller | None:
        found = self._known.get(self._digest(presented))
        return found[1] if found is not None and time.monotonic() - found[0] < self.ttl else None

    def put(self, presented: str, caller: Caller) -> None:
        if len(self._known) > 10_000:  # bounded: a flood of distinct keys cannot grow it without end
            self._known.clear()
        self._known[self._digest(presented)] = (time.monotonic(), caller)

    @staticmethod
    def _digest(presented: str) -> str:
        return hashlib.sha256(presented.encode("utf-8")).hexdigest()


async def get_key_cache(request: Request) -> KeyCache:
    cache: KeyCache = request.app.state.key_cache
    return cache


def _look_up(engine: Engine, presented: str) -> Caller | None:
    # Its own short read-only transaction: the route's unit of work is not opened for a stranger.
    with UnitOfWork(engine, read_only=True) as uow:
        return authenticate(uow, presented)


async def get_caller(
    engine: EngineDep,
    cache: Annotated[KeyCache, Depends(get_key_cache)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> Caller:
    """The caller a presented API key belongs to; 401 ``not_authenticated`` without a valid key."""
    return await _authenticate(engine, cache, bearer.credentials if bearer is not None else api_key)


def _presented_key(request: Request) -> str | None:
    """The key a request presents, read as the ``_bearer`` and ``_api_key`` schemes read it."""
    scheme, credentials = get_authorization_scheme_param(request.headers.get("Authorization"))
    if scheme and credentials and scheme.lower() == "bearer":
        return credentials
    return request.headers.get("X-API-Key")


async def _authenticate(engine: Engine, cache: KeyCache, presented: str | None) -> Caller:
    if not presented:
        raise NotAuthenticated("an API key is required: send `Authorization: Bearer <key>` or `X-API-Key: <key>`")
    caller = cache.get(presented)
    if caller is not None:
        return caller
    # One database look-up per key at a time: when the cached entry expires, the requests in
    # flight with that key wait for the one look-up instead of each taking a pooled connection.
    pending = cache.pending.get(presented)
    if pending is None:
        pending = asyncio.ensure_future(run_in_threadpool(_look_up, engine, presented))
        cache.pending[presented] = pending
        pending.add_done_callback(lambda _: cache.pending.pop(presented, None))
    caller = await asyncio.shield(pending)
    if caller is None:
        raise NotAuthenticated("the API key is unknown or revoked")
    cache.put(presented, caller)
    return caller


def _permitted(caller: Caller, permission: str) -> Caller:
    if not caller.can(permission):
        roles = sorted(roles_with(permission))
        raise MissingPermission(
            f"{caller.name} has role {caller.role}; {permission} needs role {' or '.join(roles) or 'none'}",
            permission=permission,
            roles=roles,
        )
    return caller


async def get_decider(request: Request) -> Caller:
    """The caller of a decision route, if its role may ``decide``: one dependency doing what
    ``require("decide")`` does through five. FastAPI resolves dependencies at ~40 µs each, which
    on the hottest route cost more than the decision (bench/http.py); the security schemes
    are declared on those routes' OpenAPI operations instead (:data:`KEY_SECURITY`)."""
    state = request.app.state
    caller = await _authenticate(state.db_engine, state.key_cache, _presented_key(request))
    return _permitted(caller, "decide")


get_decider.permission = "decide"  # type: ignore[attr-defined]  # read by the role-matrix test
# The OpenAPI security of a route authenticated by get_decider (as FastAPI writes it for the schemes).
KEY_SECURITY: list[dict[str, list[str]]] = [{"HTTPBearer": []}, {"APIKeyHeader": []}]


CallerDep = Annotated[Caller, Depends(get_caller)]


def require(permission: str) -> Callable[[Caller], Awaitable[Caller]]:
    """A dependency yielding the caller if its role holds ``permission``, else 403 ``forbidden``."""

    async def dependency(caller: CallerDep) -> Caller:
        return _permitted(caller, permission)

    dependency.__name__ = f"require_{permission}"
    dependency.permission = permission  # type: ignore[attr-defined]  # read by the role-matrix test
    return dependency

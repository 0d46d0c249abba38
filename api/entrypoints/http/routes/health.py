"""Health routes for orchestrators and scrapers: liveness and readiness (no key), Prometheus metrics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy.exc import InterfaceError, OperationalError

from api.adapters.db.migrate import check_database, current_revision
from api.adapters.db.probe import probe_writes
from api.adapters.db.unit_of_work import UnitOfWork
from api.entrypoints.http.deps import ClockDep, EngineDep, MetricsDep, MetricsReader, RegistryDep
from api.entrypoints.http.metrics import CONTENT_TYPE
from api.entrypoints.http.problems import Problem, problem_response, problems
from api.entrypoints.http.schemas.health import LiveOut, ReadyOut
from api.errors import DatabaseUnavailable, NotReady, ServiceError, Unavailable
from api.service.keys import Caller

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=LiveOut)
def healthz() -> dict[str, str]:
    """Liveness: the process answers. Checks nothing else, so a slow database never restarts it."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=ReadyOut,
    responses={503: {"model": Problem, "content": {"application/problem+json": {}}}},
)
def readyz(request: Request, engine: EngineDep, registry: RegistryDep, metrics: MetricsDep, clock: ClockDep) -> Any:
    """Readiness: the database takes a write now (within `CREDITPOLICY_READY_TIMEOUT_SECONDS`), is at the
    newest schema, and a version of the default policy is active today and compiles. Otherwise 503
    (`database_unavailable`, `database_not_ready`, `not_ready`), with the reason in `detail`.

    `change_feed` says whether this process hears the version and key changes other processes make
    (it serves either way: while it does not, it trusts what it cached 1 s at most)."""
    try:
        # First, with a short timeout of its own: the checks after it would wait out a lock.
        probe_writes(engine, request.app.state.settings.ready_timeout_seconds)
        check_database(engine)
        with UnitOfWork(engine, read_only=True) as uow:
            version, _ = registry.for_request(uow, None, clock().date(), None)
    except (OperationalError, InterfaceError) as exc:
        return problem_response(DatabaseUnavailable(f"the database does not answer: {exc.orig}"))
    except Unavailable as error:  # the probe's not_ready, database_unavailable, database_not_ready
        return problem_response(error)
    except ServiceError as error:
        return problem_response(NotReady(f"not ready: {error.message}"))
    metrics.policy_in_use((version.policy_id, version.label, version.sha256))
    policy = {"id": version.policy_id, "version": version.label, "sha256": version.sha256}
    listener = request.app.state.change_listener
    feed = None
    if listener is not None:
        feed = {"via": listener.via, "live": listener.live, "heard": request.app.state.cache_invalidation.heard}
    return {"status": "ready", "schema_revision": current_revision(engine), "policy": policy, "change_feed": feed}


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {CONTENT_TYPE.split(";")[0]: {"schema": {"type": "string"}}}}, **problems()},
)
def metrics(caller: Annotated[Caller | None, Depends(MetricsReader())], metrics: MetricsDep) -> Response:
    """Prometheus metrics (text format 0.0.4): decisions by kind and outcome, latency, policy versions
    in use, and how the decision log was committed (groups of concurrent decisions or one by one);
    of every worker when the service runs several. Needs a key whose role holds `read_metrics`
    (audit, admin) unless the service runs with `CREDITPOLICY_METRICS_ACCESS=open`."""
    return Response(metrics.render(), media_type=CONTENT_TYPE)

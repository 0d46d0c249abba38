"""The ``impact`` job kind: ``POST /v1/impact`` as a job of the service (``POST /v1/impact/jobs``).

Parameters: the body of ``POST /v1/impact``, read by the same function
(:func:`api.service.impact.impact_request`)::

    {"from": "2026.1", "to": "2026.2", "since": "2026-04-01", "until": "2026-06-30", "kind": "order"}

Both versions are stored ones (label, sha256 or a unique prefix; drafts too), resolved to their
sha256 when the job is submitted, so the job measures what the caller named even if a label is
later reused by another policy. The run calls :func:`api.service.impact.measure_impact` in the
worker's child process and stores what the route answers for the same request and log:
``impact.json`` (the same bytes as its JSON), ``impact.html`` (its page) and ``impact.txt`` (its
text). Nothing registers a durable-rules ruleset (the measure evaluates on the twin and the
vectorised path), nothing is written but the job's artifacts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.service.impact import (
    impact_document,
    impact_json,
    impact_lines,
    impact_request,
    lines_text,
    measure_impact,
    stored_version,
)
from api.service.jobs.kinds import Artifact, JobKind, JobRun
from api.service.registry import PolicyRegistry
from api.service.reports.impact import render_impact

__all__ = ["IMPACT", "prepare_impact", "run_impact"]

STAGE = "decisions"  # the job's progress: decisions evaluated again, of those version `from` logged


def prepare_impact(uow: AbstractUnitOfWork, params: Mapping[str, Any], inputs: Mapping[str, bytes]) -> dict[str, Any]:
    """Check an impact request as ``POST /v1/impact`` does and return it with both versions pinned to their sha256."""
    request = impact_request(params)
    from_version = stored_version(uow, request.from_ref, "/from")
    to_version = stored_version(uow, request.to_ref or "", "/to")
    return {
        "from": request.from_ref,
        "to": request.to_ref,
        "from_sha256": from_version.sha256,
        "to_sha256": to_version.sha256,
        "since": None if request.since is None else request.since.isoformat(),
        "until": None if request.until is None else request.until.isoformat(),
        "kind": request.kind,
        "sample": request.sample,
        "top": request.top,
    }


def run_impact(job: JobRun) -> list[Artifact]:
    """Measure the impact of the pinned versions over the log, and return the JSON, the page and the text."""
    pinned = {**job.params, "from": job.params["from_sha256"], "to": job.params["to_sha256"]}
    request = impact_request(pinned)
    with job.new_uow() as uow:
        report = measure_impact(uow, PolicyRegistry(), request, lambda done, total: job.progress(STAGE, done, total))
    document = impact_document(report)
    return [
        Artifact("impact.json", "application/json", impact_json(document)),
        Artifact("impact.html", "text/html; charset=utf-8", render_impact(document).encode("utf-8")),
        Artifact("impact.txt", "text/plain; charset=utf-8", lines_text(impact_lines(document)).encode("utf-8")),
    ]


IMPACT = JobKind(name="impact", permission="impact", prepare=prepare_impact, run=run_impact)

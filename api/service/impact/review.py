"""What an approver reads before approving a draft: its diff against the active version, and its impact.

The impact is measured over the decisions the active version logged in the last ``days`` days
(by ``as_of``, up to today), from the active version to the draft; with no active version, or no
decision of it logged in that period, the review says so instead.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from api.adapters.db.records import VersionRecord
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.service import policy_diff
from api.service.impact.document import impact_document, impact_lines
from api.service.impact.measure import ImpactRequest, Progress, measure_impact
from api.service.policy_diff import DiffReport, Line
from api.service.registry import PolicyRegistry
from api.service.versions import get_version, in_force

__all__ = ["REVIEW_DAYS", "REVIEW_SCHEMA", "Review", "review_document", "review_lines", "review_version"]

REVIEW_SCHEMA = "creditpolicy.review/1"
REVIEW_DAYS = 90


@dataclass(frozen=True)
class Review:
    """A version under review, the active version it would replace, the diff and the impact (None: nothing to say)."""

    version: VersionRecord
    active: VersionRecord | None
    since: dt.date
    until: dt.date
    diff: DiffReport | None
    impact: dict[str, Any] | None  # the impact's JSON document


def _active(uow: AbstractUnitOfWork, version: VersionRecord, today: dt.date) -> VersionRecord | None:
    """The active version in force today, else the latest active one."""
    periods = in_force(uow, version.policy_id)
    current = next((p.version for p in periods if p.covers(today)), None)
    return current or (periods[-1].version if periods else None)


def review_version(
    uow: AbstractUnitOfWork,
    registry: PolicyRegistry,
    ref: str,
    *,
    days: int = REVIEW_DAYS,
    progress: Progress | None = None,
) -> Review:
    """The review of a version (a draft, usually): its diff against the active version and the impact over ``days``."""
    version = get_version(uow, ref)
    until = uow.now().date()
    since = until - dt.timedelta(days=days)
    active = _active(uow, version, until)
    if active is None:
        return Review(version, None, since, until, None, None)
    diff = policy_diff.compare(policy_diff.stored_side(uow, active), policy_diff.stored_side(uow, version))
    request = ImpactRequest(from_ref=active.sha256, to_ref=version.sha256, since=since, until=until)
    report = measure_impact(uow, registry, request, progress)
    impact = impact_document(report) if report.decided_by_from else None
    return Review(version, active, since, until, diff, impact)


def review_document(review: Review) -> dict[str, Any]:
    """The review as JSON (schema ``creditpolicy.review/1``): the diff and the impact documents, or null."""
    version, active = review.version, review.active
    return {
        "schema": REVIEW_SCHEMA,
        "version": {"policy_id": version.policy_id, "version": version.label, "sha256": version.sha256},
        "status": version.status,
        "active": None
        if active is None
        else {"policy_id": active.policy_id, "version": active.label, "sha256": active.sha256},
        "period": {"by": "as_of", "since": review.since.isoformat(), "until": review.until.isoformat()},
        "diff": None if review.diff is None else policy_diff.diff_document(review.diff),
        "impact": review.impact,
    }


def review_lines(review: Review) -> list[Line]:
    """The review as text: the diff, then the impact (or why there is none)."""
    version = review.version
    lines = [Line("title", f"review of {version.policy_id} {version.label} ({version.sha256[:12]}), {version.status}")]
    if review.active is None or review.diff is None:
        return [*lines, Line("summary", "no active version to compare with: nothing to diff, no decisions to re-run")]
    lines += [Line("heading", ""), *policy_diff.diff_lines(review.diff), Line("heading", "")]
    if review.impact is None:
        lines.append(
            Line(
                "summary",
                f"impact: {review.active.label} logged no decision about {review.since} … {review.until}: "
                "nothing to re-run",
            )
        )
    else:
        lines += impact_lines(review.impact)
    return lines

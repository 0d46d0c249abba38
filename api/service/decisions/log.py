"""The decision log, read: one decision in full, or pages of summaries filtered by what auditors ask."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from api.adapters.db.records import DecisionRecord
from api.adapters.db.repository import DecisionQuery
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.errors import DecisionNotFound
from api.service.jsontext import dumps, iso, utc
from api.service.pagination import Page, decode_cursor, encode_cursor
from api.service.versions import get_version

__all__ = ["get_decision", "query_log", "summary_of"]

_DECISION_ID = re.compile(r"[^\x00-\x1f\x7f]{1,64}")  # what the log's ids can be (uuid4 for the service's own)


def summary_of(record: DecisionRecord) -> dict[str, Any]:
    """A logged decision in brief: who decided what, when, under which version."""
    return {
        "decision_id": record.decision_id,
        "kind": record.kind,
        "request_id": record.request_id,
        "customer_id": record.customer_id,
        "outcome": record.outcome,
        "created_at": iso(record.created_at),
        "caller": record.caller,
        "policy": {"id": record.policy_id, "version": record.policy_label, "sha256": record.policy_sha256},
    }


def get_decision(uow: AbstractUnitOfWork, decision_id: str) -> str:
    """A logged decision in full, as JSON text: who decided what, and the input, response and trace
    exactly as they were stored (spliced in as text: a number in the input stays the number sent)."""
    record = uow.decisions.get(decision_id)
    if record is None:
        raise DecisionNotFound(f"no logged decision has id {decision_id!r}")
    head = dumps({**summary_of(record), "request_hash": record.request_hash})
    stored = f',"input":{record.input_json},"response":{record.output_json},"trace":{record.trace_json or "null"}}}'
    return head[:-1] + stored


def query_log(
    uow: AbstractUnitOfWork,
    *,
    customer_id: str | None = None,
    kind: str | None = None,
    outcome: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    policy_version: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[dict[str, Any]]:
    """Logged decisions matching every filter given, newest first, ``limit`` at a time."""
    sha256 = get_version(uow, policy_version).sha256 if policy_version else None
    query = DecisionQuery(
        customer_id=customer_id,
        kind=kind,
        outcome=outcome,
        since=utc(since),
        until=utc(until),
        policy_sha256=sha256,
        limit=limit + 1,  # one more tells whether there is a next page
        after=decode_cursor(cursor, _DECISION_ID) if cursor else None,
    )
    found = uow.decisions.query(query)
    page = found[:limit]
    next_cursor = encode_cursor(page[-1].created_at, page[-1].decision_id) if len(found) > limit else None
    return Page([summary_of(r) for r in page], next_cursor)

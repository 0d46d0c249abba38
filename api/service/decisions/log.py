"""The decision log, read: one decision in full, or pages of summaries filtered by what auditors ask.

Filters (every one given must hold): the customer, the order id (order decisions), the request id,
the kind, the outcome, the policy version (a label, a sha256 or a unique prefix), and two ranges
of time, because an auditor asks two questions:

* ``since`` / ``until`` — **when it was decided** (``created_at``; from ``since`` inclusive to
  ``until`` exclusive): what did the service answer during the incident?
* ``as_of_from`` / ``as_of_to`` — **the day it is about** (the request's ``as_of``, both ends
  inclusive): which decisions were about June, whenever they were made (a batch re-run, an
  assessment keyed in late)?

Pages are newest first by ``created_at`` (then decision id), whatever the filters.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from api.adapters.db.records import DecisionRecord
from api.adapters.db.repository import DecisionQuery
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.errors import AmbiguousVersionRef, DecisionNotFound, RefusedField, VersionNotFound
from api.service.jsontext import dumps, iso, utc
from api.service.pagination import Page, decode_cursor, encode_cursor
from api.service.versions import get_version

__all__ = ["get_decision", "query_log", "summary_of"]

_DECISION_ID = re.compile(r"[^\x00-\x1f\x7f]{1,64}")  # what the log's ids can be (uuid4 for the service's own)


def summary_of(record: DecisionRecord) -> dict[str, Any]:
    """A logged decision in brief: who decided what, about which day and order, when, under which version."""
    return {
        "decision_id": record.decision_id,
        "kind": record.kind,
        "request_id": record.request_id,
        "customer_id": record.customer_id,
        "order_id": record.order_id,
        "as_of": record.as_of.isoformat() if record.as_of is not None else None,
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


def _version_sha256(uow: AbstractUnitOfWork, ref: str) -> str:
    try:
        return get_version(uow, ref).sha256
    except VersionNotFound as error:
        raise RefusedField(error.message, code="unknown_policy_version", parameter="policy_version") from None
    except AmbiguousVersionRef as error:
        raise RefusedField(error.message, code="ambiguous_policy_version", parameter="policy_version") from None


def _check_range(start: Any, end: Any, names: tuple[str, str], *, inclusive: bool) -> None:
    if start is None or end is None or (start <= end if inclusive else start < end):
        return
    order = "on or after" if inclusive else "after"
    message = f"{names[1]} ({end}) must fall {order} {names[0]} ({start})"
    raise RefusedField(message, code="inverted_range", parameter=names[1])


def query_log(
    uow: AbstractUnitOfWork,
    *,
    customer_id: str | None = None,
    order_id: str | None = None,
    request_id: str | None = None,
    kind: str | None = None,
    outcome: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    as_of_from: dt.date | None = None,
    as_of_to: dt.date | None = None,
    policy_version: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[dict[str, Any]]:
    """Logged decisions matching every filter given (see the module doc), newest first, ``limit`` at a time.

    A version naming none or several stored versions, or a range ending before it starts, is refused
    (:class:`RefusedField`, naming the parameter); so is a cursor this service did not hand out.
    """
    since, until = utc(since), utc(until)
    _check_range(since, until, ("since", "until"), inclusive=False)
    _check_range(as_of_from, as_of_to, ("as_of_from", "as_of_to"), inclusive=True)
    query = DecisionQuery(
        customer_id=customer_id,
        order_id=order_id,
        request_id=request_id,
        kind=kind,
        outcome=outcome,
        since=since,
        until=until,
        as_of_from=as_of_from,
        as_of_to=as_of_to,
        policy_sha256=_version_sha256(uow, policy_version) if policy_version else None,
        limit=limit + 1,  # one more tells whether there is a next page
        after=decode_cursor(cursor, _DECISION_ID) if cursor else None,
    )
    found = uow.decisions.query(query)
    page = found[:limit]
    next_cursor = encode_cursor(page[-1].created_at, page[-1].decision_id) if len(found) > limit else None
    return Page([summary_of(r) for r in page], next_cursor)

"""Idempotent decisions: a ``request_id`` seen before answers with what was stored, byte for byte.

The same id with the same body (sha256 of its canonical JSON) returns the stored response and
writes nothing, whatever changed since (the version retired, say); with another body, or for
another kind of decision, it is ``request_id_reused`` (409). Concurrent requests with one id are
settled by the unique key on ``request_id``: the second insert fails, its transaction rolls back,
and it answers from the row the first one stored.
"""

from __future__ import annotations

from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.errors import RequestIdReused
from api.service.decisions.response import DecisionResponse, response_of
from api.service.jsontext import iso

__all__ = ["stored_answer"]


def stored_answer(
    uow: AbstractUnitOfWork, kind: str, request_id: str | None, digest: str, explain: bool
) -> DecisionResponse | None:
    """The stored response of an earlier request with this id and body; 409 for another body."""
    if request_id is None:
        return None
    stored = uow.decisions.get_by_request_id(request_id)
    if stored is None:
        return None
    if stored.request_hash != digest or stored.kind != kind:
        raise RequestIdReused(
            f"request_id {request_id!r} was used at {iso(stored.created_at)} for another "
            f"{'request' if stored.kind == kind else stored.kind + ' decision'}; use a new request_id"
        )
    return response_of(stored, explain=explain, replayed=True)

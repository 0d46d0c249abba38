"""Order batches: up to :data:`MAX_BATCH` orders decided in one call and one transaction.

Each order is decided and logged exactly as a single order decision is (the same evaluation, the
same hook, the same log row); a refused order gets its error in place and the others are still
decided. Orders without their own ``request_id`` get ``<batch request_id>/<index>`` when the
batch has one, so a repeated batch replays order by order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.errors import DuplicateRecord, ServiceError
from api.service.decisions.decide import evaluate, store_decision
from api.service.decisions.envelope import read_envelope
from api.service.decisions.idempotency import stored_answer
from api.service.decisions.response import DecisionResponse
from api.service.keys import Caller
from api.service.registry import PolicyRegistry
from engine.errors import EngineError, InputInvalid

__all__ = ["MAX_BATCH", "BatchItemResult", "BatchResponse", "decide_batch"]

MAX_BATCH = 1000
_ATTEMPTS = 3


@dataclass(frozen=True)
class BatchItemResult:
    """One order of a batch: its decision, or the error that refused it (rendered by the entrypoint)."""

    index: int
    response: DecisionResponse | None = None
    error: EngineError | ServiceError | None = None

    @property
    def pointer(self) -> str:
        """Where the order is in the batch body: error pointers are relative to it."""
        return f"/orders/{self.index}"


@dataclass(frozen=True)
class BatchResponse:
    """Every order's result, in the order given."""

    request_id: str | None
    items: list[BatchItemResult]

    @property
    def decided(self) -> int:
        return sum(1 for i in self.items if i.response is not None)

    @property
    def events(self) -> bool:
        """Webhook events were queued (a case opened): deliver them after the commit."""
        return any(item.response is not None and item.response.events for item in self.items)


def decide_batch(
    uow: AbstractUnitOfWork,
    registry: PolicyRegistry,
    caller: Caller,
    orders: Sequence[Any],
    *,
    request_id: str | None = None,
    explain: bool = False,
) -> BatchResponse:
    """Decide every order in one transaction, committed; each is logged like a single decision."""
    if len(orders) > MAX_BATCH:
        raise InputInvalid([{"pointer": "/orders", "message": f"at most {MAX_BATCH} orders", "code": "too_long"}])
    for attempt in range(_ATTEMPTS):
        try:
            items = [
                _decide_item(uow, registry, caller, index, body, request_id, explain)
                for index, body in enumerate(orders)
            ]
            uow.commit()
        except DuplicateRecord:
            uow.rollback()  # a concurrent writer took a key: start again from what it stored
            if attempt == _ATTEMPTS - 1:
                raise
            continue
        return BatchResponse(request_id, items)
    raise AssertionError("unreachable")  # pragma: no cover


def _decide_item(
    uow: AbstractUnitOfWork,
    registry: PolicyRegistry,
    caller: Caller,
    index: int,
    body: Any,
    batch_request_id: str | None,
    explain: bool,
) -> BatchItemResult:
    try:
        envelope = read_envelope(body)
        item_id = envelope.request_id or (f"{batch_request_id}/{index}" if batch_request_id else None)
        replayed = stored_answer(uow, "order", item_id, envelope.digest, explain)
        if replayed is not None:
            return BatchItemResult(index, response=replayed)
        prepared = evaluate(uow, registry, caller, "order", envelope, item_id, explain)
        return BatchItemResult(index, response=store_decision(uow, prepared))
    except DuplicateRecord:
        raise
    except (EngineError, ServiceError) as error:
        return BatchItemResult(index, error=error)

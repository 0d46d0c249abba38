"""The one entry point for decisions: parse the input, evaluate, return the result and its trace.

A decision is a pure function of (compiled policy, input): nothing survives between calls, so
the same policy version and the same input give byte-identical output.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from decimal import DecimalException
from typing import Any

from pydantic import BaseModel, ValidationError

from engine.decisions.assess import assess_credit
from engine.decisions.collection import plan_collection
from engine.decisions.order import check_order
from engine.decisions.settlement import settle_invoice
from engine.errors import EngineError, InputError
from engine.ir import CompiledPolicy
from engine.models import (
    AssessRequest,
    CollectionRequest,
    DecisionKind,
    OrderRequest,
    SettlementRequest,
)
from engine.trace import Trace

__all__ = ["DECISION_KINDS", "Decision", "InvalidRequest", "canonical_json", "decide", "json_pointer", "parse_request"]

REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "assess": AssessRequest,
    "order": OrderRequest,
    "settlement": SettlementRequest,
    "collection": CollectionRequest,
}
_EVALUATORS: dict[str, Callable[[CompiledPolicy, Any, Trace], BaseModel]] = {
    "assess": assess_credit,
    "order": check_order,
    "settlement": settle_invoice,
    "collection": plan_collection,
}
DECISION_KINDS: tuple[str, ...] = tuple(REQUEST_MODELS)


class InvalidRequest(EngineError):
    """A decision input that does not fit its model; ``errors`` names each bad field."""

    code = "invalid_request"

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e['pointer'] or '/'}: {e['message']}" for e in errors))


def json_pointer(parts: Iterable[int | str]) -> str:
    """RFC 6901 pointer to a place in a JSON document: ``("order", "amount")`` → ``/order/amount``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def parse_request(kind: str, payload: Mapping[str, Any] | BaseModel) -> BaseModel:
    """Validate a JSON-like payload into the request model of ``kind``."""
    model = REQUEST_MODELS.get(kind)
    if model is None:
        raise InputError(
            f"unknown decision kind {kind!r} (one of {', '.join(DECISION_KINDS)})",
            field="kind",
            code="unknown_decision_kind",
        )
    if isinstance(payload, model):
        return payload
    if isinstance(payload, BaseModel):
        payload = payload.model_dump()
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        errors = [
            {
                "pointer": json_pointer(e["loc"]),
                "message": e["msg"],
                "code": e["type"],
            }
            for e in exc.errors(include_url=False)
        ]
        raise InvalidRequest(errors) from None


class Decision:
    """A decision's result (the output model) and its trace, rendered when first read."""

    __slots__ = ("_trace", "_tracer", "kind", "result")

    def __init__(self, kind: DecisionKind, result: BaseModel, tracer: Trace) -> None:
        self.kind = kind
        self.result = result
        self._tracer = tracer
        self._trace: dict[str, Any] | None = None

    @property
    def trace(self) -> dict[str, Any]:
        # Rendering the trace costs about as much as the decision; callers that never read it
        # (batch simulations, benchmarks) should not pay for it.
        if self._trace is None:
            self._trace = self._tracer.to_dict()
        return self._trace

    def output(self) -> dict[str, Any]:
        return self.result.model_dump(mode="json")


def decide(compiled: CompiledPolicy, kind: str, payload: Mapping[str, Any] | BaseModel) -> Decision:
    """Evaluate one decision of ``kind`` under ``compiled``."""
    request = parse_request(kind, payload)
    trace = Trace(compiled, kind)
    try:
        result = _EVALUATORS[kind](compiled, request, trace)
    except DecimalException as exc:  # amounts so extreme that exact arithmetic overflows
        raise InputError(
            f"a value is out of range ({type(exc).__name__})", field="/", code="value_out_of_range"
        ) from None
    trace.set_later("input", lambda: request.model_dump(mode="json"), ready=True)
    return Decision(kind, result, trace)  # type: ignore[arg-type]


def canonical_json(data: Any) -> str:
    """The byte-stable JSON text of a decision output or trace."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

"""The one entry point for decisions: parse the input, evaluate, return the result and its trace.

A decision is a pure function of (compiled policy, input): nothing survives between calls, so
the same policy version and the same input give byte-identical output. What differs between the
kinds is declared once, in :data:`engine.decisions.KINDS`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from decimal import DecimalException
from typing import Any, Generic, overload

from pydantic import BaseModel, ValidationError

from engine.decisions import KINDS, DecisionKind
from engine.decisions.kind import RequestT, ResultT
from engine.errors import InputError, InputInvalid
from engine.ir import CompiledPolicy
from engine.trace import Trace

__all__ = ["DECISION_KINDS", "Decision", "canonical_json", "decide", "json_pointer", "kind_named", "parse_request"]

DECISION_KINDS: tuple[str, ...] = tuple(KINDS)


def json_pointer(parts: Iterable[int | str]) -> str:
    """RFC 6901 pointer to a place in a JSON document: ``("order", "amount")`` → ``/order/amount``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def kind_named(name: str) -> DecisionKind[Any, Any]:
    """The decision kind called ``name``; an unknown name is an input error naming the known ones."""
    kind = KINDS.get(name)
    if kind is None:
        raise InputError(
            f"unknown decision kind {name!r} (one of {', '.join(DECISION_KINDS)})",
            field="kind",
            code="unknown_decision_kind",
        )
    return kind


@overload
def parse_request(kind: DecisionKind[RequestT, Any], payload: Mapping[str, Any] | BaseModel) -> RequestT: ...
@overload
def parse_request(kind: str, payload: Mapping[str, Any] | BaseModel) -> BaseModel: ...
def parse_request(kind: str | DecisionKind[Any, Any], payload: Mapping[str, Any] | BaseModel) -> BaseModel:
    """Validate a JSON-like payload into the request model of ``kind``; every bad field at once."""
    model: type[BaseModel] = (kind_named(kind) if isinstance(kind, str) else kind).request
    if isinstance(payload, model):
        return payload
    if isinstance(payload, BaseModel):
        payload = payload.model_dump()
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        errors = [
            {"pointer": json_pointer(e["loc"]), "message": e["msg"], "code": e["type"]}
            for e in exc.errors(include_url=False)
        ]
        raise InputInvalid(errors) from None


class Decision(Generic[RequestT, ResultT]):
    """A decision's request, result (the output model) and trace, rendered when first read."""

    __slots__ = ("_trace", "_tracer", "kind", "request", "result")

    def __init__(
        self, kind: DecisionKind[RequestT, ResultT], request: RequestT, result: ResultT, tracer: Trace
    ) -> None:
        self.kind = kind
        self.request = request
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

    @property
    def outcome(self) -> str:
        """The headline: the order outcome, the grade, the settlement status or the next step."""
        return self.kind.outcome(self.result)

    def output(self) -> dict[str, Any]:
        return self.result.model_dump(mode="json")


def decide(
    compiled: CompiledPolicy, kind: str | DecisionKind[Any, Any], payload: Mapping[str, Any] | BaseModel
) -> Decision[Any, Any]:
    """Evaluate one decision of ``kind`` under ``compiled``."""
    handler = kind_named(kind) if isinstance(kind, str) else kind
    request = parse_request(handler, payload)
    trace = Trace(compiled, handler.name)
    try:
        result = handler.evaluate(compiled, request, trace)
    except DecimalException as exc:  # amounts so extreme that exact arithmetic overflows
        raise InputError(
            f"a value is out of range ({type(exc).__name__})", field="/", code="value_out_of_range"
        ) from None
    trace.set_later("input", lambda: request.model_dump(mode="json"), ready=True)
    return Decision(handler, request, result, trace)


def canonical_json(data: Any) -> str:
    """The byte-stable JSON text of a decision output or trace."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

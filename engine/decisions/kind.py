"""What every decision kind declares once: its request and result models, its evaluator, its headline.

The engine's one handler per kind (GoRules ZEN's shape): :data:`engine.decisions.KINDS` maps each
kind's name to its :class:`DecisionKind`, and everything that treats kinds alike — parsing a
request, deciding, the headline outcome a log is filtered by, the customer and order a decision is about —
reads it there instead of switching on the name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel

from engine.ir import CompiledPolicy
from engine.trace import Trace

__all__ = ["DecisionKind", "RequestT", "ResultT"]

RequestT = TypeVar("RequestT", bound=BaseModel)
ResultT = TypeVar("ResultT", bound=BaseModel)


@dataclass(frozen=True)
class DecisionKind(Generic[RequestT, ResultT]):
    """One kind of decision, as the engine knows it."""

    name: str
    request: type[RequestT]
    result: type[ResultT]
    evaluate: Callable[[CompiledPolicy, RequestT, Trace], ResultT]
    outcome: Callable[[ResultT], str]  # the headline: order outcome, grade, settlement status, next step
    as_of: Callable[[RequestT], dt.date]  # the day the decision is about: it chooses the version in force
    customer_id: Callable[[RequestT], str | None]  # whom the decision is about, when anyone
    order_id: Callable[[RequestT], str | None]  # the order the decision is about, when one (the log is searched by it)

"""VectorisedPolicy: one compiled policy, every decision kind, whole frames at a time."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from engine.ir import CompiledPolicy
from engine.vectorised.assess import Allocation, AssessEvaluator
from engine.vectorised.collection import CollectionEvaluator
from engine.vectorised.frames import FrameError
from engine.vectorised.order import OrderEvaluator
from engine.vectorised.outputs import OutputBuilder
from engine.vectorised.settlement import SettlementEvaluator

__all__ = ["VectorisedPolicy"]


class VectorisedPolicy:
    """A compiled policy as Polars expressions: build once, evaluate many frames.

    Every row of a result equals, on every output field, what ``engine.decide.decide`` gives for
    that row's request (``engine.vectorised.frames.requests_of``) under the same compiled policy,
    durable-rules or its plain-Python twin alike; a row ``decide`` would refuse carries the same
    error code in the ``error`` column instead.
    """

    def __init__(self, compiled: CompiledPolicy) -> None:
        self.compiled = compiled
        self._assess = AssessEvaluator(compiled)
        self._order = OrderEvaluator(compiled)
        self._collection = CollectionEvaluator(compiled)
        self._settlement = SettlementEvaluator(compiled)
        self._outputs = OutputBuilder(compiled)

    def __repr__(self) -> str:
        return f"VectorisedPolicy({self.compiled!r})"

    def assess(self, customers: pl.DataFrame, *, as_of: dt.date, allocation: Allocation = "rows") -> pl.DataFrame:
        """Assess every customer as of ``as_of``; ``allocation`` says how the portfolio total is shared.

        ``"rows"``: each row's ``portfolio.allocated`` (0 when absent) as its request gives it.
        ``"portfolio"``: shared out best grade first, then higher score, then customer id; the
        result then holds each customer's ``portfolio.allocated`` and ``allocation.position``.
        """
        return self._assess.evaluate(customers, as_of=as_of, allocation=allocation)

    def check_orders(self, orders: pl.DataFrame) -> pl.DataFrame:
        """Check every order against the order rules (one row per order)."""
        return self._order.evaluate(orders)

    def plan_collection(self, arrears: pl.DataFrame) -> pl.DataFrame:
        """Plan the next collection step and the auxiliary measures of every arrears item."""
        return self._collection.evaluate(arrears)

    def settle(self, invoices: pl.DataFrame) -> pl.DataFrame:
        """Settle every invoice (each with no payment or one)."""
        return self._settlement.evaluate(invoices)

    def outputs(self, kind: str, frame: pl.DataFrame, *, shared: bool = False) -> list[dict[str, Any]]:
        """The decision output of each row of a result frame, exactly ``Decision.output()``.

        ``kind`` is the decision kind of ``engine.decide`` (assess, order, collection,
        settlement); a refused row gives ``{"error": {"code", "message"}}``. With ``shared`` the
        parts that depend on the policy only (terms, reasons, the policy reference) are the same
        objects in every output: faster, for callers that only read the outputs.
        """
        if kind not in ("assess", "order", "collection", "settlement"):
            raise FrameError(f"unknown decision kind {kind!r} (assess, order, collection, settlement)")
        if "error" not in frame.columns:
            raise FrameError("not a result frame of the vectorised evaluator (no error column)")
        return list(self._outputs.rows(kind, frame, shared=shared))

"""check_order for a whole orders frame: every order rule on every order at once.

Each row gets what ``engine.decisions.order.check_order`` gives for its request (grade and limit
given, as the orders frame holds them): the fact (exposure total, credit available before and
after the order, utilisation after it as an exact ratio), the order rules with the full
condition language (``engine.vectorised.conditions``), ``most_severe`` or ``first_match``, the
default rule when none holds, and the same refusals in the same order: an invalid request, an
order in another currency, an unknown grade, a computed value out of range.

The outcome and the reasons are a function of which rules hold, so they are built once per
distinct combination of rules (``engine.vectorised.lists``), not once per order.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

import polars as pl

from engine.decisions.order import SEVERITY
from engine.ir import CompiledPolicy
from engine.matchers import PythonMatcher
from engine.vectorised.conditions import (
    ComputedPlan,
    NumberField,
    PythonComputed,
    RatioField,
    condition_expr,
    evaluate_python_computed,
    out_of_rules_engine_range,
    plan_computed,
)
from engine.vectorised.fixedpoint import FACT_SCALE, I128, from_cents
from engine.vectorised.frames import FrameError, complete, normalise, row_problem, value
from engine.vectorised.lists import bit_words, list_by_key, set_bits

__all__ = ["DEFAULT_RULE", "OrderEvaluator", "RESULT_COLUMNS"]

DEFAULT_RULE: Final = "order_rules.default"
RESULT_COLUMNS: Final = (
    "error",
    "error_message",
    "outcome",
    "reasons",
    "eligible",
    "exposure_total",
    "available_before",
    "available_after",
)
_MONEY: Final = (
    "customer.limit",
    "order.amount",
    "exposure.open_receivables",
    "exposure.open_orders",
    "exposure.overdue_amount",
)
_BOUND: Final = Decimal(10) ** 14
_CENTS_BOUND: Final = 10**16
_DECISION: Final = pl.Struct({"outcome": pl.String, "reasons": pl.List(pl.String)})


def _cents(path: str) -> pl.Expr:
    return pl.col(f"__c:{path}")


class OrderEvaluator:
    """The order decision of one compiled policy as Polars expressions, built once."""

    def __init__(self, compiled: CompiledPolicy) -> None:
        self.compiled = compiled
        self.durable = not isinstance(compiled.rulesets.order, PythonMatcher)
        table = compiled.tables["order"]
        self.rules = table.rules
        self.fields = self._fields()
        self.plans: dict[str, ComputedPlan] = plan_computed(table.computed, self.fields)
        minimum = compiled.standards.min_grade
        ranks = {g.grade: g.rank for g in compiled.grades}
        self.granting = [g for g, r in ranks.items() if minimum is None or r <= ranks[minimum]]
        self.hits = [condition_expr(rule.condition, self.fields, self.plans) for rule in self.rules]
        self.fact_columns = self._fact_columns()

    def _fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            path: pl.col(f"__t:{path}") for path in ("customer.id", "customer.segment", "customer.grade", "order.id")
        }
        fields["customer.blacklisted"] = pl.col("__blacklisted")
        fields["customer.eligible"] = pl.col("__eligible")
        for path in _MONEY:
            fields[path] = NumberField(_cents(path) * 100, _BOUND)
        fields["exposure.oldest_overdue_days"] = NumberField(pl.col("__u:oldest"), Decimal(36_500))
        fields["exposure.total"] = NumberField(_cents("exposure.total") * 100, 2 * _BOUND)
        fields["credit.available"] = NumberField(_cents("credit.available") * 100, 2 * _BOUND)
        fields["credit.available_after"] = NumberField(_cents("credit.available_after") * 100, 3 * _BOUND)
        fields["credit.utilisation_after"] = RatioField(
            pl.col("__n:utilisation"), pl.col("__d:utilisation"), 3 * _CENTS_BOUND, _CENTS_BOUND
        )
        return fields

    def _fact_columns(self) -> list[list[pl.Expr]]:
        """The fact of ``check_order`` as columns, in rounds: refusals, inputs, sums, what is left."""
        compiled = self.compiled
        valid = pl.col("__problem").is_null()
        currency = value("order", "order.currency")
        grade = value("order", "customer.grade")
        refused = (
            pl.when(~valid)
            .then(pl.lit("invalid_request"))
            .when(currency != compiled.meta.currency)
            .then(pl.lit("currency_mismatch"))
            .when(~grade.is_in(list(compiled.limits)))
            .then(pl.lit("unknown_grade"))
            .otherwise(pl.lit(None, dtype=pl.String))
        )
        usable = pl.col("__refused").is_null()
        flagged = value("order", "customer.blacklisted")
        blacklisted = flagged | value("order", "customer.id").is_in(sorted(compiled.standards.blacklist))
        inputs = [
            pl.when(usable).then(value("order", path)).alias(f"__t:{path}")
            for path in ("customer.id", "customer.segment", "customer.grade", "order.id")
        ]
        inputs += [pl.when(usable).then(value("order", p).to_physical()).alias(f"__c:{p}") for p in _MONEY]
        days = value("order", "exposure.oldest_overdue_days")
        inputs += [
            pl.when(usable).then(days.cast(I128) * 10**FACT_SCALE).alias("__u:oldest"),
            pl.when(usable).then(blacklisted).alias("__blacklisted"),
            pl.when(usable).then(~blacklisted & grade.is_in(self.granting)).alias("__eligible"),
        ]
        total = _cents("exposure.open_receivables") + _cents("exposure.open_orders")
        limit = _cents("customer.limit")
        sums = [total.alias("__c:exposure.total"), (limit - total).alias("__c:credit.available")]
        used_after = _cents("exposure.total") + _cents("order.amount")
        left = [
            (_cents("credit.available") - _cents("order.amount")).alias("__c:credit.available_after"),
            pl.when(limit != 0).then(used_after).alias("__n:utilisation"),
            pl.when(limit != 0).then(limit).alias("__d:utilisation"),
        ]
        return [[row_problem("order").alias("__problem")], [refused.alias("__refused")], inputs, sums, left]

    def _facts(self, frame: pl.DataFrame) -> pl.DataFrame:
        work = complete("order", frame)
        for columns in self.fact_columns:
            work = work.with_columns(columns)
        return work

    def _decision_of(self, key: tuple[Any, ...]) -> dict[str, Any]:
        """Outcome and reasons of one combination of rules that hold (the order decision's own logic)."""
        spec = self.compiled.order_rules
        held = [self.rules[i].id for i in set_bits(key)]
        if spec.combine == "first_match":
            held = held[:1]
        if not held:
            return {"outcome": spec.default_outcome, "reasons": [DEFAULT_RULE]}
        outcome = max((spec.by_id[rid].outcome for rid in held), key=SEVERITY.__getitem__)
        return {"outcome": outcome, "reasons": held}

    def evaluate(self, orders: pl.DataFrame) -> pl.DataFrame:
        """One result row per order, appended to the orders' own columns."""
        frame = normalise("order", orders)
        clashes = [c for c in frame.columns if c in RESULT_COLUMNS or c.startswith("__")]
        if clashes:
            raise FrameError(f"the orders frame has columns the result uses: {', '.join(clashes)}")
        work = self._facts(frame)
        usable = pl.col("__refused").is_null()
        python_plans = [p for p in self.plans.values() if isinstance(p, PythonComputed)]
        work = evaluate_python_computed(python_plans, self.fields, work, usable)
        errors = [pl.col(p.error_column) for p in python_plans]
        out_of_range = pl.any_horizontal(errors) if errors else pl.lit(False)
        if self.durable:
            out_of_range = out_of_range | out_of_rules_engine_range(self.rules, self.fields, self.plans)
        work = work.with_columns(
            pl.when(usable & out_of_range)
            .then(pl.lit("value_out_of_range"))
            .otherwise(pl.col("__refused"))
            .alias("error")
        )
        decided = pl.col("error").is_null()
        work = list_by_key(
            work, bit_words([decided & hit for hit in self.hits]), self._decision_of, _DECISION, "__decision"
        )
        message = (
            pl.when(pl.col("error") == "invalid_request")
            .then(pl.col("__problem"))
            .when(pl.col("error") == "currency_mismatch")
            .then(pl.lit(f"the policy decides in {self.compiled.meta.currency}"))
            .when(pl.col("error") == "unknown_grade")
            .then(pl.lit("unknown grade"))
            .when(pl.col("error") == "value_out_of_range")
            .then(pl.lit("a value is out of range"))
            .otherwise(pl.lit(None, dtype=pl.String))
        )
        results = work.select(
            pl.col("error"),
            message.alias("error_message"),
            pl.when(decided).then(pl.col("__decision").struct.field("outcome")).alias("outcome"),
            pl.when(decided).then(pl.col("__decision").struct.field("reasons")).alias("reasons"),
            pl.when(decided).then(pl.col("__eligible")).alias("eligible"),
            pl.when(decided).then(from_cents(_cents("exposure.total"))).alias("exposure_total"),
            pl.when(decided).then(from_cents(_cents("credit.available"))).alias("available_before"),
            pl.when(decided).then(from_cents(_cents("credit.available_after"))).alias("available_after"),
        )
        return pl.concat([frame, results], how="horizontal")

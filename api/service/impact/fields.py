"""What an impact run keeps of each decision, per kind: the fields compared and summed, from either evaluator.

A decision evaluated on the vectorised path gives its fields from the result frame (Polars
expressions, no row-by-row work); one evaluated per decision (an input the frames cannot hold)
gives the same fields from its output. Both land in one table per kind, of the schema
:data:`SCHEMAS`, one row per decision and version (``a_…`` under the version that decided it,
``b_…`` under the candidate).

**Compared** (:data:`COMPARED`): a decision *changes* when any of these fields differs; the
headline (``outcome``) is the engine's: the order outcome, the grade, the settlement status, the
next collection step (``none``). A refused input has the headline ``refused`` and its error code.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final

import polars as pl

__all__ = ["COMPARED", "KEPT", "REFUSED", "SCHEMAS", "empty_fields", "fields_of_frame", "fields_of_output"]

REFUSED: Final = "refused"
MONEY: Final = pl.Decimal(38, 2)
FINE: Final = pl.Decimal(38, 6)  # scores and rates: exact at any scale the evaluators give them
NAMES: Final = pl.List(pl.String())

# The fields of each kind besides the headline, with their types; what identifies the decision.
KEPT: Mapping[str, Mapping[str, pl.DataType]] = MappingProxyType(
    {
        "order": {
            "reasons": NAMES,
        },
        "assess": {
            "grade": pl.String(),
            "eligible": pl.Boolean(),
            "credit_limit": MONEY,
            "score": FINE,
            "reasons": NAMES,
            "review_interval_days": pl.Int64(),
        },
        "settlement": {
            "discount_rate": FINE,
            "discount_amount": MONEY,
            "amount_due": MONEY,
            "total_due": MONEY,
            "penalty_interest_due": MONEY,
        },
        "collection": {
            "current_step": pl.String(),
            "paused": pl.Boolean(),
            "actions_due_now": NAMES,
        },
    }
)
COMPARED: Mapping[str, tuple[str, ...]] = MappingProxyType({k: ("outcome", *v) for k, v in KEPT.items()})
# What a decision is about (the same under both versions: read from its input).
_SUBJECT: Final[dict[str, pl.DataType]] = {
    "decision_id": pl.String(),
    "as_of": pl.Date(),
    "created_at": pl.Datetime("us", "UTC"),
    "customer_id": pl.String(),
    "reference": pl.String(),  # the order id, the invoice id; null for the others
    "amount": MONEY,  # the order, invoice or arrears amount
    "currency": pl.String(),
}


def _side(kind: str, prefix: str) -> dict[str, pl.DataType]:
    return {f"{prefix}outcome": pl.String(), f"{prefix}error": pl.String()} | {
        f"{prefix}{name}": dtype for name, dtype in KEPT[kind].items()
    }


SCHEMAS: Mapping[str, Mapping[str, pl.DataType]] = MappingProxyType(
    {kind: {**_SUBJECT, **_side(kind, "a_"), **_side(kind, "b_")} for kind in KEPT}
)


def empty_fields(kind: str) -> pl.DataFrame:
    """A table of ``kind`` without rows."""
    return pl.DataFrame(schema=dict(SCHEMAS[kind]))


# --- from a result frame of the vectorised evaluator -----------------------------------------
def _subject_exprs(kind: str) -> list[pl.Expr]:
    """The subject's fields from a request frame's columns (the result frame keeps them)."""
    if kind == "order":
        exprs = [pl.col("customer.id"), pl.col("order.id"), pl.col("order.amount"), pl.col("order.currency")]
    elif kind == "assess":
        exprs = [pl.col("id"), pl.lit(None, pl.String()), pl.lit(None, MONEY), pl.lit(None, pl.String())]
    elif kind == "settlement":
        exprs = [pl.lit(None, pl.String()), pl.col("invoice.id"), pl.col("invoice.amount"), pl.col("invoice.currency")]
    else:
        exprs = [pl.col("customer.id"), pl.lit(None, pl.String()), pl.col("arrears.amount"), pl.lit(None, pl.String())]
    names = ("customer_id", "reference", "amount", "currency")
    return [e.cast(_SUBJECT[n]).alias(n) for e, n in zip(exprs, names, strict=True)]


def _outcome_expr(kind: str) -> pl.Expr:
    if kind == "assess":
        return pl.col("grade")
    if kind == "settlement":
        return pl.col("status")
    if kind == "collection":
        return pl.col("next_step.step").fill_null("none")
    return pl.col("outcome")


def _side_exprs(kind: str, prefix: str) -> list[pl.Expr]:
    refused = pl.col("error").is_not_null()
    exprs = [
        pl.when(refused).then(pl.lit(REFUSED)).otherwise(_outcome_expr(kind)).alias(f"{prefix}outcome"),
        pl.col("error").cast(pl.String()).alias(f"{prefix}error"),
    ]
    for name, dtype in KEPT[kind].items():
        exprs.append(pl.when(refused).then(None).otherwise(pl.col(name).cast(dtype)).alias(f"{prefix}{name}"))
    return exprs


def fields_of_frame(kind: str, logged: pl.DataFrame, result_a: pl.DataFrame, result_b: pl.DataFrame) -> pl.DataFrame:
    """The fields of every row: ``logged`` holds each row's ``decision_id``, ``__as_of`` and ``__created_at``."""
    subject = logged.select(
        pl.col("decision_id"), pl.col("__as_of").alias("as_of"), pl.col("__created_at").alias("created_at")
    )
    return pl.concat(
        [
            subject,
            result_a.select(_subject_exprs(kind)),
            result_a.select(_side_exprs(kind, "a_")),
            result_b.select(_side_exprs(kind, "b_")),
        ],
        how="horizontal",
    ).select(list(SCHEMAS[kind]))


# --- from one decision's output --------------------------------------------------------------
def _outcome_of(kind: str, output: Mapping[str, Any]) -> str:
    if kind == "assess":
        return str(output["grade"])
    if kind == "settlement":
        return str(output["status"])
    if kind == "collection":
        step = output.get("next_step")
        return "none" if step is None else str(step["step"])
    return str(output["outcome"])


def _value(name: str, output: Mapping[str, Any]) -> Any:
    if name == "reasons":
        return [reason["rule"] for reason in output.get("reasons") or []]
    found = output.get(name)
    return Decimal(found) if isinstance(found, str) and name not in ("grade", "current_step") else found


def _side_values(kind: str, prefix: str, output: Mapping[str, Any]) -> dict[str, Any]:
    error = output.get("error")
    if error is not None:
        values: dict[str, Any] = {f"{prefix}outcome": REFUSED, f"{prefix}error": error["code"]}
        return values | {f"{prefix}{name}": None for name in KEPT[kind]}
    values = {f"{prefix}outcome": _outcome_of(kind, output), f"{prefix}error": None}
    return values | {f"{prefix}{name}": _value(name, output) for name in KEPT[kind]}


def _subject_values(kind: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    def money(found: Any) -> Decimal | None:
        return None if found is None else Decimal(str(found))

    if kind == "order":
        order = payload.get("order") or {}
        return {
            "customer_id": (payload.get("customer") or {}).get("id"),
            "reference": order.get("id"),
            "amount": money(order.get("amount")),
            "currency": order.get("currency"),
        }
    if kind == "assess":
        customer = payload.get("customer") or {}
        return {"customer_id": customer.get("id"), "reference": None, "amount": None, "currency": None}
    if kind == "settlement":
        invoice = payload.get("invoice") or {}
        return {
            "customer_id": None,
            "reference": invoice.get("id"),
            "amount": money(invoice.get("amount")),
            "currency": invoice.get("currency"),
        }
    arrears = payload.get("arrears") or {}
    customer = payload.get("customer") or {}
    return {
        "customer_id": customer.get("id"),
        "reference": None,
        "amount": money(arrears.get("amount")),
        "currency": None,
    }


def fields_of_output(
    kind: str,
    subject: Mapping[str, Any],
    payload: Mapping[str, Any],
    output_a: Mapping[str, Any],
    output_b: Mapping[str, Any],
) -> dict[str, Any]:
    """The fields of one decision evaluated per decision; ``subject`` holds decision_id, as_of, created_at."""
    return {
        **subject,
        **_subject_values(kind, payload),
        **_side_values(kind, "a_", output_a),
        **_side_values(kind, "b_", output_b),
    }

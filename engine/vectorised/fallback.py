"""The exact fallback: a few values computed row by row with the per-decision engine's own ``Decimal`` code.

Where an Int128 computation cannot be shown exact for a row (a value within a hair of a rounding
boundary after a 28-digit division, a policy number with too many digits, a division written in a
condition), the evaluator asks this module to compute just that value for just those rows, with
the very function the per-decision engine uses. Everything around it stays vectorised.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import polars as pl

__all__ = ["ROW", "patch_rows"]

ROW = "__row"


def patch_rows(
    work: pl.DataFrame,
    rows: pl.Expr,
    inputs: Mapping[str, pl.Expr],
    outputs: Mapping[str, pl.DataType],
    compute: Callable[[Mapping[str, Any]], Sequence[Any]],
) -> pl.DataFrame:
    """Set ``outputs`` on the rows selected by ``rows`` to ``compute(inputs of the row)``.

    Output columns that exist keep their values on the other rows; new ones are null there.
    """
    chosen = work.with_row_index(ROW).filter(rows).select(pl.col(ROW), *(e.alias(n) for n, e in inputs.items()))
    if chosen.height == 0:
        missing = [pl.lit(None, dtype=dtype).alias(name) for name, dtype in outputs.items() if name not in work.columns]
        return work.with_columns(missing) if missing else work
    names = list(outputs)
    values: list[list[Any]] = [[] for _ in names]
    for row in chosen.iter_rows(named=True):
        result = compute(row)
        for column, item in zip(values, result, strict=True):
            column.append(item)
    patch = pl.DataFrame(
        {
            ROW: chosen[ROW],
            "__patched": pl.Series([True] * chosen.height, dtype=pl.Boolean),
            **{f"__patch:{n}": pl.Series(v, dtype=outputs[n]) for n, v in zip(names, values, strict=True)},
        }
    )
    joined = work.with_row_index(ROW).join(patch, on=ROW, how="left", maintain_order="left")
    hit = pl.col("__patched").fill_null(False)
    updates = [
        (
            pl.when(hit).then(pl.col(f"__patch:{n}")).otherwise(pl.col(n))
            if n in work.columns
            else pl.col(f"__patch:{n}")
        ).alias(n)
        for n in names
    ]
    return joined.with_columns(updates).drop(ROW, "__patched", *(f"__patch:{n}" for n in names))

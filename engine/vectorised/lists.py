"""List columns (the reasons of a decision) built once per distinct pattern, not once per row.

Building a list per row with ``concat_list`` costs seconds on a million rows; a portfolio holds
few distinct combinations of rules that hold. So each row gets a small key (the rules that hold,
as bit words, or the reason code of each rule), the lists are built in Python once per distinct
key, and joined back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import polars as pl

__all__ = ["bit_words", "list_by_key", "set_bits"]

_WORD = 64


def bit_words(flags: Sequence[pl.Expr]) -> list[pl.Expr]:
    """The flags packed into UInt64 words (bit j of word i is flag 64·i + j)."""
    words = []
    for start in range(0, len(flags), _WORD):
        bits = [
            pl.when(flag).then(pl.lit(1 << j, dtype=pl.UInt64)).otherwise(pl.lit(0, dtype=pl.UInt64))
            for j, flag in enumerate(flags[start : start + _WORD])
        ]
        words.append(pl.sum_horizontal(bits))
    return words


def set_bits(words: Sequence[int]) -> list[int]:
    """Positions of the set bits of a key built by :func:`bit_words`, in order."""
    return [i * _WORD + j for i, word in enumerate(words) for j in range(_WORD) if word >> j & 1]


def list_by_key(
    work: pl.DataFrame,
    keys: Sequence[pl.Expr],
    build: Callable[[tuple[Any, ...]], Any],
    dtype: pl.DataType,
    name: str,
) -> pl.DataFrame:
    """Add column ``name``: ``build(key)`` for each row's key (computed once per distinct key)."""
    if not keys:
        return work.with_columns(pl.lit(build(()), dtype=dtype).alias(name))
    key_names = [f"__key{i}" for i in range(len(keys))]
    keyed = work.with_columns([k.alias(n) for k, n in zip(keys, key_names, strict=True)])
    distinct = keyed.select(key_names).unique()
    built = pl.Series(name, [build(row) for row in distinct.iter_rows()], dtype=dtype)
    lookup = distinct.with_columns(built)
    joined = keyed.join(lookup, on=key_names, how="left", nulls_equal=True, maintain_order="left")
    return joined.drop(key_names)

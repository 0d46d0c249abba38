"""Keyset pages, newest first: one opaque cursor format for every listing (the decision log, cases).

A cursor is the ``(timestamp, id)`` of the last row of a page, as URL-safe base64 of a JSON pair.
Only what :func:`encode_cursor` wrote is accepted back: the id must match the listing's own id
pattern, so nothing forged (a NUL, which PostgreSQL cannot even compare) reaches the database.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Generic, TypeVar

from api.errors import InvalidCursor

__all__ = ["Page", "decode_cursor", "encode_cursor"]

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page; ``next_cursor`` fetches the next (None on the last page)."""

    items: list[T]
    next_cursor: str | None


def encode_cursor(at: dt.datetime, key: str) -> str:
    raw = json.dumps([at.isoformat(), key]).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, key_pattern: re.Pattern[str]) -> tuple[dt.datetime, str]:
    """The ``(timestamp in UTC, id)`` of a cursor; :class:`InvalidCursor` for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, key = json.loads(raw)
        when = dt.datetime.fromisoformat(at)
        if when.tzinfo is None or not isinstance(key, str) or not key_pattern.fullmatch(key):
            raise ValueError(cursor)
        return when.astimezone(dt.UTC), key
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, OverflowError):
        raise InvalidCursor("the cursor is not one this service returned; start again without it") from None

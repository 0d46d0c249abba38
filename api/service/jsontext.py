"""How the service writes JSON and time: the exact bytes returned, stored and compared."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

__all__ = ["canonical", "dumps", "iso", "utc"]


def dumps(data: Any) -> str:
    """Compact JSON in insertion order: the exact bytes returned and stored."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def canonical(data: Any) -> str:
    """Canonical JSON (sorted keys): what request hashes and replay comparisons are computed on."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def iso(at: dt.datetime) -> str:
    """A timestamp as ISO 8601 in UTC with a ``Z``, as every response writes it."""
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def utc(at: dt.datetime | None) -> dt.datetime | None:
    """In UTC, the zone of every stored timestamp (no offset reads as UTC); clamped at the calendar's ends."""
    if at is None:
        return None
    if at.tzinfo is None:
        return at.replace(tzinfo=dt.UTC)
    try:
        return at.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01T00:00+05:00 is before the first representable instant
        return (dt.datetime.min if at.year == 1 else dt.datetime.max).replace(tzinfo=dt.UTC)

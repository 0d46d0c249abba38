"""How the service reads and writes JSON and time: the exact bytes returned, stored and compared.

JSON numbers with a fraction or an exponent are read as exact ``Decimal`` (never binary floats:
``99999999999999.99`` stays what it says, ``1.000000000000000000000000000001`` is refused for
money exactly as the same text in quotes is), and written back as the same number.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from api.errors import MalformedBody

__all__ = ["canonical", "dumps", "iso", "loads", "utc"]


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


# One decoder for every body (json.loads with options builds a new one per call).
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_no_constant)


def loads(raw: bytes | str) -> Any:
    """A JSON document as the service reads it (numbers with a fraction as Decimal); MalformedBody otherwise."""
    try:
        text = raw if isinstance(raw, str) else raw.decode(json.detect_encoding(raw), "surrogatepass")
        if text.startswith("\ufeff"):
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        return _DECODER.decode(text)
    except json.JSONDecodeError as error:
        raise MalformedBody(f"the body is not valid JSON: {error.msg} at character {error.pos}") from None
    except RecursionError:
        raise MalformedBody("the body is not valid JSON: nested too deeply") from None
    except ValueError as error:  # text that is not UTF-8, or NaN / Infinity
        raise MalformedBody(f"the body is not valid JSON: {error}") from None


def dumps(data: Any) -> str:
    """Compact JSON in insertion order: the exact bytes returned and stored."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def canonical(data: Any) -> str:
    """Canonical JSON (sorted keys): what request hashes and replay comparisons are computed on.

    Decimals (numbers read by :func:`loads`) are written as the numbers they are.
    """
    try:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    except TypeError:  # a Decimal: json writes none, so this document is written here (rare: money comes as text)
        return "".join(_canonical_parts(data))


def _canonical_parts(value: Any) -> Any:
    if isinstance(value, Decimal):
        yield str(value)
    elif isinstance(value, dict):
        yield "{"
        for number, key in enumerate(sorted(value)):
            yield ("," if number else "") + json.dumps(key, ensure_ascii=False) + ":"
            yield from _canonical_parts(value[key])
        yield "}"
    elif isinstance(value, list):
        yield "["
        for number, item in enumerate(value):
            if number:
                yield ","
            yield from _canonical_parts(item)
        yield "]"
    else:
        yield json.dumps(value, ensure_ascii=False)


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

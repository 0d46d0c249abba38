"""Types of query parameters that FastAPI's lax parsing would read too generously.

Left to pydantic's lax mode, a ``date`` query parameter takes a Unix timestamp (``?on=0`` is
1970-01-01) and a ``datetime`` one takes ``0`` or ``1700000000``: a mistyped request then answers
about another day instead of saying what is wrong. These take ISO 8601 only; anything else is a
422 ``invalid_query`` naming the parameter, with the entry's code ``date_format``
(``date_invalid`` for a day the calendar lacks, such as 2026-02-30).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from engine.models import IsoDate

__all__ = ["IsoDate", "IsoDateTime", "iso_datetime"]

# A calendar date, optionally a time (minutes at least; seconds and their fraction optional) and
# an offset (Z, +hh:mm, -hh:mm): RFC 3339, with the time and the offset left to the caller.
_ISO_DATETIME = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?$"
)


def iso_datetime(value: Any) -> Any:
    """An ISO 8601 date-time (``2026-06-30T08:00:00Z``) or date (midnight) as ``datetime``; nothing else."""
    if isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATETIME.match(value):
        message = "must be an ISO 8601 date or date-time, e.g. 2026-06-30 or 2026-06-30T08:00:00Z"
        if isinstance(value, str) and " " in value:
            message += " (a + in a query string reads as a space: send it as %2B)"
        raise PydanticCustomError("date_format", message)
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise PydanticCustomError("date_invalid", "is no moment of the calendar") from None


IsoDateTime = Annotated[dt.datetime, BeforeValidator(iso_datetime)]

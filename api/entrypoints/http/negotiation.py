"""Content negotiation for the routes that answer in several forms (JSON, an HTML page, plain text).

The ``Accept`` header is read as RFC 9110 says: each media range with its quality (``q``), the most
specific range that matches a form giving that form's quality. The form with the highest quality
wins; on a tie, the order the route lists its forms decides (JSON first), so ``*/*`` and a missing
header get JSON. A header that accepts none of the forms gets the first form too: a client that
asks for something else still gets an answer it can read as text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["best_media_type"]


def _ranges(accept: str) -> list[tuple[str, str, float]]:
    """(type, subtype, quality) of each media range; ranges that do not parse are left out."""
    found = []
    for part in accept.split(","):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        if media.count("/") != 1:
            continue
        kind, sub = media.split("/")
        quality = 1.0
        for parameter in pieces[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
                quality = min(max(quality, 0.0), 1.0) if math.isfinite(quality) else 0.0
        found.append((kind, sub, quality))
    return found


def _quality(media_type: str, ranges: list[tuple[str, str, float]]) -> float:
    kind, sub = media_type.split("/")
    best: tuple[int, float] = (-1, 0.0)  # (specificity, quality) of the most specific matching range
    for range_kind, range_sub, quality in ranges:
        if range_kind == kind and range_sub == sub:
            specificity = 2
        elif range_kind == kind and range_sub == "*":
            specificity = 1
        elif range_kind == "*" and range_sub == "*":
            specificity = 0
        else:
            continue
        if specificity > best[0]:
            best = (specificity, quality)
    return best[1]


def best_media_type(accept: str | None, offered: Sequence[str]) -> str:
    """The offered media type the ``Accept`` header prefers (the first offered on a tie or without a header)."""
    if not accept or not accept.strip():
        return offered[0]
    ranges = _ranges(accept)
    if not ranges:
        return offered[0]
    scored = [(_quality(media, ranges), -index, media) for index, media in enumerate(offered)]
    quality, _, media = max(scored)
    return media if quality > 0 else offered[0]

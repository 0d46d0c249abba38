"""Option values the commands share: ISO 8601 days and moments, refused as Typer refuses a bad option."""

from __future__ import annotations

import datetime as dt

import typer

__all__ = ["iso_day", "iso_moment"]


def iso_moment(value: str | None, option: str) -> dt.datetime | None:
    """``value`` as a time (a day alone is its midnight); a usage error naming ``option`` if it is none."""
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is no ISO 8601 time (2026-06-30 or 2026-06-30T08:00:00Z)", param_hint=option
        ) from None


def iso_day(value: str | None, option: str) -> dt.date | None:
    """``value`` as a day; a usage error naming ``option`` if it is none."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is no ISO 8601 date (2026-06-30)", param_hint=option) from None

"""Column types that behave the same on SQLite and PostgreSQL: UTC timestamps and exact money."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["MONEY_SCALE", "ExactDecimal", "Money", "UTCDateTime"]

MONEY_SCALE = Decimal("0.01")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp; naive values are refused, results always come back in UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        # SQLite keeps no offset, so everything is stored as UTC and re-labelled on the way out.
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class ExactDecimal(TypeDecorator[Decimal]):
    """A number with 2 decimals: NUMERIC(20, 2) on PostgreSQL, text on SQLite (whose NUMERIC is a float)."""

    impl = Numeric(20, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(Numeric(20, 2, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal) or not value.is_finite():
            raise ValueError(f"expected a finite Decimal, got {value!r}")
        exact = value.quantize(MONEY_SCALE)
        if exact != value:
            raise ValueError(f"expected at most 2 decimals, got {value}")
        return str(exact) if dialect.name == "sqlite" else exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(MONEY_SCALE)


# Amounts of money; scores share the type because they too are exact with 2 decimals.
Money = ExactDecimal

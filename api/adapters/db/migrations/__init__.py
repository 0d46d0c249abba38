"""Alembic migrations; `creditpolicy db upgrade` and service start apply them."""

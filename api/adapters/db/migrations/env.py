"""Alembic environment: uses the caller's connection when given one, else the configured URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from api.adapters.db.engine import create_db_engine
from api.adapters.db.tables import metadata

config = context.config


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from api.settings import get_settings  # only when run through the `alembic` command

    return get_settings().database_url


def run() -> None:
    """Run the migrations online or, for `alembic upgrade --sql`, print them."""
    if context.is_offline_mode():
        context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    given = config.attributes.get("connection")
    if given is not None:
        _configure(given)
        return
    engine = create_db_engine(_url())
    try:
        with engine.begin() as connection:
            _configure(connection)
    finally:
        engine.dispose()


run()

"""CLI: `creditpolicy db upgrade`, and what the store-backed commands share (the database, refusals)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from rich.console import Console

from api.adapters.db.engine import create_db_engine
from api.adapters.db.migrate import check_database, current_revision, upgrade_database
from api.adapters.db.unit_of_work import UnitOfWork
from api.errors import ServiceError
from api.settings import get_settings

__all__ = ["err", "out", "refuse", "register", "unit_of_work"]

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def refuse(error: ServiceError) -> NoReturn:
    """Print every problem of a refused operation, one per line, and exit 1."""
    for line in error.lines():
        err.print(line, markup=False)
    raise typer.Exit(1)


@contextmanager
def unit_of_work() -> Iterator[UnitOfWork]:
    """A unit of work on the configured database; a missing schema or any ServiceError exits 1 with its lines."""
    settings = get_settings()
    engine = create_db_engine(settings.database_url, echo=settings.database_echo)
    try:
        check_database(engine)
        with UnitOfWork(engine) as uow:
            yield uow
    except ServiceError as error:
        refuse(error)
    finally:
        engine.dispose()


def upgrade_command() -> None:
    """Apply the schema migrations to the configured database (CREDITPOLICY_DATABASE_URL); safe to repeat."""
    engine = create_db_engine(get_settings().database_url)
    try:
        before = current_revision(engine)
        upgrade_database(engine)
        after = current_revision(engine)
    finally:
        engine.dispose()
    out.print(
        f"database at revision {after}" + ("" if before == after else f" (was {before or 'empty'})"), markup=False
    )


def register(app: typer.Typer) -> None:
    db = typer.Typer(help="The database: schema migrations.", no_args_is_help=True)
    db.command("upgrade")(upgrade_command)
    app.add_typer(db, name="db")

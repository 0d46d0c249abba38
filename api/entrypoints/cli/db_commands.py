"""CLI: `creditpolicy db upgrade`, and what the store-backed commands share (the database, the key, refusals)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn

import typer

from api.adapters.db.engine import create_db_engine
from api.adapters.db.migrate import check_database, current_revision, upgrade_database
from api.adapters.db.unit_of_work import UnitOfWork
from api.entrypoints.cli.output import command_group, err, out
from api.errors import ServiceError
from api.settings import get_settings

__all__ = ["KeyOption", "api_key", "err", "out", "refuse", "register", "unit_of_work"]

# Commands that change the store act as an API key, checked exactly as the API checks it.
KeyOption = Annotated[
    str | None,
    typer.Option(
        "--key",
        help="The API key to act as (default: CREDITPOLICY_API_KEY); its role must allow the step; its name is "
        "recorded.",
        show_default=False,
    ),
]


def api_key(option: str | None) -> str | None:
    """The key given with ``--key``, else the one in CREDITPOLICY_API_KEY."""
    return option or get_settings().api_key


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
    db = command_group("The database: schema migrations.")
    db.command("upgrade")(upgrade_command)
    app.add_typer(db, name="db")

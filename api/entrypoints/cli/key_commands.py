"""CLI: `creditpolicy keys create|list|revoke` — API keys and their roles."""

from __future__ import annotations

import typer
from rich.table import Table

from api.entrypoints.cli.db_commands import out, unit_of_work
from api.service import keys

__all__ = ["register"]


def create_command(
    name: str = typer.Option(..., "--name", help="Who uses the key; recorded as the actor of what it does."),
    role: str = typer.Option(..., "--role", help=f"One of: {', '.join(keys.ROLES)}."),
) -> None:
    """Create an API key and print it once; only its hash is stored, so copy it now."""
    with unit_of_work() as uow:
        record, plaintext = keys.create_key(uow, name, role)
    out.print(plaintext, markup=False)
    out.print(f"# key {record.name} ({record.role}) created; this is the only time it is shown", markup=False)


def list_command() -> None:
    """List the API keys (never their secrets)."""
    with unit_of_work() as uow:
        records = keys.list_keys(uow)
    table = Table("name", "role", "prefix", "created", "revoked")
    for r in records:
        table.add_row(
            r.name,
            r.role,
            r.key_prefix,
            f"{r.created_at:%Y-%m-%d %H:%M}Z",
            f"{r.revoked_at:%Y-%m-%d %H:%M}Z" if r.revoked_at else "",
        )
    out.print(table)


def revoke_command(name: str = typer.Argument(..., help="The name of the key to revoke.")) -> None:
    """Revoke an API key; it stops working at once, and its name is never reused."""
    with unit_of_work() as uow:
        record = keys.revoke_key(uow, name)
    out.print(f"key {record.name} revoked at {record.revoked_at:%Y-%m-%d %H:%M:%S}Z", markup=False)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="API keys: create, list, revoke.", no_args_is_help=True)
    group.command("create")(create_command)
    group.command("list")(list_command)
    group.command("revoke")(revoke_command)
    app.add_typer(group, name="keys")

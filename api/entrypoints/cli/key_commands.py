"""CLI: `creditpolicy keys create|list|revoke` — API keys and their roles.

Creating and revoking keys acts as an admin key (``--key`` or CREDITPOLICY_API_KEY), as
``POST /v1/keys`` does. The one exception makes a store's first admin: while no active admin key
is stored, ``keys create --role admin`` needs no key.
"""

from __future__ import annotations

import typer

from api.entrypoints.cli.db_commands import KeyOption, api_key, out, unit_of_work
from api.entrypoints.cli.output import FormatOption, ListingFormat, command_group, print_listing
from api.service import keys
from api.service.jsontext import iso

__all__ = ["register"]


def create_command(
    name: str = typer.Option(..., "--name", help="Who uses the key; recorded as the actor of what it does."),
    role: str = typer.Option(..., "--role", help=f"One of: {', '.join(keys.ROLES)}."),
    key: KeyOption = None,
) -> None:
    """Create an API key and print it once (only its hash is stored); needs an admin key, except for the first admin."""
    with unit_of_work() as uow:
        record, plaintext = keys.create_key_as(uow, api_key(key), name, role)
    out.print(plaintext, markup=False)
    out.print(f"# key {record.name} ({record.role}) created; this is the only time it is shown", markup=False)


KEY_COLUMNS = (("name", "name"), ("role", "role"), ("prefix", "prefix"), ("created", "created"), ("revoked", "revoked"))


def list_command(fmt: FormatOption = ListingFormat.table) -> None:
    """List the API keys (never their secrets)."""
    with unit_of_work() as uow:
        records = keys.list_keys(uow)
    rows = [
        {
            "name": r.name,
            "role": r.role,
            "prefix": r.key_prefix,
            "created_at": iso(r.created_at),
            "revoked_at": iso(r.revoked_at) if r.revoked_at else None,
            "active": r.active,
        }
        for r in records
    ]
    if fmt is ListingFormat.table:
        for row, r in zip(rows, records, strict=True):
            row["created"] = f"{r.created_at:%Y-%m-%d %H:%M}Z"
            row["revoked"] = f"{r.revoked_at:%Y-%m-%d %H:%M}Z" if r.revoked_at else ""
    print_listing(fmt, rows, KEY_COLUMNS)


def revoke_command(
    name: str = typer.Argument(..., help="The name of the key to revoke."),
    key: KeyOption = None,
) -> None:
    """Revoke an API key (needs an admin key); it stops working at once, and its name is never reused."""
    with unit_of_work() as uow:
        keys.act_as(uow, api_key(key), "manage_keys")
        record = keys.revoke_key(uow, name)
    out.print(f"key {record.name} revoked at {record.revoked_at:%Y-%m-%d %H:%M:%S}Z", markup=False)


def register(app: typer.Typer) -> None:
    group = command_group("API keys: create, list, revoke.")
    group.command("create")(create_command)
    group.command("list")(list_command)
    group.command("revoke")(revoke_command)
    app.add_typer(group, name="keys")

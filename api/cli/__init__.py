"""The `creditpolicy` command line: one module per group of commands, all calling api.services."""

from __future__ import annotations

import typer

from api.cli import engine_commands, policy_commands

__all__ = ["app"]

app = typer.Typer(
    name="creditpolicy",
    help="Trade-credit policies: validate, test, decide, publish and serve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for module in (policy_commands, engine_commands):
    module.register(app)

"""The `creditpolicy` command line: one module per group of commands, each calling the service's use cases."""

from __future__ import annotations

import typer

from api.entrypoints.cli import (
    audit_commands,
    db_commands,
    engine_commands,
    key_commands,
    policy_commands,
    portfolio_commands,
    serve_commands,
    simulation_commands,
    version_commands,
)

__all__ = ["app"]

app = typer.Typer(
    name="creditpolicy",
    help="Trade-credit policies: validate, test, decide, publish and serve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for module in (
    policy_commands,
    engine_commands,
    version_commands,
    audit_commands,
    key_commands,
    db_commands,
    serve_commands,
    portfolio_commands,
    simulation_commands,
):
    module.register(app)

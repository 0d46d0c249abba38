"""The `creditpolicy` command line: one module per group of commands, each calling the service's use cases."""

from __future__ import annotations

import typer

from api.entrypoints.cli import (
    audit_commands,
    case_commands,
    db_commands,
    engine_commands,
    impact_commands,
    job_commands,
    key_commands,
    log_commands,
    policy_commands,
    portfolio_commands,
    serve_commands,
    shadow_commands,
    simulation_commands,
    version_commands,
)
from api.entrypoints.cli.output import HELP_MARKUP

__all__ = ["app"]

app = typer.Typer(
    name="creditpolicy",
    help="Trade-credit policies: validate, test, decide, publish and serve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=HELP_MARKUP,  # Rich markup would swallow "[code]" (api.entrypoints.cli.output)
)
for module in (
    policy_commands,
    engine_commands,
    version_commands,
    case_commands,
    log_commands,
    audit_commands,
    key_commands,
    db_commands,
    serve_commands,
    portfolio_commands,
    simulation_commands,
    shadow_commands,
    impact_commands,
    job_commands,
):
    module.register(app)

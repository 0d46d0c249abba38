"""CLI: `creditpolicy validate FILE...` and `creditpolicy schema` — the policy language at the command line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import typer

from api.service.policy_cases import validate_policy_file
from policy.jsonschema import STANDARD_GRADES, policy_json_schema
from policy.schema import IDENTIFIER_PATTERN

__all__ = ["register", "schema_command", "validate_command"]


def validate_command(
    files: list[Path] = typer.Argument(..., metavar="FILE", help="Policy YAML files to validate."),
) -> None:
    """Validate policy files (and what they compile to): every problem as `file:line:col path: message [code]`;
    exit 0 valid, 1 invalid, 2 usage.

    All problems come in one run. Warnings read `file:line:col path: warning: message [code]` and
    leave the file valid (exit 0).
    """
    for file in files:
        if not file.is_file():
            typer.echo(f"error: {file}: {'not a file' if file.exists() else 'no such file'}", err=True)
            raise typer.Exit(2)
    try:
        reports = [validate_policy_file(file) for file in files]
    except OSError as error:
        typer.echo(f"error: {error.filename}: {error.strerror}", err=True)
        raise typer.Exit(2) from None
    for report in reports:
        for line in report.lines():
            typer.echo(line)
    raise typer.Exit(0 if all(report.ok for report in reports) else 1)


def schema_command(
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the schema to this file instead of stdout."),
    grades: str | None = typer.Option(
        None,
        "--grades",
        metavar="A,B,…",
        help="The grade scale of your policies, best first (default: the standard AAA,AA,A,BBB,BB,B,CCC,CC,C,D).",
    ),
) -> None:
    """Print the JSON Schema of the policy format (for editor autocompletion and checks)."""
    scale = STANDARD_GRADES if grades is None else tuple(g.strip() for g in grades.split(","))
    wrong = [g for g in scale if not re.match(IDENTIFIER_PATTERN, g)]
    if wrong or len(set(scale)) != len(scale):
        typer.echo(f"error: --grades takes distinct grade names separated by commas, got {grades!r}", err=True)
        raise typer.Exit(2)
    text = json.dumps(policy_json_schema(scale), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


def register(app: typer.Typer) -> None:
    """Add the policy commands to the main app."""
    app.command("validate")(validate_command)
    app.command("schema")(schema_command)

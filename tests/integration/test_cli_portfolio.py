"""`creditpolicy portfolio generate`: files a reader accepts, quiet in a pipe, usage errors exit 2."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from api.entrypoints.cli import portfolio_commands
from engine.portfolio import read_portfolio

app = typer.Typer()
portfolio_commands.register(app)


def test_generate_writes_a_portfolio_the_reader_accepts_and_says_nothing_else_in_a_pipe(tmp_path: Path) -> None:
    out = tmp_path / "book"
    args = ["portfolio", "generate", "--customers", "40", "--invoices", "300", "--seed", "5", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (
        result.stdout.strip()
        == f"{out}: 40 customers, {read_portfolio(out).orders.height} orders, 300 invoices (parquet)"
    )
    assert result.stderr == ""  # no progress bar outside a terminal
    again = CliRunner().invoke(app, [*args[:-1], str(tmp_path / "again")])
    assert again.exit_code == 0
    assert (out / "invoices.parquet").read_bytes() == (tmp_path / "again" / "invoices.parquet").read_bytes()


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    base = ["portfolio", "generate", "--customers", "5", "--invoices", "10", "--out", str(tmp_path / "b")]
    bad_format = CliRunner().invoke(app, [*base, "--format", "xlsx"])
    assert bad_format.exit_code == 2 and "parquet or csv" in bad_format.stderr
    assert (
        CliRunner()
        .invoke(app, ["portfolio", "generate", "--customers", "0", "--invoices", "1", "--out", "x"])
        .exit_code
        == 2
    )
    CliRunner().invoke(app, [*base, "--format", "csv"])
    clash = CliRunner().invoke(app, base)  # parquet beside the csv files: the folder would be ambiguous
    assert clash.exit_code == 2 and "one format only" in clash.stderr

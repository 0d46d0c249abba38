"""`creditpolicy simulate` end to end: files or stored versions in, the report and its tables out; refusals located."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from api.adapters.db.engine import create_db_engine
from api.adapters.db.migrate import upgrade_database
from api.adapters.db.unit_of_work import UnitOfWork
from api.entrypoints.cli import simulation_commands
from api.service import versions
from api.settings import get_settings
from engine.portfolio import generate_portfolio
from engine.simulation.summary import Summary
from tests.conftest import SHIPPED

app = typer.Typer()
simulation_commands.register(app)
app.command("noop")(lambda: None)  # a second command, so `simulate` is a subcommand as in the real CLI


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("book")
    generate_portfolio(customers=200, invoices=2000, years=2, seed=8, out=folder, format="csv")
    return folder


@pytest.fixture
def candidate(tmp_path: Path) -> Path:
    text = SHIPPED.read_text(encoding="utf-8").replace("min_grade: CCC", "min_grade: BB", 1)
    path = tmp_path / "candidate.yaml"
    path.write_text(text.replace('version: "2026.1"', 'version: "2026.2"', 1), encoding="utf-8")
    return path


def run(*args: str) -> typer.testing.Result:
    return CliRunner().invoke(app, ["simulate", *args])


def test_files_in_report_out(book: Path, candidate: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("--baseline", str(SHIPPED), "--candidate", str(candidate), "--portfolio", str(book), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # no progress bar in a pipe
    assert "200 customers" in result.stdout and "→ " in result.stdout and "marginal revenue" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "customers.csv",
        "orders.csv",
        "overdue.csv",
        "report.html",
        "summary.json",
    ]
    summary = Summary.model_validate_json((out / "summary.json").read_text(encoding="utf-8"))
    assert (summary.baseline.policy.version, summary.candidate.policy.source) == ("2026.1", f"file:{candidate}")
    assert summary.as_of.isoformat() in result.stdout  # the portfolio's last date by default
    report = (out / "report.html").read_text(encoding="utf-8")
    assert report.startswith("<!DOCTYPE html>") and summary.marginal.verdict in report
    again = tmp_path / "again"
    run("--baseline", str(SHIPPED), "--candidate", str(candidate), "--portfolio", str(book), "--out", str(again))
    for name in ("summary.json", "report.html", "orders.csv"):
        assert (again / name).read_bytes() == (out / name).read_bytes(), name


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("CREDITPOLICY_DATABASE_URL", url)
    get_settings.cache_clear()
    upgrade_database(url)
    yield url
    get_settings.cache_clear()


def test_stored_versions_drafts_included(book: Path, candidate: Path, tmp_path: Path, store: str) -> None:
    engine = create_db_engine(store)
    with UnitOfWork(engine) as uow:
        draft, _ = versions.publish(
            uow,
            candidate.read_text(encoding="utf-8"),
            "candidate.yaml",
            "analyst",
            lambda _l: versions.CasesVerdict([], None),
        )
    engine.dispose()
    out = tmp_path / "out"
    result = run(
        "--baseline",
        str(SHIPPED),
        "--candidate",
        draft.sha256[:10],
        "--portfolio",
        str(book),
        "--out",
        str(out),
        "--as-of",
        "2026-05-31",
    )
    assert result.exit_code == 0, result.output
    summary = Summary.model_validate_json((out / "summary.json").read_text(encoding="utf-8"))
    assert (summary.candidate.policy.source, summary.as_of.isoformat()) == ("stored:draft", "2026-05-31")
    unknown = run("--baseline", str(SHIPPED), "--candidate", "9.9", "--portfolio", str(book), "--out", str(out))
    assert unknown.exit_code == 1 and "[version_not_found]" in unknown.stderr


def test_refusals_name_what_and_where(book: Path, candidate: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    missing = run("--baseline", "nope.yaml", "--candidate", str(candidate), "--portfolio", str(book), "--out", out)
    assert missing.exit_code == 2 and "nope.yaml: no such file" in missing.stderr
    broken = tmp_path / "broken"
    broken.mkdir()
    for table in ("customers", "orders", "invoices"):
        lines = (book / f"{table}.csv").read_text(encoding="utf-8").splitlines(keepends=True)
        if table == "orders":  # the first order's date spelled another way
            header = lines[0].rstrip("\n").split(",")
            cells = lines[1].rstrip("\n").split(",")
            cells[header.index("date")] = "30/06/2024"
            lines[1] = ",".join(cells) + "\n"
        (broken / f"{table}.csv").write_text("".join(lines), encoding="utf-8")
    bad_book = run("--baseline", str(SHIPPED), "--candidate", str(candidate), "--portfolio", str(broken), "--out", out)
    assert bad_book.exit_code == 1 and "orders.csv row" in bad_book.stderr and "[not_a_date]" in bad_book.stderr
    assumptions = tmp_path / "a.yaml"
    assumptions.write_text("gross_margin: 2\n", encoding="utf-8")
    bad = run(
        "--baseline",
        str(SHIPPED),
        "--candidate",
        str(candidate),
        "--portfolio",
        str(book),
        "--out",
        out,
        "--assumptions",
        str(assumptions),
    )
    assert bad.exit_code == 1 and f"{assumptions}:1:1 gross_margin" in bad.stderr
    policy = tmp_path / "bad.yaml"
    policy.write_text(candidate.read_text(encoding="utf-8").replace("min_grade: BB", "min_grade: ZZ"), encoding="utf-8")
    invalid = run("--baseline", str(SHIPPED), "--candidate", str(policy), "--portfolio", str(book), "--out", out)
    assert invalid.exit_code == 1 and f"{policy}:" in invalid.stderr
    assert not Path(out).exists()  # nothing written for a refused run

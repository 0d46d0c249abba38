"""`creditpolicy jobs list|show|artifact|delete`: the service's jobs on the command line, as the API shows them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from api.adapters.db.engine import create_db_engine
from api.adapters.db.migrate import upgrade_database
from api.adapters.db.unit_of_work import UnitOfWork
from api.entrypoints.cli import job_commands
from api.service import keys, versions
from api.service.jobs import default_kinds, queue
from api.service.jobs.worker import JobWorker
from api.settings import get_settings
from tests.conftest import SHIPPED
from tests.job_kinds import inline_launcher

app = typer.Typer()
job_commands.register(app)
app.command("noop")(lambda: None)  # a second command, so `jobs` is a group as in the real CLI


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str, str, str]]:
    """A store with the shipped policy, a simulation job and an impact job run to their end;
    (simulation job id, simulate key, audit key, impact job id)."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("CREDITPOLICY_DATABASE_URL", url)
    get_settings.cache_clear()
    upgrade_database(url)
    engine = create_db_engine(url)
    no_cases = lambda _loaded: versions.CasesVerdict([], None)  # noqa: E731
    with UnitOfWork(engine) as uow:
        baseline, _ = versions.publish(uow, SHIPPED.read_text(encoding="utf-8"), "standard.yaml", "author", no_cases)
        simulate = keys.create_key(uow, "analyst", "simulate")[1]
        audit = keys.create_key(uow, "auditor", "audit")[1]
        caller = keys.authenticate(uow, simulate)
        assert caller is not None
        params = {
            "baseline": baseline.sha256,
            "candidate": baseline.label,
            "portfolio": {"generate": {"customers": 100, "invoices": 400, "years": 1, "seed": 3}},
        }
        job = queue.submit_job(uow, default_kinds(), "simulation", caller, params, {})
        auditor = keys.authenticate(uow, audit)
        assert auditor is not None
        impact = {"from": baseline.label, "to": baseline.label}
        impact_job = queue.submit_job(uow, default_kinds(), "impact", auditor, impact, {})

    def new_uow() -> UnitOfWork:
        return UnitOfWork(engine)

    worker = JobWorker(url, new_uow, default_kinds(), owner="cli-test", launch=inline_launcher(new_uow))
    assert worker.run_once() and worker.run_once()
    engine.dispose()
    yield job.id, simulate, audit, impact_job.id
    get_settings.cache_clear()


def test_list_show_and_fetch_an_artifact(store: tuple[str, str, str, str], tmp_path: Path) -> None:
    job_id, simulate, _, _ = store
    runner = CliRunner()
    listed = runner.invoke(app, ["jobs", "list", "--key", simulate, "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert [(j["id"], j["status"]) for j in json.loads(listed.stdout)] == [(job_id, "succeeded")]
    shown = runner.invoke(app, ["jobs", "show", job_id, "--key", simulate])
    assert shown.exit_code == 0, shown.output
    assert "summary.json" in [a["name"] for a in json.loads(shown.stdout)["artifacts"]]
    summary = tmp_path / "summary.json"
    fetched = runner.invoke(app, ["jobs", "artifact", job_id, "summary.json", "--out", str(summary), "--key", simulate])
    assert fetched.exit_code == 0, fetched.output
    assert json.loads(summary.read_bytes())["portfolio"]["customers"] == 100
    printed = runner.invoke(app, ["jobs", "artifact", job_id, "summary.json", "--key", simulate])
    assert printed.stdout_bytes == summary.read_bytes()


def test_delete_a_finished_job(store: tuple[str, str, str, str]) -> None:
    job_id, simulate, audit, _ = store
    runner = CliRunner()
    hidden = runner.invoke(app, ["jobs", "delete", job_id, "--key", audit])
    assert hidden.exit_code == 1 and "[job_not_found]" in hidden.stderr
    deleted = runner.invoke(app, ["jobs", "delete", job_id, "--key", simulate])
    assert deleted.exit_code == 0 and f"job {job_id} deleted" in deleted.stderr
    gone = runner.invoke(app, ["jobs", "show", job_id, "--key", simulate])
    assert gone.exit_code == 1 and "[job_not_found]" in gone.stderr


def test_keys_see_only_what_their_role_runs(store: tuple[str, str, str, str]) -> None:
    job_id, _, audit, impact_id = store
    runner = CliRunner()
    listed = json.loads(runner.invoke(app, ["jobs", "list", "--key", audit, "--format", "json"]).stdout)
    assert [(j["id"], j["kind"], j["status"]) for j in listed] == [(impact_id, "impact", "succeeded")]
    as_text = runner.invoke(app, ["jobs", "list", "--key", audit])
    assert as_text.exit_code == 0 and impact_id[:8] in as_text.stdout and "impact" in as_text.stdout
    fetched = runner.invoke(app, ["jobs", "artifact", impact_id, "impact.json", "--key", audit])
    assert json.loads(fetched.stdout_bytes)["schema"] == "creditpolicy.impact/1"
    hidden = runner.invoke(app, ["jobs", "show", job_id, "--key", audit])
    assert hidden.exit_code == 1 and "[job_not_found]" in hidden.stderr
    keyless = runner.invoke(app, ["jobs", "list"])
    assert keyless.exit_code == 1 and "[not_authenticated]" in keyless.stderr

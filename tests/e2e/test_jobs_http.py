"""Simulations as jobs over HTTP: submit, follow, fetch the results — the same bytes as the CLI's — and refusals.

``job_service`` runs a job worker (a child process per job); the shared ``service`` runs none, so
the jobs submitted there stay queued, which is what the tests of queued jobs need.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest

from api.adapters.db.unit_of_work import UnitOfWork
from api.service.jobs.simulation import describe_portfolio
from api.service.simulation import policy_to_simulate, simulate_portfolio
from engine.portfolio import generate_portfolio
from engine.simulation.summary import Summary
from tests.e2e.conftest import SHIPPED, Service, running_service
from tests.integration.conftest import throwaway_database

GENERATE = {"customers": 200, "invoices": 1000, "years": 2, "seed": 5}
UPLOAD_LIMIT = 300_000


@pytest.fixture(scope="module")
def job_service(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    options = {"job_workers": 1, "job_poll_seconds": 0.2, "job_lease_seconds": 10, "job_upload_max_bytes": UPLOAD_LIMIT}
    with (
        throwaway_database(backend, tmp_path_factory.mktemp("jobs"), prefix="jobs") as url,
        running_service(url, settings_options=options) as running,
    ):
        publish_candidate(running)
        yield running


def publish_candidate(service: Service) -> None:
    text = SHIPPED.read_text(encoding="utf-8").replace("min_grade: CCC", "min_grade: BB", 1)
    text = text.replace('version: "2026.1"', 'version: "2026.2-jobs"', 1)
    published = service.post("/v1/policies", {"yaml": text, "file": "candidate.yaml"}, who="author")
    assert published.status_code in (200, 201), published.text


def generate(folder: Path, file_format: Literal["csv", "parquet"]) -> None:
    sizes = (GENERATE["customers"], GENERATE["invoices"], GENERATE["years"], GENERATE["seed"])
    generate_portfolio(
        customers=sizes[0], invoices=sizes[1], years=sizes[2], seed=sizes[3], out=folder, format=file_format
    )


def wait_for(service: Service, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = service.get(f"/v1/jobs/{job_id}", who="simulate").json()
        if job["status"] in ("succeeded", "failed", "cancelled") or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


def submit(service: Service, **body: Any) -> Any:
    request = {"baseline": "2026.1", "candidate": "2026.2-jobs", "portfolio": {"generate": GENERATE}, **body}
    return service.post("/v1/simulations", request, who="simulate")


def test_a_generated_simulation_runs_and_stores_what_the_cli_writes(job_service: Service, tmp_path: Path) -> None:
    submitted = submit(job_service)
    assert submitted.status_code == 202, submitted.text
    job = submitted.json()
    assert submitted.headers["Location"] == f"/v1/jobs/{job['id']}"
    assert (job["status"], job["kind"], job["created_by"], job["attempts"]) == (
        "queued",
        "simulation",
        "e2e-simulate",
        0,
    )
    assert len(job["params"]["candidate_sha256"]) == 64

    done = wait_for(job_service, job["id"])
    assert done["status"] == "succeeded", done
    assert done["attempts"] == 1 and done["error"] is None and done["worker"] is None
    assert done["started_at"] <= done["finished_at"]
    assert done["progress"]["done"] == done["progress"]["total"] > 0
    names = {a["name"]: a["media_type"] for a in done["artifacts"]}
    assert names == {
        "summary.json": "application/json",
        "report.html": "text/html; charset=utf-8",
        "customers.csv": "text/csv; charset=utf-8",
        "orders.csv": "text/csv; charset=utf-8",
        "overdue.csv": "text/csv; charset=utf-8",
    }

    # The CLI's service function on the same portfolio and versions writes the same bytes.
    folder = tmp_path / "book"
    generate(folder, "parquet")
    engine = job_service.app.state.db_engine
    baseline, candidate = (
        policy_to_simulate(done["params"][f"{role}_sha256"], lambda: UnitOfWork(engine))
        for role in ("baseline", "candidate")
    )
    out = tmp_path / "out"
    simulate_portfolio(
        baseline, candidate, folder, out=out, described_as=describe_portfolio(done["params"]["portfolio"])
    )
    for name, media_type in names.items():
        fetched = job_service.get(f"/v1/jobs/{job['id']}/artifacts/{name}", who="simulate")
        assert fetched.status_code == 200
        assert fetched.headers["content-type"] == media_type
        assert fetched.headers["content-security-policy"].startswith("default-src 'none'")
        assert fetched.content == (out / name).read_bytes(), name
    summary = Summary.model_validate_json((out / "summary.json").read_bytes())
    assert summary.portfolio.customers == 200 and summary.candidate.policy.source == "stored:draft"


def test_an_uploaded_portfolio_runs(job_service: Service, tmp_path: Path) -> None:
    generate(tmp_path, "csv")
    files = {
        table: (f"{table}.csv", (tmp_path / f"{table}.csv").read_bytes(), "text/csv")
        for table in ("customers", "orders", "invoices")
    }
    data = {
        "baseline": "2026.1",
        "candidate": "2026.2-jobs",
        "as_of": "2026-05-31",
        "assumptions": json.dumps({"gross_margin": "0.3"}),
    }
    submitted = job_service.client.post(
        "/v1/simulations", headers=job_service.headers("simulate"), files=files, data=data
    )
    assert submitted.status_code == 202, submitted.text
    params = submitted.json()["params"]
    assert params["portfolio"] == {"upload": {t: f"{t}.csv" for t in ("customers", "orders", "invoices")}}
    done = wait_for(job_service, submitted.json()["id"])
    assert done["status"] == "succeeded", done
    summary = json.loads(job_service.get(f"/v1/jobs/{done['id']}/artifacts/summary.json", who="simulate").content)
    assert summary["portfolio"]["path"] == "uploaded: customers.csv, orders.csv, invoices.csv"
    assert (summary["as_of"], summary["assumptions"]["gross_margin"]) == ("2026-05-31", "0.3000")
    assert summary["portfolio"]["customers"] == 200

    # Deleting the finished job takes its uploaded files and its artifacts with it.
    job_id = done["id"]
    assert job_service.count("job_inputs", "job_id = :j", j=job_id) == 3
    assert job_service.count("job_artifacts", "job_id = :j", j=job_id) == 5
    by_audit = job_service.client.delete(f"/v1/jobs/{job_id}", headers=job_service.headers("audit"))
    assert (by_audit.status_code, by_audit.json()["code"]) == (404, "job_not_found")  # not its kind
    deleted = job_service.client.delete(f"/v1/jobs/{job_id}", headers=job_service.headers("simulate"))
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert job_service.get(f"/v1/jobs/{job_id}", who="simulate").status_code == 404
    for table, column in (("jobs", "id"), ("job_inputs", "job_id"), ("job_artifacts", "job_id")):
        assert job_service.count(table, f"{column} = :j", j=job_id) == 0, table
    again = job_service.client.delete(f"/v1/jobs/{job_id}", headers=job_service.headers("simulate"))
    assert again.status_code == 404


def _broken(table: bytes, row: int, column: str, value: str) -> bytes:
    rows = list(csv.DictReader(io.StringIO(table.decode())))
    rows[row - 1][column] = value
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def test_bad_uploads_are_refused_naming_file_row_and_column_and_nothing_is_queued(
    job_service: Service, tmp_path: Path
) -> None:
    generate(tmp_path, "csv")
    tables = {t: (tmp_path / f"{t}.csv").read_bytes() for t in ("customers", "orders", "invoices")}
    tables["orders"] = _broken(tables["orders"], 3, "amount", "12.345")
    tables["invoices"] = _broken(tables["invoices"], 7, "invoice_date", "yesterday")
    before = job_service.count("jobs")
    headers = job_service.headers("simulate")
    data = {"baseline": "2026.1", "candidate": "2026.2-jobs"}
    files = {t: (f"{t}.csv", content, "text/csv") for t, content in tables.items()}
    refused = job_service.client.post("/v1/simulations", headers=headers, files=files, data=data)
    assert refused.status_code == 422 and refused.json()["code"] == "portfolio_invalid", refused.text
    found = {(e["file"], e["row"], e["column"], e["code"]) for e in refused.json()["errors"]}
    assert found == {("orders.csv", 3, "amount", "money_precision"), ("invoices.csv", 7, "invoice_date", "not_a_date")}

    missing = job_service.client.post(
        "/v1/simulations", headers=headers, files=dict(list(files.items())[:2]), data=data
    )
    assert (missing.status_code, missing.json()["code"]) == (422, "invalid_upload")
    assert "invoices" in missing.json()["detail"]

    huge = {**files, "customers": ("customers.csv", b"id\n" + b"x" * UPLOAD_LIMIT, "text/csv")}
    too_large = job_service.client.post("/v1/simulations", headers=headers, files=huge, data=data)
    assert (too_large.status_code, too_large.json()["code"]) == (413, "upload_too_large")

    unknown = job_service.client.post(
        "/v1/simulations", headers=headers, files=files, data={**data, "candidate": "9.9"}
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "version_not_found")
    assert job_service.count("jobs") == before


def test_bad_json_requests_are_refused(service: Service) -> None:
    publish_candidate(service)
    before = service.count("jobs")
    for body, code, pointer in (
        ({"portfolio": {"generate": {**GENERATE, "customers": 0}}}, "invalid_request", "/portfolio/generate/customers"),
        ({"portfolio": None}, "invalid_request", "/portfolio"),
        ({"assumptions": {"gross_margin": 2}}, "assumptions_invalid", None),
    ):
        refused = submit(service, **body)
        assert refused.status_code == 422, refused.text
        problem = refused.json()
        assert problem["code"] == code, problem
        if pointer is not None:
            assert problem["errors"][0]["pointer"] == pointer
    assert service.count("jobs") == before


def test_a_queued_job_has_no_artifacts_and_can_be_cancelled_once(service: Service) -> None:
    publish_candidate(service)
    job = submit(service).json()  # this app runs no worker: the job stays queued
    not_yet = service.get(f"/v1/jobs/{job['id']}/artifacts/summary.json", who="simulate")
    assert (not_yet.status_code, not_yet.json()["code"]) == (409, "job_not_finished")
    listed = service.get("/v1/jobs", who="simulate", params={"status": "queued", "kind": "simulation"}).json()
    assert job["id"] in [j["id"] for j in listed["items"]]
    assert service.get("/v1/jobs", who="audit").json()["items"] == []  # audit runs no simulation: sees none
    assert service.get(f"/v1/jobs/{job['id']}", who="audit").status_code == 404

    running = service.client.delete(f"/v1/jobs/{job['id']}", headers=service.headers("simulate"))
    assert (running.status_code, running.json()["code"]) == (409, "job_not_finished")  # cancel it first
    cancelled = service.post(f"/v1/jobs/{job['id']}:cancel", who="simulate")
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    again = service.post(f"/v1/jobs/{job['id']}:cancel", who="simulate")
    assert (again.status_code, again.json()["code"]) == (409, "job_finished")
    after = service.get(f"/v1/jobs/{job['id']}/artifacts/summary.json", who="simulate")
    assert (after.status_code, after.json()["code"]) == (409, "job_not_succeeded")
    assert service.get("/v1/jobs/not-a-job", who="simulate").json()["code"] == "job_not_found"


def test_the_job_list_pages_newest_first(service: Service) -> None:
    publish_candidate(service)
    ids = [submit(service).json()["id"] for _ in range(3)]
    first = service.get("/v1/jobs", who="simulate", params={"limit": 2}).json()
    second = service.get("/v1/jobs", who="simulate", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    seen = [j["id"] for j in first["items"] + second["items"]]
    assert seen[:3] == ids[::-1]
    wrong = service.get("/v1/jobs", who="simulate", params={"kind": "impact"})
    assert (wrong.status_code, wrong.json()["code"]) == (422, "invalid_query")

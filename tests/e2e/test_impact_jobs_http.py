"""Impact runs as jobs over HTTP (POST /v1/impact/jobs): what the job stores is what POST /v1/impact answers,
the same refusals with nothing queued, and who sees which kind of job.

``impact_jobs`` runs a job worker (a child process per job) on a database of its own, so the
jobs submitted here are seen by no other test (the shared ``service`` lists an auditor's jobs).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import Service, running_service
from tests.e2e.test_impact_http import _setup
from tests.e2e.test_jobs_http import GENERATE
from tests.integration.conftest import throwaway_database

REQUEST = {"from": "2026.1", "to": "2026.7", "until": "2026-06-30", "sample": 2}
# What describes the run, not its result: when it started and how long it took (first in the document).
RUN_HEAD = re.compile(rb'\{"schema":"creditpolicy\.impact/1","measured_at":"[0-9T:.+-]+Z?","seconds":[0-9.]+,')


@pytest.fixture(scope="module")
def impact_jobs(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A service with a job worker, the draft 2026.7 and three orders logged under 2026.1."""
    options = {"job_workers": 1, "job_poll_seconds": 0.2, "job_lease_seconds": 10}
    with (
        throwaway_database(backend, tmp_path_factory.mktemp("impact-jobs"), prefix="ijobs") as url,
        running_service(url, settings_options=options) as running,
    ):
        _setup(running)
        yield running


def wait_for(service: Service, job_id: str, who: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = service.get(f"/v1/jobs/{job_id}", who=who).json()
        if job["status"] in ("succeeded", "failed", "cancelled") or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


def _after_run_head(document: bytes) -> bytes:
    head = RUN_HEAD.match(document)
    assert head is not None, document[:120]
    return document[head.end() :]


def test_an_impact_job_stores_what_post_impact_answers(impact_jobs: Service) -> None:
    submitted = impact_jobs.post("/v1/impact/jobs", REQUEST, who="audit")
    assert submitted.status_code == 202, submitted.text
    job = submitted.json()
    assert submitted.headers["Location"] == f"/v1/jobs/{job['id']}"
    assert (job["kind"], job["status"], job["created_by"]) == ("impact", "queued", "e2e-audit")
    assert {job["params"][k] for k in ("from", "to", "until", "sample")} == {"2026.1", "2026.7", "2026-06-30", 2}
    assert len(job["params"]["from_sha256"]) == len(job["params"]["to_sha256"]) == 64

    done = wait_for(impact_jobs, job["id"], "audit")
    assert done["status"] == "succeeded", done
    assert done["progress"] == {"stage": "done", "done": 3, "total": 3}  # 3 decisions evaluated again
    assert {a["name"]: a["media_type"] for a in done["artifacts"]} == {
        "impact.json": "application/json",
        "impact.html": "text/html; charset=utf-8",
        "impact.txt": "text/plain; charset=utf-8",
    }

    def artifact(name: str) -> bytes:
        fetched = impact_jobs.get(f"/v1/jobs/{job['id']}/artifacts/{name}", who="approve")
        assert fetched.status_code == 200, fetched.text
        content: bytes = fetched.content
        return content

    stored = artifact("impact.json")
    answer = impact_jobs.post("/v1/impact", REQUEST, who="audit")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    # Byte for byte, but for when each run started and how long it took.
    assert _after_run_head(stored) == _after_run_head(answer.content)
    assert b'"transitions":[{"from":"approve","to":"hold","count":3' in stored
    page = impact_jobs.post("/v1/impact", REQUEST, who="audit", headers={"Accept": "text/html"})
    assert artifact("impact.html") == page.content
    text = impact_jobs.post("/v1/impact", REQUEST, who="audit", headers={"Accept": "text/plain"})
    assert artifact("impact.txt") == text.content and b"order: 3 approve \xe2\x86\x92 hold" in text.content


def test_each_kind_of_job_is_seen_only_by_the_roles_that_run_it(impact_jobs: Service) -> None:
    impact = impact_jobs.post("/v1/impact/jobs", {**REQUEST, "kind": "order"}, who="approve").json()
    simulation = impact_jobs.post(
        "/v1/simulations",
        {"baseline": "2026.1", "candidate": "2026.7", "portfolio": {"generate": GENERATE}},
        who="simulate",
    ).json()
    try:
        for who, sees, hidden in (("audit", impact, simulation), ("approve", impact, simulation)):
            listed = [j["id"] for j in impact_jobs.get("/v1/jobs", who=who).json()["items"]]
            assert sees["id"] in listed and hidden["id"] not in listed, who
            assert impact_jobs.get(f"/v1/jobs/{sees['id']}", who=who).json()["kind"] == "impact"
            assert impact_jobs.get(f"/v1/jobs/{hidden['id']}", who=who).json()["code"] == "job_not_found"
        listed = [j["id"] for j in impact_jobs.get("/v1/jobs", who="simulate").json()["items"]]
        assert simulation["id"] in listed and impact["id"] not in listed
        for action in ("get", "cancel"):
            path = f"/v1/jobs/{impact['id']}" + (":cancel" if action == "cancel" else "")
            hidden_job = (impact_jobs.get if action == "get" else impact_jobs.post)(path, who="simulate")
            assert (hidden_job.status_code, hidden_job.json()["code"]) == (404, "job_not_found")
        kind = impact_jobs.get("/v1/jobs", who="simulate", params={"kind": "impact"})
        assert (kind.status_code, kind.json()["code"]) == (422, "invalid_query")
        assert impact_jobs.post("/v1/impact/jobs", REQUEST, who="simulate").status_code == 403
        assert impact_jobs.post("/v1/impact/jobs", REQUEST, who="decide").status_code == 403
    finally:
        impact_jobs.post(f"/v1/jobs/{simulation['id']}:cancel", who="simulate")
    assert wait_for(impact_jobs, impact["id"], "audit")["status"] == "succeeded"


def test_the_job_route_refuses_what_post_impact_refuses_and_queues_nothing(impact_jobs: Service) -> None:
    before = impact_jobs.count("jobs")
    for request in (
        {"from": "9.9", "to": "2026.1"},
        {"from": "2026.1", "to": "abcdef012"},
        {"from": "2026.1", "to": "2026.7", "since": "2026-07-01", "until": "2026-06-01"},
        {"from": "2026.1", "to": "2026.7", "since": "2026-02-30"},
        {"from": "2026.1", "to": "2026.7", "kind": "loan"},
        {"from": "2026.1", "to": "2026.7", "sample": 51},
        {"from": "2026.1", "to": "2026.7", "top": 0},
        {"from": "2026.1"},
    ):
        refused = impact_jobs.post("/v1/impact/jobs", request, who="audit")
        measured = impact_jobs.post("/v1/impact", request, who="audit")
        assert refused.status_code == measured.status_code == 422, (request, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == measured.json()["code"], request
    assert impact_jobs.count("jobs") == before

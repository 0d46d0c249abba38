"""CLI: `creditpolicy jobs list|show|artifact|delete` — the service's jobs (simulations), read as the API reads them.

Each command acts as an API key (``--key`` or CREDITPOLICY_API_KEY) and sees the jobs of the kinds
its role may run, through the use cases ``GET /v1/jobs…`` call (:mod:`api.service.jobs.queue`).
Jobs are submitted over HTTP (``POST /v1/simulations``): running one on the command line is
``creditpolicy simulate``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from api.entrypoints.cli.db_commands import KeyOption, api_key, unit_of_work
from api.entrypoints.cli.output import FormatOption, ListingFormat, command_group, err, out, print_listing
from api.service.jobs import default_kinds, queue
from api.service.keys import act_as

__all__ = ["register"]

JOB_COLUMNS = (
    ("id", "job"),
    ("kind", "kind"),
    ("status", "status"),
    ("created_by", "by"),
    ("created_at", "created (UTC)"),
    ("finished_at", "finished (UTC)"),
    ("attempts", "attempts"),
)


def list_command(
    status: str | None = typer.Option(None, "--status", help="queued, running, succeeded, failed or cancelled."),
    kind: str | None = typer.Option(None, "--kind", help="Only jobs of this kind (simulation)."),
    limit: int = typer.Option(50, "--limit", min=1, max=queue.MAX_PAGE, help="At most this many, newest first."),
    key: KeyOption = None,
    fmt: FormatOption = ListingFormat.table,
) -> None:
    """List the jobs your key's role may run, newest first."""
    with unit_of_work() as uow:
        caller = act_as(uow, api_key(key), "read_jobs")
        page = queue.list_jobs(uow, default_kinds(), caller, status=status, kind=kind, limit=limit)
    if not page.items and fmt is ListingFormat.table:
        err.print("no jobs", markup=False)
        return
    print_listing(fmt, [queue.job_to_dict(queue.JobView(job, [])) for job in page.items], JOB_COLUMNS)


def show_command(job_id: str = typer.Argument(..., help="The job's id."), key: KeyOption = None) -> None:
    """A job as `GET /v1/jobs/{id}` shows it (JSON): status, progress, timings, error, artifacts."""
    with unit_of_work() as uow:
        view = queue.get_job(uow, default_kinds(), act_as(uow, api_key(key), "read_jobs"), job_id)
    out.print(json.dumps(queue.job_to_dict(view), indent=2), markup=False, soft_wrap=True)


def artifact_command(
    job_id: str = typer.Argument(..., help="The job's id."),
    name: str = typer.Argument(..., help="summary.json, report.html, customers.csv, orders.csv, overdue.csv"),
    to: Path | None = typer.Option(None, "--out", help="Write it to this file (default: standard output)."),
    key: KeyOption = None,
) -> None:
    """Fetch a file a job produced, once it succeeded."""
    with unit_of_work() as uow:
        artifact = queue.get_artifact(uow, default_kinds(), act_as(uow, api_key(key), "read_jobs"), job_id, name)
    if to is None:
        sys.stdout.buffer.write(artifact.content)
        sys.stdout.flush()
        return
    to.write_bytes(artifact.content)
    err.print(f"{to}: {artifact.size:,} bytes ({artifact.media_type})", markup=False)


def delete_command(job_id: str = typer.Argument(..., help="The job's id."), key: KeyOption = None) -> None:
    """Delete a finished job with its input files and artifacts (cancel a running one first)."""
    with unit_of_work() as uow:
        queue.delete_job(uow, default_kinds(), act_as(uow, api_key(key), "read_jobs"), job_id)
    err.print(f"job {job_id} deleted", markup=False)


def register(app: typer.Typer) -> None:
    group = command_group("Jobs the service runs (simulations, impact runs): list, show, fetch results, delete.")
    group.command("list")(list_command)
    group.command("show")(show_command)
    group.command("artifact")(artifact_command)
    group.command("delete")(delete_command)
    app.add_typer(group, name="jobs")

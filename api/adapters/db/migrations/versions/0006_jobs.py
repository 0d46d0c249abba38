"""Jobs: simulations (and other long work) run by the service's workers, with their inputs and results.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

* ``jobs``: one row per job — kind, status (queued, running, succeeded, failed, cancelled), the
  validated parameters (JSON), who created it and when, progress, the lease of the worker running
  it (owner, expiry, last heartbeat), the attempts made and the error of a failed job.
* ``job_inputs``: the files a job was given (an uploaded portfolio), by name.
* ``job_artifacts``: the files a job produced (summary.json, report.html, the CSV tables), by
  name with their media type, written in the transaction that marks the job succeeded.

Inputs and artifacts live in the database so that any replica, on any host, runs and serves them.

Written out in full, like 0001, so it keeps doing exactly this when the tables module moves on.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from api.adapters.db.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _timestamp(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, UTCDateTime(), nullable=nullable)


def _file_table(name: str, *columns: sa.Column[Any]) -> None:
    op.create_table(
        name,
        sa.Column("job_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        *columns,
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=f"fk_{name}_job_id_jobs", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "name", name=f"pk_{name}"),
    )


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("params_json", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        _timestamp("created_at"),
        _timestamp("started_at", nullable=True),
        _timestamp("finished_at", nullable=True),
        sa.Column("progress_done", sa.Integer(), nullable=False),
        sa.Column("progress_total", sa.Integer(), nullable=False),
        sa.Column("progress_stage", sa.String(100), nullable=True),
        sa.Column("lease_owner", sa.String(100), nullable=True),
        _timestamp("lease_expires_at", nullable=True),
        _timestamp("heartbeat_at", nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.CheckConstraint(_one_of("status", _STATUSES), name="ck_jobs_status"),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
    )
    op.create_index("ix_jobs_status_created_at", "jobs", ["status", "created_at"])
    op.create_index("ix_jobs_created_at_id", "jobs", ["created_at", "id"])
    op.create_index("ix_jobs_kind_created_at_id", "jobs", ["kind", "created_at", "id"])
    _file_table("job_inputs")
    _file_table("job_artifacts", sa.Column("media_type", sa.String(100), nullable=False))


def downgrade() -> None:
    op.drop_table("job_artifacts")
    op.drop_table("job_inputs")
    op.drop_table("jobs")

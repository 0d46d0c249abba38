"""Change counters: what several service processes on one database watch to keep their caches true.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

* ``change_counters``: one row per topic (``versions``: a policy version's status changed;
  ``keys``: an API key was created or revoked), its ``serial`` bumped in the transaction of the
  change. The processes serving one SQLite file poll it; on PostgreSQL the same transaction also
  sends ``NOTIFY creditpolicy_changes`` (api.adapters.db.changes).

Written out in full, like 0001, so it keeps doing exactly this when the tables module moves on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "change_counters",
        sa.Column("topic", sa.String(32), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("topic", name="pk_change_counters"),
    )


def downgrade() -> None:
    op.drop_table("change_counters")

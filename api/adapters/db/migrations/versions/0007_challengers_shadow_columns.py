"""Live champion–challenger: the challenger of each policy and what it decided in shadow.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

* ``challengers``: at most one per policy (its key): the champion (the active version it was
  named beside), the challenger version, the share of customers shadowed, who named it and why.
* ``decisions.shadow_agree`` and ``decisions.shadow_json`` (nullable): what the challenger decided
  beside a shadowed live decision, kept in the champion's own log row — whether the whole outputs
  agree, and the rest as compact JSON (both outcomes, the challenger's label and sha256, its error
  code, the figures the report sums, and its output and the differences only when they differ).
  Both null: no challenger shadowed the decision. In the log row rather than a table of its own:
  a second row per shadowed decision cost the live path ~20 µs on PostgreSQL.

Written out in full, like 0001, so it keeps doing exactly this when the tables module moves on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from api.adapters.db.types import ExactDecimal, UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "challengers",
        sa.Column("policy_id", sa.String(64), nullable=False),
        sa.Column("champion_version_id", sa.Integer(), nullable=False),
        sa.Column("challenger_version_id", sa.Integer(), nullable=False),
        sa.Column("share", ExactDecimal(), nullable=False),
        sa.Column("named_by", sa.String(100), nullable=False),
        sa.Column("named_at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("policy_id", name="pk_challengers"),
        sa.ForeignKeyConstraint(
            ["champion_version_id"],
            ["policy_versions.id"],
            name="fk_challengers_champion_version_id_policy_versions",
        ),
        sa.ForeignKeyConstraint(
            ["challenger_version_id"],
            ["policy_versions.id"],
            name="fk_challengers_challenger_version_id_policy_versions",
        ),
    )
    op.add_column("decisions", sa.Column("shadow_agree", sa.Boolean(), nullable=True))
    op.add_column("decisions", sa.Column("shadow_json", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("decisions", "shadow_json")
    op.drop_column("decisions", "shadow_agree")
    op.drop_table("challengers")

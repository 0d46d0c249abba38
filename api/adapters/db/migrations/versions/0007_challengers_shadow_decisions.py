"""Live champion–challenger: the challenger of each policy and what it decided in shadow.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

* ``challengers``: at most one per policy (its key): the champion (the active version it was
  named beside), the challenger version, the share of customers shadowed, who named it and why.
* ``shadow_decisions``: one row per shadowed live decision, keyed by the champion's log row, with
  both outcomes, whether the whole outputs agree, the challenger's output (or its error code),
  and the figures the report sums (order amount and currency, the limits of an assessment).

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
    op.create_table(
        "shadow_decisions",
        sa.Column("decision_id", sa.String(36), nullable=False),
        sa.Column("policy_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("champion_sha256", sa.String(64), nullable=False),
        sa.Column("challenger_sha256", sa.String(64), nullable=False),
        sa.Column("challenger_label", sa.String(64), nullable=False),
        sa.Column("champion_outcome", sa.String(32), nullable=False),
        sa.Column("challenger_outcome", sa.String(32), nullable=True),
        sa.Column("agree", sa.Boolean(), nullable=False),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("challenger_output_json", sa.Text(), nullable=True),
        sa.Column("differences_json", sa.Text(), nullable=True),
        sa.Column("order_amount", sa.String(48), nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("champion_limit", sa.String(48), nullable=True),
        sa.Column("challenger_limit", sa.String(48), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("decision_id", name="pk_shadow_decisions"),
    )
    op.create_index("ix_shadow_decisions_policy_id_created_at", "shadow_decisions", ["policy_id", "created_at"])


def downgrade() -> None:
    op.drop_table("shadow_decisions")
    op.drop_table("challengers")

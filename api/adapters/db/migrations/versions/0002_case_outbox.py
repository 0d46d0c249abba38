"""Credit cases and webhooks: the webhook outbox, webhook signing secrets, decision keys checked at commit.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

* ``webhook_deliveries``: one row per (case event, webhook), written in the transaction of the
  case change, delivered afterwards with retries (api.service.webhooks).
* ``webhooks.secret``: the HMAC key deliveries are signed with (nullable: rows from 0001 have none).
* The foreign keys from ``credit_cases`` and ``grade_history`` to ``decisions`` become
  ``DEFERRABLE INITIALLY DEFERRED``: a held order's case decides the outcome the decision log
  records, so the case row is written before its decision row, in the same transaction.

Written out in full, like 0001, so it keeps doing exactly this when the tables module moves on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from api.adapters.db.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_DECISION_FKS = (
    ("credit_cases", "fk_credit_cases_decision_id_decisions"),
    ("grade_history", "fk_grade_history_decision_id_decisions"),
)


def _set_decision_fks(deferred: bool) -> None:
    for table, name in _DECISION_FKS:
        if op.get_bind().dialect.name == "postgresql":
            timing = "DEFERRABLE INITIALLY DEFERRED" if deferred else "NOT DEFERRABLE"
            op.execute(f"ALTER TABLE {table} ALTER CONSTRAINT {name} {timing}")
            continue
        # SQLite cannot alter a constraint: batch mode rebuilds the table (indexes included).
        with op.batch_alter_table(table, recreate="always") as batch:
            batch.drop_constraint(name, type_="foreignkey")
            batch.create_foreign_key(
                name,
                "decisions",
                ["decision_id"],
                ["decision_id"],
                deferrable=True if deferred else None,
                initially="DEFERRED" if deferred else None,
            )


def upgrade() -> None:
    op.add_column("webhooks", sa.Column("secret", sa.String(100), nullable=True))
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "event IN ('case.opened', 'case.released', 'case.rejected')", name="ck_webhook_deliveries_event"
        ),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name="fk_webhook_deliveries_webhook_id_webhooks",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
    )
    op.create_index("ix_webhook_deliveries_webhook_id", "webhook_deliveries", ["webhook_id"])
    op.create_index("ix_webhook_deliveries_next_attempt_at", "webhook_deliveries", ["next_attempt_at"])
    _set_decision_fks(deferred=True)


def downgrade() -> None:
    _set_decision_fks(deferred=False)
    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("secret")

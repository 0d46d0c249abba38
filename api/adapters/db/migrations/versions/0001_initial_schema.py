"""Initial schema: policy versions and their lifecycle, API keys, the decision log, credit cases,
webhooks, grade history and the customer snapshot.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Written out in full (not generated from api.adapters.db.tables at run time) so that it keeps creating
exactly this schema when the tables module moves on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from api.adapters.db.types import ExactDecimal, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _timestamp(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, UTCDateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "policy_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("policy_id", sa.String(64), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("source_text", sa.Text(), nullable=False),
        sa.Column("source_file", sa.String(500), nullable=False),
        sa.Column("canonical_json", sa.Text(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("change_note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        _timestamp("created_at"),
        sa.CheckConstraint("status IN ('draft', 'approved', 'active', 'retired')", name="ck_policy_versions_status"),
        sa.PrimaryKeyConstraint("id", name="pk_policy_versions"),
        sa.UniqueConstraint("policy_id", "label", name="uq_policy_versions_policy_id_label"),
        sa.UniqueConstraint("sha256", name="uq_policy_versions_sha256"),
    )
    op.create_index("ix_policy_versions_policy_id_status", "policy_versions", ["policy_id", "status"])

    op.create_table(
        "lifecycle_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _timestamp("at"),
        sa.CheckConstraint(
            "event IN ('published', 'approved', 'activated', 'retired', 'rolled_back')",
            name="ck_lifecycle_events_event",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"], ["policy_versions.id"], name="fk_lifecycle_events_version_id_policy_versions"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_lifecycle_events"),
    )
    op.create_index("ix_lifecycle_events_version_id", "lifecycle_events", ["version_id"])

    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("key_prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        _timestamp("created_at"),
        _timestamp("revoked_at", nullable=True),
        sa.CheckConstraint("role IN ('decide', 'author', 'approve', 'audit', 'admin')", name="ck_api_keys_role"),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("key_prefix", name="uq_api_keys_key_prefix"),
        sa.UniqueConstraint("name", name="uq_api_keys_name"),
    )

    op.create_table(
        "decisions",
        sa.Column("decision_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("request_id", sa.String(200), nullable=True),
        sa.Column("request_hash", sa.String(64), nullable=True),
        sa.Column("customer_id", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=False),
        _timestamp("created_at"),
        sa.Column("caller", sa.String(100), nullable=False),
        sa.Column("policy_id", sa.String(64), nullable=False),
        sa.Column("policy_sha256", sa.String(64), nullable=False),
        sa.Column("policy_label", sa.String(64), nullable=False),
        sa.Column("input_json", sa.Text(), nullable=False),
        sa.Column("output_json", sa.Text(), nullable=False),
        sa.Column("trace_json", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("decision_id", name="pk_decisions"),
        sa.UniqueConstraint("request_id", name="uq_decisions_request_id"),
    )
    for column in ("created_at", "customer_id", "kind", "outcome", "policy_sha256"):
        op.create_index(f"ix_decisions_{column}", "decisions", [column])

    op.create_table(
        "credit_cases",
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("order_ref", sa.String(200), nullable=False),
        sa.Column("order_amount", ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decision_id", sa.String(36), nullable=False),
        _timestamp("opened_at"),
        sa.Column("resolved_by", sa.String(100), nullable=True),
        _timestamp("resolved_at", nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("release_until", sa.Date(), nullable=True),
        sa.Column("release_amount_max", ExactDecimal(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'released', 'rejected')", name="ck_credit_cases_status"),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decisions.decision_id"], name="fk_credit_cases_decision_id_decisions"
        ),
        sa.PrimaryKeyConstraint("case_id", name="pk_credit_cases"),
    )
    op.create_index("ix_credit_cases_customer_id_order_ref", "credit_cases", ["customer_id", "order_ref"])
    op.create_index("ix_credit_cases_status", "credit_cases", ["status"])
    op.create_index(
        "uq_credit_cases_open_order",
        "credit_cases",
        ["customer_id", "order_ref"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )

    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_webhooks"),
    )

    op.create_table(
        "grade_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("old_grade", sa.String(64), nullable=True),
        sa.Column("new_grade", sa.String(64), nullable=False),
        sa.Column("score", ExactDecimal(), nullable=False),
        sa.Column("policy_sha256", sa.String(64), nullable=False),
        _timestamp("decided_at"),
        sa.Column("next_review", sa.Date(), nullable=True),
        sa.Column("decision_id", sa.String(36), nullable=True),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decisions.decision_id"], name="fk_grade_history_decision_id_decisions"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_grade_history"),
    )
    op.create_index("ix_grade_history_customer_id_decided_at", "grade_history", ["customer_id", "decided_at"])

    op.create_table(
        "customers",
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("grade", sa.String(64), nullable=False),
        sa.Column("score", ExactDecimal(), nullable=False),
        sa.Column("credit_limit", ExactDecimal(), nullable=False),
        sa.Column("next_review", sa.Date(), nullable=True),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("customer_id", name="pk_customers"),
    )
    op.create_index("ix_customers_next_review", "customers", ["next_review"])


def downgrade() -> None:
    # Children before parents, so foreign keys never dangle.
    for table in ("customers", "grade_history", "webhooks", "credit_cases", "decisions", "api_keys"):
        op.drop_table(table)
    op.drop_table("lifecycle_events")
    op.drop_table("policy_versions")

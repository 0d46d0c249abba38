"""The decision log searched as auditors ask; the grade history of every assessment, in as_of order.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07

* ``decisions.order_id`` and ``decisions.as_of``: the order a decision is about and the day it is
  about, until now only inside the stored input; filled for every row logged before, from the
  trace's copy of the input (the request as the engine read it: dates in ISO form), else from the
  input itself. ``as_of`` stays nullable: SQLite cannot add NOT NULL without rebuilding the table,
  and rebuilding a table other tables' foreign keys point at fails at commit inside a transaction.
* The log's indexes: one per filter, ``(filter, created_at, decision_id)``, so a page of the
  newest decisions with that value is read in index order from the cursor on, without a sort;
  ``(created_at, decision_id)`` for the whole log, ``as_of`` for its range. They replace the
  single-column indexes of 0001.
* ``grade_history`` holds every assessment (which ones changed grade, limit or eligibility is read
  in as_of order, ``api.service.grades``): ``as_of``, ``credit_limit`` and ``eligible`` are added
  and filled from each row's logged decision, ``new_grade`` becomes ``grade``, ``old_grade`` (now
  read from the assessment before) is dropped, and the assessments 0001 did not keep (those that
  left the grade as it was) are added from the log. A row with no logged decision keeps the date
  it was decided on as its ``as_of``, and no limit or eligibility.
* ``customers.as_of``: the snapshot is the assessment about the latest day, now recomputed so.

Written out in full, like 0001, so it keeps doing exactly this when the tables module moves on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from api.adapters.db.types import ExactDecimal

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_FILTERS = ("customer_id", "order_id", "kind", "outcome", "policy_sha256")
_INDEXED_BY_0001 = ("created_at", "customer_id", "kind", "outcome", "policy_sha256")
_GRADE_FK = "fk_grade_history_decision_id_decisions"


def _postgres() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def _json(column: str, *path: str) -> str:
    """SQL for the text at ``path`` inside a JSON text column (NULL when absent)."""
    if _postgres():
        return f"(CAST({column} AS jsonb) #>> '{{{','.join(path)}}}')"
    return f"json_extract({column}, '$.{'.'.join(path)}')"


def _as(sql: str, type_: str) -> str:
    """Text as a typed value: PostgreSQL casts; SQLite stores dates, amounts and flags as they come."""
    return f"CAST({sql} AS {type_})" if _postgres() else sql


def _day(timestamp: str) -> str:
    return f"CAST({timestamp} AT TIME ZONE 'UTC' AS date)" if _postgres() else f"date({timestamp})"


def _decisions() -> None:
    op.add_column("decisions", sa.Column("order_id", sa.String(64), nullable=True))
    op.add_column("decisions", sa.Column("as_of", sa.Date(), nullable=True))
    as_of = f"COALESCE({_json('trace_json', 'input', 'as_of')}, {_json('input_json', 'as_of')})"
    order_id = f"COALESCE({_json('trace_json', 'input', 'order', 'id')}, {_json('input_json', 'order', 'id')})"
    op.execute(
        f"UPDATE decisions SET as_of = {_as(as_of, 'date')}, order_id = CASE WHEN kind = 'order' THEN {order_id} END"
    )
    for column in _INDEXED_BY_0001:
        op.drop_index(f"ix_decisions_{column}", table_name="decisions")
    op.create_index("ix_decisions_created_at_decision_id", "decisions", ["created_at", "decision_id"])
    for column in _FILTERS:
        op.create_index(
            f"ix_decisions_{column}_created_at_decision_id", "decisions", [column, "created_at", "decision_id"]
        )
    op.create_index("ix_decisions_as_of", "decisions", ["as_of"])


def _grade_history() -> None:
    op.add_column("grade_history", sa.Column("as_of", sa.Date(), nullable=True))
    op.add_column("grade_history", sa.Column("credit_limit", ExactDecimal(), nullable=True))
    op.add_column("grade_history", sa.Column("eligible", sa.Boolean(), nullable=True))
    logged = "FROM decisions d WHERE d.decision_id = grade_history.decision_id"
    limit = _as(_json("d.output_json", "decision", "credit_limit"), "numeric(20, 2)")
    eligible = _as(_json("d.output_json", "decision", "eligible"), "boolean")
    op.execute(
        f"UPDATE grade_history SET as_of = (SELECT d.as_of {logged}), credit_limit = (SELECT {limit} {logged}), "
        f"eligible = (SELECT {eligible} {logged}) WHERE decision_id IS NOT NULL"
    )
    op.execute(f"UPDATE grade_history SET as_of = {_day('decided_at')} WHERE as_of IS NULL")
    score = _as(_json("d.output_json", "decision", "score"), "numeric(20, 2)")
    next_review = _as(_json("d.output_json", "decision", "next_review"), "date")
    op.execute(
        "INSERT INTO grade_history (customer_id, as_of, new_grade, score, credit_limit, eligible, policy_sha256, "
        "decided_at, next_review, decision_id) "
        f"SELECT d.customer_id, d.as_of, d.outcome, {score}, {limit}, {eligible}, d.policy_sha256, d.created_at, "
        f"{next_review}, d.decision_id FROM decisions d WHERE d.kind = 'assess' AND d.customer_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM grade_history g WHERE g.decision_id = d.decision_id)"
    )
    if (
        _postgres()
    ):  # check the deferred keys of the rows just added now: PostgreSQL alters no table with checks pending
        op.execute("SET CONSTRAINTS ALL IMMEDIATE")
    op.drop_index("ix_grade_history_customer_id_decided_at", table_name="grade_history")
    with op.batch_alter_table("grade_history") as batch:
        batch.alter_column("new_grade", new_column_name="grade", existing_type=sa.String(64), existing_nullable=False)
        batch.alter_column("as_of", existing_type=sa.Date(), nullable=False)
        batch.drop_column("old_grade")
        if not _postgres():
            # Rebuilding the table on SQLite: keep the key to the log checked at commit (0002).
            batch.drop_constraint(_GRADE_FK, type_="foreignkey")
            batch.create_foreign_key(
                _GRADE_FK, "decisions", ["decision_id"], ["decision_id"], deferrable=True, initially="DEFERRED"
            )
    op.create_index("ix_grade_history_customer_id_as_of", "grade_history", ["customer_id", "as_of"])


def _customers() -> None:
    op.add_column("customers", sa.Column("as_of", sa.Date(), nullable=True))
    latest = (
        "FROM grade_history g WHERE g.customer_id = customers.customer_id "
        "ORDER BY g.as_of DESC, g.decided_at DESC, g.id DESC LIMIT 1"
    )
    op.execute(
        "UPDATE customers SET (grade, score, credit_limit, next_review, updated_at, as_of) = "
        f"(SELECT g.grade, g.score, COALESCE(g.credit_limit, customers.credit_limit), g.next_review, g.decided_at, "
        f"g.as_of {latest}) WHERE EXISTS (SELECT 1 FROM grade_history g WHERE g.customer_id = customers.customer_id)"
    )
    op.execute(f"UPDATE customers SET as_of = {_day('updated_at')} WHERE as_of IS NULL")
    with op.batch_alter_table("customers") as batch:
        batch.alter_column("as_of", existing_type=sa.Date(), nullable=False)


def upgrade() -> None:
    _decisions()
    _grade_history()
    _customers()


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("as_of")
    op.drop_index("ix_grade_history_customer_id_as_of", table_name="grade_history")
    # Back to 0001's meaning: only the assessments that changed the grade, each with the grade before.
    op.add_column("grade_history", sa.Column("old_grade", sa.String(64), nullable=True))
    op.execute(
        "UPDATE grade_history SET old_grade = (SELECT p.grade FROM grade_history p "
        "WHERE p.customer_id = grade_history.customer_id AND (p.as_of < grade_history.as_of "
        "OR (p.as_of = grade_history.as_of AND (p.decided_at < grade_history.decided_at "
        "OR (p.decided_at = grade_history.decided_at AND p.id < grade_history.id)))) "
        "ORDER BY p.as_of DESC, p.decided_at DESC, p.id DESC LIMIT 1)"
    )
    op.execute("DELETE FROM grade_history WHERE old_grade = grade")
    with op.batch_alter_table("grade_history") as batch:
        batch.alter_column("grade", new_column_name="new_grade", existing_type=sa.String(64), existing_nullable=False)
        batch.drop_column("as_of")
        batch.drop_column("credit_limit")
        batch.drop_column("eligible")
        if not _postgres():
            batch.drop_constraint(_GRADE_FK, type_="foreignkey")
            batch.create_foreign_key(
                _GRADE_FK, "decisions", ["decision_id"], ["decision_id"], deferrable=True, initially="DEFERRED"
            )
    op.create_index("ix_grade_history_customer_id_decided_at", "grade_history", ["customer_id", "decided_at"])
    op.drop_index("ix_decisions_as_of", table_name="decisions")
    for column in _FILTERS:
        op.drop_index(f"ix_decisions_{column}_created_at_decision_id", table_name="decisions")
    op.drop_index("ix_decisions_created_at_decision_id", table_name="decisions")
    for column in _INDEXED_BY_0001:
        op.create_index(f"ix_decisions_{column}", "decisions", [column])
    # SQLite drops a column in place (3.35+) when nothing indexes or references it.
    op.drop_column("decisions", "as_of")
    op.drop_column("decisions", "order_id")

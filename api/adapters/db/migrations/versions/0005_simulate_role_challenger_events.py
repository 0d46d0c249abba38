"""The ``simulate`` role and the challenger lifecycle events.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

* ``api_keys.role`` may be ``simulate``: analysts run simulation jobs and dry-run batches, which
  decide nothing for real (api.service.keys).
* ``lifecycle_events.event`` may be ``challenger_named`` or ``challenger_ended``: an approver
  names a version to run in shadow beside the active one, and ends it.

Written out in full, like 0001, so it keeps doing exactly this when the tables module moves on.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ROLES_BEFORE = ("decide", "author", "approve", "audit", "admin")
_ROLES_AFTER = ("decide", "author", "approve", "audit", "simulate", "admin")
_EVENTS_BEFORE = ("published", "approved", "activated", "retired", "rolled_back")
_EVENTS_AFTER = (*_EVENTS_BEFORE, "challenger_named", "challenger_ended")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _replace_check(table: str, column: str, values: tuple[str, ...]) -> None:
    # The constraint's stored name, whatever spelling created it (0001's went through the naming
    # convention twice); its text is no guide: PostgreSQL stores `IN (…)` as `= ANY (ARRAY[…])`.
    names = [
        check["name"]
        for check in op.get_context().dialect.get_check_constraints(op.get_bind(), table)
        if check["name"] and check["name"].endswith(f"_{column}")
    ]
    # SQLite cannot alter a constraint: batch mode rebuilds the table (indexes and keys included).
    with op.batch_alter_table(table, recreate="auto") as batch:
        for name in names:
            batch.drop_constraint(op.f(name), type_="check")
        batch.create_check_constraint(op.f(f"ck_{table}_{column}"), _one_of(column, values))


def upgrade() -> None:
    _replace_check("api_keys", "role", _ROLES_AFTER)
    _replace_check("lifecycle_events", "event", _EVENTS_AFTER)


def downgrade() -> None:
    _replace_check("lifecycle_events", "event", _EVENTS_BEFORE)
    _replace_check("api_keys", "role", _ROLES_BEFORE)

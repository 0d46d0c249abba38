"""Announcing a change of shared state to every service process, in the transaction that makes it.

A use case that changes what processes cache (a version's status, an API key) calls
``uow.changes.announce(topic)`` before it commits. That bumps the topic's row of
``change_counters`` and, on PostgreSQL, sends ``NOTIFY creditpolicy_changes, '<schema>:<topic>'``.
Both are part of the transaction: a rolled-back change announces nothing, and PostgreSQL delivers
the notification only once the change is committed, so a process that hears it and reads again
sees the change. The listeners are in :mod:`api.adapters.change_listener`.

The payload names the schema because a channel is shared by the whole PostgreSQL database: a
deployment (or a test run) in another schema hears it and ignores it.
"""

from __future__ import annotations

from sqlalchemy import Connection, select, text
from sqlalchemy.dialects import postgresql, sqlite

from api.adapters.db import tables as t

__all__ = ["CHANNEL", "SqlChangeRepository"]

CHANNEL = "creditpolicy_changes"


class SqlChangeRepository:
    """The change counters in ``change_counters``, and NOTIFY on PostgreSQL."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def announce(self, topic: str) -> None:
        dialect = self._c.dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        c = t.change_counters.c
        statement = insert(t.change_counters).values(topic=topic, serial=1)
        self._c.execute(statement.on_conflict_do_update(index_elements=[c.topic], set_={"serial": c.serial + 1}))
        if dialect == "postgresql":
            self._c.execute(
                text("SELECT pg_notify(:channel, current_schema() || ':' || :topic)"),
                {"channel": CHANNEL, "topic": topic},
            )

    def serials(self) -> dict[str, int]:
        return dict(self._c.execute(select(t.change_counters.c.topic, t.change_counters.c.serial)).tuples().all())

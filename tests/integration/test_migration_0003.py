"""Migration 0003 on a database holding 0002's rows: the log's new columns and the grade history are
filled from what was logged, on both databases, and downgrading gives 0002's meaning back."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from alembic import command
from sqlalchemy import BindParameter, Engine, TextClause, bindparam, text

from api.adapters.db.engine import create_db_engine
from api.adapters.db.migrate import alembic_config, upgrade_database
from api.adapters.db.types import ExactDecimal, UTCDateTime
from api.adapters.db.unit_of_work import UnitOfWork
from api.service.grades import grade_history

SHA = "b" * 64


def at(day: int, month: int = 6) -> dt.datetime:
    return dt.datetime(2026, month, day, 10, 0, tzinfo=dt.UTC)


def assessment(grade: str, limit: str, eligible: bool, review: str) -> dict[str, Any]:
    return {
        "decision": {
            "grade": grade,
            "score": "70.50",
            "credit_limit": limit,
            "eligible": eligible,
            "next_review": review,
        }
    }


# (decision_id, kind, customer, outcome, created_at, input, output, whether its trace was logged)
LOGGED: list[tuple[str, str, str, str, dt.datetime, dict[str, Any], dict[str, Any], bool]] = [
    (
        "d-1",
        "assess",
        "C-1",
        "A",
        at(1, 4),
        {"as_of": "2026-03-31"},
        assessment("A", "500000.00", True, "2026-05-30"),
        True,
    ),
    (
        "d-2",
        "assess",
        "C-1",
        "A",
        at(1),
        {"as_of": "2026-05-31"},
        assessment("A", "400000.00", True, "2026-07-30"),
        True,
    ),
    (
        "d-3",
        "assess",
        "C-1",
        "B",
        at(2),
        {"as_of": "2026-04-30"},
        assessment("B", "200000.00", True, "2026-05-30"),
        True,
    ),
    (
        "d-4",
        "order",
        "C-1",
        "approve",
        at(3),
        {"as_of": "2026-06-30", "order": {"id": "SO-9"}},
        {"decision": {}},
        False,
    ),
]


def sql(statement: str) -> TextClause:
    """A statement whose times and amounts are bound as the service binds them (UTC, exact text on SQLite)."""
    typed: list[BindParameter[Any]] = [
        bindparam(name, type_=UTCDateTime()) for name in ("created", "decided", "updated") if f":{name}" in statement
    ]
    if ":limit" in statement:
        typed.append(bindparam("limit", type_=ExactDecimal()))
    return text(statement).bindparams(*typed)


def insert_0002_rows(engine: Engine) -> None:
    """What 0002's service stored: every decision, grade rows only for grade changes, the last snapshot."""
    with engine.begin() as connection:
        for decision_id, kind, customer, outcome, created, body, output, traced in LOGGED:
            trace = json.dumps({"input": body}) if traced else None
            connection.execute(
                sql(
                    "INSERT INTO decisions (decision_id, kind, customer_id, outcome, created_at, caller, policy_id, "
                    "policy_sha256, policy_label, input_json, output_json, trace_json) VALUES (:id, :kind, :customer, "
                    ":outcome, :created, 'erp', 'standard', :sha, '2026.1', :input, :output, :trace)"
                ),
                {
                    "id": decision_id,
                    "kind": kind,
                    "customer": customer,
                    "outcome": outcome,
                    "created": created,
                    "sha": SHA,
                    "input": json.dumps({**body, "request_id": decision_id}),
                    "output": json.dumps(output),
                    "trace": trace,
                },
            )
        grades: list[tuple[str, str | None, str, dt.datetime, str | None]] = [
            ("C-1", None, "A", at(1, 4), "d-1"),
            ("C-1", "A", "B", at(2), "d-3"),
            ("C-2", None, "C", at(1, 2), None),
        ]
        for customer, old, new, decided, graded_by in grades:
            connection.execute(
                sql(
                    "INSERT INTO grade_history (customer_id, old_grade, new_grade, score, policy_sha256, decided_at, "
                    "next_review, decision_id) VALUES (:customer, :old, :new, '70.50', :sha, :decided, NULL, :decision)"
                ),
                {"customer": customer, "old": old, "new": new, "sha": SHA, "decided": decided, "decision": graded_by},
            )
        for customer, grade, limit, updated in (("C-1", "B", "200000.00", at(2)), ("C-2", "C", "0.00", at(1, 2))):
            connection.execute(
                sql(
                    "INSERT INTO customers (customer_id, grade, score, credit_limit, next_review, updated_at) "
                    "VALUES (:customer, :grade, '70.50', :limit, NULL, :updated)"
                ),
                {"customer": customer, "grade": grade, "limit": Decimal(limit), "updated": updated},
            )


def test_0003_fills_the_log_and_the_grade_history_from_what_was_logged(empty_database_url: str) -> None:
    upgrade_database(empty_database_url, "0002")
    engine = create_db_engine(empty_database_url)
    try:
        insert_0002_rows(engine)
        upgrade_database(engine)
        with UnitOfWork(engine) as uow:
            logged = {d: uow.decisions.get(d) for d in ("d-1", "d-3", "d-4")}
            assert {d: (r.as_of, r.order_id) for d, r in logged.items() if r} == {
                "d-1": (dt.date(2026, 3, 31), None),
                "d-3": (dt.date(2026, 4, 30), None),
                "d-4": (dt.date(2026, 6, 30), "SO-9"),  # logged without a trace: read from the input
            }
            rows = uow.grades.for_customer("C-1")
            assert [(g.decision_id, g.as_of, g.grade, g.credit_limit, g.eligible) for g in rows] == [
                ("d-1", dt.date(2026, 3, 31), "A", Decimal("500000.00"), True),
                ("d-3", dt.date(2026, 4, 30), "B", Decimal("200000.00"), True),
                ("d-2", dt.date(2026, 5, 31), "A", Decimal("400000.00"), True),  # 0002 kept no row for it
            ]
            assert [(c.after.decision_id, c.changed) for c in grade_history(uow, "C-1")] == [
                ("d-1", ("grade", "credit_limit", "eligible")),
                ("d-3", ("grade", "credit_limit")),
                ("d-2", ("grade", "credit_limit")),
            ]
            [legacy] = uow.grades.for_customer("C-2")
            assert (legacy.as_of, legacy.credit_limit, legacy.eligible) == (dt.date(2026, 2, 1), None, None)
            snapshot = uow.customers.get("C-1")
            assert snapshot is not None  # the latest day assessed, not the last decision to arrive
            assert (snapshot.grade, snapshot.credit_limit, snapshot.as_of) == (
                "A",
                Decimal("400000.00"),
                dt.date(2026, 5, 31),
            )
            other = uow.customers.get("C-2")
            assert other is not None and (other.grade, other.as_of) == ("C", dt.date(2026, 2, 1))

        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0002")
        with engine.connect() as connection:
            kept = connection.execute(
                text(
                    "SELECT decision_id, old_grade, new_grade FROM grade_history WHERE customer_id = 'C-1' ORDER BY id"
                )
            ).all()
        assert sorted((tuple(row) for row in kept), key=str) == [
            ("d-1", None, "A"),
            ("d-2", "B", "A"),
            ("d-3", "A", "B"),
        ]
        upgrade_database(engine)
    finally:
        engine.dispose()

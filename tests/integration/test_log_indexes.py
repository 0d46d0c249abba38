"""Every filter of the decision log has an index that reads a page in order, on both databases.

The query plans are read with EXPLAIN. On PostgreSQL, whose planner prefers a sequential scan of a
table this small, sequential scans, bitmap scans and sorts are priced out first: what is left is
the plan a large log would get if the index serves the query, and a Sort node if it cannot.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import ClauseElement, Engine, Executable, Select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from api.adapters.db.repository import DecisionQuery
from api.adapters.db.sql import log_statement

T0 = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


class Explain(Executable, ClauseElement):
    """``EXPLAIN`` (PostgreSQL) or ``EXPLAIN QUERY PLAN`` (SQLite) of a statement, its values bound as usual."""

    inherit_cache = False

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement


@compiles(Explain)
def _explain(element: Explain, compiler: SQLCompiler, **kw: Any) -> str:
    prefix = "EXPLAIN QUERY PLAN " if compiler.dialect.name == "sqlite" else "EXPLAIN "
    return prefix + compiler.process(element.statement, **kw)


def plan(engine: Engine, query: DecisionQuery, *, sorts: bool = False) -> str:
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            for setting in ("enable_seqscan", "enable_bitmapscan", *(() if sorts else ("enable_sort",))):
                connection.exec_driver_sql(f"SET LOCAL {setting} = off")
        rows = connection.execute(Explain(log_statement(query))).all()
        connection.rollback()
    return "\n".join(str(row[-1]) for row in rows)


CURSOR = (T0, "00000000-0000-0000-0000-000000000009")
IN_ORDER = [  # each filter, alone and from a cursor: its index, and no sort
    (DecisionQuery(), "ix_decisions_created_at_decision_id"),
    (DecisionQuery(after=CURSOR), "ix_decisions_created_at_decision_id"),
    (DecisionQuery(since=T0, until=T0 + dt.timedelta(days=1)), "ix_decisions_created_at_decision_id"),
    (DecisionQuery(customer_id="C-1"), "ix_decisions_customer_id_created_at_decision_id"),
    (DecisionQuery(customer_id="C-1", after=CURSOR), "ix_decisions_customer_id_created_at_decision_id"),
    (DecisionQuery(order_id="PO-1"), "ix_decisions_order_id_created_at_decision_id"),
    (DecisionQuery(order_id="PO-1", since=T0), "ix_decisions_order_id_created_at_decision_id"),
    (DecisionQuery(kind="order"), "ix_decisions_kind_created_at_decision_id"),
    (DecisionQuery(outcome="hold", after=CURSOR), "ix_decisions_outcome_created_at_decision_id"),
    (DecisionQuery(policy_sha256="a" * 64), "ix_decisions_policy_sha256_created_at_decision_id"),
]


@pytest.mark.parametrize(("query", "index"), IN_ORDER)
def test_a_filtered_page_is_read_from_its_index_in_order(engine: Engine, query: DecisionQuery, index: str) -> None:
    found = plan(engine, query)
    assert index in found, found
    assert "Sort" not in found and "TEMP B-TREE" not in found, found
    if query.after is not None:  # the index is sought to the cursor, not read from the top and filtered
        assert re.search(r"Index Cond: .*ROW\(created_at|USING INDEX .*\(created_at,decision_id\)<", found), found


@pytest.mark.parametrize(
    ("query", "column"),
    [
        (DecisionQuery(request_id="erp-1"), "request_id"),  # unique: at most one row to sort
        (DecisionQuery(as_of_from=dt.date(2026, 6, 1), as_of_to=dt.date(2026, 6, 30)), "as_of"),
    ],
)
def test_the_other_filters_are_looked_up_in_an_index(engine: Engine, query: DecisionQuery, column: str) -> None:
    found = plan(engine, query, sorts=True)
    assert re.search(rf"Index Cond: \(+{column}|USING INDEX \S+ \({column}", found), found

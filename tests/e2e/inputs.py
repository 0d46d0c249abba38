"""Decision bodies for the HTTP tests: valid for the shipped policy, edited one field at a time."""

from __future__ import annotations

import copy
from typing import Any

from tests.decision_factories import strong_credit_file

__all__ = ["BODIES", "body", "second_version_yaml"]

BODIES: dict[str, dict[str, Any]] = {
    "assess": {"customer": {"id": "C-1001", "segment": "ordinary"}, "credit_file": {}, "as_of": "2026-06-30"},
    "order": {
        "customer": {"id": "C-1001", "segment": "ordinary", "grade": "A", "limit": "1500000.00"},
        "order": {"id": "SO-1", "amount": "120000.00", "currency": "CNY"},
        "exposure": {"open_receivables": "600000.00", "open_orders": "100000.00", "overdue_amount": "0.00"},
        "as_of": "2026-06-30",
    },
    "settlement": {
        "invoice": {"id": "INV-1", "amount": "10000.00", "date": "2026-03-01"},
        "terms": {"text": "3/10, 2/20, n/30"},
        "payments": [{"date": "2026-03-16", "amount": "4900.00"}, {"date": "2026-04-10", "amount": "5000.00"}],
        "as_of": "2026-04-30",
    },
    "collection": {
        "customer": {"id": "C-2001", "segment": "ordinary", "grade": "BB"},
        "arrears": {"amount": "250000.00", "days_overdue": 75, "steps_taken": [{"step": "letter", "on": "2026-05-01"}]},
        "as_of": "2026-06-30",
    },
}


def body(kind: str, customer_id: str | None = None, **top: Any) -> dict[str, Any]:
    """A valid body of ``kind`` (assess with a strong credit file), for ``customer_id``, with top-level overrides."""
    data = copy.deepcopy(BODIES[kind])
    if kind == "assess":
        data["credit_file"] = strong_credit_file()
    if customer_id is not None and "customer" in data:
        data["customer"]["id"] = customer_id
    data.update(top)
    return data


def second_version_yaml(shipped: str, *, label: str = "2026.2", effective_from: str = "2026-09-01") -> str:
    """The shipped policy as a later version: ordinary customers are held after 20 days overdue, not 30."""
    changed = (
        shipped.replace('version: "2026.1"', f'version: "{label}"', 1)
        .replace("effective_from: 2026-01-01", f"effective_from: {effective_from}", 1)
        .replace("exposure.oldest_overdue_days > 30 and", "exposure.oldest_overdue_days > 20 and", 1)
    )
    assert changed.count("> 20 and") == 1 and label in changed
    return changed

"""While the app serves, start-up's objects are frozen and young objects collected less often."""

from __future__ import annotations

import gc
from pathlib import Path

from api.entrypoints.http.app import GC_YOUNG_THRESHOLD
from tests.e2e.conftest import running_service
from tests.integration.conftest import throwaway_database


def test_collector_is_tuned_while_serving_and_restored_after(tmp_path: Path) -> None:
    before = gc.get_threshold()
    with throwaway_database("sqlite", tmp_path) as url, running_service(url) as service:
        assert gc.get_threshold() == (max(before[0], GC_YOUNG_THRESHOLD), *before[1:])
        assert gc.get_freeze_count() > 10_000  # modules, the compiled policy, its rulesets
        order = {
            "customer": {"id": "C-GC", "segment": "ordinary", "grade": "A", "limit": "1000.00"},
            "order": {"id": "SO-GC", "amount": "10.00", "currency": "CNY"},
            "exposure": {"open_receivables": "0.00", "open_orders": "0.00", "overdue_amount": "0.00"},
            "as_of": "2026-06-30",
        }
        assert service.post("/v1/decisions/order", order).status_code == 200
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0

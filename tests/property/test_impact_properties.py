"""A version's impact on its own decisions: every one reproduces and nothing changes, whatever the inputs."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from api.adapters.db.memory import InMemoryUnitOfWork, MemoryDatabase
from api.service import versions
from api.service.decisions import log_decision
from api.service.decisions.decide import evaluate
from api.service.decisions.envelope import read_envelope
from api.service.impact import ImpactRequest, impact_document, measure_impact
from api.service.keys import Caller
from api.service.policy_cases import cases_runner
from api.service.registry import PolicyRegistry
from tests.conftest import SHIPPED
from tests.decision_factories import assess_input, order_input, strong_credit_file

REGISTRY = PolicyRegistry()
SHIPPED_TEXT = SHIPPED.read_text(encoding="utf-8")

orders = st.builds(
    lambda cents, limit, days, grade, segment: order_input(
        amount=f"{cents // 100}.{cents % 100:02d}",
        limit=f"{limit}.00",
        grade=grade,
        segment=segment,
        oldest_overdue_days=days,
        overdue_amount="1.00" if days else "0",
    ),
    st.integers(1, 10**9),
    st.integers(0, 10**7),
    st.integers(0, 120),
    st.sampled_from(["AAA", "A", "BBB", "BB", "CCC", "D"]),
    st.sampled_from(["ordinary", "core", "high_risk"]),
)
assessments = st.builds(
    lambda on_time, years: assess_input(
        {**strong_credit_file(), "payment": {**strong_credit_file()["payment"], "on_time_ratio": on_time}}
        | {"records": {**strong_credit_file()["records"], "years_in_business": years}}
    ),
    st.sampled_from(["0", "0.5", "0.61", "0.975", "1"]),
    st.one_of(st.integers(0, 40), st.sampled_from(["2.5", "10.25"])),
)


def _store() -> MemoryDatabase:
    database = MemoryDatabase()
    uow = InMemoryUnitOfWork(database)
    record, _ = versions.publish(uow, SHIPPED_TEXT, "rules/standard.yaml", "author", cases_runner(None, "none"))
    versions.approve(uow, record.sha256, "approver", "reviewed")
    versions.activate(uow, record.sha256, "approver", "go live")
    return database


@settings(max_examples=15, deadline=None)
@given(st.lists(st.one_of(orders.map(lambda b: ("order", b)), assessments.map(lambda b: ("assess", b))), max_size=8))
def test_impact_of_a_version_on_itself(decisions: list[tuple[str, dict[str, Any]]]) -> None:
    database = _store()
    for kind, body in decisions:
        uow = InMemoryUnitOfWork(database)
        envelope = read_envelope(body)
        log_decision(uow, evaluate(uow, REGISTRY, Caller("erp", "decide"), kind, envelope, None, False))
    document = impact_document(
        measure_impact(InMemoryUnitOfWork(database), REGISTRY, ImpactRequest(from_ref="2026.1", to_ref="2026.1"))
    )
    assert document["records"]["reproduced"] == len(decisions) == document["records"]["decided_by_from"]
    assert document["determinism"]["findings"] == []
    assert all(s["changed"] == 0 and s["transitions"] == [] for s in document["kinds"].values())
    assert document["samples"] == []

"""Champion–challenger on the in-memory store: the share rule, shadows in the log, isolation from the answer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, cast

import pytest

from api.adapters.db.memory import InMemoryUnitOfWork, MemoryDatabase
from api.adapters.db.records import DecisionRecord
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.adapters.group_commit import GroupCommitter
from api.errors import InvalidRequest
from api.service import shadow, shadow_report, versions
from api.service.decisions import DecisionResponse, DecisionWriter, decide_and_log
from api.service.decisions.shadow import CHALLENGER_FAILED
from api.service.keys import Caller
from api.service.policy_cases import cases_runner, run_cases_beside
from api.service.registry import LiveChallenger, PolicyRegistry
from engine.ir import CompiledPolicy
from tests.conftest import SHIPPED
from tests.decision_factories import order_input

ERP = Caller("erp", "decide")


def challenger_yaml() -> str:
    """The shipped policy holding ordinary customers after 20 days overdue instead of 30."""
    shipped = SHIPPED.read_text(encoding="utf-8")
    text = shipped.replace('version: "2026.1"', 'version: "2026.2"', 1).replace(
        "exposure.oldest_overdue_days > 30 and", "exposure.oldest_overdue_days > 20 and", 1
    )
    assert "> 20 and" in text
    return text


# --- the share --------------------------------------------------------------------------------------
def test_a_customer_is_always_or_never_in_a_share_and_larger_shares_keep_it() -> None:
    customers = [f"C-{n}" for n in range(2000)]
    buckets = {c: shadow.share_bucket("standard", c) for c in customers}
    assert buckets == {c: shadow.share_bucket("standard", c) for c in customers}  # deterministic
    assert all(0 <= b < shadow.SHARE_BUCKETS for b in buckets.values())
    for small, large in ((100, 2500), (2500, 5000), (5000, 9999)):
        inside = {c for c in customers if shadow.in_share(small, "standard", c)}
        assert inside <= {c for c in customers if shadow.in_share(large, "standard", c)}
    assert all(shadow.in_share(10_000, "standard", c) for c in customers)  # 100 %: everyone
    assert not any(shadow.in_share(0, "standard", c) for c in customers)


def test_the_fraction_of_customers_shadowed_is_near_the_share() -> None:
    customers = [f"CUST-{n:06d}" for n in range(20_000)]
    for share in ("25", "5", "62.5"):
        threshold = int(shadow.parse_share(share) * 100)
        fraction = sum(shadow.in_share(threshold, "standard", c) for c in customers) / len(customers)
        assert abs(fraction - float(share) / 100) < 0.015, (share, fraction)
    # Another policy hashes the same customers into other buckets.
    assert [shadow.share_bucket("standard", c) for c in customers[:50]] != [
        shadow.share_bucket("other", c) for c in customers[:50]
    ]


@pytest.mark.parametrize("share", ["100", "0.01", "25", "12.5", "99.99", " 7 "])
def test_a_share_is_a_percentage_with_two_decimals_at_most(share: str) -> None:
    assert shadow.parse_share(share) == Decimal(share.strip())


@pytest.mark.parametrize("share", ["0", "0.00", "-1", "100.01", "12.345", "NaN", "Infinity", "", "a quarter"])
def test_other_shares_are_refused(share: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        shadow.parse_share(share)
    assert refused.value.code == "invalid_share"


# --- shadows in the log on the in-memory store --------------------------------------------------------
@dataclass
class Store:
    database: MemoryDatabase
    writer: DecisionWriter
    challenger_sha256: str

    def decide(self, kind: str, body: Any) -> DecisionResponse:
        return asyncio.run(decide_and_log(kind, body, ERP, self.writer))

    def name(self, share: str) -> None:
        with InMemoryUnitOfWork(self.database) as uow:
            shadow.name_challenger(
                uow, "standard", self.challenger_sha256, share, "approver-2", "compare", timeline=self.writer.registry
            )


def make_store(registry: PolicyRegistry, new_uow: Any = None) -> Iterator[Store]:
    database = MemoryDatabase()
    with InMemoryUnitOfWork(database) as uow:
        record, _ = versions.publish(
            uow, SHIPPED.read_text(encoding="utf-8"), "rules/standard.yaml", "author", run_cases_beside
        )
        versions.approve(uow, record.sha256, "approver", "ok")
        versions.activate(uow, record.sha256, "approver", "go")
        challenger, _ = versions.publish(
            uow, challenger_yaml(), "rules/standard.yaml", "author", cases_runner(None, "")
        )
    opener = new_uow or (lambda: InMemoryUnitOfWork(database))
    committer = GroupCommitter(opener)
    writer = DecisionWriter(registry, opener, lambda: InMemoryUnitOfWork(database), committer)
    yield Store(database, writer, challenger.sha256)
    committer.close()


@pytest.fixture
def store() -> Iterator[Store]:
    yield from make_store(PolicyRegistry())


def overdue_order(customer: str, days: int) -> dict[str, Any]:
    body = order_input(customer_id=customer)
    body["exposure"] = {**body.get("exposure", {}), "oldest_overdue_days": days, "overdue_amount": "100.00"}
    return body


def test_only_customers_in_the_share_are_shadowed_every_time(store: Store) -> None:
    store.name("30")
    customers = [f"C-{n}" for n in range(60)]
    for _ in range(2):
        for customer in customers:
            store.decide("order", order_input(customer_id=customer))
    shadowed = [r.customer_id for r in store.database.shadows.values()]
    expected = [c for c in customers if shadow.in_share(3000, "standard", c)]
    assert sorted(shadowed) == sorted(expected * 2) and 0 < len(expected) < len(customers)
    assert set(store.database.shadows) <= set(store.database.decisions)  # each beside its log row


def test_agreement_and_transitions_are_counted(store: Store) -> None:
    store.name("100")
    store.decide("order", overdue_order("C-1", 25))  # champion approves, challenger holds
    store.decide("order", overdue_order("C-2", 25))
    store.decide("order", overdue_order("C-3", 0))  # both approve
    store.decide("order", overdue_order("C-4", 45))  # both hold: the champion opens the one case
    assert len(store.database.cases) == 1
    with InMemoryUnitOfWork(store.database) as uow:
        report = shadow_report.shadow_report(uow, policy_id="standard").content()
    orders = report["kinds"][0]
    assert (orders["kind"], orders["shadowed"], orders["agreed"], orders["agreement_rate"]) == ("order", 4, 2, "0.5000")
    amount = str(Decimal(order_input()["order"]["amount"]) * 2)
    assert orders["transitions"] == [
        {"champion": "approve", "challenger": "hold", "count": 2, "amounts": [{"currency": "CNY", "amount": amount}]}
    ]
    assert [s["customer_id"] for s in orders["samples"]] == ["C-2", "C-1"]  # the newest first
    agreeing = [r for r in store.database.shadows.values() if r.agree]
    assert len(agreeing) == 2 and all(r.challenger_output_json is None for r in agreeing)
    lines = shadow_report.report_lines(shadow_report.shadow_report(InMemoryUnitOfWork(store.database)))
    assert any("approve → hold: 2 (CNY" in line for line in lines)


def test_a_replayed_request_and_a_settlement_are_not_shadowed(store: Store) -> None:
    store.name("100")
    body = {**order_input(customer_id="C-9"), "request_id": "once"}
    first, again = store.decide("order", body), store.decide("order", body)
    assert again.replayed and first.shadow == "agree" and again.shadow is None
    assert len(store.database.shadows) == 1


class BrokenChallengerRegistry(PolicyRegistry):
    """A registry whose challenger breaks in a way no policy error names (a defect)."""

    def challenger(self, uow: AbstractUnitOfWork, policy_id: str) -> LiveChallenger | None:
        found = super().challenger(uow, policy_id)
        if found is None:
            return None
        return replace(found, compiled=cast(CompiledPolicy, object()))  # has none of a compiled policy's parts


def test_a_challenger_raising_anything_leaves_the_answer_as_it_was() -> None:
    for store in make_store(BrokenChallengerRegistry()):
        plain = store.decide("order", overdue_order("C-1", 45))
        store.name("100")
        shadowed = store.decide("order", overdue_order("C-2", 45))
        assert shadowed.shadow == f"error:{CHALLENGER_FAILED}"
        assert plain.content()["outcome"] == shadowed.content()["outcome"] == "hold"
        assert len(store.database.cases) == 2  # each order's own case, nothing for the challenger
        (row,) = store.database.shadows.values()
        assert (row.error_code, row.challenger_outcome, row.agree) == (CHALLENGER_FAILED, None, False)


class ShadowWriteFails(InMemoryUnitOfWork):
    """A store whose log refuses a row carrying a shadow (a database refusing its text, say): the
    decision must still be stored."""

    def _bind(self, working: MemoryDatabase) -> None:
        super()._bind(working)
        log = self.decisions

        class Refusing:
            def add(self, record: DecisionRecord) -> None:
                if record.shadow_json is not None:
                    raise ValueError("invalid byte sequence for encoding UTF8")
                log.add(record)

            def __getattr__(self, name: str) -> Any:
                return getattr(log, name)

        self.decisions = cast(Any, Refusing())


def test_a_shadow_row_that_cannot_be_written_costs_the_decision_nothing() -> None:
    database_holder: list[MemoryDatabase] = []

    def opener() -> InMemoryUnitOfWork:
        return ShadowWriteFails(database_holder[0])

    registry = PolicyRegistry()
    for store in make_store(registry, new_uow=lambda: opener()):
        database_holder.append(store.database)
        store.name("100")
        answer = store.decide("order", order_input(customer_id="C-5"))
        assert answer.shadow == "error:shadow_write_failed"
        assert answer.decision_id in store.database.decisions and not store.database.shadows
        assert store.database.decisions[answer.decision_id].shadow_agree is None


def test_a_challenger_whose_rules_moved_lines_still_agrees(store: Store) -> None:
    with InMemoryUnitOfWork(store.database) as uow:
        moved = "# one more line: every rule's source moves down by one\n" + challenger_yaml().replace(
            'version: "2026.2"', 'version: "2026.3"', 1
        )
        version, _ = versions.publish(uow, moved, "rules/standard.yaml", "author", cases_runner(None, ""))
        shadow.name_challenger(uow, "standard", version.sha256, "100", "approver-2", "compare")
    store.writer.registry.forget()
    agreeing = store.decide("order", overdue_order("C-1", 0))
    differing = store.decide("order", overdue_order("C-2", 25))
    assert (agreeing.shadow, differing.shadow) == ("agree", "differ")
    rows = {r.customer_id: r for r in store.database.shadows.values()}
    differences = json.loads(rows["C-2"].differences_json or "[]")
    assert {d["path"] for d in differences} == {
        "outcome",
        "reasons[order_rules.default]",
        "reasons[order_rules.overdue_ordinary]",
    }


def test_a_dry_run_shadows_nothing_while_the_real_batch_does(store: Store) -> None:
    # A dry run decides nothing live: its items are not evaluated under the challenger at all.
    from api.service.decisions import decide_batch

    store.name("100")
    bodies = [overdue_order("C-1", 25), overdue_order("C-2", 0)]
    with InMemoryUnitOfWork(store.database) as uow:
        dry = decide_batch(uow, PolicyRegistry(), ERP, "order", bodies, dry_run=True)
    assert dry.dry_run and store.database.shadows == {}
    with InMemoryUnitOfWork(store.database) as uow:
        decide_batch(uow, PolicyRegistry(), ERP, "order", bodies)
    assert sorted(r.customer_id for r in store.database.shadows.values()) == ["C-1", "C-2"]

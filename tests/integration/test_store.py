"""Repositories and the unit of work on SQLite and PostgreSQL: exact money, UTC times, unique keys, transactions."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError, StatementError

from api.adapters.db import tables
from api.adapters.db.records import CreditCaseRecord, CustomerRecord, DecisionRecord, NewGrade
from api.adapters.db.repository import DecisionQuery
from api.adapters.db.unit_of_work import UnitOfWork
from api.errors import DuplicateRecord
from tests.integration.conftest import UowFactory

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


def decision(
    n: int,
    *,
    request_id: str | None = None,
    customer: str = "C1",
    kind: str = "order",
    outcome: str = "approve",
    at: dt.datetime = T0,
    order: str | None = None,
    as_of: dt.date = dt.date(2026, 1, 5),
) -> DecisionRecord:
    return DecisionRecord(
        decision_id=str(uuid.UUID(int=n)),
        kind=kind,
        request_id=request_id,
        request_hash="ab" * 32 if request_id else None,
        customer_id=customer,
        order_id=order,
        as_of=as_of,
        outcome=outcome,
        created_at=at,
        caller="erp",
        policy_id="standard",
        policy_sha256="f" * 64,
        policy_label="1",
        input_json='{"amount": "10.00"}',
        output_json='{"outcome": "approve"}',
        trace_json=None,
    )


def case(
    case_id: str, decision_id: str, *, amount: Decimal = Decimal("100.00"), order: str = "PO-1"
) -> CreditCaseRecord:
    return CreditCaseRecord(
        case_id=case_id,
        customer_id="C1",
        order_ref=order,
        order_amount=amount,
        currency="CNY",
        status="open",
        decision_id=decision_id,
        opened_at=T0,
    )


def test_announced_orders_are_looked_up_together_and_what_is_added_or_rolled_back_counts(make_uow: UowFactory) -> None:
    with make_uow() as uow:
        uow.decisions.add(decision(1))
        uow.cases.add(case("K1", decision(1).decision_id, order="PO-1"))
        uow.commit()
        for order in ("PO-1", "PO-2", "PO-3"):
            uow.cases.expect("C1", order)
        assert uow.cases.latest_for_order("C1", "PO-2") is None  # one query answered all three
        assert uow.cases.latest_for_order("C1", "PO-1") == uow.cases.get("K1")
        uow.cases.add(case("K3", decision(1).decision_id, order="PO-3"))  # a case opened in this transaction
        assert uow.cases.latest_for_order("C1", "PO-3") == uow.cases.get("K3")
        uow.rollback()
        uow.cases.expect("C1", "PO-3")
        assert uow.cases.latest_for_order("C1", "PO-3") is None
        uow.cases.add(case("K3", decision(1).decision_id, order="PO-3"))
        uow.commit()
    with make_uow() as uow:
        uow.cases.expect("C1", "PO-3")
        uow.cases.expect("C1", "PO-4")
        assert uow.cases.latest_for_order("C1", "PO-3") == uow.cases.get("K3")
        assert uow.cases.latest_for_order("C1", "PO-4") is None


AMOUNTS = [
    Decimal("0.00"),
    Decimal("0.10"),
    Decimal("0.01"),
    Decimal("123456789012345678.99"),  # 20 digits: beyond what a float holds exactly
    Decimal("99999999999999999.99"),
]


@pytest.mark.parametrize("amount", AMOUNTS)
def test_money_round_trips_exactly(make_uow: UowFactory, amount: Decimal) -> None:
    with make_uow() as uow:
        uow.decisions.add(decision(1))
        uow.cases.add(case("K1", decision(1).decision_id, amount=amount))
        uow.customers.upsert(CustomerRecord("C1", "A", Decimal("87.25"), amount, dt.date(2026, 4, 1), T0, T0.date()))
        uow.commit()
    with make_uow() as uow:
        stored = uow.cases.get("K1")
        customer = uow.customers.get("C1")
    assert stored is not None and customer is not None
    assert (stored.order_amount, customer.credit_limit, customer.score) == (amount, amount, Decimal("87.25"))
    assert str(stored.order_amount) == str(amount)  # same digits, trailing zeros included


def test_money_with_more_than_two_decimals_is_refused(make_uow: UowFactory) -> None:
    with make_uow() as uow:
        uow.decisions.add(decision(1))
        with pytest.raises(StatementError, match="at most 2 decimals"):
            uow.cases.add(case("K1", decision(1).decision_id, amount=Decimal("1.005")))


def test_timestamps_come_back_aware_in_utc(make_uow: UowFactory) -> None:
    beijing = dt.timezone(dt.timedelta(hours=8))
    with make_uow() as uow:
        uow.decisions.add(decision(1, at=dt.datetime(2026, 3, 1, 16, 30, 0, 123456, tzinfo=beijing)))
        uow.commit()
    with make_uow() as uow:
        stored = uow.decisions.get(str(uuid.UUID(int=1)))
    assert stored is not None
    assert stored.created_at == dt.datetime(2026, 3, 1, 8, 30, 0, 123456, tzinfo=dt.UTC)
    assert stored.created_at.utcoffset() == dt.timedelta(0)


def test_naive_timestamps_are_refused(make_uow: UowFactory) -> None:
    with make_uow() as uow:
        uow.decisions.add(decision(1, at=dt.datetime(2026, 3, 1, 8, 0)))  # log rows are written at commit
        with pytest.raises(StatementError, match="timezone-aware"):
            uow.commit()
    with make_uow() as uow:
        assert uow.decisions.get(str(uuid.UUID(int=1))) is None


def test_leaving_without_commit_rolls_back(make_uow: UowFactory) -> None:
    with make_uow() as uow:
        uow.decisions.add(decision(1))
    with make_uow() as uow:
        uow.decisions.add(decision(2))
        uow.commit()
        uow.decisions.add(decision(3))
        uow.rollback()
    with make_uow() as uow:
        found = [d.decision_id for d in uow.decisions.query(DecisionQuery())]
    assert found == [str(uuid.UUID(int=2))]


def test_a_request_id_is_stored_once(make_uow: UowFactory) -> None:
    with make_uow() as uow:
        uow.decisions.add(decision(1, request_id="r-1"))
        uow.commit()
        with pytest.raises(DuplicateRecord):  # the log writes its rows together: here, at commit
            uow.decisions.add(decision(2, request_id="r-1"))
            uow.commit()
        uow.rollback()
        assert uow.decisions.get_by_request_id("r-1") == uow.decisions.get(str(uuid.UUID(int=1)))
        uow.decisions.add(decision(3))  # requests without an id never clash
        uow.decisions.add(decision(4))
        uow.commit()


def test_the_log_reads_its_own_writes_and_a_rollback_forgets_them(make_uow: UowFactory) -> None:
    with make_uow() as uow:
        uow.decisions.add(decision(1, request_id="r-1"))
        uow.decisions.add(decision(2))
        assert uow.decisions.get_by_request_id("r-1") == decision(1, request_id="r-1")  # not committed yet
        assert len(uow.decisions.query(DecisionQuery())) == 2
        uow.decisions.add(decision(3))
        uow.rollback()  # 1 and 2 were written (uncommitted), 3 only added: all gone
        uow.decisions.add(decision(4))
        uow.commit()
    with make_uow() as uow:
        assert [d.decision_id for d in uow.decisions.query(DecisionQuery())] == [str(uuid.UUID(int=4))]


def test_a_clash_in_rows_written_together_writes_none_of_them(make_uow: UowFactory) -> None:
    with make_uow() as uow:
        uow.decisions.add(decision(1, request_id="r-1"))
        uow.commit()
        for n, request_id in ((2, "r-2"), (3, "r-1"), (4, "r-4")):
            uow.decisions.add(decision(n, request_id=request_id))
        with pytest.raises(DuplicateRecord):
            uow.commit()
        uow.rollback()
    with make_uow() as uow:
        assert [d.decision_id for d in uow.decisions.query(DecisionQuery())] == [str(uuid.UUID(int=1))]


def test_decision_log_filters_and_pages(make_uow: UowFactory) -> None:
    with make_uow() as uow:
        for n in range(1, 8):
            uow.decisions.add(
                decision(
                    n,
                    customer="C1" if n % 2 else "C2",
                    outcome="hold" if n % 3 == 0 else "approve",
                    at=T0 + dt.timedelta(minutes=n // 2),
                )
            )  # pairs share a time: ties by id
        uow.commit()
    with make_uow() as uow:
        pages, after = [], None
        while True:
            page = uow.decisions.query(DecisionQuery(customer_id="C1", limit=2, after=after))
            if not page:
                break
            pages.append([int(uuid.UUID(d.decision_id)) for d in page])
            after = (page[-1].created_at, page[-1].decision_id)
        assert pages == [[7, 5], [3, 1]]
        oldest = uow.decisions.query(DecisionQuery(newest_first=False, limit=3))
        assert [int(uuid.UUID(d.decision_id)) for d in oldest] == [1, 2, 3]
        holds = uow.decisions.query(
            DecisionQuery(outcome="hold", since=T0 + dt.timedelta(minutes=1), until=T0 + dt.timedelta(minutes=3))
        )
        assert [int(uuid.UUID(d.decision_id)) for d in holds] == [3]


def test_decision_log_filters_by_order_request_and_day_decided_about(make_uow: UowFactory) -> None:
    days = (dt.date(2026, 5, 31), dt.date(2026, 6, 1), dt.date(2026, 6, 30), dt.date(2026, 7, 1))
    with make_uow() as uow:
        for n, as_of in enumerate(days, start=1):
            order = "PO-1" if n % 2 else "PO-2"
            uow.decisions.add(
                decision(n, order=order, as_of=as_of, request_id=f"r-{n}", at=T0 + dt.timedelta(minutes=n))
            )
        uow.commit()
    with make_uow() as uow:

        def found(**filters: Any) -> list[int]:
            return [int(uuid.UUID(d.decision_id)) for d in uow.decisions.query(DecisionQuery(**filters))]

        assert found(order_id="PO-1") == [3, 1]
        assert found(request_id="r-2") == [2]
        assert found(as_of_from=dt.date(2026, 6, 1), as_of_to=dt.date(2026, 6, 30)) == [3, 2]  # both ends in
        assert found(as_of_from=dt.date(2026, 6, 30), order_id="PO-2") == [4]
        assert uow.decisions.get(str(uuid.UUID(int=4))) == decision(
            4, order="PO-2", as_of=days[3], request_id="r-4", at=T0 + dt.timedelta(minutes=4)
        )


def test_one_open_case_per_order(make_uow: UowFactory) -> None:
    with make_uow() as uow:
        uow.decisions.add(decision(1))
        uow.cases.add(case("K1", decision(1).decision_id))
        uow.commit()
        with pytest.raises(DuplicateRecord):
            uow.cases.add(case("K2", decision(1).decision_id))
        uow.rollback()
        uow.cases.resolve(
            "K1",
            status="released",
            resolved_by="mgr",
            resolved_at=T0 + dt.timedelta(hours=1),
            reason="paid",
            release_until=dt.date(2026, 3, 15),
            release_amount_max=Decimal("105.00"),
        )
        uow.cases.add(replace(case("K2", decision(1).decision_id), opened_at=T0 + dt.timedelta(hours=2)))
        uow.commit()
    with make_uow() as uow:
        released = uow.cases.get("K1")
        assert released is not None and released.status == "released"
        assert (released.release_until, released.release_amount_max) == (dt.date(2026, 3, 15), Decimal("105.00"))
        assert uow.cases.find_open("C1", "PO-1") == uow.cases.get("K2")
        latest = uow.cases.latest_for_order("C1", "PO-1")
        assert latest is not None and latest.case_id == "K2"
        assert [c.case_id for c in uow.cases.list(status="released")] == ["K1"]


def test_customers_due_for_review(make_uow: UowFactory) -> None:
    with make_uow() as uow:
        for cid, review in (("C1", dt.date(2026, 3, 1)), ("C2", dt.date(2026, 2, 1)), ("C3", dt.date(2026, 5, 1))):
            uow.customers.upsert(CustomerRecord(cid, "B", Decimal("40.00"), Decimal("1000.00"), review, T0, T0.date()))
        uow.customers.upsert(
            CustomerRecord("C3", "A", Decimal("90.00"), Decimal("5000.00"), dt.date(2026, 1, 1), T0, T0.date())
        )
        uow.commit()
    with make_uow() as uow:
        assert [c.customer_id for c in uow.customers.due(dt.date(2026, 3, 1))] == ["C3", "C2", "C1"]
        c3 = uow.customers.get("C3")
        assert c3 is not None and (c3.grade, c3.credit_limit) == ("A", Decimal("5000.00"))


def test_grade_history_and_webhooks(make_uow: UowFactory) -> None:
    with make_uow() as uow:
        for grade, day, hour in (("A", 20, 1), ("B", 10, 2), ("C", 20, 0)):
            uow.grades.add(
                NewGrade(
                    customer_id="C1",
                    as_of=dt.date(2026, 1, day),
                    grade=grade,
                    score=Decimal("55.50"),
                    credit_limit=Decimal("1000.00"),
                    eligible=grade != "C",
                    policy_sha256="f" * 64,
                    decided_at=T0 + dt.timedelta(hours=hour),
                    next_review=dt.date(2026, 4, 1),
                    decision_id=None,
                )
            )
        hook = uow.webhooks.add("https://erp.example/hooks", ["case.released", "case.rejected"], "erp", T0)
        uow.webhooks.add("https://other.example/hooks", ["case.opened"], "erp", T0)
        uow.commit()
    with make_uow() as uow:
        # By the day assessed, then by when decided: not in the order stored.
        found = [(g.grade, g.eligible) for g in uow.grades.for_customer("C1")]
        assert found == [("B", True), ("C", False), ("A", True)]
        assert uow.webhooks.for_event("case.released") == [hook]
        assert uow.webhooks.remove(hook.id) and not uow.webhooks.remove(hook.id)
        assert [w.url for w in uow.webhooks.list()] == ["https://other.example/hooks"]


def test_foreign_keys_are_enforced(engine: Engine, make_uow: UowFactory) -> None:
    with make_uow() as uow, pytest.raises(IntegrityError):
        # Not a clash of unique keys (DuplicateRecord) but a bug in the caller: it surfaces as is,
        # at commit, since the key to decisions is deferred (migration 0002).
        uow.cases.add(case("K1", "no-such-decision"))
        uow.commit()
    with engine.connect() as connection:
        assert connection.execute(select(tables.credit_cases)).all() == []


def test_read_only_unit_of_work_reads(engine: Engine, make_uow: UowFactory) -> None:
    with make_uow() as uow:
        uow.decisions.add(decision(1))
        uow.commit()
    with UnitOfWork(engine, read_only=True) as uow:
        assert uow.decisions.get(str(uuid.UUID(int=1))) is not None


def test_concurrent_writers_all_succeed(make_uow: UowFactory) -> None:
    """Read-then-write units of work from many threads: none fails with a lock or serialization error."""
    workers, each = 8, 15
    start = threading.Barrier(workers)
    failures: list[BaseException] = []

    def work(worker: int) -> None:
        start.wait()
        try:
            for i in range(each):
                n = worker * 1000 + i
                with make_uow() as uow:
                    if uow.decisions.get_by_request_id(f"r-{n}") is None:
                        uow.decisions.add(decision(n + 1, request_id=f"r-{n}"))
                    uow.commit()
        except BaseException as exc:  # collected: an exception in a thread would otherwise vanish
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with make_uow() as uow:
        assert len(uow.decisions.query(DecisionQuery(limit=1000))) == workers * each

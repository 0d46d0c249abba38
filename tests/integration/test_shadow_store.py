"""Shadows and challengers in the store, on SQLite and PostgreSQL: kept in the log rows, read by filters."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest

from api.adapters.db.records import ChallengerRecord, DecisionRecord, NewVersion, ShadowRecord, shadow_json
from api.adapters.db.repository import ShadowQuery
from api.errors import DuplicateRecord
from tests.integration.conftest import UowFactory

AT = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)


def row(n: int, *, kind: str = "order", policy: str = "standard", agree: bool = True, hours: int = 0) -> ShadowRecord:
    return ShadowRecord(
        decision_id=f"d-{n}",
        policy_id=policy,
        kind=kind,
        customer_id=f"C-{n}",
        champion_sha256="a" * 64,
        challenger_sha256="b" * 64,
        challenger_label="2",
        champion_outcome="approve",
        challenger_outcome="approve" if agree else "hold",
        agree=agree,
        error_code=None,
        challenger_output_json=None if agree else '{"outcome":"hold"}',
        differences_json=None if agree else '[{"path":"outcome"}]',
        order_amount="120000.005",  # any scale: stored as text, summed exactly
        currency="CNY",
        champion_limit=None,
        challenger_limit=None,
        created_at=AT + dt.timedelta(hours=hours),
    )


def logged(shadow: ShadowRecord | None, n: int = 0) -> DecisionRecord:
    """The champion's log row, keeping ``shadow`` (None: a decision no challenger shadowed, number ``n``)."""
    kept = (
        None
        if shadow is None
        else shadow_json(
            challenger_sha256=shadow.challenger_sha256,
            challenger_label=shadow.challenger_label,
            champion_outcome=shadow.champion_outcome,
            challenger_outcome=shadow.challenger_outcome,
            error_code=shadow.error_code,
            challenger_output_json=shadow.challenger_output_json,
            differences_json=shadow.differences_json,
            order_amount=shadow.order_amount,
            currency=shadow.currency,
            champion_limit=shadow.champion_limit,
            challenger_limit=shadow.challenger_limit,
        )
    )
    return DecisionRecord(
        decision_id=f"plain-{n}" if shadow is None else shadow.decision_id,
        kind="order" if shadow is None else shadow.kind,
        request_id=None,
        request_hash=None,
        customer_id=f"P-{n}" if shadow is None else shadow.customer_id,
        order_id=None,
        as_of=AT.date(),
        outcome="hold",  # a hook's outcome: the shadow keeps the engine's (champion_outcome)
        created_at=AT + dt.timedelta(minutes=n) if shadow is None else shadow.created_at,
        caller="erp",
        policy_id="standard" if shadow is None else shadow.policy_id,
        policy_sha256="a" * 64,
        policy_label="1",
        input_json="{}",
        output_json="{}",
        trace_json=None,
        shadow_agree=None if shadow is None else shadow.agree,
        shadow_json=kept,
    )


def test_shadows_are_written_in_their_log_rows_and_read_by_every_filter(make_uow: UowFactory) -> None:
    failed = replace(row(5, hours=4), challenger_outcome=None, agree=False, error_code="currency_mismatch")
    with make_uow() as uow:
        # Written as one group (one executemany), rows with and without a shadow mixed.
        for record in (row(1, hours=0), row(2, hours=1, agree=False), row(3, hours=2, kind="assess")):
            uow.decisions.add(logged(record))
        uow.decisions.add(logged(None, 1))
        uow.decisions.add(logged(row(4, hours=3, policy="other", agree=False)))
        assert [r.decision_id for r in uow.shadows.scan(ShadowQuery())] == ["d-1", "d-2", "d-3", "d-4"]  # read own
        uow.decisions.add(logged(failed))
        uow.commit()
    with make_uow() as uow:
        found = list(uow.shadows.scan(ShadowQuery(policy_id="standard", kind="order")))[:2]
        assert [r.decision_id for r in found] == ["d-1", "d-2"]
        assert found[0].order_amount == "120000.005" and found[1].challenger_output_json is None  # scan is light
        window = ShadowQuery(since=AT + dt.timedelta(hours=1), until=AT + dt.timedelta(hours=3))
        assert [r.decision_id for r in uow.shadows.scan(window)] == ["d-2", "d-3"]
        assert found[0] == row(1)  # read back as written
        samples = uow.shadows.samples(ShadowQuery(), limit=5)
        assert [r.decision_id for r in samples] == ["d-5", "d-4", "d-2"]  # only those that differ, newest first
        assert samples[2] == row(2, hours=1, agree=False) and samples[0] == failed  # in full
        standard = uow.shadows.samples(ShadowQuery(policy_id="standard"), limit=2)
        assert [r.decision_id for r in standard] == ["d-5", "d-2"]


def test_a_rolled_back_unit_of_work_writes_no_shadow(make_uow: UowFactory) -> None:
    with make_uow() as uow:
        uow.decisions.add(logged(row(9)))
        uow.rollback()
        uow.commit()
    with make_uow() as uow:
        assert list(uow.shadows.scan(ShadowQuery())) == []


def _version(uow_factory: UowFactory) -> int:
    with uow_factory() as uow:
        now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        new = NewVersion("standard", "1", "c" * 64, "x", "f.yaml", "{}", dt.date(2026, 1, 1), None, "a", "n", "a", now)
        record = uow.versions.add(new)
        uow.commit()
        return record.id


def test_a_policy_has_at_most_one_challenger(make_uow: UowFactory) -> None:
    version_id = _version(make_uow)
    named = ChallengerRecord("standard", version_id, version_id, Decimal("12.50"), "dave", AT, "why")
    with make_uow() as uow:
        uow.challengers.add(named)
        uow.commit()
    with make_uow() as uow:
        assert uow.challengers.get("standard") == named and uow.challengers.list() == [named]
        with pytest.raises(DuplicateRecord):
            uow.challengers.add(named)
    with make_uow() as uow:
        assert uow.challengers.remove("standard") and not uow.challengers.remove("standard")
        uow.commit()
    with make_uow() as uow:
        assert uow.challengers.get("standard", for_update=True) is None

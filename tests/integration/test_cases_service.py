"""Credit cases on both databases: holds open cases, releases cover re-checks within tolerance, rejections stick."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from api.adapters.db.memory import InMemoryUnitOfWork
from api.adapters.db.records import DecisionRecord
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.errors import CaseNotFound, CaseNotOpen, InvalidRequest, ReasonRequired
from api.service import versions
from api.service.cases import (
    CaseEffect,
    ReleaseTolerance,
    apply_case_policy,
    get_case,
    list_cases,
    reject_case,
    release_case,
)
from api.service.registry import PolicyRegistry
from api.service.webhooks import register_webhook
from engine.decide import decide
from engine.ir import CompiledPolicy
from engine.models import OrderRequest, OrderResult
from tests.factories import webhook_targets
from tests.integration.conftest import TickingClock, UowFactory

SHIPPED = Path(__file__).resolve().parents[2] / "rules" / "standard.yaml"
RELEASED_ON = dt.date(2026, 1, 5)  # the TickingClock's day: releases happen on it
LIMIT = "100000.00"
FORGED_CURSORS = (
    "2026-01-05T09:00:00+00:00|\x00",
    "2026-01-05T09:00:00|00000000-0000-4000-8000-000000000000",
    "0001-01-01T00:00:00+14:00|00000000-0000-4000-8000-000000000000",
)  # over it, the shipped policy holds the order (OVER_LIMIT)


def order(
    amount: str,
    *,
    order_id: str = "SO-1",
    reference: str | None = "PO-77",
    as_of: dt.date = RELEASED_ON,
    customer_id: str = "C-1",
    blacklisted: bool = False,
) -> dict[str, Any]:
    line: dict[str, Any] = {"id": order_id, "amount": amount, "currency": "CNY"}
    if reference is not None:
        line["reference"] = reference
    return {
        "customer": {"id": customer_id, "grade": "A", "limit": LIMIT, "blacklisted": blacklisted},
        "order": line,
        "as_of": as_of.isoformat(),
    }


def log_decision(uow: AbstractUnitOfWork, compiled: CompiledPolicy, decision_id: str, payload: dict[str, Any]) -> None:
    """What the decision service does: append the decision to the log (here after the case was written)."""
    uow.decisions.add(
        DecisionRecord(
            decision_id=decision_id,
            kind="order",
            request_id=None,
            request_hash=None,
            customer_id=payload["customer"]["id"],
            order_id=payload["order"]["id"],
            as_of=dt.date.fromisoformat(payload["as_of"]),
            outcome="logged",
            created_at=uow.now(),
            caller="erp",
            policy_id=compiled.meta.policy_id,
            policy_sha256=compiled.meta.sha256,
            policy_label=compiled.meta.version,
            input_json=json.dumps(payload),
            output_json="{}",
            trace_json=None,
        )
    )


def check(make_uow: UowFactory, compiled: CompiledPolicy, payload: dict[str, Any]) -> CaseEffect:
    """One order decision: evaluate, apply the case policy, log, commit."""
    request = OrderRequest.model_validate(payload)
    result = decide(compiled, "order", payload).result
    assert isinstance(result, OrderResult)
    decision_id = str(uuid.uuid4())
    with make_uow() as uow:
        effect = apply_case_policy(uow, compiled, request, result, decision_id=decision_id, caller="erp")
        log_decision(uow, compiled, decision_id, payload)
        uow.commit()
    return effect


def case_id_of(effect: CaseEffect) -> str:
    assert effect.case is not None
    return effect.case["case_id"]


def release(make_uow: UowFactory, compiled: CompiledPolicy, case_id: str) -> None:
    with make_uow() as uow:
        release_case(
            uow, case_id, "credit-manager", "customer paid last invoice", tolerance=ReleaseTolerance.of(compiled)
        )


def test_a_hold_opens_a_case(make_uow: UowFactory, shipped: CompiledPolicy) -> None:
    effect = check(make_uow, shipped, order("120000.00"))
    assert effect.outcome == "hold"
    assert effect.case is not None and effect.case["status"] == "open" and effect.case["effect"] == "opened"
    assert effect.reasons == [{"rule": f"case.{effect.case['case_id']}", "reason": "CASE_OPENED", "outcome": "hold"}]
    with make_uow() as uow:
        case = get_case(uow, case_id_of(effect))
    assert (case.customer_id, case.order_ref, case.order_amount, case.currency) == (
        "C-1",
        "PO-77",
        Decimal("120000.00"),
        "CNY",
    )


def test_an_approved_order_opens_no_case(make_uow: UowFactory, shipped: CompiledPolicy) -> None:
    assert check(make_uow, shipped, order("5000.00")) == CaseEffect("approve", [], None)
    with make_uow() as uow:
        assert list_cases(uow).items == []


def test_the_order_id_is_the_reference_when_none_is_given(make_uow: UowFactory, shipped: CompiledPolicy) -> None:
    effect = check(make_uow, shipped, order("120000.00", order_id="SO-9", reference=None))
    with make_uow() as uow:
        assert get_case(uow, case_id_of(effect)).order_ref == "SO-9"


def test_a_recheck_while_open_stays_held_without_a_second_case(make_uow: UowFactory, shipped: CompiledPolicy) -> None:
    first = check(make_uow, shipped, order("120000.00"))
    again = check(make_uow, shipped, order("120000.00", order_id="SO-2"))  # re-submitted under a new id
    smaller = check(make_uow, shipped, order("5000.00", order_id="SO-3"))  # the policy alone would approve
    for effect in (again, smaller):
        assert effect.outcome == "hold"
        assert effect.case == {"case_id": case_id_of(first), "status": "open", "effect": "held_by_open_case"}
        assert effect.reasons[0]["reason"] == "HELD_BY_OPEN_CASE"
    with make_uow() as uow:
        assert len(list_cases(uow).items) == 1


def test_a_policy_reject_wins_over_an_open_case(make_uow: UowFactory, shipped: CompiledPolicy) -> None:
    check(make_uow, shipped, order("120000.00"))
    assert check(make_uow, shipped, order("120000.00", blacklisted=True)) == CaseEffect("reject", [], None)


def test_a_release_covers_a_recheck_within_tolerance(make_uow: UowFactory, shipped: CompiledPolicy) -> None:
    case_id = case_id_of(check(make_uow, shipped, order("120000.00")))
    release(make_uow, shipped, case_id)
    with make_uow() as uow:
        case = get_case(uow, case_id)
    # The shipped policy's tolerance: +5 % for 14 days.
    assert (case.status, case.release_amount_max, case.release_until) == (
        "released",
        Decimal("126000.00"),
        RELEASED_ON + dt.timedelta(days=14),
    )
    plus_4 = check(make_uow, shipped, order("124800.00", order_id="SO-2", as_of=RELEASED_ON + dt.timedelta(days=10)))
    assert plus_4.outcome == "approve"
    assert plus_4.case == {"case_id": case_id, "status": "released", "effect": "released_within_tolerance"}
    assert plus_4.reasons == [{"rule": f"case.{case_id}", "reason": "RELEASED_BY_CASE", "outcome": "approve"}]
    # The edges are inside: exactly +5 % on the last day.
    edge = check(make_uow, shipped, order("126000.00", as_of=RELEASED_ON + dt.timedelta(days=14)))
    assert edge.outcome == "approve"


@pytest.mark.parametrize(
    ("amount", "days_later"),
    [("127200.00", 3), ("126000.01", 3), ("120000.00", 15)],
    ids=["plus-6-percent", "a-cent-over", "after-the-window"],
)
def test_beyond_the_release_terms_the_order_is_checked_afresh(
    make_uow: UowFactory, shipped: CompiledPolicy, amount: str, days_later: int
) -> None:
    first = case_id_of(check(make_uow, shipped, order("120000.00")))
    release(make_uow, shipped, first)
    again = check(make_uow, shipped, order(amount, as_of=RELEASED_ON + dt.timedelta(days=days_later)))
    assert again.outcome == "hold"
    assert again.case is not None and again.case["effect"] == "opened" and again.case["case_id"] != first
    with make_uow() as uow:
        assert [c.status for c in list_cases(uow).items] == ["open", "released"]


def test_a_release_does_not_override_a_policy_reject(make_uow: UowFactory, shipped: CompiledPolicy) -> None:
    case_id = case_id_of(check(make_uow, shipped, order("120000.00")))
    release(make_uow, shipped, case_id)
    # Blacklisted after the release: the same order, well within the release terms, is rejected.
    effect = check(make_uow, shipped, order("120000.00", blacklisted=True))
    assert effect == CaseEffect("reject", [], None)


def test_a_released_order_the_policy_now_approves_is_simply_approved(
    make_uow: UowFactory, shipped: CompiledPolicy
) -> None:
    release(make_uow, shipped, case_id_of(check(make_uow, shipped, order("120000.00"))))
    assert check(make_uow, shipped, order("90000.00")) == CaseEffect("approve", [], None)


def test_a_rejected_order_stays_rejected_under_a_new_order_id(make_uow: UowFactory, shipped: CompiledPolicy) -> None:
    case_id = case_id_of(check(make_uow, shipped, order("120000.00")))
    with make_uow() as uow:
        record = reject_case(uow, case_id, "credit-manager", "exposure to this group is too high")
    assert (record.status, record.resolved_by, record.reason) == (
        "rejected",
        "credit-manager",
        "exposure to this group is too high",
    )
    for amount in ("120000.00", "1000.00"):  # even where the policy alone would approve
        effect = check(make_uow, shipped, order(amount, order_id="SO-NEW"))
        assert effect.outcome == "reject"
        assert effect.case == {"case_id": case_id, "status": "rejected", "effect": "rejected_by_case"}
        assert effect.reasons[0]["reason"] == "REJECTED_BY_CASE"
    # Another reference of the same customer is another order.
    assert check(make_uow, shipped, order("1000.00", reference="PO-78")).outcome == "approve"


def test_cases_are_per_customer(make_uow: UowFactory, shipped: CompiledPolicy) -> None:
    check(make_uow, shipped, order("120000.00"))
    other = check(make_uow, shipped, order("120000.00", customer_id="C-2"))
    assert other.case is not None and other.case["effect"] == "opened"


def test_resolving_needs_an_open_case_and_a_reason(make_uow: UowFactory, shipped: CompiledPolicy) -> None:
    case_id = case_id_of(check(make_uow, shipped, order("120000.00")))
    with make_uow() as uow:
        with pytest.raises(ReasonRequired) as no_reason:
            reject_case(uow, case_id, "credit-manager", "   ")
        assert no_reason.value.code == "reason_required"
        with pytest.raises(CaseNotFound) as unknown:
            release_case(uow, "no-such-case", "credit-manager", "ok", tolerance=ReleaseTolerance.of(shipped))
        assert unknown.value.code == "case_not_found"
        reject_case(uow, case_id, "credit-manager", "no")
        with pytest.raises(CaseNotOpen) as resolved:
            release_case(uow, case_id, "someone-else", "yes", tolerance=ReleaseTolerance.of(shipped))
        assert resolved.value.code == "case_not_open"
    with make_uow() as uow:
        assert get_case(uow, case_id).status == "rejected"


def test_the_release_tolerance_comes_from_the_policy_version_that_held_the_order(
    make_uow: UowFactory, shipped: CompiledPolicy
) -> None:
    with make_uow() as uow:
        text = SHIPPED.read_text(encoding="utf-8")
        stored, _ = versions.publish(
            uow, text, "rules/standard.yaml", "author", run_cases=lambda _loaded: versions.CasesVerdict([], None)
        )
    assert stored.sha256 == shipped.meta.sha256
    case_id = case_id_of(check(make_uow, shipped, order("120000.00")))
    with make_uow() as uow:
        # The release terms of the version that held the order, compiled as the service does it.
        record = release_case(
            uow, case_id, "credit-manager", "collateral received", compile_version=PolicyRegistry().compiled
        )
    assert record.release_amount_max == Decimal("126000.00")
    assert record.release_until == RELEASED_ON + dt.timedelta(days=14)


def test_listing_filters_and_pages(make_uow: UowFactory, shipped: CompiledPolicy) -> None:
    ids = [case_id_of(check(make_uow, shipped, order("120000.00", reference=f"PO-{n}"))) for n in range(5)]
    with make_uow() as uow:
        reject_case(uow, ids[0], "credit-manager", "no")
    with make_uow() as uow:
        first = list_cases(uow, limit=2)
        assert [c.case_id for c in first.items] == [ids[4], ids[3]]
        assert first.next_cursor is not None
        second = list_cases(uow, limit=2, cursor=first.next_cursor)
        assert [c.case_id for c in second.items] == [ids[2], ids[1]]
        third = list_cases(uow, limit=2, cursor=second.next_cursor)
        assert [c.case_id for c in third.items] == [ids[0]] and third.next_cursor is None
        assert [c.case_id for c in list_cases(uow, status="rejected").items] == [ids[0]]
        assert list_cases(uow, status="open", customer_id="C-2").items == []
        forged = [base64.urlsafe_b64encode(text.encode()).decode() for text in FORGED_CURSORS]
        for bad in ({"cursor": "not-a-cursor"}, *({"cursor": c} for c in forged), {"status": "closed"}, {"limit": 0}):
            with pytest.raises(InvalidRequest):
                list_cases(uow, **bad)  # type: ignore[arg-type]


def test_a_case_change_and_its_webhook_event_commit_together(make_uow: UowFactory, shipped: CompiledPolicy) -> None:
    with make_uow() as uow:
        hook, _secret = register_webhook(
            uow, "https://erp.example/hooks", ["case.opened", "case.rejected"], "erp", targets=webhook_targets()
        )
    payload = order("120000.00")
    request = OrderRequest.model_validate(payload)
    result = decide(shipped, "order", payload).result
    assert isinstance(result, OrderResult)
    with make_uow() as uow:  # rolled back: neither the case nor its event survive
        apply_case_policy(uow, shipped, request, result, decision_id=str(uuid.uuid4()), caller="erp")
        assert len(uow.webhooks.deliveries()) == 1
    with make_uow() as uow:
        assert list_cases(uow).items == [] and uow.webhooks.deliveries() == []
    case_id = case_id_of(check(make_uow, shipped, payload))
    with make_uow() as uow:
        reject_case(uow, case_id, "credit-manager", "no")
    with make_uow() as uow:
        queued = uow.webhooks.deliveries(hook.id)
    assert [d.event for d in queued] == ["case.opened", "case.rejected"]
    opened = json.loads(queued[0].payload_json)
    assert opened["data"]["case"]["case_id"] == case_id and opened["data"]["case"]["order_amount"] == "120000.00"
    assert json.loads(queued[1].payload_json)["data"]["case"]["status"] == "rejected"


def test_a_case_without_its_logged_decision_is_refused_at_commit(make_uow: UowFactory, shipped: CompiledPolicy) -> None:
    payload = order("120000.00")
    result = decide(shipped, "order", payload).result
    assert isinstance(result, OrderResult)
    with make_uow() as uow:
        apply_case_policy(
            uow, shipped, OrderRequest.model_validate(payload), result, decision_id="never-logged", caller="erp"
        )
        with pytest.raises(IntegrityError):
            uow.commit()
    # Nothing was kept, and the database takes writes again (SQLite's refused COMMIT left no lock).
    assert check(make_uow, shipped, order("120000.00")).case is not None
    with make_uow() as uow:
        assert len(list_cases(uow).items) == 1


def test_a_release_in_another_currency_is_checked_afresh(shipped: CompiledPolicy, clock: TickingClock) -> None:
    # The shipped policy decides only CNY; the case policy itself compares currencies.
    uow = InMemoryUnitOfWork(clock=clock)
    held = OrderResult.model_validate(
        {
            **decide(shipped, "order", order("120000.00")).output(),
            "outcome": "hold",
        }
    )
    first = apply_case_policy(
        uow, shipped, OrderRequest.model_validate(order("120000.00")), held, decision_id="d1", caller="erp"
    )
    release_case(uow, case_id_of(first), "credit-manager", "ok", tolerance=ReleaseTolerance(Decimal("0.05"), 14))
    in_eur = order("120000.00")
    in_eur["order"]["currency"] = "EUR"
    again = apply_case_policy(uow, shipped, OrderRequest.model_validate(in_eur), held, decision_id="d2", caller="erp")
    assert again.case is not None and again.case["effect"] == "opened"

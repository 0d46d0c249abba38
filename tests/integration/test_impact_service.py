"""Impact over the decision log on both databases: decisions logged by the real service under A, a draft B,
and every figure checked against replaying each decision one by one under B (the replay service)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, text

from api.adapters.db.unit_of_work import UnitOfWork
from api.errors import RefusedField
from api.service import versions
from api.service.decisions import log_decision, replay
from api.service.decisions.decide import evaluate
from api.service.decisions.envelope import read_envelope
from api.service.impact import ImpactRequest, impact_document, impact_lines, measure_impact
from api.service.impact.review import review_document, review_version
from api.service.keys import Caller
from api.service.policy_cases import cases_runner
from api.service.registry import PolicyRegistry
from api.service.reports.impact import render_impact
from engine.errors import InputError
from tests.conftest import SHIPPED
from tests.decision_factories import assess_input, order_input, strong_credit_file, weak_credit_file

REGISTRY = PolicyRegistry()


def candidate_yaml(shipped: str) -> str:
    """B: AA starts at 88 (85–88 becomes A, with A's smaller limit), ordinary customers held after 20 days overdue."""
    changes = (
        ('version: "2026.1"', 'version: "2026.7"'),
        ("{grade: AA,  min_score: 85", "{grade: AA,  min_score: 88"),
        ("{grade: A,   min_score: 80, max_score: 85", "{grade: A,   min_score: 80, max_score: 88"),
        ("exposure.oldest_overdue_days > 30", "exposure.oldest_overdue_days > 20"),
    )
    for old, new in changes:
        assert old in shipped
        shipped = shipped.replace(old, new)
    return shipped


def _file(on_time: str) -> dict[str, Any]:
    credit_file = strong_credit_file()
    credit_file["payment"]["on_time_ratio"] = on_time
    credit_file["ratings"]["character"] = "fair"
    return credit_file


@pytest.fixture
def logged(engine: Engine) -> dict[str, Any]:
    """A active, B a draft, and decisions logged through the service under A (orders, assessments, one later)."""
    shipped = SHIPPED.read_text(encoding="utf-8")
    with UnitOfWork(engine) as uow:
        a, _ = versions.publish(uow, shipped, "rules/standard.yaml", "author", cases_runner(None, "none"))
        versions.approve(uow, a.sha256, "approver", "reviewed")
        versions.activate(uow, a.sha256, "approver", "go live")
        b, _ = versions.publish(
            uow, candidate_yaml(shipped), "rules/standard.yaml", "author", cases_runner(None, "none")
        )
    ids: list[str] = []
    for n in range(12):
        body = order_input(amount=f"{1000 * (n + 1)}.00", customer_id=f"C-{n}", oldest_overdue_days=5 * n)
        body["order"]["id"] = f"SO-{n}"
        body["exposure"]["overdue_amount"] = "10.00" if n else "0"
        body["as_of"] = "2026-06-10"
        ids.append(_decide(engine, "order", body))
    for n, on_time in enumerate(("0.5", "0.6", "0.7", "0.9")):
        ids.append(_decide(engine, "assess", {**assess_input(_file(on_time), id=f"K-{n}"), "as_of": "2026-06-20"}))
    ids.append(_decide(engine, "assess", {**assess_input(weak_credit_file(), id="K-9"), "as_of": "2026-06-20"}))
    late = order_input(amount="500.00", oldest_overdue_days=25)
    late["as_of"] = "2026-07-15"
    ids.append(_decide(engine, "order", late))
    return {"a": a, "b": b, "ids": ids}


def _decide(engine: Engine, kind: str, body: dict[str, Any]) -> str:
    with UnitOfWork(engine) as uow:
        envelope = read_envelope(body)
        prepared = evaluate(uow, REGISTRY, Caller("erp", "decide"), kind, envelope, None, False)
        return log_decision(uow, prepared).decision_id


def _measure(engine: Engine, **request: Any) -> dict[str, Any]:
    with UnitOfWork(engine) as uow:
        return impact_document(measure_impact(uow, PolicyRegistry(), ImpactRequest(**request)))


def _replayed(engine: Engine, ids: list[str], against: str) -> list[tuple[str, dict[str, Any], dict[str, Any], Any]]:
    """(kind, old decision, new decision, the record) of every id, replayed one by one under ``against``."""
    found = []
    with UnitOfWork(engine) as uow:
        for decision_id in ids:
            record = uow.decisions.get(decision_id)
            assert record is not None
            again = replay(uow, REGISTRY, decision_id)
            assert again.matches and again.decision is not None
            other = replay(uow, REGISTRY, decision_id, against)
            assert other.decision is not None
            found.append((record.kind, again.decision, other.decision, record))
    return found


def test_transitions_counts_and_amounts_match_replaying_each_decision(engine: Engine, logged: dict[str, Any]) -> None:
    june = logged["ids"][:-1]
    document = _measure(engine, from_ref="2026.1", to_ref="2026.7", until=dt.date(2026, 6, 30), sample=2)
    expected_orders: Counter[tuple[str, str]] = Counter()
    held_amount = Decimal(0)
    grades: Counter[tuple[str, str]] = Counter()
    limits_a = limits_b = Decimal(0)
    for kind, old, new, record in _replayed(engine, june, "2026.7"):
        if kind == "order":
            if old["outcome"] != new["outcome"]:
                expected_orders[(old["outcome"], new["outcome"])] += 1
            if old["outcome"] != "hold" and new["outcome"] == "hold":
                held_amount += Decimal(record.input_json.split('"amount":"')[1].split('"')[0])
        else:
            if old["grade"] != new["grade"]:
                grades[(old["grade"], new["grade"])] += 1
            limits_a += Decimal(old["credit_limit"])
            limits_b += Decimal(new["credit_limit"])
    order = document["kinds"]["order"]
    assert {(t["from"], t["to"]): t["count"] for t in order["transitions"]} == dict(expected_orders)
    assert expected_orders and order["newly_held"]["count"] == sum(expected_orders.values())
    assert Decimal(order["newly_held"]["amounts"]["CNY"]) == held_amount
    assess = document["kinds"]["assess"]
    assert {(m["from"], m["to"]): m["customers"] for m in assess["grade_matrix"]} == dict(grades) != {}
    assert assess["change_grade"] == sum(grades.values())
    totals = assess["total_limits"]
    assert (Decimal(totals["from"]), Decimal(totals["to"])) == (limits_a, limits_b)
    assert Decimal(totals["change"]) == limits_b - limits_a < 0
    assert document["records"] == {
        **document["records"],
        "decided_by_from": len(june),
        "reproduced": len(june),
        "not_reproduced": 0,
    }
    assert document["determinism"]["verdict"] == "reproduced"
    # Samples: decided again under both, the rule that made the difference named.
    held = [s for s in document["samples"] if s["kind"] == "order" and s["to"] == "hold"]
    assert held and all("order_rules.overdue_ordinary" in s["rules_fired_only_under_to"] for s in held)
    assert len(held) == min(2, expected_orders[("approve", "hold")])
    lines = [line.text for line in impact_lines(document)]
    assert any(
        line.startswith(f"  order: {expected_orders[('approve', 'hold')]} approve → hold (CNY ") for line in lines
    )
    # The page: self-contained (nothing fetched), the figures written as the document holds them.
    page = render_impact(document)
    assert page.startswith("<!DOCTYPE html>") and "src=" not in page and "<svg" in page
    held = order["newly_held"]["amounts"]["CNY"]
    assert f'data-summary="kinds.order.newly_held.amounts.CNY" data-format="money">¥ {Decimal(held):,.2f}<' in page


def test_period_kind_and_other_versions(engine: Engine, logged: dict[str, Any]) -> None:
    july = _measure(engine, from_ref="2026.1", to_ref="2026.7", since=dt.date(2026, 7, 1))
    assert july["records"]["decided_by_from"] == 1 and list(july["kinds"]) == ["order"]
    orders = _measure(engine, from_ref="2026.1", to_ref="2026.7", kind="order")
    assert set(orders["kinds"]) == {"order"} and orders["kinds"]["order"]["compared"] == 13
    # Decisions of another version are counted, not compared.
    by_b = _measure(engine, from_ref="2026.7", to_ref="2026.1")
    assert by_b["records"]["decided_by_from"] == 0 and by_b["kinds"] == {}
    assert by_b["records"]["other_versions"] == [
        {"kind": "assess", "version": "2026.1", "sha256": logged["a"].sha256, "decisions": 5},
        {"kind": "order", "version": "2026.1", "sha256": logged["a"].sha256, "decisions": 13},
    ]


def test_a_tampered_record_does_not_reproduce_and_is_left_out(engine: Engine, logged: dict[str, Any]) -> None:
    tampered, unreadable, impossible = logged["ids"][:3]
    with engine.begin() as connection:
        stored = connection.execute(
            text("SELECT output_json FROM decisions WHERE decision_id = :id"), {"id": tampered}
        ).scalar_one()
        forged = stored.replace('"available_after":"', '"available_after":"9')
        assert forged != stored
        edits = (
            ("output_json", forged, tampered),
            ("input_json", "not JSON", unreadable),
            ("input_json", '{"order": {"amount": "abc"}}', impossible),
        )
        for column, value, decision_id in edits:
            connection.execute(
                text(f"UPDATE decisions SET {column} = :v WHERE decision_id = :id"), {"v": value, "id": decision_id}
            )
    document = _measure(engine, from_ref="2026.1", to_ref="2026.1")
    findings = {f["decision_id"]: f for f in document["determinism"]["findings"]}
    assert set(findings) == {tampered, unreadable, impossible}
    assert any(d.startswith("available_after: 9") for d in findings[tampered]["differences"])
    assert findings[unreadable]["differences"] == ["the logged input is not a JSON object"]
    assert findings[impossible]["refused"]["code"] == "invalid_request"
    assert document["records"]["not_reproduced"] == 3 and document["determinism"]["verdict"] == "not_reproduced"
    assert document["kinds"]["order"]["compared"] == 10


def test_impact_of_a_version_on_itself_changes_nothing(engine: Engine, logged: dict[str, Any]) -> None:
    document = _measure(engine, from_ref="2026.1", to_ref=logged["a"].sha256[:12])
    assert document["determinism"]["verdict"] == "reproduced"
    for summary in document["kinds"].values():
        assert summary["changed"] == 0 and summary["transitions"] == []
    assert document["samples"] == []


def test_refusals(engine: Engine, logged: dict[str, Any]) -> None:
    with pytest.raises(RefusedField) as unknown:
        _measure(engine, from_ref="9.9", to_ref="2026.7")
    assert unknown.value.code == "unknown_policy_version"
    with pytest.raises(RefusedField) as inverted:
        _measure(engine, from_ref="2026.1", to_ref="2026.7", since=dt.date(2026, 7, 1), until=dt.date(2026, 6, 1))
    assert inverted.value.code == "inverted_range"
    with pytest.raises(InputError) as kind:
        _measure(engine, from_ref="2026.1", to_ref="2026.7", kind="loan")
    assert kind.value.code == "unknown_decision_kind"


def test_a_policy_text_as_the_candidate_and_the_progress(engine: Engine, logged: dict[str, Any]) -> None:
    seen: list[tuple[int, int]] = []
    shipped = SHIPPED.read_text(encoding="utf-8")
    request = ImpactRequest(from_ref="2026.1", to_text=candidate_yaml(shipped), to_file="candidate.yaml")
    with UnitOfWork(engine) as uow:
        report = measure_impact(uow, PolicyRegistry(), request, lambda done, total: seen.append((done, total)))
    document = impact_document(report)
    assert document["to"]["source"] == "file:candidate.yaml" and document["to"]["status"] is None
    assert document["kinds"]["order"]["changed"] > 0
    assert seen[0] == (0, 18) and seen[-1] == (18, 18)


def test_the_review_of_the_draft_holds_the_diff_and_the_impact(engine: Engine, logged: dict[str, Any]) -> None:
    clock = lambda: dt.datetime(2026, 7, 20, 9, tzinfo=dt.UTC)  # noqa: E731
    with UnitOfWork(engine, clock=clock) as uow:
        review = review_document(review_version(uow, PolicyRegistry(), "2026.7"))
    assert review["active"]["version"] == "2026.1" and review["diff"]["counts"]["changes"] > 0
    assert review["period"] == {"by": "as_of", "since": "2026-04-21", "until": "2026-07-20"}
    assert review["impact"]["records"]["decided_by_from"] == 18
    later = lambda: dt.datetime(2027, 7, 20, 9, tzinfo=dt.UTC)  # noqa: E731
    with UnitOfWork(engine, clock=later) as uow:
        assert review_document(review_version(uow, PolicyRegistry(), "2026.7"))["impact"] is None


def test_sampled_ids_are_the_smallest_of_each_transition(engine: Engine, logged: dict[str, Any]) -> None:
    document = _measure(engine, from_ref="2026.1", to_ref="2026.7", kind="order", sample=1)
    held = [s["decision_id"] for s in document["samples"] if (s["from"], s["to"]) == ("approve", "hold")]
    moved = [
        record.decision_id
        for kind, old, new, record in _replayed(engine, logged["ids"], "2026.7")
        if kind == "order" and (old["outcome"], new["outcome"]) == ("approve", "hold")
    ]
    assert held == [min(moved)]

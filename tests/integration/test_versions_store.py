"""The policy version lifecycle on SQLite and PostgreSQL: publish, four eyes, activation, rollback, as-of."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from sqlalchemy import Engine, select

from api.adapters.db import tables
from api.adapters.db.records import VersionRecord
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.errors import ActiveOverlap, FourEyes, PublishRefused, ServiceError, VersionLabelTaken
from api.service import versions
from api.service.registry import PolicyRegistry
from policy.validate import LoadedPolicy
from tests.integration.conftest import UowFactory
from tests.integration.policy_texts import broken, policy_text, reformatted

D = dt.date


def no_cases(loaded: LoadedPolicy) -> versions.CasesVerdict:
    return versions.CasesVerdict([], None)


def snapshot(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, to prove a refused operation wrote nothing."""
    with engine.connect() as connection:
        return {
            table.name: sorted((dict(r._mapping) for r in connection.execute(select(table))), key=repr)
            for table in tables.metadata.sorted_tables
        }


def publish(make_uow: UowFactory, text: str, actor: str = "alice") -> VersionRecord:
    with make_uow() as uow:
        record, created = versions.publish(uow, text, "rules/standard.yaml", actor, no_cases)
    assert created
    return record


def go_live(make_uow: UowFactory, text: str) -> VersionRecord:
    record = publish(make_uow, text)
    with make_uow() as uow:
        versions.approve(uow, record.sha256, "bob", "reviewed")
        return versions.activate(uow, record.sha256, "bob", "go live")


def test_publish_stores_source_hash_and_event(make_uow: UowFactory) -> None:
    text = policy_text("1", effective_to=D(2026, 12, 31))
    record = publish(make_uow, text)
    with make_uow() as uow:
        stored = versions.get_version(uow, "1")
        history = versions.events(uow, record.sha256[:8])
    assert stored == record
    assert (stored.status, stored.source_text, stored.policy_id, stored.effective_to) == (
        "draft",
        text,
        "standard",
        D(2026, 12, 31),
    )
    assert len(stored.sha256) == 64 and stored.canonical_json.startswith("{")
    assert [(e.event, e.actor, e.reason) for e in history] == [("published", "alice", "version 1")]
    assert history[0].at.tzinfo is not None


def test_invalid_policy_and_failing_cases_store_nothing(engine: Engine, make_uow: UowFactory) -> None:
    before = snapshot(engine)
    with make_uow() as uow, pytest.raises(PublishRefused) as invalid:
        versions.publish(uow, broken(policy_text("1")), "broken.yaml", "alice", no_cases)
    assert invalid.value.code == "policy_invalid" and len(invalid.value.issues) >= 2
    with make_uow() as uow, pytest.raises(PublishRefused) as failing:
        versions.publish(
            uow,
            policy_text("1"),
            "p.yaml",
            "alice",
            lambda _: versions.CasesVerdict(["case a: grade B, expected A"], None),
        )
    assert failing.value.code == "policy_tests_failed"
    assert snapshot(engine) == before


def test_publishing_the_same_content_twice_is_a_no_op(engine: Engine, make_uow: UowFactory) -> None:
    first = publish(make_uow, policy_text("1"))
    before = snapshot(engine)
    with make_uow() as uow:
        again, created = versions.publish(uow, reformatted(policy_text("1")), "elsewhere.yaml", "carol", no_cases)
    assert (again, created) == (first, False)
    assert snapshot(engine) == before


def test_a_label_with_other_content_is_refused(engine: Engine, make_uow: UowFactory) -> None:
    publish(make_uow, policy_text("1"))
    before = snapshot(engine)
    with make_uow() as uow, pytest.raises(VersionLabelTaken) as taken:
        versions.publish(uow, policy_text("1", note="changed"), "p.yaml", "alice", no_cases)
    assert taken.value.code == "version_label_taken"
    assert snapshot(engine) == before


def test_four_eyes_and_refusals_leave_the_database_unchanged(engine: Engine, make_uow: UowFactory) -> None:
    record = publish(make_uow, policy_text("1", author="Alice"), actor="alice")
    before = snapshot(engine)
    for actor in ("alice", "ALICE "):
        with make_uow() as uow, pytest.raises(FourEyes):
            versions.approve(uow, record.sha256, actor, "looks fine to me")
    with make_uow() as uow, pytest.raises(ServiceError) as not_approved:
        versions.activate(uow, record.sha256, "bob", "skip approval")
    assert not_approved.value.code == "invalid_transition"
    assert snapshot(engine) == before
    with make_uow() as uow:
        assert versions.approve(uow, record.sha256, "bob", "checked the limits").status == "approved"


def in_force_on(uow: AbstractUnitOfWork, day: dt.date) -> VersionRecord:
    """The version that decides a request dated ``day``, as the service finds it (no cached timeline)."""
    return PolicyRegistry(timeline_ttl=0).version(uow, "standard", day, None)


def test_activation_hands_over_and_rollback_keeps_history(make_uow: UowFactory) -> None:
    v1 = go_live(make_uow, policy_text("1", effective_from=D(2026, 1, 1)))
    v2 = go_live(make_uow, policy_text("2", effective_from=D(2026, 7, 1)))
    with make_uow() as uow:
        assert [(p.version.label, p.start, p.end) for p in versions.in_force(uow, "standard")] == [
            ("1", D(2026, 1, 1), D(2026, 6, 30)),
            ("2", D(2026, 7, 1), None),
        ]
        assert in_force_on(uow, D(2026, 6, 30)).label == "1"
        assert in_force_on(uow, D(2026, 7, 1)).label == "2"
        with pytest.raises(ServiceError) as none:
            in_force_on(uow, D(2025, 12, 31))
        assert none.value.code == "no_active_version"
        rolled = versions.activate(uow, "1", "carol", "v2 grades too harshly")
    with make_uow() as uow:
        assert rolled.status == "active"
        assert versions.get_version(uow, v2.sha256).status == "retired"
        assert in_force_on(uow, D(2026, 9, 1)).sha256 == v1.sha256
        assert [e.event for e in versions.events(uow, "1")] == ["published", "approved", "activated", "rolled_back"]
        v2_events = versions.events(uow, "2")
        assert [e.event for e in v2_events] == ["published", "approved", "activated", "retired"]
        assert v2_events[-1].actor == "carol" and "rolled back to standard 1" in v2_events[-1].reason
        again = versions.activate(uow, "2", "dave", "fixed the data, v2 was right")
    with make_uow() as uow:
        assert again.status == "active"
        assert [e.event for e in versions.events(uow, "2")][-1] == "rolled_back"
        assert in_force_on(uow, D(2026, 9, 1)).label == "2"
        assert in_force_on(uow, D(2026, 3, 1)).label == "1"


def test_activation_never_cancels_a_later_active_version(engine: Engine, make_uow: UowFactory) -> None:
    go_live(make_uow, policy_text("2", effective_from=D(2026, 7, 1)))
    early = publish(make_uow, policy_text("1b", effective_from=D(2026, 3, 1)))
    with make_uow() as uow:
        versions.approve(uow, early.sha256, "bob", "ok")
    before = snapshot(engine)
    with make_uow() as uow, pytest.raises(ActiveOverlap) as overlap:
        versions.activate(uow, early.sha256, "bob", "go")
    assert overlap.value.code == "active_overlap"
    assert snapshot(engine) == before


def test_the_same_start_replaces_the_active_version(make_uow: UowFactory) -> None:
    go_live(make_uow, policy_text("1"))
    go_live(make_uow, policy_text("1.1", note="typo fixed"))
    with make_uow() as uow:
        assert [(v.label, v.status) for v in versions.list_versions(uow)] == [("1", "retired"), ("1.1", "active")]
        assert versions.events(uow, "1")[-1].reason.startswith("replaced by standard 1.1")


def test_concurrent_activations_leave_one_active_version(make_uow: UowFactory) -> None:
    """Two approvers activate competing versions at once: the policy's rows are locked, so one wins cleanly."""
    refs = []
    for label in ("1", "1.1"):
        record = publish(make_uow, policy_text(label, note=f"candidate {label}"))
        with make_uow() as uow:
            versions.approve(uow, record.sha256, "bob", "ok")
        refs.append(record.sha256)
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def work(ref: str) -> None:
        start.wait()
        try:
            with make_uow() as uow:
                versions.activate(uow, ref, "bob", "go")
        except BaseException as exc:  # collected: an exception in a thread would otherwise vanish
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(ref,)) for ref in refs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with make_uow() as uow:
        assert sorted(v.status for v in versions.list_versions(uow)) == ["active", "retired"]
        assert len(versions.in_force(uow, "standard")) == 1


@pytest.mark.parametrize("step", ["approve", "retire"])
def test_concurrent_lifecycle_steps_on_one_version_happen_once(make_uow: UowFactory, step: str) -> None:
    """Several approvers act on one version at once: exactly one succeeds, one event is written."""
    record = publish(make_uow, policy_text("1"))
    if step == "retire":
        with make_uow() as uow:
            versions.approve(uow, record.sha256, "bob", "ok")
    workers = 6
    start = threading.Barrier(workers)
    outcomes: list[str] = []

    def work(actor: str) -> None:
        start.wait()
        try:
            with make_uow() as uow:
                getattr(versions, step)(uow, record.sha256, actor, "at once")
            outcomes.append("done")
        except ServiceError as error:
            outcomes.append(error.code)
        except BaseException as exc:  # collected: an exception in a thread would otherwise vanish
            outcomes.append(repr(exc))

    threads = [threading.Thread(target=work, args=(f"approver-{n}",)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["done"] + ["invalid_transition"] * (workers - 1)
    expected_event = "approved" if step == "approve" else "retired"
    with make_uow() as uow:
        assert [e.event for e in versions.events(uow, record.sha256)].count(expected_event) == 1

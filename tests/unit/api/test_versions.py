"""The version lifecycle rules, on the in-memory unit of work (the SQL stores run the same in tests/integration)."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from api.adapters.db.memory import InMemoryUnitOfWork, MemoryDatabase
from api.adapters.db.records import VersionRecord
from api.errors import (
    ActiveOverlap,
    AmbiguousVersionRef,
    FourEyes,
    InvalidRequest,
    InvalidTransition,
    NoActiveVersion,
    PublishRefused,
    ServiceError,
    VersionLabelTaken,
    VersionNotFound,
)
from api.service import versions
from api.service.registry import PolicyRegistry
from engine.rules_adapter import engine_ruleset_count
from policy.validate import LoadedPolicy
from tests.factories import expanding_policy_yaml
from tests.integration.policy_texts import broken, policy_text

D = dt.date


def no_cases(loaded: LoadedPolicy) -> versions.CasesVerdict:
    return versions.CasesVerdict([], None)


@pytest.fixture
def uow() -> InMemoryUnitOfWork:
    return InMemoryUnitOfWork()


def publish(uow: InMemoryUnitOfWork, label: str, actor: str = "alice", **meta: Any) -> VersionRecord:
    record, created = versions.publish(uow, policy_text(label, **meta), f"{label}.yaml", actor, no_cases)
    assert created
    return record


def live(uow: InMemoryUnitOfWork, label: str, **meta: Any) -> VersionRecord:
    record = publish(uow, label, **meta)
    versions.approve(uow, record.sha256, "bob", "ok")
    return versions.activate(uow, record.sha256, "bob", "go")


def statuses(uow: InMemoryUnitOfWork) -> dict[str, str]:
    return {v.label: v.status for v in versions.list_versions(uow)}


def timeline(uow: InMemoryUnitOfWork, policy_id: str = "standard") -> list[tuple[str, dt.date, dt.date | None]]:
    return [(p.version.label, p.start, p.end) for p in versions.in_force(uow, policy_id)]


def refused(
    uow: InMemoryUnitOfWork, error: type[ServiceError], call: Callable[..., object], *args: object
) -> ServiceError:
    """Run a call expected to fail and check it left the database exactly as it was."""
    before = copy.deepcopy(uow.database)
    with pytest.raises(error) as caught:
        call(*args)
    assert uow.database == before
    return caught.value


# --- publish ---------------------------------------------------------------------------------


def test_publish_stores_a_draft_with_its_metadata(uow: InMemoryUnitOfWork) -> None:
    record = publish(uow, "1", effective_to=D(2026, 12, 31), author="Alice Zhang")
    assert (record.policy_id, record.label, record.status) == ("standard", "1", "draft")
    assert (record.effective_from, record.effective_to) == (D(2026, 1, 1), D(2026, 12, 31))
    assert (record.author, record.created_by, record.change_note, record.source_file) == (
        "Alice Zhang",
        "alice",
        "version 1",
        "1.yaml",
    )
    assert [(e.event, e.actor) for e in versions.events(uow, "1")] == [("published", "alice")]


def test_publish_refusals_store_nothing(uow: InMemoryUnitOfWork) -> None:
    invalid = refused(uow, PublishRefused, versions.publish, uow, broken(policy_text("1")), "b.yaml", "alice", no_cases)
    assert invalid.code == "policy_invalid"
    assert isinstance(invalid, PublishRefused) and {i["code"] for i in invalid.issues} >= {"unknown_key"}
    assert len(invalid.lines()) == 1 + len(invalid.issues)
    failing = refused(
        uow,
        PublishRefused,
        versions.publish,
        uow,
        policy_text("1"),
        "p.yaml",
        "alice",
        lambda _: versions.CasesVerdict(["case a failed", "case b failed"], None),
    )
    assert isinstance(failing, PublishRefused) and failing.code == "policy_tests_failed"
    assert [i["message"] for i in failing.issues] == ["case a failed", "case b failed"]
    assert refused(uow, InvalidRequest, versions.publish, uow, policy_text("1"), "p.yaml", " ", no_cases).code == (
        "actor_required"
    )


def test_cases_are_not_run_for_known_content(uow: InMemoryUnitOfWork) -> None:
    first = publish(uow, "1")
    ran: list[str] = []

    def recording(loaded: LoadedPolicy) -> versions.CasesVerdict:
        ran.append(loaded.file)
        return versions.CasesVerdict([], None)

    again, created = versions.publish(uow, policy_text("1"), "copy.yaml", "carol", recording)
    assert (again, created, ran) == (first, False, [])
    assert uow.commits == 1


def test_label_taken(uow: InMemoryUnitOfWork) -> None:
    publish(uow, "1")
    error = refused(uow, VersionLabelTaken, versions.publish, uow, policy_text("1", note="x"), "p.yaml", "a", no_cases)
    assert "raise `version`" in error.message
    publish(uow, "1", policy_id="other")  # labels are per policy


# --- approve ---------------------------------------------------------------------------------


@pytest.mark.parametrize("approver", ["alice", "Alice", "Alice Zhang", " alice zhang "])
def test_four_eyes(uow: InMemoryUnitOfWork, approver: str) -> None:
    record = publish(uow, "1", actor="alice", author="Alice Zhang")
    assert refused(uow, FourEyes, versions.approve, uow, record.sha256, approver, "fine").code == "four_eyes"


def test_approve_needs_a_draft_and_a_reason(uow: InMemoryUnitOfWork) -> None:
    record = publish(uow, "1")
    refused(uow, InvalidRequest, versions.approve, uow, "1", "bob", "")
    approved = versions.approve(uow, "1", "bob", "limits checked")
    assert approved.status == "approved" and approved.sha256 == record.sha256
    assert versions.events(uow, "1")[-1].reason == "limits checked"
    refused(uow, InvalidTransition, versions.approve, uow, "1", "carol", "again")


# --- activate, timeline, rollback --------------------------------------------------------------


def test_a_draft_cannot_be_activated(uow: InMemoryUnitOfWork) -> None:
    publish(uow, "1")
    refused(uow, InvalidTransition, versions.activate, uow, "1", "bob", "go")


def in_force_on(uow: InMemoryUnitOfWork, policy_id: str, day: dt.date) -> VersionRecord:
    """The version that decides a request dated ``day``, as the service finds it (no cached timeline)."""
    return PolicyRegistry(policy_id, timeline_ttl=0).version(uow, None, day, None)


def test_a_later_version_takes_over_at_its_effective_from(uow: InMemoryUnitOfWork) -> None:
    live(uow, "1")
    live(uow, "2", effective_from=D(2026, 7, 1))
    assert statuses(uow) == {"1": "active", "2": "active"}
    assert timeline(uow) == [("1", D(2026, 1, 1), D(2026, 6, 30)), ("2", D(2026, 7, 1), None)]
    assert in_force_on(uow, "standard", D(2026, 6, 30)).label == "1"
    assert in_force_on(uow, "standard", D(2030, 1, 1)).label == "2"


def test_an_earlier_end_leaves_a_gap(uow: InMemoryUnitOfWork) -> None:
    live(uow, "1", effective_to=D(2026, 3, 31))
    live(uow, "2", effective_from=D(2026, 7, 1), effective_to=D(2026, 12, 31))
    assert timeline(uow) == [("1", D(2026, 1, 1), D(2026, 3, 31)), ("2", D(2026, 7, 1), D(2026, 12, 31))]
    for day in (D(2025, 12, 31), D(2026, 4, 1), D(2027, 1, 1)):
        with pytest.raises(NoActiveVersion):
            in_force_on(uow, "standard", day)
    with pytest.raises(NoActiveVersion):
        in_force_on(uow, "other", D(2026, 5, 1))


def test_the_same_start_replaces(uow: InMemoryUnitOfWork) -> None:
    live(uow, "1")
    live(uow, "1.1", note="typo fixed")
    assert statuses(uow) == {"1": "retired", "1.1": "active"}
    retired = versions.events(uow, "1")[-1]
    assert (retired.event, retired.actor) == ("retired", "bob") and retired.reason.startswith(
        "replaced by standard 1.1"
    )


def test_a_first_activation_never_cancels_a_scheduled_version(uow: InMemoryUnitOfWork) -> None:
    live(uow, "2", effective_from=D(2026, 7, 1))
    early = publish(uow, "1b", effective_from=D(2026, 3, 1))
    versions.approve(uow, early.sha256, "bob", "ok")
    error = refused(uow, ActiveOverlap, versions.activate, uow, "1b", "bob", "go")
    assert error.code == "active_overlap" and "retire it first" in error.message
    early_bounded = publish(uow, "1c", effective_from=D(2026, 3, 1), effective_to=D(2026, 6, 30))
    versions.approve(uow, early_bounded.sha256, "bob", "ok")
    versions.activate(uow, "1c", "bob", "bounded: no overlap")
    assert timeline(uow) == [("1c", D(2026, 3, 1), D(2026, 6, 30)), ("2", D(2026, 7, 1), None)]


def test_rollback_to_a_retired_version(uow: InMemoryUnitOfWork) -> None:
    live(uow, "1")
    live(uow, "1.1", note="bad change")
    versions.activate(uow, "1", "carol", "1.1 rejects good customers")
    assert statuses(uow) == {"1": "active", "1.1": "retired"}
    assert [e.event for e in versions.events(uow, "1")] == [
        "published",
        "approved",
        "activated",
        "retired",
        "rolled_back",
    ]
    sha = versions.get_version(uow, "1").sha256[:12]
    assert versions.events(uow, "1.1")[-1].reason == f"rolled back to standard 1 ({sha}): 1.1 rejects good customers"


def test_rollback_to_a_version_still_active_before_a_later_one(uow: InMemoryUnitOfWork) -> None:
    live(uow, "1")
    live(uow, "2", effective_from=D(2026, 7, 1))
    live(uow, "3", effective_from=D(2026, 10, 1))
    versions.activate(uow, "2", "carol", "3 is wrong")
    assert statuses(uow) == {"1": "active", "2": "active", "3": "retired"}
    assert timeline(uow) == [("1", D(2026, 1, 1), D(2026, 6, 30)), ("2", D(2026, 7, 1), None)]
    assert versions.events(uow, "2")[-1].event == "rolled_back"
    refused(uow, InvalidTransition, versions.activate, uow, "2", "carol", "nothing to roll back")


def test_a_retired_version_that_was_never_active_activates_normally(uow: InMemoryUnitOfWork) -> None:
    record = publish(uow, "1")
    versions.approve(uow, "1", "bob", "ok")
    versions.retire(uow, "1", "bob", "not yet")
    assert versions.activate(uow, record.sha256, "bob", "now").status == "active"
    assert versions.events(uow, "1")[-1].event == "activated"


def test_retire(uow: InMemoryUnitOfWork) -> None:
    live(uow, "1")
    live(uow, "2", effective_from=D(2026, 7, 1))
    versions.retire(uow, "2", "carol", "withdrawn")
    assert timeline(uow) == [("1", D(2026, 1, 1), None)]  # 1 decides again after 2 is gone
    refused(uow, InvalidTransition, versions.retire, uow, "2", "carol", "twice")
    publish(uow, "3")
    refused(uow, InvalidTransition, versions.retire, uow, "3", "carol", "drafts stay drafts")


def test_policies_are_independent(uow: InMemoryUnitOfWork) -> None:
    live(uow, "1")
    live(uow, "1", policy_id="export")
    assert timeline(uow, "export") == timeline(uow, "standard") == [("1", D(2026, 1, 1), None)]
    assert [(v.policy_id, v.status) for v in versions.list_versions(uow)] == [
        ("export", "active"),
        ("standard", "active"),
    ]


def test_overlap_detected_if_the_store_was_corrupted(uow: InMemoryUnitOfWork) -> None:
    live(uow, "1")
    two = publish(uow, "1.1", note="x")
    uow.versions.set_status(two.id, "active")  # what two racing writers without locks could leave behind
    with pytest.raises(ActiveOverlap):
        in_force_on(uow, "standard", D(2026, 2, 1))


# --- references ------------------------------------------------------------------------------


def test_references(uow: InMemoryUnitOfWork) -> None:
    one = publish(uow, "1")
    publish(uow, "1", policy_id="export")
    for ref in (one.sha256, one.sha256[:8], one.sha256[:20], f" {one.sha256} "):
        assert versions.get_version(uow, ref) == one
    assert versions.get_version(uow, "1", policy_id="standard") == one
    with pytest.raises(AmbiguousVersionRef):
        versions.get_version(uow, "1")
    for missing in ("2", one.sha256[:7], "zzzzzzzz", "f" * 64):
        with pytest.raises(VersionNotFound):
            versions.get_version(uow, missing)
    with pytest.raises(VersionNotFound):
        versions.get_version(uow, one.sha256, policy_id="export")


def test_memory_rollback_discards_uncommitted_work(uow: InMemoryUnitOfWork) -> None:
    with uow:
        publish(uow, "1")
        uow.versions.set_status(versions.get_version(uow, "1").id, "active")
    assert statuses(InMemoryUnitOfWork(uow.database)) == {"1": "draft"}
    assert uow.database != MemoryDatabase()


def test_a_policy_expanding_beyond_the_engine_budget_is_refused_and_registers_nothing(uow: InMemoryUnitOfWork) -> None:
    text = expanding_policy_yaml(rules=45, values=100)  # 45 rules x 100 ids: 9,000 engine rules
    before = engine_ruleset_count()
    invalid = refused(uow, PublishRefused, versions.publish, uow, text, "wide.yaml", "alice", no_cases)
    assert invalid.code == "policy_invalid" and isinstance(invalid, PublishRefused)
    [issue] = [i for i in invalid.issues if i["code"] == "expansion_too_large"]
    assert (issue["file"], issue["path"]) == ("wide.yaml", "order_rules.rules[0].when")
    assert "'order_rules.watched_0' expands the most: 100 engine rules" in str(issue["message"])
    assert engine_ruleset_count() == before


def test_publishing_compiles_onto_the_twin_and_registers_nothing(uow: InMemoryUnitOfWork) -> None:
    before = engine_ruleset_count()
    record, created = versions.publish(uow, policy_text("1", note=uuid.uuid4().hex), "new.yaml", "alice", no_cases)
    assert created and record.status == "draft" and engine_ruleset_count() == before

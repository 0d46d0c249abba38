"""The policy registry on the in-memory unit of work: which version decides, compiled once."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid
from typing import Any

import pytest

from api.adapters.db.memory import InMemoryUnitOfWork
from api.adapters.db.records import VersionRecord
from api.entrypoints.http.app import create_app
from api.errors import NoActiveVersion, VersionNotApproved, VersionNotFound, VersionUnusable
from api.service import versions
from api.service.registry import DEFAULT_MAX_LIVE_VERSIONS, PolicyRegistry
from api.settings import Settings
from engine.compiler import compile_policy
from engine.decide import decide
from engine.ir import CompiledPolicy
from engine.matchers import TwinMatcher, durable_matcher
from engine.rules_adapter import engine_ruleset_count
from policy.validate import LoadedPolicy, load_policy
from tests.decision_factories import order_input
from tests.integration.policy_texts import policy_text

D = dt.date


def no_cases(loaded: LoadedPolicy) -> versions.CasesVerdict:
    return versions.CasesVerdict([], None)


def publish(uow: InMemoryUnitOfWork, label: str, **meta: Any) -> VersionRecord:
    return versions.publish(uow, policy_text(label, **meta), f"{label}.yaml", "alice", no_cases)[0]


def live(uow: InMemoryUnitOfWork, label: str, **meta: Any) -> VersionRecord:
    record = publish(uow, label, **meta)
    versions.approve(uow, record.sha256, "bob", "ok")
    return versions.activate(uow, record.sha256, "bob", "go")


@pytest.fixture
def uow() -> InMemoryUnitOfWork:
    uow = InMemoryUnitOfWork()
    live(uow, "1", effective_from=D(2026, 1, 1))
    live(uow, "2", effective_from=D(2026, 7, 1))
    return uow


def test_as_of_picks_the_version_in_force(uow: InMemoryUnitOfWork) -> None:
    registry = PolicyRegistry()
    assert registry.version(uow, None, D(2026, 6, 30), None).label == "1"
    assert registry.version(uow, None, D(2026, 7, 1), None).label == "2"
    with pytest.raises(NoActiveVersion):
        registry.version(uow, None, D(2025, 12, 31), None)


def test_a_pin_wins_over_the_date(uow: InMemoryUnitOfWork) -> None:
    registry = PolicyRegistry()
    assert registry.version(uow, None, D(2026, 8, 1), "1").label == "1"
    one = registry.version(uow, None, D(2026, 8, 1), "1")
    assert registry.version(uow, None, D(2026, 8, 1), one.sha256[:10]).label == "1"
    with pytest.raises(VersionNotFound):
        registry.version(uow, None, D(2026, 8, 1), "9")
    with pytest.raises(VersionNotFound):
        registry.version(uow, "other-policy", D(2026, 8, 1), "1")


def test_retired_versions_may_be_pinned_drafts_only_when_allowed(uow: InMemoryUnitOfWork) -> None:
    registry = PolicyRegistry()
    versions.retire(uow, "1", "bob", "replaced")
    assert registry.version(uow, None, D(2026, 3, 1), "1").status == "retired"
    publish(uow, "3", effective_from=D(2026, 10, 1))
    with pytest.raises(VersionNotApproved) as refused:
        registry.version(uow, None, D(2026, 10, 1), "3")
    assert refused.value.code == "version_not_approved"
    assert registry.version(uow, None, D(2026, 10, 1), "3", allow_draft=True).status == "draft"


def test_compiled_once_per_content(uow: InMemoryUnitOfWork) -> None:
    registry = PolicyRegistry()
    version, compiled = registry.for_request(uow, None, D(2026, 3, 1), None)
    again = registry.compiled(dataclasses.replace(version, id=999))  # another row, same content
    assert again is compiled
    assert compiled.meta.sha256 == version.sha256
    assert registry.loaded() == [compiled]


def test_a_stored_version_whose_source_no_longer_matches_is_unusable(uow: InMemoryUnitOfWork) -> None:
    registry = PolicyRegistry()
    version = registry.version(uow, None, D(2026, 3, 1), None)
    with pytest.raises(VersionUnusable):
        registry.compiled(dataclasses.replace(version, sha256="0" * 64))
    with pytest.raises(VersionUnusable):
        registry.compiled(dataclasses.replace(version, sha256="1" * 64, source_text="policy: [broken"))


def test_the_default_policy_id_is_configurable(uow: InMemoryUnitOfWork) -> None:
    with pytest.raises(NoActiveVersion):
        PolicyRegistry("another").version(uow, None, D(2026, 3, 1), None)
    live(uow, "1", policy_id="another", effective_from=D(2026, 1, 1))
    assert PolicyRegistry("another").version(uow, None, D(2026, 3, 1), None).policy_id == "another"


# --- memory: durable rulesets only for live versions, at most max_live_versions of them ---------


def fresh(uow: InMemoryUnitOfWork, label: str, *, status: str = "active", **meta: Any) -> VersionRecord:
    """A version whose content no test compiled before, so compiling it on durable-rules registers rulesets."""
    record = publish(uow, label, note=f"unique {uuid.uuid4().hex}", **meta)
    if status == "draft":
        return record
    versions.approve(uow, record.sha256, "bob", "ok")
    return versions.activate(uow, record.sha256, "bob", "go") if status == "active" else record


def on_twin(compiled: CompiledPolicy) -> bool:
    return all(isinstance(matcher, TwinMatcher) for matcher in vars(compiled.rulesets).values())


def test_a_draft_decides_on_its_twin_and_registers_no_ruleset() -> None:
    uow = InMemoryUnitOfWork()
    draft = fresh(uow, "7", status="draft")
    registry = PolicyRegistry()
    before = engine_ruleset_count()
    compiled = registry.compiled(registry.version(uow, None, D(2026, 3, 1), "7", allow_draft=True))
    assert on_twin(compiled) and compiled.meta.sha256 == draft.sha256
    assert engine_ruleset_count() == before and registry.live_versions() == 0
    assert registry.compiled(draft) is compiled  # the twin is kept (among the most recent)


def test_live_versions_get_durable_rulesets_up_to_the_budget_then_decide_on_the_twin() -> None:
    uow = InMemoryUnitOfWork()
    fresh(uow, "1", effective_from=D(2026, 1, 1))
    fresh(uow, "2", effective_from=D(2026, 4, 1))
    fresh(uow, "3", effective_from=D(2026, 7, 1))
    registry = PolicyRegistry(max_live_versions=2)
    counted = engine_ruleset_count()

    def registered() -> int:
        nonlocal counted
        grown, counted = engine_ruleset_count() - counted, engine_ruleset_count()
        return grown

    _, first = registry.for_request(uow, None, D(2026, 2, 1), None)  # in force: a slot
    assert not on_twin(first) and registered() > 0
    # A pinned version not in force may not take the last slot: it waits for a version in force.
    _, pinned = registry.for_request(uow, None, D(2026, 2, 1), "3")
    assert on_twin(pinned) and registered() == 0
    _, second = registry.for_request(uow, None, D(2026, 5, 1), None)
    assert not on_twin(second) and registered() > 0 and registry.live_versions() == 2
    version, third = registry.for_request(uow, None, D(2026, 8, 1), None)  # in force, past the budget
    assert on_twin(third) and registered() == 0 and registry.live_versions() == 2
    assert third is pinned  # one twin per version, kept among the most recent
    # Same answers either way: the twin is proven equal to durable-rules.
    order = order_input(currency="EUR", amount="2000000.00") | {"as_of": "2026-08-01"}
    durable = compile_policy(load_policy(version.source_text, version.source_file), factory=durable_matcher)
    assert decide(third, "order", order).output() == decide(durable, "order", order).output()


def test_a_version_past_the_budget_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    uow = InMemoryUnitOfWork()
    fresh(uow, "1", effective_from=D(2026, 1, 1))
    fresh(uow, "2", effective_from=D(2026, 7, 1))
    registry = PolicyRegistry(max_live_versions=1)
    registry.for_request(uow, None, D(2026, 2, 1), None)
    with caplog.at_level(logging.WARNING, logger="creditpolicy"):
        for day in (1, 2, 3):
            registry.for_request(uow, None, D(2026, 8, day), None)
    (warning,) = [record.getMessage() for record in caplog.records]
    assert "policy standard 2 (" in warning and "decides on its plain-Python twin" in warning
    assert "CREDITPOLICY_MAX_LIVE_VERSIONS=1" in warning


def test_offline_work_reuses_a_live_version_and_registers_nothing_for_the_others() -> None:
    uow = InMemoryUnitOfWork()
    fresh(uow, "1", effective_from=D(2026, 1, 1))
    retired = fresh(uow, "0", status="approved", effective_from=D(2025, 1, 1))
    registry = PolicyRegistry()
    version, live_form = registry.for_request(uow, None, D(2026, 2, 1), None)
    before = engine_ruleset_count()
    assert registry.offline(version) is live_form
    assert on_twin(registry.offline(retired)) and engine_ruleset_count() == before


def test_the_setting_bounds_the_live_versions_of_the_service() -> None:
    assert Settings().max_live_versions == DEFAULT_MAX_LIVE_VERSIONS
    assert Settings(max_live_versions=1).max_live_versions == 1
    with pytest.raises(ValueError):
        Settings(max_live_versions=0)
    app = create_app(Settings(database_url="sqlite://", max_live_versions=3))
    try:
        assert app.state.registry.max_live_versions == 3
    finally:
        app.state.db_engine.dispose()

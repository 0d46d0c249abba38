"""The policy registry on the in-memory unit of work: which version decides, compiled once."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from api.adapters.db.memory import InMemoryUnitOfWork
from api.adapters.db.records import VersionRecord
from api.errors import NoActiveVersion, VersionNotApproved, VersionNotFound, VersionUnusable
from api.service import versions
from api.service.registry import PolicyRegistry
from policy.validate import LoadedPolicy
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

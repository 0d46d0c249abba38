"""Changes of shared state: announced by the use cases that make them, and forgotten by the right caches."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from api.adapters.db.memory import InMemoryUnitOfWork
from api.adapters.db.records import VersionRecord
from api.entrypoints.http.deps import KeyCache
from api.errors import InvalidTransition
from api.service import keys, versions
from api.service.changes import FALLBACK_MAX_AGE, KEYS, LIVE_MAX_AGE, VERSIONS, CacheInvalidation
from api.service.keys import Caller
from api.service.registry import PolicyRegistry
from policy.validate import LoadedPolicy
from tests.integration.policy_texts import policy_text

D = dt.date


def no_cases(loaded: LoadedPolicy) -> versions.CasesVerdict:
    return versions.CasesVerdict([], None)


def publish(uow: InMemoryUnitOfWork, label: str, **meta: Any) -> VersionRecord:
    return versions.publish(uow, policy_text(label, **meta), f"{label}.yaml", "alice", no_cases)[0]


class RecordingCache:
    """A cache that records what it was told."""

    def __init__(self) -> None:
        self.forgotten = 0
        self.max_age: float | None = None

    def forget(self) -> None:
        self.forgotten += 1

    def keep_for(self, seconds: float) -> None:
        self.max_age = seconds


# --- the use cases announce ---------------------------------------------------------------------
def test_every_lifecycle_step_is_announced_and_publishing_is_not() -> None:
    uow = InMemoryUnitOfWork()
    record = publish(uow, "1")
    assert uow.changes.serials() == {}  # a draft decides nothing: no cache holds it
    versions.approve(uow, record.sha256, "bob", "ok")
    versions.activate(uow, record.sha256, "bob", "go")
    versions.retire(uow, record.sha256, "bob", "stop")
    versions.activate(uow, record.sha256, "bob", "back")  # rollback
    assert uow.changes.serials() == {VERSIONS: 4}


def test_a_refused_step_announces_nothing() -> None:
    uow = InMemoryUnitOfWork()
    record = publish(uow, "1")
    with pytest.raises(InvalidTransition):
        versions.retire(uow, record.sha256, "bob", "a draft is not retired")
    uow.rollback()
    assert uow.changes.serials() == {}


def test_key_creation_and_revocation_are_announced() -> None:
    uow = InMemoryUnitOfWork()
    keys.create_key(uow, "erp", "decide")
    assert uow.changes.serials() == {KEYS: 1}
    keys.revoke_key(uow, "erp")
    assert uow.changes.serials() == {KEYS: 2}


def test_an_announcement_rolled_back_is_gone() -> None:
    uow = InMemoryUnitOfWork()
    uow.changes.announce(KEYS)
    uow.rollback()
    assert uow.changes.serials() == {}


# --- which caches forget ------------------------------------------------------------------------
def test_a_change_is_forgotten_by_the_caches_of_its_topic_only() -> None:
    timelines, key_cache = RecordingCache(), RecordingCache()
    invalidation = CacheInvalidation({VERSIONS: [timelines], KEYS: [key_cache]})
    invalidation.changed(VERSIONS)
    assert (timelines.forgotten, key_cache.forgotten) == (1, 0)
    invalidation.changed(KEYS)
    assert (timelines.forgotten, key_cache.forgotten) == (1, 1)
    invalidation.changed("webhooks")  # announced by a newer release: this one forgets everything
    assert (timelines.forgotten, key_cache.forgotten) == (2, 2)
    assert invalidation.heard == 3


def test_caches_are_trusted_long_only_while_the_listener_hears() -> None:
    timelines, key_cache = RecordingCache(), RecordingCache()
    invalidation = CacheInvalidation({VERSIONS: [timelines], KEYS: [key_cache]})
    assert timelines.max_age == key_cache.max_age == FALLBACK_MAX_AGE  # before it listens
    invalidation.resynchronised()
    assert timelines.max_age == key_cache.max_age == LIVE_MAX_AGE
    assert (timelines.forgotten, key_cache.forgotten) == (1, 1)  # anything may have changed before
    invalidation.lost()
    assert timelines.max_age == key_cache.max_age == FALLBACK_MAX_AGE
    invalidation.resynchronised()  # back: what changed meanwhile may not have been heard
    assert (timelines.forgotten, key_cache.forgotten) == (2, 2)


def test_a_cache_under_two_topics_is_told_once() -> None:
    both = RecordingCache()
    CacheInvalidation({VERSIONS: [both], KEYS: [both]}).resynchronised()
    assert both.forgotten == 1


# --- a read under way when a change is heard is not cached ---------------------------------------
class ForgetsWhileReading(InMemoryUnitOfWork):
    """Hears of a change (``registry.forget``) while its versions are being read: a read racing a change."""

    def __init__(self, registry: PolicyRegistry) -> None:
        super().__init__()
        self.registry = registry
        self.reads = 0
        self.racing = False

    def __enter__(self) -> ForgetsWhileReading:
        super().__enter__()
        return self

    def _bind(self, working: Any) -> None:
        super()._bind(working)
        outer, real_list = self, self.versions.list

        def list_racing(policy_id: str | None = None, *, for_update: bool = False) -> list[VersionRecord]:
            found = real_list(policy_id, for_update=for_update)
            if outer.racing:
                outer.reads += 1
                outer.registry.forget()
            return found

        self.versions.list = list_racing  # type: ignore[method-assign]


def test_a_timeline_read_before_a_change_was_heard_is_not_cached() -> None:
    registry = PolicyRegistry(timeline_ttl=60)
    uow = ForgetsWhileReading(registry)
    record = publish(uow, "1")
    versions.approve(uow, record.sha256, "bob", "ok")
    versions.activate(uow, record.sha256, "bob", "go")
    uow.racing = True
    registry.version(uow, None, D(2026, 6, 1), None)
    registry.version(uow, None, D(2026, 6, 1), None)
    assert uow.reads == 2  # the first read was not kept: the second read the store again
    uow.racing = False
    registry.version(uow, None, D(2026, 6, 1), None)
    registry.version(uow, None, D(2026, 6, 1), None)
    assert uow.reads == 2  # a read no change raced is kept


def test_a_key_looked_up_before_a_change_was_heard_is_not_cached() -> None:
    cache = KeyCache(ttl=60)
    caller = Caller("erp", "decide")
    began = cache.generation
    cache.forget()  # revoked somewhere while the look-up ran
    cache.put("cp_key", caller, began)
    assert cache.get("cp_key") is None
    cache.put("cp_key", caller, cache.generation)
    assert cache.get("cp_key") == caller
    cache.forget()
    assert cache.get("cp_key") is None

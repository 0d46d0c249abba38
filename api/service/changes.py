"""What each process caches of the shared state, and how a change made anywhere reaches it.

Several processes serve one database (replicas on several hosts over PostgreSQL, ``serve
--workers N`` on one SQLite file) and each caches two things a request would otherwise read:

=============  ==========================================  ===========================================
topic          what changed                                what forgets
=============  ==========================================  ===========================================
``versions``   a version's status (approve, activate,      the policy registry's timelines
               retire, rollback: :mod:`.versions`)         (:class:`api.service.registry.PolicyRegistry`)
``keys``       an API key created or revoked (:mod:`.keys`) the key cache of the HTTP app
=============  ==========================================  ===========================================

The use case that changes one announces its topic in its own transaction
(``uow.changes.announce``); every process runs a change listener
(:mod:`api.adapters.change_listener`: LISTEN/NOTIFY on PostgreSQL, a counter polled every 0.25 s
on SQLite) that calls :class:`CacheInvalidation`. Compiled policies are cached by content hash and
never change, so they are never forgotten.

While the listener is live, a cached entry is kept until a change of its topic is heard, or for
:data:`LIVE_MAX_AGE` seconds at most — a safety net for rows changed by hand, outside the
service. While it is not (the database restarted, the listener reconnects), entries are trusted
:data:`FALLBACK_MAX_AGE` seconds at most, as if there were no listener; when it is back, every
cache is dropped, since a change may have been missed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

__all__ = ["FALLBACK_MAX_AGE", "KEYS", "LIVE_MAX_AGE", "TOPICS", "VERSIONS", "CacheInvalidation", "ProcessCache"]

VERSIONS = "versions"
KEYS = "keys"
TOPICS = (VERSIONS, KEYS)

LIVE_MAX_AGE = 60.0
FALLBACK_MAX_AGE = 1.0


class ProcessCache(Protocol):
    """A cache of one process that a change of shared state makes stale."""

    def forget(self) -> None:
        """Drop every entry; a read under way when this is called must not store what it read."""
        ...

    def keep_for(self, seconds: float) -> None:
        """Trust an entry at most ``seconds`` after it was read."""
        ...


class CacheInvalidation:
    """The caches of one process by topic: what the change listener tells when it hears a change."""

    def __init__(self, caches: Mapping[str, Sequence[ProcessCache]]) -> None:
        self._caches = {topic: tuple(found) for topic, found in caches.items()}
        self._all = tuple({id(cache): cache for found in self._caches.values() for cache in found}.values())
        for cache in self._all:
            cache.keep_for(FALLBACK_MAX_AGE)  # until the listener is live
        self.heard = 0  # changes heard (for the tests and /readyz)

    def changed(self, topic: str) -> None:
        """A change of ``topic`` was committed; an unknown topic (a newer release announced it) drops all."""
        self.heard += 1
        for cache in self._caches.get(topic, self._all):
            cache.forget()

    def resynchronised(self) -> None:
        """The listener is live (again): anything may have changed while it was not."""
        for cache in self._all:
            cache.forget()
            cache.keep_for(LIVE_MAX_AGE)

    def lost(self) -> None:
        """The listener stopped hearing: trust entries as briefly as without one."""
        for cache in self._all:
            cache.keep_for(FALLBACK_MAX_AGE)

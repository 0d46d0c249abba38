"""Which policy version decides a request, compiled once per content hash and evaluated many times.

A decision request names its version in one of two ways:

* ``as_of`` (every input has it): the active version in force on that date decides (the
  timeline of :func:`api.service.versions.in_force`);
* ``policy_version`` (a label, a sha256 or a unique prefix of 8+ hex digits) pins one. A pinned
  version may be approved, active or retired — a retired version can still explain or reproduce
  what it decided — but a **draft** decides nothing (``version_not_approved``, 422) unless
  ``allow_draft`` is set: by the decision routes only for callers who may publish (so today no
  one, since publishing and deciding are different roles), by replay always (it writes nothing,
  and "what would this draft change" is the question an approver asks).

The timeline of a policy's active versions is cached: reading every version's source text for
every decision would cost more than the decision. Changes made through this process's API are
seen at once (the lifecycle use cases call :meth:`PolicyRegistry.forget`); those made elsewhere
(the CLI, another worker or replica) when this process hears of them (:mod:`api.service.changes`:
within a second), and a timeline is never trusted longer than ``timeline_ttl`` seconds.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

from api.adapters.db.records import VersionRecord
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.errors import NoActiveVersion, VersionNotApproved, VersionUnusable
from api.service import versions
from engine.compiler import compile_policy
from engine.errors import EngineError
from engine.ir import CompiledPolicy
from policy.errors import PolicyInvalid
from policy.validate import load_policy

__all__ = ["DEFAULT_POLICY_ID", "PolicyRegistry"]

DEFAULT_POLICY_ID = "standard"


class PolicyRegistry:
    """Compiled policies keyed by sha256; a version's stored source is compiled on first use only."""

    def __init__(self, default_policy_id: str = DEFAULT_POLICY_ID, *, timeline_ttl: float = 1.0) -> None:
        self.default_policy_id = default_policy_id
        self.timeline_ttl = timeline_ttl
        self._compiled: dict[str, CompiledPolicy] = {}
        self._timelines: dict[str, tuple[float, list[versions.InForce]]] = {}
        self._lock = threading.Lock()
        # Bumped by forget(): a timeline read before a change was heard is not stored after it.
        self._generation = 0
        self._timelines_lock = threading.Lock()

    def forget(self, policy_id: str | None = None) -> None:
        """Drop the cached timeline (of one policy): a version's status changed."""
        with self._timelines_lock:
            self._generation += 1
            if policy_id is None:
                self._timelines.clear()
            else:
                self._timelines.pop(policy_id, None)

    def keep_for(self, seconds: float) -> None:
        """Trust a cached timeline at most ``seconds`` (the change listener sets it)."""
        self.timeline_ttl = seconds

    def _in_force(self, uow: AbstractUnitOfWork, policy_id: str) -> list[versions.InForce]:
        cached = self._timelines.get(policy_id)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self.timeline_ttl:
            return cached[1]
        generation = self._generation
        periods = versions.in_force(uow, policy_id)
        with self._timelines_lock:
            if generation == self._generation:
                self._timelines[policy_id] = (now, periods)
        return periods

    def compiled(self, version: VersionRecord) -> CompiledPolicy:
        """The compiled form of a stored version (compiled from its source text once per process)."""
        hit = self._compiled.get(version.sha256)
        if hit is not None:
            return hit
        # Compiling takes tens of milliseconds: one thread compiles, the others wait for it.
        with self._lock:
            hit = self._compiled.get(version.sha256)
            if hit is None:
                hit = self._compile(version)
                self._compiled[version.sha256] = hit
        return hit

    @staticmethod
    def _compile(version: VersionRecord) -> CompiledPolicy:
        try:
            compiled = compile_policy(load_policy(version.source_text, version.source_file))
        except (PolicyInvalid, EngineError) as exc:
            raise VersionUnusable(
                f"policy {version.policy_id} {version.label} ({version.sha256[:12]}) does not compile: {exc}"
            ) from None
        if compiled.meta.sha256 != version.sha256:
            raise VersionUnusable(
                f"policy {version.policy_id} {version.label}: stored sha256 {version.sha256[:12]} but the source "
                f"hashes to {compiled.meta.sha256[:12]} (the canonical form changed since it was published)"
            )
        return compiled

    def version(
        self,
        uow: AbstractUnitOfWork,
        policy_id: str | None,
        as_of: dt.date,
        pinned: str | None,
        *,
        allow_draft: bool = False,
    ) -> VersionRecord:
        """The version that decides: the pinned one, else the one in force on ``as_of``."""
        policy_id = policy_id or self.default_policy_id
        if pinned is None:
            for period in self._in_force(uow, policy_id):
                if period.covers(as_of):
                    return period.version
            raise NoActiveVersion(f"no active version of policy {policy_id} is in force on {as_of.isoformat()}")
        version = versions.get_version(uow, pinned, policy_id)
        if version.status == "draft" and not allow_draft:
            raise VersionNotApproved(
                f"policy {version.policy_id} {version.label} is a draft; only approved, active or retired "
                "versions decide"
            )
        return version

    def for_request(
        self,
        uow: AbstractUnitOfWork,
        policy_id: str | None,
        as_of: dt.date,
        pinned: str | None,
        *,
        allow_draft: bool = False,
    ) -> tuple[VersionRecord, CompiledPolicy]:
        """The deciding version and its compiled form."""
        version = self.version(uow, policy_id, as_of, pinned, allow_draft=allow_draft)
        return version, self.compiled(version)

    def loaded(self) -> list[CompiledPolicy]:
        """The compiled policies held, in no particular order."""
        return list(self._compiled.values())

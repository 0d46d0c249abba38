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

**Memory.** durable-rules never returns a ruleset's memory (up to ~40 MB for the largest policy
``engine.compiler.MAX_ENGINE_CONDITIONS`` lets through, ~2 MB for the shipped one), so only
versions that decide live requests get durable rulesets, and at most ``max_live_versions`` of
them per process (``CREDITPOLICY_MAX_LIVE_VERSIONS``); one of those is kept for versions found in
force by ``as_of``, so pinned old versions cannot take every slot. Everything else is evaluated
by the plain-Python twin of the same rules (``engine.matchers.twin_matcher``: the same plan,
the same input checks, answers proven equal by the differential tests), which registers nothing
and is freed with the cache (the ``twin_cache`` most recently used): drafts, replays, the versions
a dry run names or pins (:meth:`PolicyRegistry.for_dry_run`), and the versions past the budget,
each with a warning in the log (restarting the worker gives the version in force its durable
rulesets again).

The timeline of a policy's active versions is cached: reading every version's source text for
every decision would cost more than the decision. Changes made through this process's API are
seen at once (the lifecycle use cases call :meth:`PolicyRegistry.forget`); those made elsewhere
(the CLI, another worker or replica) when this process hears of them (:mod:`api.service.changes`:
within a second), and a timeline is never trusted longer than ``timeline_ttl`` seconds.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from api.adapters.db.records import VersionRecord
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.errors import NoActiveVersion, RefusedField, VersionNotApproved, VersionUnusable
from api.service import versions
from engine.compiler import compile_policy
from engine.errors import EngineError
from engine.ir import CompiledPolicy
from engine.matchers import MatcherFactory, durable_matcher, twin_matcher
from policy.errors import PolicyInvalid
from policy.validate import load_policy

__all__ = ["DEFAULT_MAX_LIVE_VERSIONS", "DEFAULT_POLICY_ID", "LiveChallenger", "PolicyRegistry"]

log = logging.getLogger("creditpolicy")

DEFAULT_POLICY_ID = "standard"
DEFAULT_MAX_LIVE_VERSIONS = 4  # the version in force, the next one, two pinned: ≤ ~160 MB at worst
TWIN_CACHE = 8  # plain-Python twins are freed when dropped: at most ~12 MB each


@dataclass(frozen=True)
class LiveChallenger:
    """A policy's challenger as the decision path uses it (:mod:`api.service.decisions.shadow`).

    ``compiled`` is the challenger's plain-Python twin (never durable-rules: see the module doc of
    :mod:`api.service.shadow`), or None when it does not compile (``unusable`` says why): every
    shadowed decision then records that error.
    """

    policy_id: str
    champion_sha256: str
    version: VersionRecord
    threshold: int  # customers whose bucket (0..9,999) lies below it are shadowed: the share × 100
    compiled: CompiledPolicy | None
    unusable: str | None = None


class PolicyRegistry:
    """Compiled policies keyed by sha256; a version's stored source is compiled on first use only."""

    def __init__(
        self,
        default_policy_id: str = DEFAULT_POLICY_ID,
        *,
        timeline_ttl: float = 1.0,
        max_live_versions: int = DEFAULT_MAX_LIVE_VERSIONS,
        twin_cache: int = TWIN_CACHE,
    ) -> None:
        self.default_policy_id = default_policy_id
        self.timeline_ttl = timeline_ttl
        self.max_live_versions = max_live_versions
        self.twin_cache = twin_cache
        self._compiled: dict[str, CompiledPolicy] = {}  # on durable-rules: never freed
        self._twins: OrderedDict[str, CompiledPolicy] = OrderedDict()
        self._timelines: dict[str, tuple[float, list[versions.InForce]]] = {}
        # The challenger of each policy (or None), read and trusted like the timelines, and the
        # twins of the challengers named (kept apart from the twin cache, which replays churn).
        self._challengers: dict[str, tuple[float, LiveChallenger | None]] = {}
        self._challenger_twins: dict[str, CompiledPolicy] = {}
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
                self._challengers.clear()
            else:
                self._timelines.pop(policy_id, None)
                self._challengers.pop(policy_id, None)

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

    def challenger(self, uow: AbstractUnitOfWork, policy_id: str) -> LiveChallenger | None:
        """The challenger of ``policy_id`` in shadow, if any (cached; forgotten with the timelines)."""
        cached = self._challengers.get(policy_id)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self.timeline_ttl:
            return cached[1]
        generation = self._generation
        found = self._read_challenger(uow, policy_id)
        with self._timelines_lock:
            if generation == self._generation:
                self._challengers[policy_id] = (now, found)
        return found

    def _read_challenger(self, uow: AbstractUnitOfWork, policy_id: str) -> LiveChallenger | None:
        record = uow.challengers.get(policy_id)
        champion = None if record is None else uow.versions.get(record.champion_version_id)
        version = None if record is None else uow.versions.get(record.challenger_version_id)
        if record is None or champion is None or version is None:
            return None
        threshold = int(record.share * 100)
        with self._lock:
            compiled = self._challenger_twins.get(version.sha256)
            if compiled is None:
                try:
                    compiled = self._compile(version, twin_matcher)
                except VersionUnusable as error:
                    log.warning("challenger of policy %s cannot be evaluated: %s", policy_id, error.message)
                    return LiveChallenger(policy_id, champion.sha256, version, threshold, None, error.code)
                # One twin per challenger named: those of challengers since ended are dropped.
                named = {c.version.sha256 for _, c in list(self._challengers.values()) if c is not None}
                self._challenger_twins = {k: v for k, v in self._challenger_twins.items() if k in named}
                self._challenger_twins[version.sha256] = compiled
        return LiveChallenger(policy_id, champion.sha256, version, threshold, compiled)

    def compiled(self, version: VersionRecord, *, in_force: bool = False) -> CompiledPolicy:
        """The compiled form that decides a live request under ``version`` (compiled once per process).

        durable-rules for an approved, active or retired version while this process holds fewer
        than ``max_live_versions`` of them (the last slot only for a version ``in_force``, found by
        ``as_of``); a draft, or a version past the budget, gets the plain-Python twin.
        """
        hit = self._compiled.get(version.sha256)
        if hit is not None:
            return hit
        # Compiling takes tens of milliseconds: one thread compiles, the others wait for it.
        with self._lock:
            hit = self._compiled.get(version.sha256)
            if hit is not None:
                return hit
            live = version.status != "draft"
            reserved = 0 if in_force else 1  # the last slot waits for a version found in force
            if live and len(self._compiled) < self.max_live_versions - reserved:
                hit = self._compile(version, durable_matcher)
                self._compiled[version.sha256] = hit
                return hit
            return self._twin(version, past_budget=live)

    def offline(self, version: VersionRecord) -> CompiledPolicy:
        """``version`` compiled for work that decides no live request (a replay, a case's release
        terms): the live form if this process holds it, else the twin; never registers a ruleset."""
        hit = self._compiled.get(version.sha256)
        if hit is not None:
            return hit
        with self._lock:
            return self._twin(version, past_budget=False)

    def _twin(self, version: VersionRecord, *, past_budget: bool) -> CompiledPolicy:
        """The plain-Python twin of ``version``, from the cache of recent ones (under ``_lock``)."""
        hit = self._twins.get(version.sha256)
        if hit is None:
            hit = self._twins[version.sha256] = self._compile(version, twin_matcher)
            if past_budget:
                log.warning(
                    "policy %s %s (%s) decides on its plain-Python twin (same answers): this process holds %d "
                    "versions on durable-rules, whose memory is never returned (CREDITPOLICY_MAX_LIVE_VERSIONS=%d, "
                    "the last slot kept for a version in force); restarting the worker frees them",
                    version.policy_id,
                    version.label,
                    version.sha256[:12],
                    len(self._compiled),
                    self.max_live_versions,
                )
            while len(self._twins) > self.twin_cache:
                self._twins.popitem(last=False)
        else:
            self._twins.move_to_end(version.sha256)
        return hit

    def live_versions(self) -> int:
        """How many versions this process holds on durable-rules (at most ``max_live_versions``)."""
        return len(self._compiled)

    @staticmethod
    def _compile(version: VersionRecord, factory: MatcherFactory) -> CompiledPolicy:
        try:
            compiled = compile_policy(load_policy(version.source_text, version.source_file), factory=factory)
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
        return version, self.compiled(version, in_force=pinned is None)

    def for_dry_run(
        self,
        uow: AbstractUnitOfWork,
        as_of: dt.date,
        pinned: str | None,
        *,
        named: VersionRecord | None,
        allow_draft: bool,
    ) -> tuple[VersionRecord, CompiledPolicy]:
        """The version a dry run decides a request by, and its compiled form; registers no ruleset for it
        unless a live request would.

        ``named`` (the batch's ``?version=``, any status) decides every request, offline; a request
        pinning another one is refused (``policy_version_conflict``). Without it, the request is
        decided by the version a live decision would use: the one in force on ``as_of`` in its live
        form, or the pinned one (a draft too when ``allow_draft``) offline.
        """
        if named is not None:
            if pinned is not None and versions.get_version(uow, pinned, named.policy_id).sha256 != named.sha256:
                message = f"the dry run decides by {named.policy_id} {named.label}; this request pins another version"
                raise RefusedField(message, code="policy_version_conflict", pointer="/policy_version")
            return named, self.offline(named)
        if pinned is None:
            return self.for_request(uow, None, as_of, None)
        version = self.version(uow, None, as_of, pinned, allow_draft=allow_draft)
        return version, self.offline(version)

    def loaded(self) -> list[CompiledPolicy]:
        """The compiled policies held on durable-rules, in no particular order."""
        return list(self._compiled.values())

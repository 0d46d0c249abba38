"""Policy versions: publish, approve, activate (and roll back), retire, look up, resolve by date.

Lifecycle::

    publish ──> draft ──approve──> approved ──activate──> active ──retire──> retired
                 (another person)        │                  ▲  │                 │
                                         └──retire──> retired  └──activate───────┘ (rollback)

Rules, all enforced here and recorded as lifecycle events (who, when, what, why):

* **Publish** validates the policy, compiles it (onto the plain-Python twin: a draft registers
  no durable ruleset) and runs its test cases; any problem refuses it and nothing is stored, so
  what the engine would refuse (a policy expanding beyond ``engine.compiler.MAX_ENGINE_CONDITIONS``,
  a rule too large for durable-rules) is refused before it can be approved. A policy that sets
  ``policy.min_coverage`` is refused too when its cases exercise less of it than that
  (``policy_coverage_too_low``, located at the key, every element left unexercised listed with its
  line), or when it comes without cases. The same content (same canonical sha256) again is a
  no-op returning the stored version; the same policy id and label with other content is refused
  (``version_label_taken``).
* **Approve** moves a draft to approved; the approver must be neither the key that published it
  nor the author named in the file (``four_eyes``).
* **Timeline.** The active versions of a policy form a timeline ordered by ``effective_from``:
  each is *in force* from its ``effective_from`` until the day before the next active version's
  ``effective_from``, or its own ``effective_to``, whichever comes first. So in-force periods never
  overlap, activation takes effect at ``effective_from`` (activate ahead of time and the switch
  happens on that date), and a version only ever hands over to a later one — it does not resume
  after a later version's ``effective_to`` (publish a new version for that).
* **Activate** an approved version X (never active before):

  - an active version starting earlier stays active and hands over to X at X's
    ``effective_from`` (nothing about it changes; its history says so through X's event);
  - an active version starting the same day is replaced: it is retired (``retired`` event);
  - an active version starting later but inside X's range is refused (``active_overlap``):
    X would silently cancel a change already scheduled; retire that version first, or publish
    X with an ``effective_to`` before it.

* **Rollback** = activating a version that was active before (status retired, or still active
  but handed over to a later version): every active version starting inside its range is
  retired, and the version records ``rolled_back``. History is never rewritten: rows keep their
  content, only their status changes, and every step is an event.
* **Retire** takes an approved or active version out of use; the active version before it (if
  any) then stays in force until the next one, as the timeline rule says.
* **As of** a date, the deciding version is the active one in force on that date
  (``no_active_version`` otherwise).
* **A challenger in shadow** (:mod:`api.service.shadow`) is ended, in the same transaction
  (``challenger_ended`` on it), when any version of its policy is activated or its champion or
  the challenger itself is retired: the comparison it was named for is over.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from api.adapters.db.records import LifecycleEventRecord, NewVersion, VersionRecord
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.errors import (
    ActiveOverlap,
    AmbiguousVersionRef,
    DuplicateRecord,
    FourEyes,
    InvalidRequest,
    InvalidTransition,
    PublishRefused,
    ReasonRequired,
    VersionLabelTaken,
    VersionNotFound,
)
from api.service import changes
from engine.compiler import compile_policy
from engine.coverage import Coverage
from engine.errors import CompileError
from engine.matchers import twin_matcher
from policy.errors import Issue, PolicyInvalid
from policy.validate import LoadedPolicy, load_policy
from policy.versioning import canonical_json, content_hash

__all__ = [
    "CasesVerdict",
    "InForce",
    "RunCases",
    "TimelineCache",
    "activate",
    "approve",
    "checked_actor",
    "checked_reason",
    "end_challenger_of",
    "events",
    "get_version",
    "in_force",
    "list_versions",
    "name_of",
    "publish",
    "retire",
    "same_person",
    "warnings_of",
]


@dataclass(frozen=True)
class CasesVerdict:
    """What running a policy's own test cases found: one message per failing case, and the coverage."""

    failures: list[str]  # empty: every case passed
    coverage: Coverage | None  # None: no cases were given (or they could not run: see failures)


# Runs a policy's own test cases when it is published.
RunCases = Callable[[LoadedPolicy], CasesVerdict]


class TimelineCache(Protocol):
    """What keeps a policy's timeline of active versions (the policy registry): told of every change."""

    def forget(self, policy_id: str | None = None) -> None: ...


_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SHA256_PREFIX = re.compile(r"^[0-9a-f]{8,63}$")


@dataclass(frozen=True)
class InForce:
    """An active version and the days it decides: [start, end], end None for open-ended."""

    version: VersionRecord
    start: dt.date
    end: dt.date | None

    def covers(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


def _actor(value: str) -> str:
    actor = (value or "").strip()
    if not actor:
        raise InvalidRequest("actor is required", code="actor_required")
    if len(actor) > 100:  # the width of the created_by and actor columns
        raise InvalidRequest("actor is longer than 100 characters", code="actor_too_long")
    return actor


def _reason(value: str) -> str:
    reason = (value or "").strip()
    if not reason:
        raise ReasonRequired("a reason is required: it is recorded with the lifecycle step")
    return reason


def _file(value: str) -> str:
    file = (value or "").strip()
    if not file:
        raise InvalidRequest("file is required", code="file_required")
    if len(file) > 500:  # the width of the source_file column
        raise InvalidRequest("file is longer than 500 characters", code="file_too_long")
    return file


def _invalid(file: str, issues: Sequence[Issue]) -> PublishRefused:
    count = len(issues)
    return PublishRefused(
        f"{file}: the policy has {count} problem{'s' * (count != 1)}; nothing was stored",
        code="policy_invalid",
        issues=[issue.to_dict() for issue in issues],
    )


def publish(
    uow: AbstractUnitOfWork, text: str, file: str, actor: str, run_cases: RunCases
) -> tuple[VersionRecord, bool]:
    """Store a policy as a draft after validating it and running its cases; ``created`` is False for known content."""
    actor, file = _actor(actor), _file(file)
    try:
        loaded = load_policy(text, file)
        compile_policy(loaded, factory=twin_matcher)
    except (PolicyInvalid, CompileError) as invalid:
        raise _invalid(file, invalid.issues) from None
    sha256 = content_hash(loaded.policy)
    existing = uow.versions.get_by_sha256(sha256)
    if existing is not None:
        return existing, False
    meta = loaded.policy.policy
    _check_label_free(uow, meta.id, meta.version, sha256)
    verdict = run_cases(loaded)
    if verdict.failures:
        count = len(verdict.failures)
        raise PublishRefused(
            f"{file}: {count} test case{'s' * (count != 1)} of the policy failed; nothing was stored",
            code="policy_tests_failed",
            issues=[{"code": "policy_test_failed", "message": failure} for failure in verdict.failures],
        )
    _check_coverage(loaded, verdict.coverage)
    now = uow.now()
    new = NewVersion(
        policy_id=meta.id,
        label=meta.version,
        sha256=sha256,
        source_text=text,
        source_file=file,
        canonical_json=canonical_json(loaded.policy),
        effective_from=meta.effective_from,
        effective_to=meta.effective_to,
        author=meta.author,
        change_note=meta.change_note,
        created_by=actor,
        created_at=now,
    )
    try:
        record = uow.versions.add(new)
    except DuplicateRecord:
        # A concurrent publish stored it first: same content is the no-op, other content the conflict.
        uow.rollback()
        existing = uow.versions.get_by_sha256(sha256)
        if existing is not None:
            return existing, False
        _check_label_free(uow, meta.id, meta.version, sha256)
        raise
    uow.events.add(record.id, "published", actor, meta.change_note, now)
    uow.commit()
    return record, True


def _percent(fraction: Decimal) -> str:
    return f"{(fraction * 100).normalize():f} %"


def _check_coverage(loaded: LoadedPolicy, coverage: Coverage | None) -> None:
    """Refuse a policy whose cases exercise less of it than its own ``min_coverage`` asks."""
    minimum = loaded.policy.policy.min_coverage
    if minimum is None or (coverage is not None and coverage.reaches(minimum)):
        return
    line, column = loaded.location(("policy", "min_coverage"))
    at = {"file": loaded.file, "line": line, "column": column, "path": "policy.min_coverage"}
    if coverage is None:
        message = (
            f"the policy requires its test cases to exercise {_percent(minimum)} of it, "
            "but it was published without cases (x.cases.yaml beside x.yaml, or cases_yaml)"
        )
        issues: list[dict[str, object]] = [{"code": "coverage_below_minimum", "message": message, **at}]
    else:
        message = (
            f"the test cases exercise {coverage.exercised} of {coverage.total} policy elements "
            f"({coverage.percent} %), below the {_percent(minimum)} the policy requires"
        )
        issues = [{"code": "coverage_below_minimum", "message": message, **at}]
        issues += [
            {
                "code": "element_not_exercised",
                "message": f"not exercised by any case: {element.name}",
                "file": element.source.file,
                "line": element.source.line,
                "column": element.source.column,
                "path": element.path_text,
            }
            for element in coverage.missing
        ]
    raise PublishRefused(
        f"{loaded.file}: its test cases exercise too little of the policy (min_coverage "
        f"{_percent(minimum)}); nothing was stored",
        code="policy_coverage_too_low",
        issues=issues,
    )


def warnings_of(version: VersionRecord) -> list[Issue]:
    """The validation warnings of a stored version: valid, but probably not what its author meant."""
    return list(load_policy(version.source_text, version.source_file).warnings)


def _check_label_free(uow: AbstractUnitOfWork, policy_id: str, label: str, sha256: str) -> None:
    for taken in uow.versions.find_by_label(label, policy_id):
        raise VersionLabelTaken(
            f"policy {policy_id} already has a version {label} with different content "
            f"(sha256 {taken.sha256[:12]}, this one {sha256[:12]}); raise `version` in the file"
        )


def _same_person(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def approve(
    uow: AbstractUnitOfWork, ref: str, actor: str, reason: str, *, timeline: TimelineCache | None = None
) -> VersionRecord:
    """Draft → approved, by someone other than who published or wrote it."""
    actor, reason = _actor(actor), _reason(reason)
    version = get_version(uow, ref)
    if version.status != "draft":
        raise InvalidTransition(f"{_name(version)} is {version.status}; only a draft can be approved")
    if _same_person(actor, version.created_by) or _same_person(actor, version.author):
        raise FourEyes(f"{actor} published or wrote {_name(version)}; another person must approve it")
    record = _moved(uow, version, "approved", only_from=("draft",))
    uow.events.add(version.id, "approved", actor, reason, uow.now())
    return _committed(uow, record, timeline)


def activate(
    uow: AbstractUnitOfWork, ref: str, actor: str, reason: str, *, timeline: TimelineCache | None = None
) -> VersionRecord:
    """Put a version in force from its effective_from (first activation or rollback; see the module doc)."""
    actor, reason = _actor(actor), _reason(reason)
    target = get_version(uow, ref)
    # Lock every version of the policy so concurrent activations run one after the other.
    versions = {v.id: v for v in uow.versions.list(target.policy_id, for_update=True)}
    target = versions[target.id]
    history = {e.event for e in uow.events.for_version(target.id)}
    was_active = bool(history & {"activated", "rolled_back"})
    if target.status == "draft":
        raise InvalidTransition(f"{_name(target)} is a draft; it must be approved before it is activated")
    if target.status == "retired" and "approved" not in history:
        raise InvalidTransition(f"{_name(target)} was never approved; it cannot be activated")
    others = [v for v in versions.values() if v.status == "active" and v.id != target.id]
    starting_inside = [v for v in others if target.covers(v.effective_from)]
    if target.status == "active" and not starting_inside:
        raise InvalidTransition(f"{_name(target)} is already active and in force over its whole range")
    if not was_active:
        later = [v for v in starting_inside if v.effective_from > target.effective_from]
        if later:
            raise ActiveOverlap(
                "; ".join(
                    f"{_name(v)} is active from {v.effective_from} and {_name(target)} "
                    f"(from {target.effective_from}, to {target.effective_to or 'open end'}) would cancel it: "
                    "retire it first, or publish this version with an effective_to before that date"
                    for v in later
                )
            )
    now = uow.now()
    event = "rolled_back" if was_active else "activated"
    for replaced in starting_inside:
        _moved(uow, replaced, "retired", only_from=("active",))
        why = "rolled back to" if was_active else "replaced by"
        uow.events.add(replaced.id, "retired", actor, f"{why} {_name(target)}: {reason}", now)
    record = _moved(uow, target, "active", only_from=(target.status,))
    uow.events.add(target.id, event, actor, reason, now)
    _check_no_overlap(uow.versions.list(target.policy_id))
    # Whatever is activated, the champion–challenger comparison it was named for is over.
    end_challenger_of(uow, target.policy_id, actor, f"{_name(target)} {event.replace('_', ' ')}: {reason}")
    return _committed(uow, record, timeline)


def retire(
    uow: AbstractUnitOfWork, ref: str, actor: str, reason: str, *, timeline: TimelineCache | None = None
) -> VersionRecord:
    """Approved or active → retired; the version stays stored and can be activated again (rollback)."""
    actor, reason = _actor(actor), _reason(reason)
    version = get_version(uow, ref)
    if version.status not in ("approved", "active"):
        raise InvalidTransition(f"{_name(version)} is {version.status}; only approved or active versions are retired")
    record = _moved(uow, version, "retired", only_from=("approved", "active"))
    uow.events.add(version.id, "retired", actor, reason, uow.now())
    running = uow.challengers.get(version.policy_id)
    if running is not None and version.id in (running.champion_version_id, running.challenger_version_id):
        end_challenger_of(uow, version.policy_id, actor, f"{_name(version)} retired: {reason}")
    return _committed(uow, record, timeline)


def end_challenger_of(uow: AbstractUnitOfWork, policy_id: str, actor: str, reason: str) -> bool:
    """End the policy's challenger in this transaction (``challenger_ended`` on it), if it has one."""
    running = uow.challengers.get(policy_id, for_update=True)
    if running is None or not uow.challengers.remove(policy_id):
        return False
    uow.events.add(running.challenger_version_id, "challenger_ended", actor, reason, uow.now())
    return True


def _moved(
    uow: AbstractUnitOfWork, version: VersionRecord, status: str, *, only_from: tuple[str, ...]
) -> VersionRecord:
    """Move a version to ``status`` if it still is in one of ``only_from``: each lifecycle step happens once.

    Two approvers acting at once both read a draft; the store lets one move it, and the other is
    refused as if it had read the version after the first committed.
    """
    record = uow.versions.set_status(version.id, status, only_from=only_from)
    if record is None:
        now = uow.versions.get(version.id)
        found = now.status if now is not None else "gone"
        raise InvalidTransition(f"{_name(version)} was moved to {found} meanwhile; nothing was changed")
    return record


def _committed(uow: AbstractUnitOfWork, record: VersionRecord, timeline: TimelineCache | None) -> VersionRecord:
    """Commit a lifecycle step, announcing it to every process, and tell this process's cached
    timeline at once, so its next decision sees it (the others within a second: :mod:`.changes`)."""
    uow.changes.announce(changes.VERSIONS)
    uow.commit()
    if timeline is not None:
        timeline.forget(record.policy_id)
    return record


def list_versions(uow: AbstractUnitOfWork, policy_id: str | None = None) -> list[VersionRecord]:
    """Every stored version (of one policy), by policy and effective_from."""
    return uow.versions.list(policy_id)


def get_version(uow: AbstractUnitOfWork, ref: str, policy_id: str | None = None) -> VersionRecord:
    """The version a reference names: a full sha256, a label, or a unique sha256 prefix of 8+ hex digits."""
    ref = ref.strip()
    if _SHA256.match(ref):
        found = uow.versions.get_by_sha256(ref)
        if found is not None and policy_id in (None, found.policy_id):
            return found
    matches = uow.versions.find_by_label(ref, policy_id)
    if not matches and _SHA256_PREFIX.match(ref):
        matches = [v for v in uow.versions.find_by_sha256_prefix(ref) if policy_id in (None, v.policy_id)]
    if len(matches) > 1:
        names = ", ".join(_name(v) for v in matches)
        raise AmbiguousVersionRef(f"{ref!r} matches {names}; give the policy id or more of the sha256")
    if not matches:
        raise VersionNotFound(f"no policy version matches {ref!r} (a label, a sha256 or 8+ of its first hex digits)")
    return matches[0]


def events(uow: AbstractUnitOfWork, ref: str, policy_id: str | None = None) -> list[LifecycleEventRecord]:
    """The lifecycle events of one version, oldest first."""
    return uow.events.for_version(get_version(uow, ref, policy_id).id)


def in_force(uow: AbstractUnitOfWork, policy_id: str) -> list[InForce]:
    """The active versions of a policy with the days each decides, in date order."""
    return _timeline(uow.versions.list(policy_id))


def _timeline(versions: list[VersionRecord]) -> list[InForce]:
    active = sorted((v for v in versions if v.status == "active"), key=lambda v: (v.effective_from, v.id))
    _check_no_overlap(active)
    periods = []
    for index, version in enumerate(active):
        successor = active[index + 1] if index + 1 < len(active) else None
        end = version.effective_to
        if successor is not None:
            handover = successor.effective_from - dt.timedelta(days=1)
            end = handover if end is None else min(end, handover)
        periods.append(InForce(version, version.effective_from, end))
    return periods


def _check_no_overlap(versions: list[VersionRecord]) -> None:
    """Two active versions starting the same day would both claim it: only a concurrent writer can cause this."""
    starts: dict[tuple[str, dt.date], VersionRecord] = {}
    for version in versions:
        if version.status != "active":
            continue
        key = (version.policy_id, version.effective_from)
        if key in starts:
            raise ActiveOverlap(
                f"{_name(starts[key])} and {_name(version)} are both active from {version.effective_from}"
            )
        starts[key] = version


def _name(version: VersionRecord) -> str:
    return f"{version.policy_id} {version.label} ({version.sha256[:12]})"


# The checks of this module, for the lifecycle steps of other modules (api.service.shadow).
checked_actor = _actor
checked_reason = _reason
same_person = _same_person
name_of = _name

"""Blame and the diff of stored versions on the in-memory unit of work: who changed what, when, and why."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable

import pytest

from api.adapters.db.memory import InMemoryUnitOfWork
from api.adapters.db.records import VersionRecord
from api.entrypoints.http.schemas.versions import BlameOut, DiffOut
from api.errors import ElementNotFound, PolicyNotFound
from api.service import policy_blame, policy_diff, versions
from policy.validate import LoadedPolicy
from tests.diff_factories import candidate_yaml, edited, shipped_yaml


def no_cases(loaded: LoadedPolicy) -> versions.CasesVerdict:
    return versions.CasesVerdict([], None)


def ticking_clock() -> Callable[[], dt.datetime]:
    minutes = itertools.count()
    return lambda: dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=next(minutes))


def publish(uow: InMemoryUnitOfWork, text: str, by: str) -> VersionRecord:
    return versions.publish(uow, text, "rules/standard.yaml", by, no_cases)[0]


def approve(uow: InMemoryUnitOfWork, record: VersionRecord, by: str, *, activate: bool = True) -> None:
    versions.approve(uow, record.sha256, by, f"reviewed by {by}")
    if activate:
        versions.activate(uow, record.sha256, by, "go live")


SECOND = candidate_yaml()
# A draft nobody approved, then a version that brings its change through approval with one of its own.
THIRD = edited(
    SECOND,
    ('version: "2026.2"', 'version: "2026.3"'),
    ('    BBB:\n      text: "2/10, n/20"', '    BBB:\n      text: "2/10, n/25"'),
)
FOURTH = edited(
    THIRD,
    ('version: "2026.3"', 'version: "2026.4"'),
    ("effective_from: 2026-07-01", "effective_from: 2026-10-01"),
    ("  portfolio_total: 200000000", "  portfolio_total: 250000000"),
)


@pytest.fixture
def uow() -> InMemoryUnitOfWork:
    uow = InMemoryUnitOfWork(clock=ticking_clock())
    approve(uow, publish(uow, shipped_yaml(), "alice"), "bob")
    approve(uow, publish(uow, SECOND, "carol"), "dave")
    return uow


def test_blame_names_the_version_that_last_changed_an_element_and_who_published_and_approved_it(
    uow: InMemoryUnitOfWork,
) -> None:
    report = policy_blame.blame(uow, "standard", "terms BBB")
    last = report.last_changed
    assert last is not None and last.version.name == "standard 2026.2" and not last.first
    assert [c.text for c in last.changes] == ["terms BBB: 2/10, n/30 → 2/10, n/20"]
    published, approved = last.version.first("published"), last.version.first("approved")
    assert published is not None and (published.actor, published.at.minute) == ("carol", 3)
    assert approved is not None and (approved.actor, approved.reason) == ("dave", "reviewed by dave")
    assert [(e.version.name, e.first) for e in report.history] == [
        ("standard 2026.2", False),
        ("standard 2026.1", True),
    ]
    assert [e.text for e in report.current] == ["2/10, n/20"]
    document = policy_blame.blame_document(report)
    BlameOut.model_validate(document)
    assert document["schema"] == "creditpolicy.policy_blame/1"
    assert document["last_changed"]["version"]["approved"]["by"] == "dave"
    assert document["last_changed"]["version"]["change_note"].startswith("BB tightened")
    text = "\n".join(line.text for line in policy_blame.blame_lines(report))
    assert "last changed in standard 2026.2" in text and "approved by dave" in text and "published by carol" in text


def test_an_element_never_changed_was_introduced_by_the_first_version(uow: InMemoryUnitOfWork) -> None:
    report = policy_blame.blame(uow, "standard", "terms AAA")
    last = report.last_changed
    assert last is not None and last.first and last.version.name == "standard 2026.1"
    assert [c.kind for c in last.changes] == ["added"] and len(report.history) == 1


def test_a_ladder_step_and_a_factor_aspect_are_blamed_on_their_own(uow: InMemoryUnitOfWork) -> None:
    visit = policy_blame.blame(uow, "standard", "collection ordinary visit")
    assert visit.last_changed is not None and visit.last_changed.version.name == "standard 2026.2"
    letter = policy_blame.blame(uow, "standard", "collection ordinary letter")
    assert letter.last_changed is not None and letter.last_changed.version.name == "standard 2026.1"
    weight = policy_blame.blame(uow, "standard", "scorecard.factors[on_time_payment].weight")
    assert weight.last_changed is not None and [c.text for c in weight.last_changed.changes] == [
        "factor on_time_payment: weight 10 → 9"
    ]


def test_at_an_older_version_and_through_a_version_reference(uow: InMemoryUnitOfWork) -> None:
    for report in (
        policy_blame.blame(uow, "standard", "terms BBB", at="2026.1"),
        policy_blame.blame(uow, "2026.1", "terms BBB"),
    ):
        assert report.at.name == "standard 2026.1" and [e.text for e in report.current] == ["2/10, n/30"]
        assert [e.version.name for e in report.history] == ["standard 2026.1"]


def test_a_draft_nobody_approved_is_not_blamed_the_version_that_approved_its_change_is(
    uow: InMemoryUnitOfWork,
) -> None:
    draft = publish(uow, THIRD, "erin")
    approve(uow, publish(uow, FOURTH, "erin"), "frank")
    report = policy_blame.blame(uow, "standard", "terms BBB")
    assert [e.version.name for e in report.history] == ["standard 2026.4", "standard 2026.2", "standard 2026.1"]
    last = report.last_changed
    assert last is not None and [c.text for c in last.changes] == ["terms BBB: 2/10, n/20 → 2/10, n/25"]
    asked = policy_blame.blame(uow, "standard", "terms BBB", at=draft.sha256)
    assert asked.last_changed is not None and asked.last_changed.version.name == "standard 2026.3"
    assert asked.last_changed.version.first("approved") is None


def test_a_removed_element_is_blamed_on_the_version_that_removed_it(uow: InMemoryUnitOfWork) -> None:
    start = SECOND.index("    - id: large_order_below_a\n")
    end = SECOND.index("    - id: high_risk_utilisation\n")
    without = edited(SECOND[:start] + SECOND[end:], ('version: "2026.2"', 'version: "2026.5"'))
    approve(uow, publish(uow, without, "erin"), "frank", activate=False)
    report = policy_blame.blame(uow, "standard", "order rule large_order_below_a")
    assert report.current == ()
    assert [(e.version.name, [c.kind for c in e.changes]) for e in report.history] == [
        ("standard 2026.5", ["removed"]),
        ("standard 2026.2", ["added"]),
    ]


def test_an_unknown_element_or_policy_is_not_found(uow: InMemoryUnitOfWork) -> None:
    with pytest.raises(ElementNotFound, match="did you mean 'terms BBB'"):
        policy_blame.blame(uow, "standard", "terms BBBB")
    with pytest.raises(PolicyNotFound):
        policy_blame.blame(uow, "premium", "terms BBB")


def test_the_diff_of_stored_versions_says_their_status_period_and_who_approved_them(uow: InMemoryUnitOfWork) -> None:
    report = policy_diff.diff_stored(uow, "2026.1", "2026.2")
    document = policy_diff.diff_document(report)
    DiffOut.model_validate(document)
    old, new = document["from"], document["to"]
    assert (old["source"], old["status"], old["in_force"]) == (
        "stored",
        "active",
        {"start": "2026-01-01", "end": "2026-06-30"},
    )
    assert new["in_force"] == {"start": "2026-07-01", "end": None}
    assert (new["published"]["by"], new["approved"]["by"]) == ("carol", "dave")
    assert [e["event"] for e in new["events"]] == ["published", "approved", "activated"]
    text = [line.text for line in policy_diff.diff_lines(report)]
    assert text[1].endswith("(active, in force 2026-01-01 … 2026-06-30)")
    assert "published by carol" in text[4] and "approved by dave" in text[4]
    assert "  terms BBB: 2/10, n/30 → 2/10, n/20  (a:467 b:472)" in text


def test_a_part_of_an_element_is_shown_and_blamed_alone(uow: InMemoryUnitOfWork) -> None:
    letter = policy_blame.blame(uow, "standard", "collection ordinary letter")
    assert [(f.name, f.path, f.text) for f in letter.current] == [
        ("collection ordinary letter", "collection.segments.ordinary.steps.letter", "from day 5")
    ]
    assert letter.last_changed is not None
    assert [c.text for c in letter.last_changed.changes] == ["collection ordinary: letter added: from day 5"]
    condition = policy_blame.blame(uow, "standard", "order_rules.rules[large_order_below_a].when")
    assert condition.last_changed is not None and [c.text for c in condition.last_changed.changes] == [
        'order rule large_order_below_a: when added: order.amount > 500000 and customer.grade not in ["AAA", "AA", "A"]'
    ]
    whole = policy_blame.blame(uow, "standard", "terms")
    assert {f.name for f in whole.current} >= {"terms", "terms AAA", "terms BBB", "terms D"}

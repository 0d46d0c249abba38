"""Properties of replay and of the comparison it reports, over generated decisions of every kind:

- a decision replayed under the version that made it is always identical;
- under a version that only moved the policy's lines, nothing differs;
- reordering a decision's lists or shifting its source lines is never a difference;
- changing any one value always is.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from api.adapters.db.memory import InMemoryUnitOfWork, MemoryDatabase
from api.service import versions
from api.service.decisions.compare import IDENTITIES, TRACE_IDENTITIES, compare
from api.service.decisions.decide import evaluate, store_decision
from api.service.decisions.envelope import read_envelope
from api.service.decisions.replay import replay
from api.service.keys import Caller
from api.service.policy_cases import run_cases_beside
from api.service.registry import PolicyRegistry
from engine.decide import decide
from engine.errors import EngineError
from tests.conftest import SHIPPED
from tests.property.test_assess_properties import credit_files, orders, payload

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
GRADES = ["AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C", "D"]
TERMS = ["3/10, 2/20, n/30", "2/10, n/30", "n/60", "1/7, n/15", "cash in advance", "n/0"]
STEPS = ["letter", "visit", "agency", "arbitration", "litigation"]
days = st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2027, 12, 31))
cents = st.integers(1, 50_000_000).map(lambda c: str(Decimal(c) / 100))


@st.composite
def settlements(draw: st.DrawFn) -> dict[str, Any]:
    invoiced = draw(days)
    paid = draw(st.lists(st.tuples(st.integers(0, 120), cents), max_size=4))
    terms = draw(
        st.one_of(
            st.sampled_from(TERMS).map(lambda t: {"text": t}), st.sampled_from(GRADES).map(lambda g: {"grade": g})
        )
    )
    return {
        "invoice": {"id": "INV-P", "amount": draw(cents), "date": invoiced.isoformat()},
        "terms": terms,
        "payments": [{"date": (invoiced + dt.timedelta(days=d)).isoformat(), "amount": a} for d, a in paid],
        "as_of": (invoiced + dt.timedelta(days=draw(st.integers(0, 200)))).isoformat(),
    }


@st.composite
def collections(draw: st.DrawFn) -> dict[str, Any]:
    taken = draw(st.lists(st.sampled_from(STEPS), unique=True, max_size=3))
    return {
        "customer": {
            "id": "C-P",
            "segment": draw(st.sampled_from(["core", "ordinary", "high_risk"])),
            "grade": draw(st.sampled_from(GRADES)),
        },
        "arrears": {
            "amount": draw(cents),
            "days_overdue": draw(st.integers(0, 400)),
            "steps_taken": [{"step": s} for s in taken],
            "arbitration_agreement": draw(st.booleans()),
            "disputed": draw(st.booleans()),
        },
        "as_of": draw(days).isoformat(),
    }


requests = st.one_of(
    credit_files().map(lambda f: ("assess", payload(f))),
    orders().map(lambda o: ("order", o)),
    settlements().map(lambda s: ("settlement", s)),
    collections().map(lambda c: ("collection", c)),
)


@dataclass
class Store:
    database: MemoryDatabase
    registry: PolicyRegistry
    moved: str  # the sha256 of a version that is the shipped one with every line moved down


def moved_lines(text: str) -> str:
    """The shipped policy under another label, two blank lines below its first line: every source moves."""
    first, rest = text.split("\n", 1)
    return first + "\n\n\n" + rest.replace('version: "2026.1"', 'version: "2026.1-moved"', 1)


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    database = MemoryDatabase()
    shipped = SHIPPED.read_text(encoding="utf-8")
    with InMemoryUnitOfWork(database) as uow:
        record, _ = versions.publish(uow, shipped, "rules/standard.yaml", "author", run_cases_beside)
        versions.approve(uow, record.sha256, "approver", "ok")
        versions.activate(uow, record.sha256, "approver", "go")
        moved, _ = versions.publish(uow, moved_lines(shipped), "rules/standard.yaml", "author", run_cases_beside)
        uow.commit()
    yield Store(database, PolicyRegistry(), moved.sha256)


def logged(store: Store, kind: str, body: dict[str, Any]) -> tuple[InMemoryUnitOfWork, str]:
    """A unit of work holding the decision of ``body``, logged (not committed), and its id."""
    uow = InMemoryUnitOfWork(store.database)
    try:
        prepared = evaluate(uow, store.registry, Caller("erp", "decide"), kind, read_envelope(body), None, False)
    except EngineError:
        assume(False)  # inputs the policy refuses are logged nowhere
    return uow, store_decision(uow, prepared).decision_id


@SETTINGS
@given(request=requests)
def test_a_decision_replayed_under_its_own_version_is_identical(
    store: Store, request: tuple[str, dict[str, Any]]
) -> None:
    uow, decision_id = logged(store, *request)
    replayed = replay(uow, store.registry, decision_id)
    assert replayed.same_version and replayed.matches and replayed.differences == []


@SETTINGS
@given(request=requests)
def test_a_version_that_only_moved_lines_changes_nothing(store: Store, request: tuple[str, dict[str, Any]]) -> None:
    uow, decision_id = logged(store, *request)
    replayed = replay(uow, store.registry, decision_id, store.moved)
    assert not replayed.same_version
    assert replayed.matches and replayed.differences == [], [d.text() for d in replayed.differences]


def decided(store: Store, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """The decision output with the rules fired: the two documents a replay compares."""
    with InMemoryUnitOfWork(store.database) as uow:
        version = versions.get_version(uow, "2026.1")
    try:
        decision = decide(store.registry.compiled(version), kind, body)
    except EngineError:
        assume(False)
        raise
    return {"decision": decision.output(), "trace": {"rules_fired": decision.trace["rules_fired"]}}


def differences(kind: str, old: dict[str, Any], new: dict[str, Any], other_version: bool) -> list[str]:
    found = compare(old["decision"], new["decision"], IDENTITIES[kind], other_version=other_version)
    found += compare(old["trace"], new["trace"], TRACE_IDENTITIES, other_version=other_version, prefix="trace")
    return [d.text() for d in found]


def lists_of(document: Any, identities: dict[tuple[str, ...], tuple[str, ...]]) -> Iterator[list[Any]]:
    for path in identities:
        found: Any = document
        for member in path:
            found = found.get(member) if isinstance(found, dict) else None
        if isinstance(found, list):
            yield found


@SETTINGS
@given(request=requests, data=st.data(), shift=st.integers(-5, 500))
def test_reordered_lists_and_moved_sources_are_no_difference(
    store: Store, request: tuple[str, dict[str, Any]], data: st.DataObject, shift: int
) -> None:
    kind = request[0]
    old = decided(store, *request)
    new = copy.deepcopy(old)
    for items in [*lists_of(new["decision"], dict(IDENTITIES[kind])), *lists_of(new["trace"], dict(TRACE_IDENTITIES))]:
        items[:] = data.draw(st.permutations(items))
    moved = move_sources(new, shift)
    assert differences(kind, old, moved, other_version=True) == []
    assert differences(kind, old, new, other_version=False) == []


def move_sources(document: Any, shift: int) -> Any:
    """Every ``source`` ``file:line`` of a document, ``shift`` lines away (never below line 1)."""
    if isinstance(document, dict):
        return {k: _moved(v, shift) if k == "source" else move_sources(v, shift) for k, v in document.items()}
    if isinstance(document, list):
        return [move_sources(v, shift) for v in document]
    return document


def _moved(source: Any, shift: int) -> Any:
    if not isinstance(source, str):
        return source
    return re.sub(r":(\d+)$", lambda m: f":{max(1, int(m.group(1)) + shift)}", source)


def leaves(document: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Where every value compared lies (the version's name and rule sources are not compared)."""
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "source" or at + (key,) == ("decision", "policy"):
                continue
            yield from leaves(value, (*at, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from leaves(value, (*at, index))
    else:
        yield at


def changed(value: Any) -> Any:
    """Another value than ``value``, never equal to one already in the document."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1_000_001
    if isinstance(value, str):
        return value + "~changed"
    return "~changed"


@SETTINGS
@given(request=requests, data=st.data())
def test_a_changed_value_is_always_a_difference(
    store: Store, request: tuple[str, dict[str, Any]], data: st.DataObject
) -> None:
    kind = request[0]
    old = decided(store, *request)
    where = data.draw(st.sampled_from(list(leaves(old))))
    new = copy.deepcopy(old)
    parent: Any = new
    for step in where[:-1]:
        parent = parent[step]
    parent[where[-1]] = changed(parent[where[-1]])
    assert differences(kind, old, new, other_version=True) != []
    assert differences(kind, old, new, other_version=False) != []

"""Decisions compared part by part: list items by identity, sources and the version's name aside."""

from __future__ import annotations

import copy
import types
import typing
from typing import Any

import pytest
from pydantic import BaseModel

from api.service.decisions.compare import IDENTITIES, TRACE_IDENTITIES, Difference, compare
from engine.decide import decide
from engine.decisions import KINDS
from engine.ir import CompiledPolicy
from tests.e2e.inputs import body


def list_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """The member paths of every list a result model can hold, nested models included."""
    found: set[tuple[str, ...]] = set()
    for name, field in model.model_fields.items():
        found |= _lists_in(field.annotation, (*prefix, name))
    return found


def _lists_in(annotation: Any, path: tuple[str, ...]) -> set[tuple[str, ...]]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _lists_in(typing.get_args(annotation)[0], path)
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_lists_in(arg, path) for arg in typing.get_args(annotation)))
    if origin is list:
        return {path} | _lists_in(typing.get_args(annotation)[0], path)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list_paths(annotation, path)
    return set()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_list_of_every_result_names_what_identifies_its_items(kind: str) -> None:
    assert set(IDENTITIES[kind]) == list_paths(KINDS[kind].result)


def texts(found: list[Difference]) -> list[str]:
    return [d.text() for d in found]


ASSESS: dict[str, Any] = {
    "grade": "A",
    "factors": [
        {"id": "current_ratio", "points": "8", "source": "p.yaml:10"},
        {"id": "debt_ratio", "points": "5", "source": "p.yaml:20"},
    ],
    "reasons": [],
    "terms": {"discounts": [{"rate": "0.02", "days": 10}, {"rate": "0.01", "days": 20}]},
    "policy": {"id": "standard", "version": "1", "sha256": "aa"},
}


def test_items_are_paired_by_identity_and_read_as_what_changed() -> None:
    new = copy.deepcopy(ASSESS)
    new["factors"] = [{**ASSESS["factors"][1], "points": "4"}, {**ASSESS["factors"][0], "points": "6"}]
    new["reasons"] = [{"rule": "standards.defaults", "reason": "REPEATED_DEFAULTS", "source": "p.yaml:30"}]
    new["terms"]["discounts"] = [{"rate": "0.01", "days": 20}]
    found = compare(ASSESS, new, IDENTITIES["assess"], other_version=True)
    assert texts(found) == [
        "factors[current_ratio].points: 8 → 6",
        "factors[debt_ratio].points: 5 → 4",
        "reasons[standards.defaults] added",
        "terms.discounts[10] removed",
    ]
    assert found[2].content() == {
        "path": "reasons[standards.defaults]",
        "change": "added",
        "old": None,
        "new": new["reasons"][0],
    }


def test_the_version_name_and_moved_sources_differ_only_under_the_same_version() -> None:
    new = copy.deepcopy(ASSESS)
    new["policy"] = {"id": "standard", "version": "2", "sha256": "bb"}
    new["factors"][0]["source"] = "p.yaml:12"
    assert compare(ASSESS, new, IDENTITIES["assess"], other_version=True) == []
    assert texts(compare(ASSESS, new, IDENTITIES["assess"], other_version=False)) == [
        "factors[current_ratio].source: p.yaml:10 → p.yaml:12",
        "policy.sha256: aa → bb",
        "policy.version: 1 → 2",
    ]


def test_a_source_that_moved_with_a_real_change_reports_the_change_only() -> None:
    new = copy.deepcopy(ASSESS)
    new["factors"][0] |= {"source": "p.yaml:99", "points": "7"}
    assert texts(compare(ASSESS, new, IDENTITIES["assess"], other_version=True)) == [
        "factors[current_ratio].points: 8 → 7"
    ]


def test_items_sharing_a_name_pair_identical_ones_first() -> None:
    old = {"payments": [{"date": "2026-03-01", "amount": "10.00"}, {"date": "2026-03-01", "amount": "20.00"}]}
    new = {"payments": [{"date": "2026-03-01", "amount": "25.00"}, {"date": "2026-03-01", "amount": "10.00"}]}
    assert texts(compare(old, new, IDENTITIES["settlement"], other_version=False)) == [
        "payments[2026-03-01#1].amount: 20.00 → 25.00"
    ]
    assert compare(old, {"payments": old["payments"][::-1]}, IDENTITIES["settlement"], other_version=False) == []


def test_lists_of_names_are_sets_and_unknown_lists_compare_by_position() -> None:
    old = {"actions_due_now": ["visit", "stop_supply"], "extra": [1, 2]}
    new = {"actions_due_now": ["stop_supply", "agency"], "extra": [2, 1]}
    assert texts(compare(old, new, IDENTITIES["collection"], other_version=False)) == [
        "actions_due_now[agency] added",
        "actions_due_now[visit] removed",
        "extra[0]: 1 → 2",
        "extra[1]: 2 → 1",
    ]


def test_members_present_on_one_side_and_values_of_another_type() -> None:
    old = {"next_step": {"step": "visit", "skipped": []}, "due": 1}
    new = {"next_step": None, "due": True, "paused": False}
    assert texts(compare(old, new, IDENTITIES["collection"], other_version=False)) == [
        "due: 1 → true",
        'next_step: {"skipped": [], "step": "visit"} → null',
        "paused added",
    ]


def test_rules_fired_are_compared_by_id_under_a_prefix() -> None:
    old = {"rules_fired": [{"id": "grades.A", "source": "p.yaml:1"}, {"id": "standards.x", "source": "p.yaml:2"}]}
    new = {"rules_fired": [{"id": "standards.x", "source": "p.yaml:3"}, {"id": "grades.B", "source": "p.yaml:1"}]}
    assert texts(compare(old, new, TRACE_IDENTITIES, other_version=True, prefix="trace")) == [
        "trace.rules_fired[grades.A] removed",
        "trace.rules_fired[grades.B] added",
    ]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_real_decision_equals_itself_in_any_order(shipped_python: CompiledPolicy, kind: str) -> None:
    output = decide(shipped_python, kind, body(kind, "C-1")).output()
    reordered = copy.deepcopy(output)
    for path in IDENTITIES[kind]:
        parent = reordered
        for member in path[:-1]:
            parent = parent[member] if parent is not None else None
        if parent is not None:
            parent[path[-1]].reverse()
    assert compare(output, reordered, IDENTITIES[kind], other_version=False) == []

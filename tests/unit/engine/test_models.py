"""The decision request models take what they say: integers, booleans and dates are never guessed.

Every integer, boolean and date field of the four request models is found by walking the models
(a field added later is covered without editing this file), set to what pydantic's lax mode would
have turned into a value, and must come back as a coded error pointing at it.
"""

from __future__ import annotations

import copy
import datetime as dt
import types
from collections.abc import Iterator
from decimal import Decimal
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
from pydantic import BaseModel

from engine.decide import parse_request
from engine.decisions import KINDS
from engine.errors import InputInvalid
from engine.models import CollectionRequest
from tests.e2e.inputs import body

Leaf = tuple[str, tuple[str | int, ...], type]  # kind, path in the body, int / bool / date

# What lax validation used to accept, per type: a count of `true`, a flag of `1`, a date of `0`.
REFUSED: dict[type, tuple[tuple[Any, str], ...]] = {
    int: ((True, "int_type"), (False, "int_type"), (Decimal("1.0"), "int_type"), ("3", "int_type"), (2.0, "int_type")),
    bool: (
        (1, "bool_type"),
        (0, "bool_type"),
        ("true", "bool_type"),
        ("yes", "bool_type"),
        (Decimal("1"), "bool_type"),
    ),
    dt.date: (
        (0, "date_format"),
        (86400, "date_format"),
        ("2026-06-30T00:00:00", "date_format"),
        ("20260630", "date_format"),
        ("2026-6-30", "date_format"),
        (dt.datetime(2026, 6, 30), "date_format"),
        ("2026-02-30", "date_invalid"),
    ),
}


def _types_in(annotation: Any) -> Iterator[Any]:
    """The types an annotation admits, through Optional, unions and Annotated."""
    origin = get_origin(annotation)
    if origin is Annotated:
        yield from _types_in(get_args(annotation)[0])
    elif origin is Union or origin is types.UnionType:
        for arg in get_args(annotation):
            yield from _types_in(arg)
    else:
        yield annotation


def _leaves(model: type[BaseModel], path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], type]]:
    for name, info in model.model_fields.items():
        for found in _types_in(info.annotation):
            if isinstance(found, type) and issubclass(found, BaseModel):
                yield from _leaves(found, (*path, name))
            elif get_origin(found) is list:
                (item,) = get_args(found)
                for inner in _types_in(item):
                    if isinstance(inner, type) and issubclass(inner, BaseModel):
                        yield from _leaves(inner, (*path, name, 0))
            elif found in (int, bool, dt.date):
                yield (*path, name), found


def typed_leaves() -> list[Leaf]:
    return [(kind, path, found) for kind, spec in KINDS.items() for path, found in _leaves(spec.request, ())]


def _with(data: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    edited = copy.deepcopy(data)
    place: Any = edited
    for step in path[:-1]:
        if isinstance(step, int):
            place = place[step]
        else:
            place = place.setdefault(step, {})
    place[path[-1]] = value
    return edited


def _pointer(path: tuple[str | int, ...]) -> str:
    return "".join(f"/{step}" for step in path)


def test_the_walk_finds_the_fields_lax_validation_let_through() -> None:
    found = {(kind, _pointer(path)) for kind, path, _ in typed_leaves()}
    assert {
        ("collection", "/arrears/days_overdue"),
        ("collection", "/arrears/disputed"),
        ("collection", "/arrears/steps_taken/0/on"),
        ("order", "/exposure/oldest_overdue_days"),
        ("order", "/customer/blacklisted"),
        ("assess", "/credit_file/payment/max_days_late"),
        ("assess", "/credit_file/records/owns_premises"),
        ("settlement", "/payments/0/date"),
        ("settlement", "/as_of"),
    } <= found


@pytest.mark.parametrize(("kind", "path", "leaf_type"), typed_leaves(), ids=lambda v: str(v))
def test_every_integer_boolean_and_date_refuses_what_it_is_not(
    kind: str, path: tuple[str | int, ...], leaf_type: type
) -> None:
    for value, code in REFUSED[leaf_type]:
        with pytest.raises(InputInvalid) as refused:
            parse_request(kind, _with(body(kind), path, value))
        entries = {(entry["pointer"], entry["code"]) for entry in refused.value.errors}
        assert (_pointer(path), code) in entries, (value, refused.value.errors)


def test_integers_booleans_and_dates_of_their_own_type_are_taken() -> None:
    edited = _with(_with(body("collection"), ("arrears", "days_overdue"), 75), ("arrears", "disputed"), True)
    taken = CollectionRequest.model_validate(edited)
    assert taken.arrears.days_overdue == 75 and taken.arrears.disputed is True
    assert taken.as_of == dt.date(2026, 6, 30)
    # A date object (what YAML test cases hold) is a date too.
    from_yaml = CollectionRequest.model_validate(_with(body("collection"), ("as_of",), dt.date(2026, 7, 1)))
    assert from_yaml.as_of == dt.date(2026, 7, 1)

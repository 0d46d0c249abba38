"""What the reproduction check may skip: the kinds whose output holds no rate to put in its canonical form."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from api.service.decisions.response import RATE_KEYS
from api.service.impact.evaluate import RATELESS_KINDS
from engine.decisions import KINDS


def _members(model: type[BaseModel]) -> set[str]:
    """Every member name of a result model, nested models and lists of models included."""
    names: set[str] = set()
    for name, field in model.model_fields.items():
        names.add(name)
        for inner in _models(field.annotation):
            names |= _members(inner)
    return names


def _models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _models(arg)]


def test_rateless_kinds_have_no_rate_member() -> None:
    for kind in RATELESS_KINDS:
        assert _members(KINDS[kind].result) & RATE_KEYS == set(), kind


def test_the_other_kinds_do_have_rates() -> None:
    # The check is not vacuous: the settlement and assessment outputs hold rates.
    assert _members(KINDS["settlement"].result) & RATE_KEYS
    assert _members(KINDS["assess"].result) & RATE_KEYS

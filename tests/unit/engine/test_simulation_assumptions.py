"""The assumptions of a simulation: defaults where the file is silent, every mistake located."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.errors import AssumptionsInvalid
from engine.simulation.assumptions import DEFAULT_ASSUMPTIONS, load_assumptions


def test_an_empty_file_means_the_defaults() -> None:
    assert load_assumptions("{}\n", "a.yaml") == DEFAULT_ASSUMPTIONS
    assert DEFAULT_ASSUMPTIONS.gross_margin == Decimal("0.20") and DEFAULT_ASSUMPTIONS.pd_by_grade is None
    assert list(DEFAULT_ASSUMPTIONS.collection_cost) == ["letter", "visit", "agency", "arbitration", "litigation"]


def test_what_the_file_states_wins_and_numbers_stay_exact() -> None:
    text = "gross_margin: 0.125\ncollection_cost:\n  visit: 1200.50\npd_by_grade:\n  AAA: 0.0015\n"
    found = load_assumptions(text, "a.yaml")
    assert found.gross_margin == Decimal("0.125")
    assert found.collection_cost["visit"] == Decimal("1200.50") and found.collection_cost["letter"] == Decimal(50)
    assert found.pd_by_grade == {"AAA": Decimal("0.0015")}


def test_every_mistake_is_reported_at_once_with_its_place() -> None:
    text = "gross_margin: 1.5\ncollection_cost:\n  vist: 1\n  letter: -1\nfoo: 1\ndays_per_year: 400\n"
    with pytest.raises(AssumptionsInvalid) as refused:
        load_assumptions(text, "a.yaml")
    found = [(i.line, i.column, i.path, i.code) for i in refused.value.issues]
    assert found == [
        (1, 1, ("gross_margin",), "less_than_equal"),
        (3, 3, ("collection_cost", "vist"), "unknown_key"),
        (4, 3, ("collection_cost", "letter"), "greater_than_equal"),
        (5, 1, ("foo",), "unknown_key"),
        (6, 1, ("days_per_year",), "less_than_equal"),
    ]
    assert "did you mean 'visit'" in refused.value.message
    assert refused.value.code == "assumptions_invalid"


def test_a_file_that_is_not_yaml_is_located_too() -> None:
    with pytest.raises(AssumptionsInvalid) as refused:
        load_assumptions("gross_margin: [0.2\n", "a.yaml")
    assert refused.value.issues[0].code.startswith("yaml_")

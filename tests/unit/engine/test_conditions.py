"""engine.conditions: the plain-Python evaluation of policy conditions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.conditions import compile_predicate, evaluate
from engine.errors import ConditionError, InputError
from engine.ir import Fact
from policy.expressions import Arith, Compare, Condition, FieldRef, InList, Literal, parse_condition
from policy.fields import FieldType

GRADES = ("AAA", "AA", "A", "B", "C")
UTILISATION = "credit.utilisation_after"  # the optional field of the order context


def cond(text: str) -> Condition:
    return parse_condition(text, "order", GRADES)


def holds(text: str, fact: Fact) -> bool:
    result = evaluate(cond(text), fact)
    assert compile_predicate(cond(text))(fact) is result
    return result


@pytest.mark.parametrize(
    "text",
    [
        "credit.utilisation_after == 1",
        "credit.utilisation_after != 1",
        "credit.utilisation_after < 1",
        "credit.utilisation_after >= 1",
        "credit.utilisation_after in [1, 2]",
        "credit.utilisation_after not in [1, 2]",
        "credit.utilisation_after > order.amount",
        "order.amount > credit.utilisation_after",
        'customer.grade == "A"',
        'customer.grade != "A"',
        "customer.blacklisted",
    ],
)
@pytest.mark.parametrize("absent", [{}, {UTILISATION: None, "customer.grade": None, "customer.blacklisted": None}])
def test_a_comparison_reading_an_absent_field_is_false(text: str, absent: dict[str, None]) -> None:
    assert holds(text, {"order.amount": Decimal(5), **absent}) is False


@pytest.mark.parametrize(
    "text",
    [
        "not (credit.utilisation_after > 5)",
        "not (credit.utilisation_after in [1])",
        "not (credit.utilisation_after not in [1])",
        "not (credit.utilisation_after == order.amount)",
        'not (customer.grade == "A" and order.amount > 1)',
    ],
)
def test_not_is_two_valued_negation_so_it_holds_when_the_field_is_absent(text: str) -> None:
    assert holds(text, {"order.amount": Decimal(5)}) is True


def test_not_of_a_present_field_negates_the_comparison() -> None:
    assert holds("not (credit.utilisation_after > 5)", {UTILISATION: Decimal(10)}) is False
    assert holds("not (credit.utilisation_after > 5)", {UTILISATION: Decimal(5)}) is True


def test_is_missing_tests_absence() -> None:
    assert holds("credit.utilisation_after is missing", {}) is True
    assert holds("credit.utilisation_after is missing", {UTILISATION: None}) is True
    assert holds("credit.utilisation_after is missing", {UTILISATION: Decimal(0)}) is False
    assert holds("credit.utilisation_after is not missing", {UTILISATION: Decimal(0)}) is True


def test_numbers_compare_as_exact_decimals() -> None:
    total = Decimal("0.1") + Decimal("0.2")
    assert holds("credit.utilisation_after == 0.3", {UTILISATION: total}) is True
    assert holds("credit.utilisation_after <= 0.3", {UTILISATION: total}) is True
    assert holds("credit.utilisation_after in [0.30, 7]", {UTILISATION: total}) is True
    assert holds("credit.utilisation_after > 0.3", {UTILISATION: Decimal("0.3000000000000000000001")}) is True


def test_field_to_field_and_literal_on_the_left() -> None:
    fact: Fact = {"order.amount": Decimal(100), "customer.limit": Decimal(80)}
    assert holds("order.amount > customer.limit", fact) is True
    assert holds("50 < customer.limit", fact) is True
    assert holds("customer.grade == customer.grade", {"customer.grade": "A"}) is True


def test_and_or_short_circuit_in_order() -> None:
    fact: Fact = {"order.amount": Decimal(5), "customer.grade": "B"}
    assert holds('order.amount > 1 and customer.grade in ["A", "B"]', fact) is True
    assert holds('order.amount > 10 or customer.grade == "C"', fact) is False


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("1000", "value_type"),
        (False, "value_type"),
        (0.5, "value_type"),
        (Decimal("NaN"), "value_not_finite"),
        (Decimal("-Infinity"), "value_not_finite"),
    ],
)
def test_a_number_field_refuses_other_types(value: object, code: str) -> None:
    with pytest.raises(InputError) as caught:
        holds("order.amount < 600", {"order.amount": value})  # type: ignore[dict-item]
    assert caught.value.code == code
    assert caught.value.field == "order.amount"


def test_text_and_flag_fields_refuse_other_types() -> None:
    with pytest.raises(InputError, match="customer.grade"):
        holds('customer.grade == "A"', {"customer.grade": Decimal(1)})
    with pytest.raises(InputError, match="customer.blacklisted"):
        holds("customer.blacklisted", {"customer.blacklisted": "yes"})


def test_arithmetic_must_be_hoisted_first() -> None:
    amount = FieldRef("order.amount", FieldType.MONEY, False)
    condition = Compare(">", Arith("+", amount, amount), Literal(Decimal(1), FieldType.NUMBER))
    with pytest.raises(ConditionError) as caught:
        compile_predicate(condition)
    assert caught.value.code == "arith_not_hoisted"


def test_badly_typed_trees_are_compile_errors() -> None:
    grade = FieldRef("customer.grade", FieldType.GRADE, False)
    with pytest.raises(ConditionError):
        compile_predicate(Compare("<", grade, Literal("A", FieldType.TEXT)))
    with pytest.raises(ConditionError):
        compile_predicate(InList(FieldRef("order.amount", FieldType.MONEY, False), ("x",), False))

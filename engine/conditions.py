"""Conditions evaluated in plain Python: the batch and simulation twin of the durable-rules path.

The semantics are exactly those of ``engine.rules_adapter`` (``tests/property/
test_conditions_differential.py`` proves it on random conditions and facts):

- a fact maps dotted field paths to ``Decimal | str | bool``; ``None`` or a missing key is *absent*;
- numbers compare as exact decimals (``int`` is accepted too; ``bool`` and ``float`` are not);
- a comparison (``== != < <= > >=``, ``in``, ``not in``) that reads an absent field is false;
- ``is missing`` tests absence; ``not`` is two-valued negation of the whole condition, so
  ``not (x > 5)`` holds when ``x`` is absent;
- a value of the wrong type for its field raises ``InputError(code="value_type")``, NaN and
  Infinity raise ``InputError(code="value_not_finite")``;
- arithmetic must have been hoisted into computed fields by the compiler (as for the engine):
  an ``Arith`` node raises ``ConditionError(code="arith_not_hoisted")``.

The engine also refuses numbers with more than 4 decimal places or beyond 10**14 (its fixed-point
representation); here any exact decimal is compared exactly. The fact builder quantizes, so both
paths see the same values.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from typing import Any

from engine.errors import ConditionError, InputError
from engine.ir import Fact
from policy.expressions import (
    And,
    Arith,
    Compare,
    Condition,
    FieldRef,
    InList,
    IsMissing,
    Literal,
    Not,
    Or,
)
from policy.fields import FieldType

__all__ = ["Predicate", "compile_predicate", "evaluate", "kind_of"]

Predicate = Callable[[Fact], bool]
_Read = Callable[[Fact], object]

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_ORDERING = frozenset({"<", "<=", ">", ">="})


def evaluate(condition: Condition, fact: Fact) -> bool:
    """Whether ``condition`` holds for ``fact``."""
    return compile_predicate(condition)(fact)


@lru_cache(maxsize=4096)
def compile_predicate(condition: Condition) -> Predicate:
    """A fast closure equivalent to ``evaluate(condition, ·)``; raises ConditionError on bad trees."""
    if isinstance(condition, Compare):
        return _compare(condition)
    if isinstance(condition, InList):
        return _in_list(condition)
    if isinstance(condition, IsMissing):
        return _is_missing(condition)
    if isinstance(condition, Not):
        inner = compile_predicate(condition.item)
        return lambda fact: not inner(fact)
    if isinstance(condition, And | Or):
        return _junction(condition)
    raise ConditionError(f"not a condition: {condition!r}", code="condition_type")


def _junction(condition: And | Or) -> Predicate:
    preds = tuple(compile_predicate(item) for item in condition.items)
    if isinstance(condition, And):

        def all_of(fact: Fact) -> bool:
            for pred in preds:
                if not pred(fact):
                    return False
            return True

        return all_of

    def any_of(fact: Fact) -> bool:
        for pred in preds:
            if pred(fact):
                return True
        return False

    return any_of


def _is_missing(condition: IsMissing) -> Predicate:
    read = _reader(condition.field)
    if condition.negated:
        return lambda fact: read(fact) is not None
    return lambda fact: read(fact) is None


def _in_list(condition: InList) -> Predicate:
    ref = condition.operand
    read = _reader(ref)
    values = frozenset(_literal_for(ref, value) for value in condition.values)
    if condition.negated:

        def not_in(fact: Fact) -> bool:
            value = read(fact)
            return value is not None and value not in values

        return not_in

    def is_in(fact: Fact) -> bool:
        value = read(fact)
        return value is not None and value in values

    return is_in


def _compare(condition: Compare) -> Predicate:
    op, left, right = condition.op, condition.left, condition.right
    if isinstance(left, Arith) or isinstance(right, Arith):
        raise ConditionError(
            "arithmetic must be hoisted into a computed field before evaluation", code="arith_not_hoisted"
        )
    if isinstance(left, Literal):
        if isinstance(right, Literal):
            raise ConditionError("a comparison needs at least one field", code="condition_type")
        op, left, right = _FLIP[op], right, left
    assert isinstance(left, FieldRef)
    test = _OPS[op]
    read = _reader(left)
    if isinstance(right, Literal):
        if op in _ORDERING and not left.type.numeric:
            raise ConditionError(f"'{op}' compares numbers only ({left.path})", code="condition_type")
        constant = _literal_for(left, right.value)

        def with_literal(fact: Fact) -> bool:
            value = read(fact)
            return value is not None and test(value, constant)

        return with_literal
    _check_same_kind(op, left, right)
    read_right = _reader(right)

    def with_field(fact: Fact) -> bool:
        value = read(fact)
        if value is None:
            return False
        other = read_right(fact)
        return other is not None and test(value, other)

    return with_field


def _check_same_kind(op: str, left: FieldRef, right: FieldRef) -> None:
    if kind_of(left.type) != kind_of(right.type):
        raise ConditionError(
            f"'{left.path}' ({left.type.value}) and '{right.path}' ({right.type.value}) cannot be compared",
            code="condition_type",
        )
    if op in _ORDERING and not left.type.numeric:
        raise ConditionError(f"'{op}' compares numbers only ({left.path})", code="condition_type")


def kind_of(field_type: FieldType) -> str:
    """How a field's values are represented: ``number``, ``bool`` or ``text``."""
    if field_type.numeric:
        return "number"
    if field_type is FieldType.BOOL:
        return "bool"
    return "text"


def _literal_for(ref: FieldRef, value: object) -> object:
    kind = kind_of(ref.type)
    ok = (
        (isinstance(value, Decimal) and value.is_finite()) or (isinstance(value, int) and not isinstance(value, bool))
        if kind == "number"
        else isinstance(value, bool)
        if kind == "bool"
        else isinstance(value, str)
    )
    if not ok:
        message = f"'{ref.path}' is {ref.type.value}; it cannot be compared with {value!r}"
        raise ConditionError(message, code="condition_type")
    return value


def _reader(ref: FieldRef) -> _Read:
    """A function reading ``ref`` from a fact: the value, or None when absent; checks the type."""
    path = ref.path
    kind = kind_of(ref.type)
    if kind == "number":

        def read_number(fact: Fact) -> object:
            value = fact.get(path)
            if value is None:
                return None
            if isinstance(value, Decimal):
                if value.is_finite():
                    return value
                raise InputError("is not a finite number", field=path, code="value_not_finite")
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            raise InputError(f"expected a number, got {type(value).__name__}", field=path, code="value_type")

        return read_number
    expected: type = bool if kind == "bool" else str

    def read_typed(fact: Fact) -> object:
        value = fact.get(path)
        if value is None or type(value) is expected:
            return value
        raise InputError(f"expected {kind}, got {type(value).__name__}", field=path, code="value_type")

    return read_typed

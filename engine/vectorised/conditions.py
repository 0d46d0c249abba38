"""Conditions of the policy language as Polars expressions, with the meaning of ``engine.conditions``.

A condition becomes a Boolean expression that is never null: a comparison that reads an absent
value is false, ``is missing`` tests absence, ``not`` negates the whole (two-valued) result.
Numbers are compared exactly as Int128 units of 10^-4 (every fact number has at most 4 decimal
places, see ``engine.facts``); a policy number with more decimals is compared through its
ceiling or floor, which is exact for integer units.

Computed fields (``_c1 = left - right``, hoisted by the compiler, compared with 0) are planned
once per policy (:func:`plan_computed`):

- the difference of a derived ratio and a number (``credit.utilisation_after > 0.8``) is signed
  exactly from the ratio's integer numerator and denominator: ``n·10^k - l·d`` (the 28-digit
  rounding of ``engine.facts.ratio`` cannot change that sign: two different values are at least
  ``1/(d·10^4)`` apart, far more than half a unit in the 28th digit of ``n/d``);
- sums, differences and products of exact fields and numbers are computed exactly as Int128
  fixed-point when a bound on every valid input shows that no step needs more than the 34 digits
  ``engine.facts.evaluate_value`` computes with (so it rounds nothing) and that the result stays
  where ``quantize`` cannot fail;
- anything else (a division, a ratio inside arithmetic, numbers too large for those bounds) is
  evaluated row by row with ``engine.facts.evaluate_value`` itself: the exact fallback.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_UP, Decimal, DecimalException
from typing import Final

import polars as pl

from engine.errors import ConditionError
from engine.facts import FACT_QUANTUM, evaluate_value, ratio
from engine.ir import ComputedField, RuleSpec
from engine.vectorised.fallback import patch_rows
from engine.vectorised.fixedpoint import FACT_SCALE, I128, ceil_scaled, decimals, floor_scaled, int_lit, scaled
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
    Value,
    field_paths,
)

__all__ = [
    "COMPUTED_PREFIX",
    "RULES_ENGINE_MAX",
    "ComputedPlan",
    "Fields",
    "NumberField",
    "PythonComputed",
    "RatioField",
    "condition_expr",
    "evaluate_python_computed",
    "out_of_rules_engine_range",
    "plan_computed",
]

COMPUTED_PREFIX: Final = "_c"
# The rules engine holds numbers as integers of 10^-4 up to 10^18: a fact value beyond 10^14 is
# refused with value_out_of_range (engine.rules_adapter._to_fixed) when a rule reads it.
RULES_ENGINE_MAX: Final = Decimal(10) ** 14
# Exact arithmetic happens at 34 digits (engine.facts.evaluate_value); the computed value is then
# quantized to 4 decimals at the default 28 digits, which fails from 10^24 on.
_EVAL_DIGITS: Final = 34
_QUANTIZE_SAFE: Final = Decimal(10) ** 23
_LITERAL_CLAMP: Final = 10**30  # beyond any fact in units (fact numbers stay below 10^15 · 10^4)
_OPS: Final[dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_FLIP: Final = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


@dataclass(frozen=True)
class NumberField:
    """An exact number of the fact: ``units`` is Int128 in 10^-4, null when absent; ``|value| ≤ bound``."""

    units: pl.Expr
    bound: Decimal


@dataclass(frozen=True)
class RatioField:
    """A derived ratio ``numerator / denominator`` (Int128 in one unit, denominator > 0), null when absent."""

    numerator: pl.Expr
    denominator: pl.Expr
    numerator_bound: int  # |numerator| ≤ this, in the unit of the columns
    denominator_bound: int


# A fact field: a number, a ratio, or a text / yes-no column (Utf8 or Boolean, null when absent).
Field = NumberField | RatioField | pl.Expr
Fields = Mapping[str, Field]


@dataclass(frozen=True)
class VectorComputed:
    """A computed field as an Int128 expression with the sign of its value (null when absent).

    ``over_limit(limit)`` tells whether ``|value| > limit``: the rules engine's range check needs
    the magnitude, not only the sign.
    """

    path: str
    signed: pl.Expr
    over_limit: Callable[[Decimal], pl.Expr]


@dataclass(frozen=True)
class PythonComputed:
    """A computed field evaluated row by row with ``engine.facts.evaluate_value`` (the exact fallback)."""

    path: str
    expression: Value
    reads: tuple[str, ...]

    @property
    def sign_column(self) -> str:
        return f"__sign:{self.path}"

    @property
    def over_column(self) -> str:
        return f"__over:{self.path}"

    @property
    def error_column(self) -> str:
        return f"__error:{self.path}"


ComputedPlan = VectorComputed | PythonComputed


# --- planning computed fields ---------------------------------------------------------------
@dataclass(frozen=True)
class _Fixed:
    """An exact value ``expr / 10^scale`` with ``|value| ≤ bound``."""

    expr: pl.Expr
    scale: int
    bound: Decimal


def _fits(bound: Decimal, scale: int) -> bool:
    """Whether a value up to ``bound`` with ``scale`` decimals has at most 34 digits (and fits Int128)."""
    return bound * (Decimal(10) ** scale) < Decimal(10) ** _EVAL_DIGITS


def _fixed(value: Value, fields: Fields) -> _Fixed | None:
    if isinstance(value, Literal):
        if not isinstance(value.value, Decimal):
            return None
        places = decimals(value.value)
        return _Fixed(int_lit(scaled(value.value, places)), places, abs(value.value))
    if isinstance(value, FieldRef):
        source = fields.get(value.path)
        if not isinstance(source, NumberField):
            return None  # a ratio inside arithmetic: row by row
        return _Fixed(source.units, FACT_SCALE, source.bound)
    if value.op == "/":
        return None
    left, right = _fixed(value.left, fields), _fixed(value.right, fields)
    if left is None or right is None:
        return None
    if value.op == "*":
        result = _Fixed(left.expr * right.expr, left.scale + right.scale, left.bound * right.bound)
    else:
        scale = max(left.scale, right.scale)
        a = left.expr * int_lit(10 ** (scale - left.scale)) if scale > left.scale else left.expr
        b = right.expr * int_lit(10 ** (scale - right.scale)) if scale > right.scale else right.expr
        result = _Fixed(a + b if value.op == "+" else a - b, scale, left.bound + right.bound)
    return result if _fits(result.bound, result.scale) else None


def _ratio_difference(c: ComputedField, fields: Fields) -> VectorComputed | None:
    """``ratio - number`` or ``number - ratio``, signed exactly from the ratio's integers."""
    expr = c.expression
    if not (isinstance(expr, Arith) and expr.op == "-"):
        return None
    left, right = expr.left, expr.right
    sign = 1
    if isinstance(right, FieldRef) and isinstance(left, Literal):
        left, right, sign = right, left, -1
    if not (isinstance(left, FieldRef) and isinstance(right, Literal) and isinstance(right.value, Decimal)):
        return None
    source = fields.get(left.path)
    if not isinstance(source, RatioField):
        return None
    number = right.value
    places = decimals(number)
    # Exactness (no collapse under the ratio's 28-digit rounding) needs |n|·10^k < 10^27.
    if places > FACT_SCALE or abs(number) >= Decimal(10) ** 17:
        return None
    if source.numerator_bound * 10**places >= 10**27:
        return None
    n, d = source.numerator, source.denominator
    difference = n * int_lit(10**places) - d * int_lit(scaled(number, places))
    signed = difference if sign == 1 else int_lit(0) - difference

    def over_limit(limit: Decimal) -> pl.Expr:
        # |n/d - number| > limit  ⟺  |n·10^k - l·d| > limit·10^k·d  (limit is a whole number here)
        return difference.abs() > d * int_lit(scaled(limit, places))

    return VectorComputed(c.path, signed, over_limit)


def plan_computed(computed: Sequence[ComputedField], fields: Fields) -> dict[str, ComputedPlan]:
    """How each computed field of a rule table is evaluated: vectorised when exactly possible."""
    plans: dict[str, ComputedPlan] = {}
    for c in computed:
        ratio_plan = _ratio_difference(c, fields)
        if ratio_plan is not None:
            plans[c.path] = ratio_plan
            continue
        fixed = _fixed(c.expression, fields)
        if fixed is not None and fixed.bound < _QUANTIZE_SAFE:

            def over_limit(limit: Decimal, fixed: _Fixed = fixed) -> pl.Expr:
                return fixed.expr.abs() > int_lit(scaled(limit, fixed.scale))

            plans[c.path] = VectorComputed(c.path, fixed.expr, over_limit)
            continue
        reads = tuple(sorted(field_paths(c.expression)))
        plans[c.path] = PythonComputed(c.path, c.expression, reads)
    return plans


# --- the row-by-row fallback ----------------------------------------------------------------
def _python_value(field: Field, row: Mapping[str, object], path: str) -> object:
    if isinstance(field, RatioField):
        n, d = row[f"{path}:n"], row[f"{path}:d"]
        if n is None or d is None:
            return None
        assert isinstance(n, int) and isinstance(d, int)
        return ratio(Decimal(n), Decimal(d))
    if isinstance(field, NumberField):
        units = row[path]
        assert units is None or isinstance(units, int)
        return None if units is None else Decimal(units).scaleb(-FACT_SCALE)
    return row[path]


def evaluate_python_computed(
    plans: Sequence[PythonComputed], fields: Fields, work: pl.DataFrame, rows: pl.Expr
) -> pl.DataFrame:
    """Add, for the rows selected by ``rows``, each fallback field's sign, range flag and error flag.

    The value is ``evaluate_value`` then ``quantize(0.0001, ROUND_UP)`` exactly as
    ``engine.facts.with_computed`` does it; a ``DecimalException`` there is the decision's
    ``value_out_of_range`` error.
    """
    if not plans:
        return work
    needed = sorted({p for plan in plans for p in plan.reads})
    inputs: dict[str, pl.Expr] = {}
    for path in needed:
        field = fields[path]
        if isinstance(field, RatioField):
            inputs[f"{path}:n"], inputs[f"{path}:d"] = field.numerator, field.denominator
        elif isinstance(field, NumberField):
            inputs[path] = field.units
        else:
            inputs[path] = field
    outputs: dict[str, pl.DataType] = {}
    for plan in plans:
        outputs[plan.sign_column] = pl.Int8()
        outputs[plan.over_column] = pl.Boolean()
        outputs[plan.error_column] = pl.Boolean()

    def compute(row: Mapping[str, object]) -> list[object]:
        fact = {path: _python_value(fields[path], row, path) for path in needed}
        return [item for plan in plans for item in _evaluate(plan.expression, fact)]

    patched = patch_rows(work, rows, inputs, outputs, compute)
    flags = [pl.col(p.over_column).fill_null(False) for p in plans] + [
        pl.col(p.error_column).fill_null(False) for p in plans
    ]
    return patched.with_columns(flags)


def _evaluate(expression: Value, fact: Mapping[str, object]) -> tuple[int | None, bool, bool]:
    """(sign, |value| > 10^14, quantize failed) of one computed field for one fact."""
    value = evaluate_value(expression, fact)  # type: ignore[arg-type]  # facts hold Decimal | str | bool | None
    if value is None:
        return None, False, False
    try:
        quantized = value.quantize(FACT_QUANTUM, rounding=ROUND_UP)
    except DecimalException:
        return None, False, True
    sign = 1 if quantized > 0 else -1 if quantized < 0 else 0
    return sign, abs(quantized) > RULES_ENGINE_MAX, False


# --- conditions -----------------------------------------------------------------------------
def _field(fields: Fields, path: str) -> Field:
    found = fields.get(path)
    if found is None:
        raise ConditionError(f"the vectorised evaluator has no field '{path}'", code="unknown_field")
    return found


def _is_computed(value: Value) -> bool:
    return isinstance(value, FieldRef) and value.path.startswith(COMPUTED_PREFIX)


def _computed_sign(path: str, plans: Mapping[str, ComputedPlan]) -> pl.Expr:
    plan = plans[path]
    if isinstance(plan, PythonComputed):
        return pl.col(plan.sign_column).cast(I128)
    return plan.signed


def _clamp(units: int) -> int:
    return max(-_LITERAL_CLAMP, min(_LITERAL_CLAMP, units))


def _on_grid(number: Decimal) -> int | None:
    """``number`` in units of 10^-4, or None when it falls between two units (no fact value equals it)."""
    low, high = floor_scaled(number, FACT_SCALE), ceil_scaled(number, FACT_SCALE)
    return low if low == high else None


def _number_literal(op: str, units: pl.Expr, literal: Decimal) -> pl.Expr:
    """``value op literal`` for a value held in integer units of 10^-4 (exact for any literal).

    For integer units x: ``x > L ⟺ x > floor(L)``, ``x ≥ L ⟺ x ≥ ceil(L)`` and so on; a literal
    beyond every possible fact compares the same once clamped.
    """
    if op in ("==", "!="):
        exact = _on_grid(literal)
        if exact is None:
            return units.is_not_null() if op == "!=" else pl.lit(False)
        return _OPS[op](units, int_lit(_clamp(exact)))
    edge = ceil_scaled(literal, FACT_SCALE) if op in (">=", "<") else floor_scaled(literal, FACT_SCALE)
    return _OPS[op](units, int_lit(_clamp(edge)))


def _compare(cond: Compare, fields: Fields, plans: Mapping[str, ComputedPlan]) -> pl.Expr:
    op, left, right = cond.op, cond.left, cond.right
    if isinstance(left, Literal):
        op, left, right = _FLIP[op], right, left
    if not isinstance(left, FieldRef) or isinstance(right, Arith):
        raise ConditionError(
            "arithmetic must be hoisted into a computed field before evaluation", code="arith_not_hoisted"
        )
    if _is_computed(left):
        assert isinstance(right, Literal) and right.value == 0  # the compiler compares computed fields with 0
        return _OPS[op](_computed_sign(left.path, plans), int_lit(0))
    source = _field(fields, left.path)
    if isinstance(source, RatioField):
        raise ConditionError(f"'{left.path}' must be hoisted into a computed field", code="arith_not_hoisted")
    if isinstance(source, NumberField):
        if isinstance(right, Literal):
            assert isinstance(right.value, Decimal)
            return _number_literal(op, source.units, right.value)
        other = _field(fields, right.path)
        assert isinstance(other, NumberField)  # the parser compares numbers with numbers only
        return _OPS[op](source.units, other.units)
    if isinstance(right, Literal):
        return _OPS[op](source, pl.lit(right.value))
    other = _field(fields, right.path)
    assert isinstance(other, pl.Expr)  # the parser compares a text or yes/no field with its own kind
    return _OPS[op](source, other)


def _in_list(cond: InList, fields: Fields) -> pl.Expr:
    source = _field(fields, cond.operand.path)
    if isinstance(source, RatioField):
        raise ConditionError(f"'{cond.operand.path}' must be hoisted into computed fields", code="arith_not_hoisted")
    if isinstance(source, NumberField):
        on_grid = [_on_grid(v) for v in cond.values if isinstance(v, Decimal)]
        units = [_clamp(u) for u in on_grid if u is not None]
        expr = source.units
        member = expr.is_in(pl.Series(units, dtype=I128).implode())
    else:
        expr = source
        member = expr.is_in(list(cond.values))
    return (expr.is_not_null() & ~member) if cond.negated else member


def _missing(cond: IsMissing, fields: Fields, plans: Mapping[str, ComputedPlan]) -> pl.Expr:
    path = cond.field.path
    if path.startswith(COMPUTED_PREFIX):
        absent = _computed_sign(path, plans).is_null()
    else:
        source = _field(fields, path)
        if isinstance(source, NumberField):
            absent = source.units.is_null()
        elif isinstance(source, RatioField):
            absent = source.numerator.is_null()
        else:
            absent = source.is_null()
    return ~absent if cond.negated else absent


def condition_expr(cond: Condition, fields: Fields, plans: Mapping[str, ComputedPlan]) -> pl.Expr:
    """A Boolean expression, never null, that holds exactly where ``engine.conditions.evaluate`` holds."""
    if isinstance(cond, Compare):
        return _compare(cond, fields, plans).fill_null(False)
    if isinstance(cond, InList):
        return _in_list(cond, fields).fill_null(False)
    if isinstance(cond, IsMissing):
        return _missing(cond, fields, plans)
    if isinstance(cond, Not):
        return ~condition_expr(cond.item, fields, plans)
    items = [condition_expr(item, fields, plans) for item in cond.items]
    return pl.all_horizontal(items) if isinstance(cond, And) else pl.any_horizontal(items)


def out_of_rules_engine_range(rules: Sequence[RuleSpec], fields: Fields, plans: Mapping[str, ComputedPlan]) -> pl.Expr:
    """Where a number some rule reads is beyond what durable-rules holds (its ``value_out_of_range``).

    ``engine.rules_adapter`` encodes every number its ruleset reads before matching and refuses
    one above 10^14 in magnitude; the plain-Python matchers compare any size. Only the durable
    path raises, so only a policy compiled onto durable-rules asks this question.
    """
    read = sorted({p for rule in rules for p in field_paths(rule.condition)})
    flags: list[pl.Expr] = []
    limit_units = int_lit(scaled(RULES_ENGINE_MAX, FACT_SCALE))
    for path in read:
        if path.startswith(COMPUTED_PREFIX):
            plan = plans[path]
            if isinstance(plan, PythonComputed):
                flags.append(pl.col(plan.over_column))
            else:
                flags.append(plan.over_limit(RULES_ENGINE_MAX).fill_null(False))
            continue
        source = fields[path]
        if isinstance(source, NumberField) and source.bound > RULES_ENGINE_MAX:
            flags.append((source.units.abs() > limit_units).fill_null(False))
    return pl.any_horizontal(flags) if flags else pl.lit(False)

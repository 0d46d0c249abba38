"""The condition language: a small, safe expression syntax (no ``eval``).

Grammar (lowest precedence first)::

    condition  := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := sum [ ("==" | "!=" | "<" | "<=" | ">" | ">=") sum
                      | ["not"] "in" "[" literal ("," literal)* "]"
                      | "is" ["not"] "missing" ]
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | atom
    atom       := number | "string" | true | false | field.path | "(" condition ")"

Semantics a credit manager can rely on: numbers are exact decimals; a comparison that reads an
absent optional field is false (``is missing`` tests for absence explicitly); ``not`` is plain
two-valued negation; dividing by zero makes the value absent. Types are checked when the policy
is validated: money is compared with numbers, grades and segments with their known names, and a
boolean field may stand alone as a condition.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from policy.errors import ExpressionError
from policy.fields import SEGMENTS, FieldType, lookup_field

__all__ = [
    "And",
    "Arith",
    "Compare",
    "Condition",
    "FieldRef",
    "InList",
    "IsMissing",
    "Literal",
    "Not",
    "Or",
    "Value",
    "field_paths",
    "parse_condition",
    "render",
]

LiteralValue = Decimal | str | bool


@dataclass(frozen=True)
class FieldRef:
    path: str
    type: FieldType
    optional: bool


@dataclass(frozen=True)
class Literal:
    value: LiteralValue
    type: FieldType


@dataclass(frozen=True)
class Arith:
    op: str  # + - * /
    left: Value
    right: Value


Value = FieldRef | Literal | Arith


@dataclass(frozen=True)
class Compare:
    op: str  # == != < <= > >=
    left: Value
    right: Value


@dataclass(frozen=True)
class InList:
    operand: FieldRef
    values: tuple[LiteralValue, ...]
    negated: bool


@dataclass(frozen=True)
class IsMissing:
    field: FieldRef
    negated: bool


@dataclass(frozen=True)
class And:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Compare | InList | IsMissing | And | Or | Not

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<num>\d+(?:\.\d+)?)
      | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
      | (?P<op><=|>=|==|!=|<|>|\+|-|\*|/|\(|\)|\[|\]|,)
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "is", "missing", "true", "false"}
_COMPARE = {"==", "!=", "<", "<=", ">", ">="}
MAX_LENGTH = 2000


@dataclass(frozen=True)
class _Tok:
    kind: str  # num str name kw op end
    text: str
    col: int  # 1-based


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ExpressionError(f"unexpected character {text[pos]!r}", pos + 1)
        kind = m.lastgroup or ""
        if kind != "ws":
            word = m.group()
            if kind == "name" and word in _KEYWORDS:
                kind = "kw"
            toks.append(_Tok(kind, word, pos + 1))
        pos = m.end()
    toks.append(_Tok("end", "", len(text) + 1))
    return toks


class _Parser:
    def __init__(self, text: str, context: str, grades: frozenset[str]) -> None:
        self.toks = _tokenize(text)
        self.i = 0
        self.context = context
        self.grades = grades

    # -- token helpers -------------------------------------------------------------------
    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def _take(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def _at(self, *texts: str) -> bool:
        return self.tok.kind in ("kw", "op") and self.tok.text in texts

    def _expect(self, text: str) -> _Tok:
        if not self._at(text):
            raise ExpressionError(f"expected '{text}' but found {self._describe(self.tok)}", self.tok.col)
        return self._take()

    @staticmethod
    def _describe(t: _Tok) -> str:
        return "the end of the condition" if t.kind == "end" else f"'{t.text}'"

    # -- grammar -------------------------------------------------------------------------
    def parse(self) -> Condition:
        cond = self._or()
        if self.tok.kind != "end":
            raise ExpressionError(f"unexpected {self._describe(self.tok)}", self.tok.col)
        return cond

    def _or(self) -> Condition:
        items = [self._and()]
        while self._at("or"):
            self._take()
            items.append(self._and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def _and(self) -> Condition:
        items = [self._not()]
        while self._at("and"):
            self._take()
            items.append(self._not())
        return items[0] if len(items) == 1 else And(tuple(items))

    def _not(self) -> Condition:
        if self._at("not"):
            self._take()
            return Not(self._not())
        return self._comparison()

    def _comparison(self) -> Condition:
        start = self.tok
        if self._at("("):
            # A parenthesised condition, or a parenthesised arithmetic value: try condition first.
            save = self.i
            self._take()
            try:
                inner = self._or()
                self._expect(")")
                if not self._at(*_COMPARE, "in", "is", "+", "-", "*", "/") and not (
                    self._at("not") and self.toks[self.i + 1].text == "in"
                ):
                    return inner
            except ExpressionError:
                pass
            self.i = save
        left = self._sum()
        if self._at(*_COMPARE):
            op = self._take()
            right = self._sum()
            return self._check_compare(op.text, left, right, op.col)
        if self._at("in") or (self._at("not") and self.toks[self.i + 1].text == "in"):
            negated = self._take().text == "not"
            if negated:
                self._take()
            return self._in_list(left, negated, start.col)
        if self._at("is"):
            self._take()
            negated = False
            if self._at("not"):
                self._take()
                negated = True
            self._expect("missing")
            if not isinstance(left, FieldRef):
                raise ExpressionError("'is missing' applies to a field", start.col)
            if not left.optional:
                raise ExpressionError(f"'{left.path}' is never missing", start.col, "condition_type")
            return IsMissing(left, negated)
        if isinstance(left, FieldRef) and left.type is FieldType.BOOL:
            return Compare("==", left, Literal(True, FieldType.BOOL))
        if isinstance(left, Literal) and left.type is FieldType.BOOL:
            raise ExpressionError("a condition cannot be a constant true or false", start.col, "condition_type")
        raise ExpressionError(
            "expected a comparison (==, !=, <, <=, >, >=, in, is missing) or a yes/no field",
            self.tok.col if self.tok.kind != "end" else start.col,
        )

    def _in_list(self, left: Value, negated: bool, col: int) -> Condition:
        if not isinstance(left, FieldRef):
            raise ExpressionError("'in' needs a field on its left", col, "condition_type")
        self._expect("[")
        values: list[LiteralValue] = []
        while True:
            lit_tok = self.tok
            lit = self._atom()
            if not isinstance(lit, Literal):
                raise ExpressionError("a list holds only constants", lit_tok.col)
            self._check_literal_for(left, lit, lit_tok.col)
            values.append(lit.value)
            if self._at(","):
                self._take()
                continue
            self._expect("]")
            break
        return InList(left, tuple(values), negated)

    def _sum(self) -> Value:
        left = self._product()
        while self._at("+", "-"):
            op = self._take()
            right = self._product()
            left = self._arith(op.text, left, right, op.col)
        return left

    def _product(self) -> Value:
        left = self._unary()
        while self._at("*", "/"):
            op = self._take()
            right = self._unary()
            left = self._arith(op.text, left, right, op.col)
        return left

    def _unary(self) -> Value:
        if self._at("-"):
            op = self._take()
            operand = self._unary()
            if isinstance(operand, Literal) and isinstance(operand.value, Decimal):
                return Literal(-operand.value, operand.type)
            return self._arith("-", Literal(Decimal(0), FieldType.NUMBER), operand, op.col)
        return self._atom()

    def _atom(self) -> Value:
        t = self._take()
        if t.kind == "num":
            if "." in t.text and len(t.text.split(".")[1]) > 4:
                # The engine compares numbers as fixed-point with 4 decimals (see engine.facts).
                message = "a number in a condition has at most 4 decimal places"
                raise ExpressionError(message, t.col, "condition_precision")
            try:
                return Literal(Decimal(t.text), FieldType.NUMBER)
            except InvalidOperation:  # pragma: no cover - the regex admits only digits
                raise ExpressionError(f"bad number {t.text!r}", t.col) from None
        if t.kind == "str":
            body = t.text[1:-1]
            return Literal(re.sub(r"\\(.)", r"\1", body), FieldType.TEXT)
        if t.kind == "kw" and t.text in ("true", "false"):
            return Literal(t.text == "true", FieldType.BOOL)
        if t.kind == "name":
            spec = lookup_field(self.context, t.text)
            if spec is None:
                raise ExpressionError(f"unknown field '{t.text}'", t.col, "unknown_field")
            return FieldRef(spec.path, spec.type, spec.optional)
        if t.kind == "op" and t.text == "(":
            value = self._sum()
            self._expect(")")
            return value
        raise ExpressionError(f"expected a value but found {self._describe(t)}", t.col)

    # -- typing --------------------------------------------------------------------------
    @staticmethod
    def _numeric(v: Value) -> bool:
        return isinstance(v, Arith) or v.type.numeric

    def _arith(self, op: str, left: Value, right: Value, col: int) -> Value:
        if not (self._numeric(left) and self._numeric(right)):
            raise ExpressionError(f"'{op}' needs numbers on both sides", col, "condition_type")
        return Arith(op, left, right)

    def _check_literal_for(self, f: FieldRef, lit: Literal, col: int) -> None:
        if f.type.numeric:
            ok = lit.type is FieldType.NUMBER
        elif f.type is FieldType.BOOL:
            ok = lit.type is FieldType.BOOL
        else:
            ok = lit.type is FieldType.TEXT
        if not ok:
            raise ExpressionError(
                f"'{f.path}' is {f.type.value}; it cannot be compared with {lit.value!r}", col, "condition_type"
            )
        if f.type is FieldType.GRADE and lit.value not in self.grades:
            known = ", ".join(sorted(self.grades))
            raise ExpressionError(f"unknown grade {lit.value!r} (the grade scale has {known})", col, "unknown_grade")
        if f.type is FieldType.SEGMENT and lit.value not in SEGMENTS:
            raise ExpressionError(
                f"unknown segment {lit.value!r} (segments are {', '.join(SEGMENTS)})", col, "unknown_segment"
            )

    def _check_compare(self, op: str, left: Value, right: Value, col: int) -> Condition:
        if isinstance(left, Literal) and isinstance(right, Literal):
            raise ExpressionError("a comparison needs at least one field", col, "condition_type")
        if self._numeric(left) or self._numeric(right):
            if not (self._numeric(left) and self._numeric(right)):
                raise ExpressionError(f"'{op}' compares a number with something that is not", col, "condition_type")
            return Compare(op, left, right)
        # Non-numeric: equality only, between a field and a literal or two fields of one type.
        if op not in ("==", "!="):
            raise ExpressionError(f"'{op}' compares numbers only; use == or != here", col, "condition_type")
        if isinstance(left, Literal):
            left, right = right, left
        assert isinstance(left, FieldRef)
        if isinstance(right, Literal):
            self._check_literal_for(left, right, col)
        elif isinstance(right, FieldRef) and right.type is not left.type:
            raise ExpressionError(
                f"'{left.path}' ({left.type.value}) and '{right.path}' ({right.type.value}) cannot be compared",
                col,
                "condition_type",
            )
        return Compare(op, left, right)


def parse_condition(text: str, context: str, grades: Iterable[str]) -> Condition:
    """Parse and type-check a condition; raise :class:`ExpressionError` with the column."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("the condition is empty", 1)
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the condition is longer than {MAX_LENGTH} characters", MAX_LENGTH)
    try:
        return _Parser(text, context, frozenset(grades)).parse()
    except RecursionError:
        raise ExpressionError("the condition is nested too deeply", 1) from None


def field_paths(node: Condition | Value) -> set[str]:
    """Every field a condition reads."""
    if isinstance(node, FieldRef):
        return {node.path}
    if isinstance(node, Literal):
        return set()
    if isinstance(node, Arith | Compare):
        return field_paths(node.left) | field_paths(node.right)
    if isinstance(node, InList):
        return {node.operand.path}
    if isinstance(node, IsMissing):
        return {node.field.path}
    if isinstance(node, Not):
        return field_paths(node.item)
    return set().union(*(field_paths(i) for i in node.items))


def _lit(v: LiteralValue) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Decimal):
        return str(v)
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(node: Condition | Value) -> str:
    """Canonical text of a condition (fully parenthesised where precedence could mislead)."""
    if isinstance(node, FieldRef):
        return node.path
    if isinstance(node, Literal):
        return _lit(node.value)
    if isinstance(node, Arith):
        return f"({render(node.left)} {node.op} {render(node.right)})"
    if isinstance(node, Compare):
        return f"{render(node.left)} {node.op} {render(node.right)}"
    if isinstance(node, InList):
        return f"{node.operand.path} {'not in' if node.negated else 'in'} [{', '.join(_lit(v) for v in node.values)}]"
    if isinstance(node, IsMissing):
        return f"{node.field.path} is {'not ' if node.negated else ''}missing"
    if isinstance(node, Not):
        return f"not ({render(node.item)})"
    joiner = " and " if isinstance(node, And) else " or "
    return "(" + joiner.join(render(i) for i in node.items) + ")"

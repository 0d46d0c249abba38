"""durable-rules behind one door: the only module that imports it.

``build_ruleset`` compiles policy conditions (``policy.expressions``) once into durable-rules
rulesets; ``Ruleset.match`` returns, for each fact, the ids of every rule whose condition holds:
the same answer as ``engine.conditions`` (``tests/property/test_conditions_differential.py``).

How each trap of durable-rules 2.0.28 (``shared/engineering/DURABLE-RULES.md``, numbered as
there) is guarded; every guard has a regression test in ``tests/unit/engine/test_rules_adapter.py``:

1. Background threads: no ``durable.engine.Host`` is ever created. We drive its C engine
   (``durable_rules_engine``) directly and read the fired rule from each result synchronously,
   so no thread or timer ever starts. It is also 8x faster than Host and its Python actions
   (measured 21 µs against 169 µs for one fact and three firings).
2. Thread safety: one lock per ``Ruleset`` around the whole session lifecycle, and a unique
   session id per call. (Driving the C engine with unique sessions, 8 threads stayed correct even
   without the lock at a 1 µs switch interval; the lock stays because durable promises nothing,
   costs nothing measurable, and the engine never releases the GIL anyway.)
3. Session cap (1,024 live sessions, then memory corruption): a match opens one session per
   internal ruleset and deletes it before the lock is released.
4. ``delete_state`` after an input that matched nothing segfaults (depending on the heap; every
   time through ``Host``): every internal ruleset has a lowest-priority catch-all rule on the
   discriminator, so every fact matches something.
5. Rulesets cannot be replaced: a process-wide registry by name returns the same ``Ruleset`` for
   the same rules and refuses different ones (``CompileError``, code ``ruleset_conflict``).
6. Types: numbers become fixed-point integers (``SCALE`` = 10**4, exact, ``|n| <= 10**18``;
   durable compares int64 exactly, measured up to 9 * 10**18); NaN, Infinity, floats, and
   strings or booleans in numeric fields are refused (``InputError``) before reaching the engine,
   so ``"1000" < 600`` and ``False < 600`` cannot happen. Text is limited to 1,000 characters
   (durable compares strings with 16-bit lengths) and sent ASCII-escaped, like rule literals.
7. Missing fields never match: every fact carries ``t`` and every pattern starts with it, so an
   absence test never sees the session's own state fact. ``not`` is pushed down by De Morgan with
   explicit absence branches. A ``$m`` (field-to-field) comparison whose right field is absent
   matches *everything* (measured): each one is preceded by an ``$ex`` test of that field.
8. Reserved keys (``sid``, ``id``, ``$s``, dots): fields are sent under generated keys ``f0``,
   ``f1``, … (only those the ruleset reads); ``sid``, ``id`` and ``t`` are ours.
9. Limits: a model of durable's alpha network packs the rules into internal rulesets ("chunks")
   that stay within what was measured: at most ``STACK_BUDGET`` entries on the match stack
   (65 → error 303, which also corrupts the heap), ``MAX_CHILDREN`` tests under one node (513
   hangs ``create_ruleset``), ``MAX_ABSENCE_TESTS`` absence links under one node (128 → error
   107), ``MAX_RULES_PER_CHUNK`` rules (256 rules on one node → error 108), ``MAX_FIELDS_PER_CHUNK``
   fields (255 properties per message). One rule may use at most ``MAX_LOGIC_NODES`` and/or nodes
   (16 → error 113) and fire at most ``MAX_FIRINGS`` times per fact (a nested ``or`` fires once
   per true path; results are de-duplicated). Past these: ``CapacityError``.
10. Errors are bare numbers: every engine call is wrapped and translated into ``RulesEngineError``
    (code ``rules_engine_capacity`` or ``rules_engine_error``) naming the ruleset and, at build
    time, the rule and its source. After an engine error in a match the ruleset refuses further
    calls (code ``rules_engine_unavailable``): durable's heap may be corrupt; recycle the worker.
11. Timers: never used (time is data). 12. ``post_batch``/``assert_events``: never used.
13. Memory and compile time of a ruleset are never returned: ``rule_sizes`` counts what rules
    expand to without the engine (the compiler refuses a policy beyond its budget before any
    ruleset is built); ``plan_ruleset`` does everything of a build but registering, so a
    plain-Python twin (``engine.matchers.twin_matcher``) refuses what a build would refuse and,
    through ``FactCheck``, the inputs ``match`` would refuse; ``engine_ruleset_count`` tells how
    many durable rulesets the process holds.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from json.encoder import encode_basestring_ascii
from typing import Any

import durable_rules_engine  # type: ignore[import-not-found]  # the C engine of durable-rules

from engine.conditions import kind_of
from engine.errors import CapacityError, CompileError, InputError, RulesEngineError
from engine.ir import Fact, RuleSpec, SourceRef
from policy.errors import Issue
from policy.expressions import And, Arith, Compare, Condition, FieldRef, InList, IsMissing, Literal, Not, Or

__all__ = [
    "SCALE",
    "FactCheck",
    "RuleSize",
    "Ruleset",
    "RulesetPlan",
    "build_ruleset",
    "engine_ruleset_count",
    "plan_ruleset",
    "rule_sizes",
]

SCALE = 10_000  # numbers reach the engine as integers in units of 1/SCALE
MAX_SCALED = 10**18  # int64 holds 9.2 * 10**18; durable compares int64 exactly
MAX_TEXT = 1_000

STACK_BUDGET = 60  # 64 matching tests under one node work, 65 raise error 303
MAX_CHILDREN = 400  # linear-probing table of 512 slots; the 513th insert never ends
MAX_ABSENCE_TESTS = 120  # 128 → error 107
MAX_RULES_PER_CHUNK = 200  # rules ending on one node: 256 → error 108
MAX_FIELDS_PER_CHUNK = 240  # 255 properties per message, minus t, sid, id
MAX_LOGIC_NODES = 15  # $and/$or per rule: 16 → error 113
MAX_FIRINGS = 64
FACTS_PER_SESSION = 1_000  # bounds the memory one session holds

_engine: Any = durable_rules_engine  # every call to it is in this module, wrapped
_TAG_KEY, _TAG = "t", "fact"
_CATCH_ALL = "_all"
_DURABLE_OP = {"!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}
_NEGATE = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_ENGINE_ERRORS = (_engine.error, MemoryError)
_ERROR_NUMBER = re.compile(r"error code: (\d+)")
_ENGINE_MESSAGES = {
    101: "out of memory or too many sessions",
    105: "unknown name in a rule",
    106: "too many tests under one node",
    107: "too many absence tests under one node",
    108: "too many rules on one node",
    113: "condition too complex",
    302: "too many properties in a fact",
    303: "too many conditions true at once",
    309: "session not found",
}
_CAPACITY_NUMBERS = frozenset({101, 106, 107, 108, 112, 113, 302, 303, 304, 313, 314})
_SERIAL = itertools.count(1)  # internal durable names: user names never reach the engine


# --- conditions in negation normal form, over engine keys ------------------------------------


@dataclass(frozen=True)
class _Cmp:
    op: str
    key: str
    value: int | str | bool


@dataclass(frozen=True)
class _Ref:
    op: str
    key: str
    other: str


@dataclass(frozen=True)
class _Has:
    key: str
    present: bool


@dataclass(frozen=True)
class _All:
    items: tuple[_Node, ...]


@dataclass(frozen=True)
class _Any:
    items: tuple[_Node, ...]


_Node = _Cmp | _Ref | _Has | _All | _Any
_Json = dict[str, Any]


def _all(items: Sequence[_Node]) -> _Node:
    flat = [leaf for item in items for leaf in (item.items if isinstance(item, _All) else (item,))]
    unique = tuple(dict.fromkeys(flat))
    return unique[0] if len(unique) == 1 else _All(unique)


def _any(items: Sequence[_Node]) -> _Node:
    flat = [leaf for item in items for leaf in (item.items if isinstance(item, _Any) else (item,))]
    unique = tuple(dict.fromkeys(flat))
    return unique[0] if len(unique) == 1 else _Any(unique)


@dataclass(frozen=True)
class _Field:
    path: str
    key: str  # what the engine calls it: f0, f1, ...
    kind: str  # number | bool | text
    fragment: Callable[[object], str]  # present value → ',"f3":<json>'


class _Problem(Exception):
    """A compile problem of one rule, raised inside the compiler and collected."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class _Compiler:
    """Conditions → durable-rules JSON patterns, with the field table they read."""

    def __init__(self) -> None:
        self.fields: dict[str, _Field] = {}

    def patterns(self, condition: Condition) -> list[_Json]:
        """One durable pattern per top-level disjunct (each becomes its own durable rule)."""
        root = self._nnf(condition, negate=False)
        disjuncts = root.items if isinstance(root, _Any) else (root,)
        return [{"$and": [{_TAG_KEY: _TAG}, *_conjuncts(d)]} for d in disjuncts]

    def field(self, ref: FieldRef) -> _Field:
        kind = kind_of(ref.type)
        known = self.fields.get(ref.path)
        if known is None:
            key = f"f{len(self.fields)}"
            writer = _fragment_writer(ref.path, kind, f',"{key}":')
            known = self.fields[ref.path] = _Field(ref.path, key, kind, writer)
        elif known.kind != kind:
            raise _Problem(f"field '{ref.path}' is used both as {known.kind} and as {kind}", "field_type_conflict")
        return known

    def _nnf(self, node: Condition, negate: bool) -> _Node:
        if isinstance(node, Not):
            return self._nnf(node.item, not negate)
        if isinstance(node, And | Or):
            items = [self._nnf(item, negate) for item in node.items]
            return _all(items) if isinstance(node, And) != negate else _any(items)
        if isinstance(node, IsMissing):
            return _Has(self.field(node.field).key, present=node.negated != negate)
        if isinstance(node, InList):
            return self._in_list(node, negate)
        if isinstance(node, Compare):
            return self._compare(node, negate)
        raise _Problem(f"not a condition: {node!r}", "condition_type")

    def _in_list(self, node: InList, negate: bool) -> _Node:
        field = self.field(node.operand)
        values = [_literal(field, value) for value in node.values]
        if not values:
            raise _Problem(f"the list compared with '{field.path}' is empty", "condition_type")
        if (not node.negated) != negate:
            core = _any([_Cmp("==", field.key, v) for v in values])
        else:
            core = _all([_Cmp("!=", field.key, v) for v in values])
        # not (x in L) also holds when x is absent; the plain comparison never does.
        return _any([core, _Has(field.key, present=False)]) if negate else core

    def _compare(self, node: Compare, negate: bool) -> _Node:
        op, left, right = node.op, node.left, node.right
        if isinstance(left, Arith) or isinstance(right, Arith):
            raise _Problem("arithmetic must be hoisted into a computed field by the compiler", "arith_not_hoisted")
        if isinstance(left, Literal):
            if isinstance(right, Literal):
                raise _Problem("a comparison needs at least one field", "condition_type")
            op, left, right = _FLIP[op], right, left
        assert isinstance(left, FieldRef)
        field = self.field(left)
        if negate:
            op = _NEGATE[op]
        if isinstance(right, Literal):
            _check_ordering(op, field)
            base: _Node = _Cmp(op, field.key, _literal(field, right.value))
            return _any([base, _Has(field.key, present=False)]) if negate else base
        other = self.field(right)
        if other.kind != field.kind:
            raise _Problem(f"'{field.path}' and '{other.path}' have different types", "condition_type")
        _check_ordering(op, field)
        ref = _Ref(op, field.key, other.key)
        if not negate:
            return ref
        return _any([ref, _Has(field.key, present=False), _Has(other.key, present=False)])


def _check_ordering(op: str, field: _Field) -> None:
    if op not in ("==", "!=") and field.kind != "number":
        raise _Problem(f"'{op}' compares numbers only, and '{field.path}' is {field.kind}", "condition_type")


def _literal(field: _Field, value: object) -> int | str | bool:
    """A condition literal in the engine's representation (the same as the field's values)."""
    try:
        return _encode_value(field.path, field.kind, value)
    except InputError as exc:
        reason = exc.message.removeprefix(f"{exc.field}: ")
        code = _LITERAL_CODES.get(exc.code, "condition_value")
        raise _Problem(f"the value {value!r} compared with '{field.path}' {reason}", code) from None


_LITERAL_CODES = {"value_precision": "condition_precision", "value_type": "condition_type"}


def _conjuncts(node: _Node) -> list[_Json]:
    """The items of an ``$and`` list for ``node`` (flattened: each ``$and`` costs the engine)."""
    if isinstance(node, _All):
        return [item for sub in node.items for item in _conjuncts(sub)]
    if isinstance(node, _Ref):
        # A $m reference to an absent field matches anything: require the field first.
        test = {node.key: {"$m": node.other}}
        return [{"$ex": {node.other: 1}}, test if node.op == "==" else {_DURABLE_OP[node.op]: test}]
    return [_pattern(node)]


def _pattern(node: _Node) -> _Json:
    if isinstance(node, _Cmp):
        return {node.key: node.value} if node.op == "==" else {_DURABLE_OP[node.op]: {node.key: node.value}}
    if isinstance(node, _Has):
        return {"$ex" if node.present else "$nex": {node.key: 1}}
    if isinstance(node, _Any):
        return {"$or": [_pattern(item) for item in node.items]}
    items = _conjuncts(node)
    return items[0] if len(items) == 1 else {"$and": items}


# --- a model of durable's alpha network, to stay inside its limits ------------------------------


class _Alpha:
    """One test node as durable's ``findAlpha`` builds it (equal tests under one parent are shared)."""

    __slots__ = ("field", "exclusive", "tests", "links", "shared")

    def __init__(self, field: str = "", exclusive: bool = False) -> None:
        self.field = field
        self.exclusive = exclusive  # an equality with a literal: one per field can match at once
        self.tests: list[_Alpha] = []  # children found by property (durable's hash set)
        self.links: list[_Alpha] = []  # absence tests and `or` joins (durable's next list)
        self.shared: dict[tuple[str, str, str], _Alpha] = {}


class _ChunkModel:
    """The alpha network of one internal ruleset, grown rule by rule."""

    def __init__(self) -> None:
        self.root = _Alpha(_TAG_KEY, exclusive=True)
        self.rule_count = 0
        self.fields: set[str] = set()
        self._needs: dict[int, int] = {}  # _stack_need memo; a node's need changes only if touched

    def add(self, pattern: _Json, fields: set[str]) -> str | None:
        """Add one rule; the limit it breaks, if any (the model is then spoilt: start another)."""
        touched = [self.root]
        node = self.root
        for item in pattern["$and"][1:]:
            node = self._add(node, item, touched)
        self.rule_count += 1
        self.fields |= fields
        if self.rule_count > MAX_RULES_PER_CHUNK:
            return f"more than {MAX_RULES_PER_CHUNK} rules"
        if len(self.fields) > MAX_FIELDS_PER_CHUNK:
            return f"more than {MAX_FIELDS_PER_CHUNK} fields"
        for node in touched:
            self._needs.pop(id(node), None)
            if len(node.tests) > MAX_CHILDREN:
                return f"more than {MAX_CHILDREN} tests under one node"
            if len(node.links) > MAX_ABSENCE_TESTS:
                return f"more than {MAX_ABSENCE_TESTS} absence tests or 'or' joins under one node"
        if _stack_need(self.root, self._needs) > STACK_BUDGET:
            return f"more than {STACK_BUDGET} conditions could be true at once"
        return None

    def _add(self, parent: _Alpha, item: _Json, touched: list[_Alpha]) -> _Alpha:
        node = self._find_or_create(parent, item, touched)
        touched.append(node)
        return node

    def _find_or_create(self, parent: _Alpha, item: _Json, touched: list[_Alpha]) -> _Alpha:
        ((op, body),) = item.items()
        if op == "$and":
            node = parent
            for sub in body:
                node = self._add(node, sub, touched)
            return node
        if op == "$or":
            join = _Alpha()  # durable's unshared "$forward" node, reached from every branch
            for branch in body:
                self._add(parent, branch, touched).links.append(join)
            return join
        if op in ("$nex", "$ex", *_DURABLE_OP.values()):
            ((field, value),) = body.items()
        else:
            op, field, value = "==", op, body
        if isinstance(value, dict):  # $m: durable never shares these
            node = _Alpha(field)
            parent.tests.append(node)
            return node
        key = (op, field, json.dumps(value))
        found = parent.shared.get(key)
        if found is not None:
            return found
        node = parent.shared[key] = _Alpha(field, exclusive=op == "==")
        (parent.links if op == "$nex" else parent.tests).append(node)
        return node


def _stack_need(root: _Alpha, memo: dict[int, int]) -> int:
    """Worst-case entries durable's depth-first match stack holds below ``root`` once popped.

    Popping a node pushes every child that matches (worst case: all, except that equalities with
    literals on one field exclude each other); the top child is then processed with the others
    still below it. Iterative: a rule may chain hundreds of tests.
    """
    pending: list[tuple[_Alpha, bool]] = [(root, False)]
    while pending:
        node, children_done = pending.pop()
        if id(node) in memo:
            continue
        children = node.tests + node.links
        if not children_done:
            pending.append((node, True))
            pending.extend((child, False) for child in children if id(child) not in memo)
            continue
        exclusive_fields = {child.field for child in node.tests if child.exclusive}
        width = sum(1 for child in node.tests if not child.exclusive) + len(exclusive_fields) + len(node.links)
        deepest = max((memo[id(child)] for child in children), default=0)
        memo[id(node)] = max(width, width - 1 + deepest) if width else 0
    return memo[id(root)]


def _logic_nodes(item: object) -> int:
    if isinstance(item, dict):
        own = sum(1 for key in item if key in ("$and", "$or"))
        return own + sum(_logic_nodes(value) for value in item.values())
    if isinstance(item, list):
        return sum(_logic_nodes(value) for value in item)
    return 0


def _firings(item: _Json, paths: int) -> int:
    """How many times durable fires for one fact at worst: once per true path through each ``or``."""
    ((op, body),) = item.items()
    if op == "$and":
        for sub in body:
            paths = _firings(sub, paths)
        return paths
    if op == "$or":
        return sum(_firings(branch, paths) for branch in body)
    return paths


def _fields_of(item: object) -> set[str]:
    if isinstance(item, dict):
        keys = {k for k in item if not k.startswith("$") and k != _TAG_KEY}
        refs = {item["$m"]} if "$m" in item else set()
        return keys | refs | {f for value in item.values() for f in _fields_of(value)}
    if isinstance(item, list):
        return {f for value in item for f in _fields_of(value)}
    return set()


# --- values --------------------------------------------------------------------------------------


def _to_fixed(path: str, value: object) -> int:
    """``value`` in units of 1/SCALE, exactly; InputError when it cannot be."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InputError("is not a finite number", field=path, code="value_not_finite")
        if not value:
            return 0
        magnitude = value.adjusted()  # checked first: the ratio of 1E+999999 would take ages
        if magnitude > 14:
            raise InputError("is too large for the rules engine", field=path, code="value_out_of_range")
        numerator, denominator = value.as_integer_ratio()  # exact, unlike arithmetic in a context
        if magnitude < -4 or SCALE % denominator:
            raise InputError("has more than 4 decimal places", field=path, code="value_precision")
        number = numerator * (SCALE // denominator)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value * SCALE
    else:
        raise InputError(f"expected a number, got {type(value).__name__}", field=path, code="value_type")
    if -MAX_SCALED <= number <= MAX_SCALED:
        return number
    raise InputError("is too large for the rules engine", field=path, code="value_out_of_range")


def _encode_value(path: str, kind: str, value: object) -> int | str | bool:
    """A value (of a fact or a literal) in the engine's representation for a field of ``kind``."""
    if kind == "number":
        return _to_fixed(path, value)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise InputError(f"expected true or false, got {type(value).__name__}", field=path, code="value_type")
    return _text(path, value)


def _text(path: str, value: object) -> str:
    if not isinstance(value, str):
        raise InputError(f"expected text, got {type(value).__name__}", field=path, code="value_type")
    if len(value) > MAX_TEXT:
        raise InputError(f"is longer than {MAX_TEXT} characters", field=path, code="value_too_long")
    return value


def _fragment_writer(path: str, kind: str, prefix: str) -> Callable[[object], str]:
    """A function writing ``,"f3":<value>`` for one present value of the field."""
    if kind == "number":
        return lambda value: prefix + str(_to_fixed(path, value))
    if kind == "bool":
        return lambda value: prefix + ("true" if _encode_value(path, kind, value) else "false")
    # Escaped exactly as json.dumps(ensure_ascii=True) escapes the literals of the rules.
    return lambda value: prefix + encode_basestring_ascii(_text(path, value))


# --- rulesets ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Chunk:
    """One internal durable ruleset: its handle, rule keys → rule positions, the fields it reads."""

    handle: int
    rule_of: Mapping[str, int]  # durable rule name → position in the RuleSpecs (-1: catch-all)
    field_slots: tuple[int, ...] | None  # positions in Ruleset fields; None: all of them


@dataclass(frozen=True)
class _DurableRule:
    name: str
    position: int
    pattern: _Json
    fields: frozenset[str]


class Ruleset:
    """A compiled set of rules (``name``, ``rules``); ``match`` is thread-safe and keeps no state."""

    def __init__(
        self, name: str, rules: tuple[RuleSpec, ...], fields: tuple[_Field, ...], chunks: list[_Chunk]
    ) -> None:
        self.name = name
        self.rules = rules
        self._ids = tuple(rule.id for rule in rules)
        self._fields = fields
        self._chunks = tuple(chunks)
        self._lock = threading.Lock()
        self._sessions = itertools.count(1)
        self._failed: str | None = None

    @property
    def chunk_count(self) -> int:
        """How many internal durable rulesets the rules were split into (see trap 9)."""
        return len(self._chunks)

    def match(self, facts: Sequence[Fact]) -> list[tuple[str, ...]]:
        """For each fact, the ids of every rule whose condition holds, in RuleSpec order."""
        if not facts:
            return []
        rows = [self._encode(fact) for fact in facts]  # validate everything before the engine
        hits: list[set[int]] = [set() for _ in rows]
        with self._lock:
            if self._failed is not None:
                raise RulesEngineError(
                    f"ruleset '{self.name}' is unavailable after an engine failure ({self._failed}); "
                    "restart the worker",
                    ruleset=self.name,
                    code="rules_engine_unavailable",
                )
            for chunk in self._chunks:
                bodies = rows if chunk.field_slots is None else [_select(row, chunk.field_slots) for row in rows]
                for start in range(0, len(bodies), FACTS_PER_SESSION):
                    self._run_session(chunk, bodies, start, hits)
        ids = self._ids
        return [tuple(ids[i] for i in sorted(found)) if found else () for found in hits]

    def _encode(self, fact: Fact) -> list[str]:
        get = fact.get
        return ["" if (value := get(field.path)) is None else field.fragment(value) for field in self._fields]

    def _run_session(self, chunk: _Chunk, rows: list[list[str]], start: int, hits: list[set[int]]) -> None:
        handle, rule_of = chunk.handle, chunk.rule_of
        sid = str(next(self._sessions))
        head = f'{{"{_TAG_KEY}":"{_TAG}","sid":"{sid}","id":'
        opened = False
        try:
            for index in range(start, min(start + FACTS_PER_SESSION, len(rows))):
                result, state = _engine.assert_fact(handle, f"{head}{index}{''.join(rows[index])}}}")
                opened = True
                if result != 0:  # 1: matched nothing (the catch-all forbids it), 2: duplicate id
                    raise _engine.error(f"unexpected assert result, error code: {result}")
                started = _engine.start_action_for_state(handle, state)
                message = started[1] if started else None
                found = hits[index]
                while message:
                    # The result reads {"<rule name>":{"m":{...}}}: the rule name is all we need.
                    position = rule_of[message[2 : message.index('"', 2)]]
                    if position >= 0:
                        found.add(position)
                    message = _engine.complete_and_start_action(handle, state)
        except _ENGINE_ERRORS as exc:
            # Leave the session alone: after an engine error its memory may be corrupt.
            opened = False
            raise self._fail(exc) from exc
        except (KeyError, ValueError, IndexError, TypeError) as exc:  # a result we cannot read
            raise RulesEngineError(
                f"the rules engine returned an unreadable result on ruleset '{self.name}'",
                ruleset=self.name,
                code="rules_engine_error",
            ) from exc
        finally:
            if opened:
                try:
                    _engine.delete_state(handle, sid)
                except _ENGINE_ERRORS as exc:
                    raise self._fail(exc) from exc

    def _fail(self, exc: BaseException) -> RulesEngineError:
        error = _translate(exc, self.name)
        self._failed = error.message
        return error


def _select(row: list[str], slots: tuple[int, ...]) -> list[str]:
    return [row[slot] for slot in slots]


def _translate(exc: BaseException, ruleset: str, rule: RuleSpec | None = None) -> RulesEngineError:
    found = _ERROR_NUMBER.search(str(exc))
    number = int(found.group(1)) if found else 101 if isinstance(exc, MemoryError) else None
    what = _ENGINE_MESSAGES.get(number or 0, str(exc) or type(exc).__name__)
    where = f" at rule '{rule.id}' ({rule.source})" if rule else ""
    code = "rules_engine_capacity" if number in _CAPACITY_NUMBERS else "rules_engine_error"
    message = f"the rules engine failed on ruleset '{ruleset}'{where}: {what}"
    if number is not None:
        message += f" (durable-rules error {number})"
    return RulesEngineError(message, ruleset=ruleset, rule=rule.id if rule else None, code=code)


_REGISTRY: dict[str, Ruleset] = {}
_REGISTRY_LOCK = threading.Lock()
_engine_rulesets = 0  # internal durable rulesets alive in the C engine (changed under _REGISTRY_LOCK)


def engine_ruleset_count() -> int:
    """How many durable rulesets this process holds (the internal chunks included); none is ever freed."""
    return _engine_rulesets


def build_ruleset(name: str, rules: Sequence[RuleSpec]) -> Ruleset:
    """Compile ``rules`` once; the same name again returns the same Ruleset, or refuses other rules."""
    specs = tuple(rules)
    with _REGISTRY_LOCK:
        existing = _REGISTRY.get(name)
        if existing is not None:
            if _identity(existing.rules) == _identity(specs):
                return existing
            where = specs[0].source if specs else SourceRef(name, 1)
            message = f"ruleset '{name}' already exists with other rules (rulesets cannot be replaced)"
            raise CompileError([where.issue((name,), message, "ruleset_conflict")])
        ruleset = _register(plan_ruleset(name, specs))
        _REGISTRY[name] = ruleset
        return ruleset


def _identity(rules: tuple[RuleSpec, ...]) -> list[tuple[str, Condition, SourceRef]]:
    return [(rule.id, rule.condition, rule.source) for rule in rules]


@dataclass(frozen=True)
class RulesetPlan:
    """A ruleset as durable-rules would hold it, checked against every limit known before the engine
    is called (trap 9 and the rule sizes); registering it is the only step left."""

    name: str
    rules: tuple[RuleSpec, ...]
    fields: tuple[_Field, ...]
    groups: tuple[tuple[_DurableRule, ...], ...]

    def fact_check(self) -> FactCheck:
        """What ``Ruleset.match`` refuses in a fact before matching, without the engine."""
        return FactCheck(self.fields)


class FactCheck:
    """Refuses the values of a fact the engine cannot hold, as ``Ruleset.match`` does before matching.

    The same fields in the same order, through the same encoders: the same ``InputError`` (code,
    field, message) for the same fact. A plain-Python twin calls it so that it refuses exactly
    what durable-rules refuses (numbers beyond 10^14, texts over 1,000 characters, wrong types).
    """

    __slots__ = ("_fields",)

    def __init__(self, fields: tuple[_Field, ...]) -> None:
        self._fields = fields

    def __call__(self, fact: Fact) -> None:
        get = fact.get
        for field in self._fields:
            value = get(field.path)
            if value is not None:
                field.fragment(value)


def plan_ruleset(name: str, rules: Sequence[RuleSpec]) -> RulesetPlan:
    """Everything of building a ruleset but registering it: compile, check the sizes, pack the chunks.

    Raises what :func:`build_ruleset` raises for these rules (``CompileError``, ``CapacityError``),
    except failures of the engine itself; registers nothing.
    """
    specs = tuple(rules)
    compiler = _Compiler()
    durable_rules = _compile_rules(compiler, specs)
    groups = _pack(durable_rules, specs)
    return RulesetPlan(name, specs, tuple(compiler.fields.values()), tuple(tuple(group) for group in groups))


def _register(plan: RulesetPlan) -> Ruleset:
    global _engine_rulesets
    chunks: list[_Chunk] = []
    try:
        for group in plan.groups:
            chunks.append(_create_chunk(plan.name, group, plan.fields, plan.rules, whole=len(plan.groups) == 1))
            _engine_rulesets += 1
    except BaseException:
        for chunk in chunks:  # nothing half-built stays in the engine
            _engine.delete_ruleset(chunk.handle)
            _engine_rulesets -= 1
        raise
    return Ruleset(plan.name, plan.rules, plan.fields, chunks)


# --- what a rule costs the engine ------------------------------------------------------------


@dataclass(frozen=True)
class RuleSize:
    """What one rule becomes in durable-rules, which never returns the memory of a ruleset.

    ``engine_rules``: one per top-level alternative of the condition (each value of a top-level
    ``in [...]``, each side of a top-level ``or``, after ``not`` is pushed down); ``conditions``:
    the tests those rules hold, the discriminator of each included (so at least ``engine_rules``).
    """

    rule: RuleSpec
    engine_rules: int
    conditions: int


def rule_sizes(rules: Sequence[RuleSpec]) -> list[RuleSize]:
    """The size of each rule, exactly as :func:`build_ruleset` would expand it, without the engine
    and without building the patterns (a rule that does not compile is left out: building it
    reports the problem with its location)."""
    sizes: list[RuleSize] = []
    for spec in rules:
        try:
            root = _Compiler()._nnf(spec.condition, negate=False)
        except _Problem:
            continue
        alternatives = root.items if isinstance(root, _Any) else (root,)
        sizes.append(RuleSize(spec, len(alternatives), sum(1 + _tests(item) for item in alternatives)))
    return sizes


def _tests(node: _Node) -> int:
    """The tests ``node`` puts in a pattern (a field-to-field comparison is two: see ``_conjuncts``)."""
    if isinstance(node, _All | _Any):
        return sum(_tests(item) for item in node.items)
    return 2 if isinstance(node, _Ref) else 1


def _compile_rules(compiler: _Compiler, specs: tuple[RuleSpec, ...]) -> list[_DurableRule]:
    """Every rule as durable rules (one per top-level alternative); problems are collected."""
    issues: list[Issue] = []
    seen: set[str] = set()
    compiled: list[_DurableRule] = []
    for position, spec in enumerate(specs):
        if spec.id in seen:
            issues.append(spec.source.issue((spec.id,), f"rule '{spec.id}' is defined twice", "duplicate_rule_id"))
            continue
        seen.add(spec.id)
        try:
            patterns = compiler.patterns(spec.condition)
        except _Problem as problem:
            issues.append(spec.source.issue((spec.id,), f"rule '{spec.id}': {problem}", problem.code))
            continue
        for number, pattern in enumerate(patterns):
            _check_rule_size(spec, pattern)
            fields = frozenset(_fields_of(pattern))
            compiled.append(_DurableRule(f"r{position}_{number}", position, pattern, fields))
    if issues:
        raise CompileError(issues)
    return compiled


def _check_rule_size(spec: RuleSpec, pattern: _Json) -> None:
    if _logic_nodes(pattern) > MAX_LOGIC_NODES:
        message = f"rule '{spec.id}' nests 'and'/'or' too deeply for the rules engine; split it into several rules"
        raise CapacityError([spec.source.issue((spec.id,), message, "condition_too_complex")])
    if _firings(pattern, 1) > MAX_FIRINGS:
        message = (
            f"rule '{spec.id}' combines too many 'or' alternatives for the rules engine; split it into several rules"
        )
        raise CapacityError([spec.source.issue((spec.id,), message, "condition_too_complex")])


def _pack(durable_rules: list[_DurableRule], specs: tuple[RuleSpec, ...]) -> list[list[_DurableRule]]:
    """Split the rules into groups that each stay within durable's limits (trap 9)."""
    groups: list[list[_DurableRule]] = [[]]
    model = _ChunkModel()
    for rule in durable_rules:
        if model.add(rule.pattern, set(rule.fields)) is None:
            groups[-1].append(rule)
            continue
        model = _ChunkModel()
        broken = model.add(rule.pattern, set(rule.fields))
        if broken is not None:
            spec = specs[rule.position]
            message = f"rule '{spec.id}' is too large for the rules engine ({broken}); split it"
            raise CapacityError([spec.source.issue((spec.id,), message, "policy_too_large")])
        groups.append([rule])
    return groups


def _create_chunk(
    name: str, group: Sequence[_DurableRule], fields: tuple[_Field, ...], specs: tuple[RuleSpec, ...], *, whole: bool
) -> _Chunk:
    definition = _definition(group)
    try:
        handle = _engine.create_ruleset(f"creditpolicy-{next(_SERIAL)}", definition)
    except _ENGINE_ERRORS as exc:
        culprit = _find_culprit(group)
        raise _translate(exc, name, specs[culprit.position] if culprit else None) from exc
    used = set().union(*(rule.fields for rule in group)) if group else set()
    slots = None if whole else tuple(i for i, field in enumerate(fields) if field.key in used)
    rule_of = {rule.name: rule.position for rule in group}
    rule_of[_CATCH_ALL] = -1
    return _Chunk(handle, rule_of, slots)


def _definition(group: Sequence[_DurableRule]) -> str:
    rules: dict[str, _Json] = {rule.name: {"all": [{"m": rule.pattern}]} for rule in group}
    # Every fact matches this one, last: durable segfaults deleting a session that matched nothing.
    rules[_CATCH_ALL] = {"all": [{"m": {_TAG_KEY: _TAG}}], "pri": 1}
    return json.dumps(rules, ensure_ascii=True)


def _find_culprit(group: Sequence[_DurableRule]) -> _DurableRule | None:
    """The first rule the engine refuses on its own (only called after a failure)."""
    for rule in group:
        try:
            handle = _engine.create_ruleset(f"creditpolicy-probe-{next(_SERIAL)}", _definition([rule]))
        except _ENGINE_ERRORS:
            return rule
        _engine.delete_ruleset(handle)
    return None

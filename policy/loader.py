"""YAML text → plain data with the line and column of every value; malformed YAML → located issues.

Credit managers edit these files by hand, so the loader is strict where YAML is surprising:
only ``true``/``false`` are booleans (``NO`` stays the text "NO", YAML 1.2 style), numbers with a
fraction become exact ``Decimal`` from their written digits (never through float), duplicate keys
are errors instead of silently keeping the last one, and every scanner or parser error becomes an
:class:`~policy.errors.Issue` with the line, the column and a plain-English message. Anchors,
aliases and merge keys (``<<: *defaults``) are allowed, with a bound on the expanded size so a
small file cannot explode into billions of values.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from yaml.error import Mark, MarkedYAMLError
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)
from yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

try:
    from yaml._yaml import CParser as _CParser
except ImportError:  # PyYAML built without libyaml: the pure-Python path does everything
    _CParser = None  # type: ignore[assignment,misc]

from policy.errors import Issue, PolicyInvalid

__all__ = [
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_NUMBER_DIGITS",
    "MAX_TEXT_CHARS",
    "DocPath",
    "LoadedDocument",
    "ScalarSpan",
    "load_document",
    "number_problem",
    "read_document",
]

DocPath = tuple[str | int, ...]

MAX_TEXT_CHARS = 1_000_000  # a real policy is a few hundred lines; 1 MB is far beyond any
MAX_NODES = 100_000  # values after expanding aliases: bounds "billion laughs"
MAX_DEPTH = 64  # nesting levels; the policy format needs fewer than 10
MAX_INTEGER_DIGITS = 18  # |number| < 10**18: room for any amount, safe for Decimal arithmetic
MAX_FRACTION_DIGITS = 18
MAX_NUMBER_DIGITS = 40  # longer numerals are rejected before conversion (int() has a digit cap)

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_DATE = "tag:yaml.org,2002:timestamp"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"

# The YAML 1.2 core schema, minus octal/hex ints and the 1.1 booleans yes/no/on/off.
_INT_RE = re.compile(r"^[-+]?[0-9]+$")
_FLOAT_RE = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_BOOL_RE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_NULL_RE = re.compile(r"^(?:~|null|Null|NULL|)$")
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_MERGE_RE = re.compile(r"^<<$")


class _Loader(yaml.SafeLoader):
    """SafeLoader that only scans, parses, composes and resolves; :class:`_Builder` constructs."""

    yaml_implicit_resolvers: dict[str | None, list[tuple[str, re.Pattern[str]]]] = {}

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.depth = 0

    def next_mark(self) -> Mark | None:
        """Where the next event starts."""
        event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in the PyYAML stubs
        mark: Mark | None = event.start_mark
        return mark

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        """Compose one node, refusing nesting deeper than MAX_DEPTH."""
        # The composer recurses once per nesting level; stop long before Python's recursion limit.
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _TooDeep(self.next_mark())
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


# (tag, pattern, first characters) in resolution order; both composition paths use this table.
_IMPLICIT: tuple[tuple[str, re.Pattern[str], str], ...] = (
    (_BOOL, _BOOL_RE, "tTfF"),
    (_NULL, _NULL_RE, "~nN"),
    (_INT, _INT_RE, "-+0123456789"),
    (_FLOAT, _FLOAT_RE, "-+0123456789."),
    (_DATE, _DATE_RE, "0123456789"),
    (_MERGE, _MERGE_RE, "<"),
)
for _tag, _regexp, _first in _IMPLICIT:
    _Loader.add_implicit_resolver(_tag, _regexp, [*_first, ""] if _tag == _NULL else list(_first))


def _resolve_scalar(value: str, plain: bool) -> str:
    """The tag of an untagged scalar: implicit types apply to plain scalars only."""
    if plain:
        for tag, pattern, _ in _IMPLICIT:
            if pattern.match(value):
                return tag
    return _STR


class _TooDeep(Exception):
    """Nesting beyond MAX_DEPTH, raised while composing (before Python's recursion limit)."""

    def __init__(self, mark: Mark | None) -> None:
        super().__init__("too deep")
        self.mark = mark


class _Abort(Exception):
    """Stops construction at a problem after which nothing else can be trusted."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(str(issue))
        self.issue = issue


@dataclass(frozen=True)
class ScalarSpan:
    """Where a scalar value was written: its first character, source slice and quoting style."""

    line: int  # 1-based
    column: int  # 1-based
    start: int  # index into the text
    end: int
    style: str  # "" plain, "'" or '"' quoted, "|" literal, ">" folded


@dataclass(frozen=True)
class LoadedDocument:
    """The data of one YAML document with the location of every path in it."""

    data: dict[str, object]
    # Every path -> 1-based (line, column): a mapping entry at its key, a list item at its start.
    marks: dict[DocPath, tuple[int, int]]
    file: str
    text: str
    # Every scalar value's source span, to point inside a condition or terms text.
    spans: dict[DocPath, ScalarSpan] = field(default_factory=dict)

    def location(self, path: DocPath) -> tuple[int, int]:
        """The position of ``path``, or of its nearest ancestor written in the file."""
        for end in range(len(path), -1, -1):
            mark = self.marks.get(path[:end])
            if mark is not None:
                return mark
        return (1, 1)

    def text_location(self, path: DocPath, column: int) -> tuple[int, int]:
        """The file position of 1-based ``column`` inside the text value at ``path``."""
        span = self.spans.get(path)
        if span is None:
            return self.location(path)
        offset = column - 1
        last = (span.line, span.column)
        for line, col, content in _span_segments(self.text, span):
            if offset <= len(content):
                return (line, col + offset)
            offset -= len(content) + 1  # the folded line break or space between segments
            last = (line, col + len(content))
        return last


def _span_segments(text: str, span: ScalarSpan) -> Iterator[tuple[int, int, str]]:
    """The source lines of a scalar as (line, column, content), joined by one character in the value."""
    source = text[span.start : span.end]
    line, col = span.line, span.column
    if span.style in ("|", ">"):
        # Block scalar: skip the header line; content lines lose the common indentation.
        lines = source.split("\n")[1:]
        widths = [len(s) - len(s.lstrip(" ")) for s in lines if s.strip()]
        indent = min(widths) if widths else 0
        for number, raw in enumerate(lines, start=line + 1):
            if raw.strip() or span.style == "|":
                yield number, indent + 1, raw[indent:].rstrip("\r")
        return
    if span.style in ("'", '"'):
        source, col = source[1:-1], col + 1
    for index, raw in enumerate(source.split("\n")):
        stripped = raw.strip()
        if index == 0:
            yield line, col + len(raw) - len(raw.lstrip()), stripped
        elif stripped:
            yield line + index, len(raw) - len(raw.lstrip()) + 1, stripped


def _pos(mark: Mark | None) -> tuple[int, int]:
    """1-based (line, column) of a 0-based YAML mark."""
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def _describe_key(value: object) -> str:
    """What YAML read a non-text key as, in words."""
    kinds = {bool: "true/false", int: "a number", Decimal: "a number", dt.date: "a date", type(None): "empty"}
    return kinds.get(type(value), "not text")


class _Builder:
    """Turns composed nodes into plain data, recording marks and collecting issues."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.issues: list[Issue] = []
        self.marks: dict[DocPath, tuple[int, int]] = {}
        self.spans: dict[DocPath, ScalarSpan] = {}
        self.count = 0
        self.active: set[int] = set()  # collection nodes being built: an alias to one is a cycle

    def issue(self, mark: Mark | None, path: DocPath, message: str, code: str) -> Issue:
        """Record a problem and carry on."""
        line, col = _pos(mark)
        found = Issue(self.file, line, col, path, message, code)
        self.issues.append(found)
        return found

    def abort(self, mark: Mark | None, path: DocPath, message: str, code: str) -> _Abort:
        """A problem that stops construction."""
        line, col = _pos(mark)
        return _Abort(Issue(self.file, line, col, path, message, code))

    def build(self, node: Node, path: DocPath, depth: int) -> object:
        """Plain data for one node at ``path``, counting expanded values against MAX_NODES."""
        self.count += 1
        if self.count > MAX_NODES:
            raise self.abort(
                node.start_mark, path, f"the document expands to more than {MAX_NODES} values", "yaml_too_large"
            )
        if depth > MAX_DEPTH:
            raise self.abort(node.start_mark, path, f"nested more than {MAX_DEPTH} levels deep", "yaml_too_large")
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if id(node) in self.active:
            raise self.abort(
                node.start_mark, path, "an alias refers to the mapping or list that contains it", "yaml_recursive_alias"
            )
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return self.sequence(node, path, depth)
            if isinstance(node, MappingNode):
                return self.mapping(node, path, depth)
        finally:
            self.active.discard(id(node))
        raise self.abort(node.start_mark, path, "unsupported YAML node", "yaml_syntax")  # pragma: no cover

    def sequence(self, node: SequenceNode, path: DocPath, depth: int) -> list[object]:
        """A list, marking each item at its start."""
        if node.tag != _SEQ:
            self.issue(node.start_mark, path, f"the tag {node.tag} is not supported here", "yaml_unsupported_tag")
        items: list[object] = []
        for index, child in enumerate(node.value):
            self.marks[(*path, index)] = _pos(child.start_mark)
            items.append(self.build(child, (*path, index), depth + 1))
        return items

    def mapping(self, node: MappingNode, path: DocPath, depth: int) -> dict[str, object]:
        """A dict, marking each entry at its key and refusing duplicate keys."""
        if node.tag != _MAP:
            self.issue(node.start_mark, path, f"the tag {node.tag} is not supported here", "yaml_unsupported_tag")
        result: dict[str, object] = {}
        explicit: set[str] = set()
        entries = self.entries(node, path)
        # Later entries win (merged ones come first), so build only each key's winning value.
        winners = {key: index for index, (key, _, _, _) in enumerate(entries)}
        for index, (key, key_node, value_node, merged) in enumerate(entries):
            if not merged:
                if key in explicit:
                    message = f"the key '{key}' appears twice in this mapping; keep one"
                    self.issue(key_node.start_mark, (*path, key), message, "yaml_duplicate_key")
                    continue
                explicit.add(key)
            if winners[key] == index:
                self.marks[(*path, key)] = _pos(key_node.start_mark)
                result[key] = self.build(value_node, (*path, key), depth + 1)
        return result

    def entries(self, node: MappingNode, path: DocPath, depth: int = 0) -> list[tuple[str, Node, Node, bool]]:
        """(key, key node, value node, merged) with merged entries first, as YAML merge keys define."""
        if depth > MAX_DEPTH:
            raise self.abort(
                node.start_mark, path, f"merges nested more than {MAX_DEPTH} levels deep", "yaml_too_large"
            )
        merged: list[tuple[str, Node, Node, bool]] = []
        own: list[tuple[str, Node, Node, bool]] = []
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag == _MERGE:
                merged[:0] = self.merge_sources(value_node, path, depth)
                continue
            key = self.key(key_node, path)
            if key is not None:
                own.append((key, key_node, value_node, False))
        return merged + own

    def merge_sources(self, value_node: Node, path: DocPath, depth: int) -> list[tuple[str, Node, Node, bool]]:
        """The entries a ``<<`` merge brings in, earlier sources winning."""
        sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
        found: list[tuple[str, Node, Node, bool]] = []
        # Earlier sources take precedence, so they go last (the last entry for a key wins).
        for source in reversed(sources):
            if not isinstance(source, MappingNode):
                self.issue(
                    source.start_mark, path, "'<<' merges only mappings (an alias like *defaults)", "yaml_syntax"
                )
                continue
            if id(source) in self.active:
                raise self.abort(
                    source.start_mark, path, "a merge refers to the mapping that contains it", "yaml_recursive_alias"
                )
            self.active.add(id(source))
            try:
                inherited = self.entries(source, path, depth + 1)
            finally:
                self.active.discard(id(source))
            # Merges can multiply like aliases ("<<: [*a, *a, *a]" nested): count them the same way.
            self.count += len(inherited)
            if self.count > MAX_NODES:
                message = f"the document expands to more than {MAX_NODES} values"
                raise self.abort(source.start_mark, path, message, "yaml_too_large")
            found.extend((key, k, v, True) for key, k, v, _ in inherited)
        return found

    def key(self, node: Node, path: DocPath) -> str | None:
        """A mapping key as text, or None (with an issue) when YAML read it as something else."""
        if not isinstance(node, ScalarNode):
            self.issue(node.start_mark, path, "a key must be a plain text, not a list or mapping", "yaml_key_type")
            return None
        value = self.scalar(node, path, record=False)
        if not isinstance(value, str):
            self.issue(
                node.start_mark,
                path,
                f"the key '{node.value}' is read as {_describe_key(value)}; keys must be text, so quote it",
                "yaml_key_type",
            )
            return None
        return value

    def scalar(self, node: ScalarNode, path: DocPath, record: bool = True) -> object:
        """The value of a scalar by its resolved tag, recording where it was written."""
        text: str = node.value
        if record and node.start_mark is not None and node.end_mark is not None:
            line, col = _pos(node.start_mark)
            self.spans[path] = ScalarSpan(line, col, node.start_mark.index, node.end_mark.index, node.style or "")
        tag = node.tag
        if tag == _STR:
            return text
        if tag == _NULL and _NULL_RE.match(text):
            return None
        if tag == _BOOL and _BOOL_RE.match(text):
            return text.lower() == "true"
        if tag in (_INT, _FLOAT):
            return self.number(node, path, text, tag)
        if tag == _DATE:
            try:
                return dt.date.fromisoformat(text)
            except ValueError:
                return text  # not a real date: the schema reports it where a date is expected
        if tag in (_NULL, _BOOL):
            self.issue(node.start_mark, path, f"'{text}' does not match its tag {tag}", "yaml_syntax")
            return text
        self.issue(node.start_mark, path, f"the tag {tag} is not supported here", "yaml_unsupported_tag")
        return text

    def number(self, node: ScalarNode, path: DocPath, text: str, tag: str) -> object:
        """An int or exact Decimal, with issues for numbers outside the engine's range."""
        if len(text) > MAX_NUMBER_DIGITS:
            self.issue(
                node.start_mark, path, f"the number has more than {MAX_NUMBER_DIGITS} characters", "number_range"
            )
            return text
        try:
            # Exact digits as written: 0.1 stays 0.1, never 0.1000000000000000055...
            value = int(text) if tag == _INT else Decimal(_decimal_text(text))
        except (ValueError, InvalidOperation):
            self.issue(node.start_mark, path, f"'{text}' is not a number", "yaml_syntax")
            return text
        problem = number_problem(Decimal(value))
        if problem:
            self.issue(node.start_mark, path, f"{text} {problem}", "number_range")
        return value


def number_problem(value: Decimal) -> str | None:
    """Why a number is outside what the engine can handle exactly, or None if it is fine."""
    if not value.is_finite():
        return "is not a finite number"
    if value != 0 and value.adjusted() >= MAX_INTEGER_DIGITS:
        return f"is too large (at most {MAX_INTEGER_DIGITS} digits before the decimal point)"
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_FRACTION_DIGITS:
        return f"has more than {MAX_FRACTION_DIGITS} decimal places"
    return None


def _decimal_text(text: str) -> str:
    """YAML's special floats in the spelling Decimal understands."""
    special = {".inf": "Infinity", "+.inf": "Infinity", "-.inf": "-Infinity", ".nan": "NaN"}
    return special.get(text.lower(), text)


_FRIENDLY: tuple[tuple[str, str], ...] = (
    ("found character '\\t'", "a tab character here; YAML indents with spaces only, replace the tab with spaces"),
    (
        "mapping values are not allowed here",
        "unexpected ':' here; check the indentation, or put a text that contains ': ' in quotes",
    ),
    ("expected <block end>", "this line is indented differently from the lines above it (bad indentation)"),
    ("could not find expected ':'", "expected 'key: value' here: a ':' is missing, or the indentation is off"),
    ("did not find expected key", "expected a 'key: value' line here; check the indentation and the quotes"),
    ("did not find expected '-' indicator", "expected a list item '- ...' here; check the indentation"),
    ("did not find expected node content", "a value is missing here"),
    ("block sequence entries are not allowed", "a list item '- ' is not allowed here; check the indentation"),
    ("found undefined alias", "this alias (*name) refers to no anchor (&name) defined above it"),
    ("found duplicate anchor", "this anchor name (&name) is already used above; anchor names must be unique"),
    ("found unexpected end of stream", "the file ends inside a quoted text or a bracket; a closing quote is missing"),
    ("expected ',' or ']'", "expected ',' or ']' inside this [list]"),
    ("expected ',' or '}'", "expected ',' or '}' inside this {mapping}"),
    ("found unknown escape character", "unknown escape sequence in a double-quoted text; use single quotes instead"),
    ("expected alphabetic or numeric character", "an anchor or alias name (&name, *name) needs letters or digits"),
    ("found unexpected ':'", "unexpected ':' here; put a text that contains ':' in quotes"),
    ("that cannot start any token", "this character cannot start a value; put the value in quotes"),
    ("found a tab character", "a tab character here; YAML indents with spaces only, replace the tab with spaces"),
)


def _friendly(error: MarkedYAMLError) -> str:
    """A plain-English message for a PyYAML error."""
    problem = error.problem or ""
    for needle, message in _FRIENDLY:
        if needle in problem:
            return message
    detail = f" ({error.context})" if error.context else ""
    return f"invalid YAML: {problem}{detail}"


def _syntax_issue(error: yaml.YAMLError, text: str, file: str) -> Issue:
    """The located issue for a YAML error."""
    if isinstance(error, ReaderError):
        before = text[: error.position]
        line, col = before.count("\n") + 1, error.position - (before.rfind("\n") + 1) + 1
        message = f"the character U+{error.character:04X} is not allowed in a YAML file"
        return Issue(file, line, col, (), message, "yaml_syntax")
    if isinstance(error, MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        if "end of stream" in (error.problem or "") and error.context_mark is not None:
            mark = error.context_mark  # the unclosed quote or bracket, not the end of the file
        line, col = _pos(mark)
        return Issue(file, line, col, (), _friendly(error), "yaml_syntax")
    return Issue(file, 1, 1, (), f"invalid YAML: {error}", "yaml_syntax")  # pragma: no cover


class _Unusual(Exception):
    """Something the fast path leaves to PyYAML, so the outcome and wording are PyYAML's."""


# (root node of the first document or None for an empty stream, start of a second document or None)
_Composed = tuple[Node | None, Mark | None]


def _compose_fast(text: str) -> _Composed:
    """Compose from libyaml's events without recursion: ~50x faster than PyYAML's pure-Python scanner."""
    assert _CParser is not None
    parser = _CParser(text)
    try:
        return _compose_events(parser)
    finally:
        parser.dispose()


def _event_marks(event: Any) -> tuple[Mark | None, Mark | None]:
    """libyaml's marks have PyYAML's fields (line, column, index), under another class."""
    return event.start_mark, event.end_mark


def _compose_events(parser: Any) -> _Composed:
    """Build the node tree from parser events with an explicit stack (no recursion)."""
    anchors: dict[str, Node] = {}
    stack: list[tuple[CollectionNode, list[Node]]] = []  # open collections and a pending mapping key
    root: Node | None = None
    started = False
    while True:
        event = parser.get_event()
        if isinstance(event, StreamEndEvent):
            return root, None
        start, end = _event_marks(event)
        if isinstance(event, DocumentStartEvent):
            if started:
                return root, start
            started = True
            continue
        if isinstance(event, StreamStartEvent | DocumentEndEvent):
            continue
        node: Node
        if isinstance(event, AliasEvent):
            if event.anchor not in anchors:
                raise _Unusual("undefined alias")
            node = anchors[event.anchor]
        elif isinstance(event, ScalarEvent):
            tag = event.tag if event.tag not in (None, "!") else _resolve_scalar(event.value, event.implicit[0])
            node = ScalarNode(tag, event.value, start, end, style=event.style)
        elif isinstance(event, SequenceStartEvent | MappingStartEvent):
            kind: type[CollectionNode] = SequenceNode if isinstance(event, SequenceStartEvent) else MappingNode
            tag = event.tag if event.tag not in (None, "!") else (_SEQ if kind is SequenceNode else _MAP)
            node = kind(tag, [], start, None, flow_style=event.flow_style)
        elif isinstance(event, SequenceEndEvent | MappingEndEvent):
            closed, _ = stack.pop()
            closed.end_mark = end
            continue
        else:
            raise _Unusual(f"unexpected event {event!r}")  # pragma: no cover - libyaml emits no others
        anchor = getattr(event, "anchor", None)
        if anchor is not None and not isinstance(event, AliasEvent):
            if anchor in anchors:
                raise _Unusual("duplicate anchor")  # PyYAML rejects what libyaml allows; keep one rule
            anchors[anchor] = node
        if not stack:
            root = node
        else:
            parent, pending = stack[-1]
            if isinstance(parent, SequenceNode):
                parent.value.append(node)
            elif pending:
                parent.value.append((pending.pop(), node))
            else:
                pending.append(node)
        if isinstance(node, CollectionNode) and not isinstance(event, AliasEvent):
            if len(stack) >= MAX_DEPTH:
                raise _Unusual("too deep")
            stack.append((node, []))


def _compose_python(text: str) -> _Composed:
    """Compose with PyYAML's pure-Python loader, whose errors carry the messages we translate."""
    loader = _Loader(text)
    try:
        if not loader.check_node():
            return None, None
        root = loader.get_node()
        return root, loader.next_mark() if loader.check_node() else None
    finally:
        loader.dispose()


def _compose(text: str, file: str) -> MappingNode:
    """The root mapping of the only document, or :class:`PolicyInvalid`."""
    try:
        if _CParser is None:
            raise _Unusual("PyYAML without libyaml")
        root, second = _compose_fast(text)
    except (yaml.YAMLError, _Unusual):
        # Any problem: compose again with PyYAML, so errors read the same with or without libyaml.
        try:
            root, second = _compose_python(text)
        except _TooDeep as error:
            line, col = _pos(error.mark)
            message = f"nested more than {MAX_DEPTH} levels deep"
            raise PolicyInvalid([Issue(file, line, col, (), message, "yaml_too_large")]) from None
        except yaml.YAMLError as error:
            raise PolicyInvalid([_syntax_issue(error, text, file)]) from None
    if second is not None:
        line, col = _pos(second)
        message = "the file holds more than one YAML document ('---'); one policy version per file"
        raise PolicyInvalid([Issue(file, line, col, (), message, "yaml_multiple_documents")])
    if root is None:
        message = "the file is empty; expected a YAML mapping (a policy starts with 'policy:')"
        raise PolicyInvalid([Issue(file, 1, 1, (), message, "yaml_not_mapping")])
    if not isinstance(root, MappingNode):
        line, col = _pos(root.start_mark)
        message = "a policy is a mapping of sections ('policy:', 'scorecard:', …), not a single value or a list"
        raise PolicyInvalid([Issue(file, line, col, (), message, "yaml_not_mapping")])
    return root


def load_document(text: str, file: str) -> LoadedDocument:
    """Load one YAML mapping with exact numbers and the location of every path; raise PolicyInvalid."""
    document, issues = read_document(text, file)
    if issues:
        raise PolicyInvalid(issues)
    return document


def read_document(text: str, file: str) -> tuple[LoadedDocument, list[Issue]]:
    """Load one YAML mapping, returning the problems met on the way instead of raising them.

    The data is built around each problem (a duplicate key keeps its first value, a number out of
    range or a value under an unknown tag stays text, a key that is not text is left out), so the
    policy's other mistakes can still be found in the same pass. A file that cannot be read as
    one mapping, or a problem that stops construction (size, depth, a recursive alias), raises
    PolicyInvalid.
    """
    if len(text) > MAX_TEXT_CHARS:
        message = f"the file has {len(text)} characters; a policy file may have at most {MAX_TEXT_CHARS}"
        raise PolicyInvalid([Issue(file, 1, 1, (), message, "yaml_too_large")])
    text = text.removeprefix("\ufeff")  # a byte-order mark is not content (and libyaml does not index it)
    root = _compose(text, file)
    builder = _Builder(file)
    builder.marks[()] = _pos(root.start_mark)
    try:
        data = builder.build(root, (), 1)
    except _Abort as stop:
        raise PolicyInvalid(_unique([*builder.issues, stop.issue])) from None
    assert isinstance(data, dict)
    return LoadedDocument(data, builder.marks, file, text, builder.spans), _unique(builder.issues)


def _unique(issues: list[Issue]) -> list[Issue]:
    """A value reached through several aliases or merges is one mistake in the file: report it once."""
    return list({(i.line, i.column, i.code, i.message): i for i in reversed(issues)}.values())

"""Load and validate a policy: YAML → shape (pydantic) → meaning (checks), every problem located, in one pass.

A mistake in one place never hides a mistake elsewhere. The YAML loader builds the data around
what it cannot read; pydantic checks the shape of the whole document and reports every error;
then each section is taken as far as it goes — a section with errors is validated again without
the items that hold them (a factor, a grade's entry, a rule, a segment) — and every semantic
check runs on whatever it needs that did parse (:data:`policy.checks.CHECKS` says what each
check reads). A check that needs a whole section waits only when that section lost an item.
Pydantic's errors are translated into :class:`Issue` objects in the document's own terms: the
path as written in the file (without pydantic's union tags), a plain-English message, and the
line and column from the loader's marks.
"""

from __future__ import annotations

import datetime as dt
import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from policy.checks import CheckContext, run_checks, written_path
from policy.errors import ERROR, Issue, PolicyInvalid
from policy.loader import DocPath, LoadedDocument, number_problem, read_document
from policy.schema import Policy
from policy.versioning import content_hash

__all__ = ["FileReport", "LoadedPolicy", "load_policy", "load_policy_file", "validate_file"]

# Pydantic error types renamed to clearer stable codes; every other type is used as it is.
_RENAMED = {
    "extra_forbidden": "unknown_key",
    "union_tag_invalid": "invalid_choice",
    "literal_error": "invalid_choice",
    "union_tag_not_found": "missing",
    "too_long": "policy_too_large",  # list length caps exist to protect the engine
}


@dataclass(frozen=True)
class LoadedPolicy:
    """A valid policy with the document it came from, for locating things in the file, and its warnings."""

    policy: Policy
    document: LoadedDocument
    file: str
    text: str
    warnings: tuple[Issue, ...] = ()

    def location(self, path: DocPath) -> tuple[int, int]:
        """1-based (line, column) of ``path`` or of its nearest ancestor written in the file."""
        return self.document.location(path)

    @cached_property
    def content_hash(self) -> str:
        """The sha256 of the policy's canonical form (see :mod:`policy.versioning`)."""
        return content_hash(self.policy)


def load_policy(text: str, file: str) -> LoadedPolicy:
    """Load, shape-check and semantically check a policy; raise PolicyInvalid with every issue (warnings too)."""
    document, loader_issues = read_document(text, file)
    parsed = _parse(document, loader_issues)
    ctx = CheckContext(file, document, unparsed=parsed.unparsed, dropped=parsed.dropped)
    issues = parsed.issues + run_checks(parsed.policy, ctx)
    if any(issue.severity == ERROR for issue in issues):
        raise PolicyInvalid(issues)
    return LoadedPolicy(parsed.policy, document, file, text, tuple(sorted(issues)))


def load_policy_file(path: str | Path) -> LoadedPolicy:
    """Read a UTF-8 policy file and load it; OSError if it cannot be read, PolicyInvalid if invalid."""
    name = str(path)
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        before = raw[: error.start]
        line, col = before.count(b"\n") + 1, len(before) - (before.rfind(b"\n") + 1) + 1
        message = "the file is not UTF-8 text; save it as UTF-8"
        raise PolicyInvalid([Issue(name, line, col, (), message, "yaml_encoding")]) from None
    return load_policy(text, name)


@dataclass(frozen=True)
class FileReport:
    """The outcome of validating one file, as the CLI prints it."""

    file: str
    loaded: LoadedPolicy | None
    issues: tuple[Issue, ...]

    @property
    def ok(self) -> bool:
        """True when the file is a valid policy (it may still have warnings)."""
        return self.loaded is not None

    def lines(self) -> list[str]:
        """One line per issue (errors and warnings, in file order), then the summary line of a valid policy."""
        if self.loaded is None:
            return [str(issue) for issue in self.issues]
        meta = self.loaded.policy.policy
        summary = f"{self.file}: ok (policy {meta.id} version {meta.version}, sha256 {self.loaded.content_hash})"
        count = len(self.loaded.warnings)
        if count:
            summary += f", {count} warning{'s' * (count != 1)}"
        return [*(str(warning) for warning in self.loaded.warnings), summary]


def validate_file(path: str | Path) -> FileReport:
    """Validate one file; OSError if it cannot be read."""
    try:
        loaded = load_policy_file(path)
    except PolicyInvalid as invalid:
        return FileReport(str(path), None, tuple(invalid.issues))
    return FileReport(str(path), loaded, loaded.warnings)


# --- the shape, section by section ----------------------------------------------------------

# The collections of each section whose items are independent of each other: an item with a
# shape error is left out and the rest of its section is still checked. Paths are relative to
# the section (the grade scale is itself the list).
_ITEMS: dict[str, tuple[DocPath, ...]] = {
    "policy": (),
    "scorecard": (("groups",), ("factors",)),
    "grades": ((),),
    "standards": (("blacklist",), ("rules",)),
    "limits": (("per_grade",),),
    "terms": (("per_grade",),),
    "review": (("per_grade",),),
    "order_rules": (("rules",),),
    "collection": (("segments",),),
}
# Loader problems after which the data as built is still what the author wrote (a duplicate key
# keeps its first value): they need not keep the value out of the checks.
_HARMLESS = frozenset({"yaml_duplicate_key"})


def _adapter(annotation: Any, field: FieldInfo) -> TypeAdapter[Any]:
    return TypeAdapter(typing.Annotated[(annotation, *field.metadata)] if field.metadata else annotation)


_SECTIONS: dict[str, TypeAdapter[Any]] = {
    name: _adapter(field.annotation, field) for name, field in Policy.model_fields.items()
}


_Dropped = Mapping[DocPath, frozenset[str | int]]


@dataclass(frozen=True)
class _Parsed:
    """The policy as far as its shape allows: sections left out, items left out, and the issues found."""

    policy: Policy
    issues: list[Issue]
    unparsed: frozenset[str]
    dropped: dict[DocPath, frozenset[str | int]]


def _parse(document: LoadedDocument, loader_issues: list[Issue]) -> _Parsed:
    """The policy model, whole when the shape is right, else built from every section part that parsed."""
    if not loader_issues:
        try:
            policy = Policy.model_validate(document.data)
        except ValidationError as error:
            issues = [_issue_from_pydantic(e, document) for e in error.errors()]
        else:
            issues = _number_issues(policy.model_dump(), (), document)
            if not issues:  # the usual case: the whole document has the right shape
                return _Parsed(policy, [], frozenset(), {})
    else:
        try:
            Policy.model_validate(document.data)
            issues = []
        except ValidationError as error:
            written = {issue.path for issue in loader_issues}
            found = [_issue_from_pydantic(e, document) for e in error.errors()]
            # The loader already reported what it could not read; pydantic would only say it again.
            issues = [issue for issue in found if issue.path not in written]
        issues = [*loader_issues, *issues]
    bad = [issue.path for issue in issues if issue.code not in _HARMLESS]
    values: dict[str, Any] = {}
    unparsed: set[str] = set()
    dropped: dict[DocPath, frozenset[str | int]] = {}
    for name, field in Policy.model_fields.items():
        if name not in document.data:
            if field.is_required():
                unparsed.add(name)  # pydantic reported it missing
            continue
        section = _parse_section(name, document, [p[1:] for p in bad if p[:1] == (name,)], issues)
        if section is None:
            unparsed.add(name)
            continue
        values[name], left_out = section
        dropped.update({(name, *path): keys for path, keys in left_out.items()})
    return _Parsed(Policy.model_construct(**values), issues, frozenset(unparsed), dropped)


def _parse_section(
    name: str, document: LoadedDocument, bad: list[DocPath], issues: list[Issue]
) -> tuple[Any, dict[DocPath, frozenset[str | int]]] | None:
    """One section's model without the items holding the ``bad`` paths (None: it cannot be had).

    Numbers written as quoted text are bounded here too (the checks do arithmetic): each one out
    of range is added to ``issues`` and its item left out like any other.
    """
    left_out: dict[DocPath, set[str | int]] = {}
    while True:
        for path in bad:
            item = _item_of(name, path)
            if item is None:
                return None  # the problem is not inside an item: the section as a whole is unusable
            left_out.setdefault(item[0], set()).add(item[1])
        try:
            value = _SECTIONS[name].validate_python(_without(document.data[name], (), left_out))
        except ValidationError:
            return None  # only the items were wrong, and nothing is left without them
        renumbered = {(name, *path): frozenset(keys) for path, keys in left_out.items()}
        numbers = _number_issues(_SECTIONS[name].dump_python(value), (name,), document, renumbered)
        known = {issue.path for issue in issues}
        fresh = [issue for issue in numbers if issue.path not in known]
        if not numbers:
            return value, {path: frozenset(keys) for path, keys in left_out.items()}
        issues.extend(fresh)
        bad = [issue.path[1:] for issue in numbers]


def _item_of(section: str, path: DocPath) -> tuple[DocPath, str | int] | None:
    """(collection, key or index) of the independent item holding ``path`` inside ``section``."""
    for collection in _ITEMS[section]:
        if path[: len(collection)] == collection and len(path) > len(collection):
            return collection, path[len(collection)]
    return None


def _without(data: object, path: DocPath, left_out: dict[DocPath, set[str | int]]) -> object:
    """``data`` with the items of ``left_out`` removed from their collections (copied where changed)."""
    if not left_out:
        return data
    keys = left_out.get(path)
    if isinstance(data, dict):
        return {
            key: _without(value, (*path, key), left_out) for key, value in data.items() if not keys or key not in keys
        }
    if isinstance(data, list) and keys:
        return [item for index, item in enumerate(data) if index not in keys]
    if isinstance(data, list):
        return [_without(item, (*path, index), left_out) for index, item in enumerate(data)]
    return data


def _number_issues(
    value: object, path: DocPath, document: LoadedDocument, dropped: _Dropped | None = None
) -> list[Issue]:
    """Numbers written as quoted text escape the loader's bounds; apply them to the validated values.

    ``dropped`` names the items left out of ``value``, so a path is located where it was written.
    """
    if isinstance(value, dict):
        return [i for key, item in value.items() for i in _number_issues(item, (*path, key), document, dropped)]
    if isinstance(value, list):
        return [i for index, item in enumerate(value) for i in _number_issues(item, (*path, index), document, dropped)]
    if isinstance(value, Decimal):
        problem = number_problem(value)
        if problem:
            path = written_path(path, dropped)
            line, col = document.location(path)
            span = document.spans.get(path)
            written = document.text[span.start : span.end] if span is not None else str(value)
            return [Issue(document.file, line, col, path, f"{written} {problem}", "number_range")]
    return []


# --- pydantic errors → issues ---------------------------------------------------------------


def _issue_from_pydantic(error: ErrorDetails, document: LoadedDocument) -> Issue:
    """One pydantic error as a located issue in the document's terms."""
    path, model = _document_path(error["loc"])
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    message = _message(kind, error, ctx, path, model)
    if kind == "union_tag_not_found":
        path = (*path, str(ctx.get("discriminator", "kind")).strip("'"))
    elif kind == "union_tag_invalid":
        path = (*path, str(ctx.get("discriminator", "kind")).strip("'"))
    line, col = document.location(path)
    return Issue(document.file, line, col, path, message, _RENAMED.get(kind, kind))


def _document_path(loc: tuple[int | str, ...]) -> tuple[DocPath, type[BaseModel] | None]:
    """The loc as a document path (union tags and ``[key]`` dropped) and the model holding its last part."""
    path: list[str | int] = []
    annotation: Any = Policy
    discriminator: str | None = None
    holder: type[BaseModel] | None = None
    parts = list(loc)
    while parts:
        annotation, discriminator = _unwrap(annotation, discriminator)
        part = parts.pop(0)
        if part == "[key]":
            continue
        members = _union_members(annotation)
        if members and discriminator is not None:
            # Pydantic adds the tag of a discriminated union to the loc; the document has no such level.
            annotation, discriminator = _member_for_tag(members, discriminator, part), None
            if annotation is None:
                path.append(part)
            continue
        if len(members) == 1:
            annotation = members[0]
        path.append(part)
        holder = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
        annotation, discriminator = _child(annotation, part)
    return tuple(path), holder


def _unwrap(annotation: Any, discriminator: str | None) -> tuple[Any, str | None]:
    """The type inside ``Annotated[...]`` and the union discriminator declared there, if any."""
    while typing.get_origin(annotation) is typing.Annotated:
        for meta in annotation.__metadata__:
            if isinstance(meta, FieldInfo) and isinstance(meta.discriminator, str):
                discriminator = meta.discriminator
        annotation = annotation.__origin__
    return annotation, discriminator


def _union_members(annotation: Any) -> list[Any]:
    """The non-None members of a union type, or [] for any other type."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(annotation) if a is not type(None)]
    return []


def _member_for_tag(members: list[Any], discriminator: str, tag: object) -> Any:
    """The member of a discriminated union whose discriminator literal is ``tag``."""
    for member in members:
        member, _ = _unwrap(member, None)
        field = getattr(member, "model_fields", {}).get(discriminator)
        if field is not None and tag in typing.get_args(field.annotation):
            return member
    return None


def _child(annotation: Any, part: str | int) -> tuple[Any, str | None]:
    """The annotation one level below ``annotation`` at ``part``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(str(part))
        if field is None:
            return None, None
        discriminator = field.discriminator if isinstance(field.discriminator, str) else None
        return field.annotation, discriminator
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list and args:
        return args[0], None
    if origin is dict and len(args) == 2:
        return args[1], None
    return None, None


def _show(value: object) -> str:
    """A value as the credit manager wrote it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing (empty)"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "a list"
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, int | float | dt.date):
        return str(value)
    text = str(value)
    return f"'{text[:60]}…'" if len(text) > 60 else f"'{text}'"


def _message(kind: str, error: ErrorDetails, ctx: dict[str, Any], path: DocPath, model: type[BaseModel] | None) -> str:
    """A plain-English message for a pydantic error."""
    value = error.get("input")
    key = str(path[-1]) if path else ""
    if kind == "missing":
        return f"the required key '{key}' is missing"
    if kind == "extra_forbidden":
        return _unknown_key_message(key, model)
    if kind == "union_tag_not_found":
        return f"the required key {ctx.get('discriminator', 'kind')} is missing"
    if kind == "union_tag_invalid":
        return f"{ctx.get('discriminator')} must be one of {ctx.get('expected_tags')}, not '{ctx.get('tag')}'"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}, not {_show(value)}"
    if kind == "string_type":
        if isinstance(value, int | Decimal | dt.date) and not isinstance(value, bool):
            return f"expected a text, got {_show(value)}; put it in quotes: '{_show(value)}'"
        return f"expected a text, got {_show(value)}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a mapping of keys and values here, got {_show(value)}"
    if kind == "list_type":
        return f"expected a list here, got {_show(value)}"
    if kind in ("decimal_parsing", "decimal_type", "float_parsing", "float_type"):
        return f"expected a number, got {_show(value)}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"expected a whole number, got {_show(value)}"
    if kind in ("bool_parsing", "bool_type"):
        return f"expected true or false, got {_show(value)}"
    if kind.startswith("date_"):
        detail = f" ({ctx['error']})" if "error" in ctx and "range" in str(ctx["error"]) else ""
        return f"expected a date written as YYYY-MM-DD, got {_show(value)}{detail}"
    if kind == "finite_number":
        return f"expected a finite number, got {_show(value)}"
    bounds = {"greater_than": "gt", "greater_than_equal": "ge", "less_than": "lt", "less_than_equal": "le"}
    if kind in bounds:
        words = {"gt": "more than", "ge": "at least", "lt": "less than", "le": "at most"}[bounds[kind]]
        return f"must be {words} {_show(ctx.get(bounds[kind]))}, got {_show(value)}"
    if kind == "too_long":
        return f"at most {ctx.get('max_length')} entries are allowed here, found {ctx.get('actual_length')}"
    if kind == "too_short":
        least = ctx.get("min_length")
        return f"needs at least {least} {'entry' if least == 1 else 'entries'}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"is longer than {ctx.get('max_length')} characters"
    if kind == "string_pattern_mismatch" and key == "currency":
        return f"a currency is a 3-letter ISO code in capitals, like EUR or CNY; got {_show(value)}"
    if kind == "string_pattern_mismatch":
        return f"{_show(value)} does not have the expected form ({ctx.get('pattern')})"
    msg = str(error["msg"])
    return msg[0].lower() + msg[1:] if msg[:1].isupper() and msg[1:2].islower() else msg


def _unknown_key_message(key: str, model: type[BaseModel] | None) -> str:
    """'unknown key …' with the closest known key and the list of keys."""
    if model is None:
        return f"unknown key '{key}'"
    expected = list(model.model_fields)
    close = difflib.get_close_matches(key, expected, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"unknown key '{key}' ({hint}expected one of {', '.join(expected)})"

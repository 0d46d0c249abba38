"""Load and validate a policy: YAML → shape (pydantic) → meaning (checks), every problem located.

The three steps stop at the first one that fails, because a later step cannot make sense of an
earlier step's failure (no shape without YAML, no cross-references without a shape); within a
step every problem is reported. Pydantic's errors are translated into :class:`Issue` objects in
the document's own terms: the path as written in the file (without pydantic's union tags), a
plain-English message, and the line and column from the loader's marks.
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

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from policy.checks import CheckContext, run_checks
from policy.errors import Issue, PolicyInvalid
from policy.loader import DocPath, LoadedDocument, load_document, number_problem
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
    """A valid policy with the document it came from, for locating things in the file."""

    policy: Policy
    document: LoadedDocument
    file: str
    text: str

    def location(self, path: DocPath) -> tuple[int, int]:
        """1-based (line, column) of ``path`` or of its nearest ancestor written in the file."""
        return self.document.location(path)

    @cached_property
    def content_hash(self) -> str:
        """The sha256 of the policy's canonical form (see :mod:`policy.versioning`)."""
        return content_hash(self.policy)


def load_policy(text: str, file: str) -> LoadedPolicy:
    """Load, shape-check and semantically check a policy; raise PolicyInvalid with every issue."""
    document = load_document(text, file)
    try:
        policy = Policy.model_validate(document.data)
    except ValidationError as error:
        raise PolicyInvalid([_issue_from_pydantic(e, document) for e in error.errors()]) from None
    issues = _number_issues(policy.model_dump(), (), document)
    if issues:
        raise PolicyInvalid(issues)  # the checks do arithmetic, which needs bounded numbers
    issues = run_checks(policy, CheckContext(file, document))
    if issues:
        raise PolicyInvalid(issues)
    return LoadedPolicy(policy, document, file, text)


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
        """True when the file is a valid policy."""
        return self.loaded is not None

    def lines(self) -> list[str]:
        """One line per issue, or one summary line when the policy is valid."""
        if self.loaded is None:
            return [str(issue) for issue in self.issues]
        meta = self.loaded.policy.policy
        return [f"{self.file}: ok (policy {meta.id} version {meta.version}, sha256 {self.loaded.content_hash})"]


def validate_file(path: str | Path) -> FileReport:
    """Validate one file; OSError if it cannot be read."""
    try:
        return FileReport(str(path), load_policy_file(path), ())
    except PolicyInvalid as invalid:
        return FileReport(str(path), None, tuple(invalid.issues))


def _number_issues(value: object, path: DocPath, document: LoadedDocument) -> list[Issue]:
    """Numbers written as quoted text escape the loader's bounds; apply them to the validated values."""
    if isinstance(value, dict):
        return [i for key, item in value.items() for i in _number_issues(item, (*path, key), document)]
    if isinstance(value, list):
        return [i for index, item in enumerate(value) for i in _number_issues(item, (*path, index), document)]
    if isinstance(value, Decimal):
        problem = number_problem(value)
        if problem:
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
    elif "grade" in ctx and isinstance(_value_at(document.data, path), Mapping):
        path = (*path, str(ctx["grade"]))  # a per-grade check names the grade: point at its entry
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


def _value_at(data: object, path: DocPath) -> object:
    """The data at ``path``, or None when the path does not exist."""
    for part in path:
        if isinstance(data, Mapping) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


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

"""Every problem code the code can raise has an HTTP status and an entry in docs/api-errors.md.

The codes come from the error trees: each class declares in ``CODES`` the codes its instances may
carry. The source is read too (every ``code="..."`` given where an error is raised, and every
class's default ``code``), so a code raised but not declared fails here as well as one declared
but undocumented. The documented status of each code must be the one the API answers with.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from api import errors as service
from api.entrypoints.http.problems import STATUS_BY_CLASS, status_of
from engine import errors as engine
from policy.errors import PolicyInvalid

ROOT = Path(__file__).resolve().parents[3]
DOC = (ROOT / "docs" / "api-errors.md").read_text(encoding="utf-8")
ROW = re.compile(r"^\| `(?P<code>[a-z0-9_]+)` \| (?P<status>\d{3}|4xx) \|", re.M)
ErrorClass = type[Exception]


def subclasses(cls: ErrorClass) -> Iterator[ErrorClass]:
    yield cls
    for sub in cls.__subclasses__():
        yield from subclasses(sub)


CLASSES: list[ErrorClass] = [*subclasses(service.ServiceError), *subclasses(engine.EngineError), PolicyInvalid]
# Bases only ever raised through a subclass.
ABSTRACT = {service.ServiceError}


def codes_of(cls: ErrorClass) -> tuple[str, ...]:
    declared: tuple[str, ...] = getattr(cls, "CODES", ())
    return declared or (str(getattr(cls, "code", "")),)


def class_status(cls: ErrorClass) -> str:
    """The status as documented: a number, or ``4xx`` for the HTTP layer's own refusals."""
    if cls is service.HttpRefusal:
        return "4xx"
    return str(status_of(cls.__new__(cls)))


def raised_codes() -> Iterator[tuple[str, str, int, str, str]]:
    """Every ``Error(..., code="x")`` and ``code = "x"`` in a class body: (file, class, line, code, kind)."""
    names = {cls.__name__ for cls in CLASSES}
    for package in ("api", "engine", "policy"):
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    func = node.func
                    name = (
                        func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                    )
                    for keyword in node.keywords:
                        literal = keyword.value
                        if name in names and keyword.arg == "code" and isinstance(literal, ast.Constant):
                            yield str(path.relative_to(ROOT)), name, node.lineno, str(literal.value), "raised"
                if isinstance(node, ast.ClassDef) and node.name in names:
                    for statement in node.body:
                        target = statement.targets[0] if isinstance(statement, ast.Assign) else None
                        value = statement.value if isinstance(statement, ast.Assign) else None
                        if isinstance(target, ast.Name) and target.id == "code" and isinstance(value, ast.Constant):
                            yield str(path.relative_to(ROOT)), node.name, statement.lineno, str(value.value), "default"


def test_every_code_raised_or_defaulted_is_declared_by_its_class() -> None:
    by_name = {cls.__name__: cls for cls in CLASSES}
    undeclared = [
        f"{file}:{line} {name}: {code} ({kind})"
        for file, name, line, code, kind in raised_codes()
        if code not in codes_of(by_name[name]) and by_name[name] not in ABSTRACT
    ]
    assert undeclared == []


@pytest.mark.parametrize("cls", [c for c in CLASSES if c not in ABSTRACT], ids=lambda c: c.__name__)
def test_every_error_class_has_a_status_of_its_own_branch(cls: ErrorClass) -> None:
    branch = next((base for base in cls.__mro__ if base in STATUS_BY_CLASS), None)
    assert branch is not None or cls is service.HttpRefusal, f"{cls.__name__} falls back to 500"


def documented() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for match in ROW.finditer(DOC):
        found.setdefault(match["code"], set()).add(match["status"])
    return found


def test_every_declared_code_is_documented_with_the_status_the_api_answers() -> None:
    rows = documented()
    expected: dict[str, set[str]] = {}
    for cls in CLASSES:
        if cls not in ABSTRACT:
            for code in codes_of(cls):
                expected.setdefault(code, set()).add(class_status(cls))
    missing = sorted(code for code in expected if code not in rows)
    wrong = sorted(
        f"{code}: documented {rows[code]}, answered {expected[code]}"
        for code in expected
        if code in rows and rows[code] != expected[code]
    )
    assert (missing, wrong) == ([], [])
    assert sorted(set(rows) - set(expected)) == [], "documented codes nothing raises"

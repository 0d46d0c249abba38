"""Errors of the policy language.

Hierarchy::

    PolicyError                      base of everything raised by ``policy``
    ├── PolicyInvalid                one or more located problems (``.issues``)
    │                                raised by loading and validation, never first-only
    └── ExpressionError              a condition that does not parse or type-check;
                                     carries the column inside the expression text

Every problem is an :class:`Issue` with a stable ``code`` (snake_case, documented in
the README), a message a credit manager understands, the document ``path``
(``limits.per_grade.BBB.pct``) and the ``file:line:col`` where it was written. Its
``severity`` is ``error`` (the policy is refused) or ``warning`` (valid, but probably not what
was meant: the policy loads, and the warning travels with it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ERROR", "WARNING", "ExpressionError", "Issue", "PolicyError", "PolicyInvalid", "format_path"]

ERROR = "error"
WARNING = "warning"


def format_path(path: tuple[str | int, ...]) -> str:
    """Render a document path the way a credit manager reads it: ``a.b[2].c``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "<document>"


@dataclass(frozen=True, order=True)
class Issue:
    """One located problem in a policy file."""

    file: str
    line: int
    column: int
    path: tuple[str | int, ...] = field(compare=False)
    message: str = field(compare=False)
    code: str = field(compare=False)
    severity: str = field(default=ERROR, compare=False)

    @property
    def path_text(self) -> str:
        return format_path(self.path)

    def __str__(self) -> str:
        label = "warning: " if self.severity == WARNING else ""
        return f"{self.file}:{self.line}:{self.column} {self.path_text}: {label}{self.message} [{self.code}]"

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path_text,
        }


class PolicyError(Exception):
    """Base of every error raised by the policy package."""

    code = "policy_error"


class PolicyInvalid(PolicyError):
    """A policy failed to load or validate; ``issues`` holds every problem found."""

    code = "policy_invalid"

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = sorted(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


class ExpressionError(PolicyError):
    """A condition expression is malformed or refers to something unknown."""

    def __init__(self, message: str, column: int, code: str = "condition_syntax") -> None:
        self.message = message
        self.column = column  # 1-based, inside the expression text
        self.code = code
        super().__init__(f"column {column}: {message}")

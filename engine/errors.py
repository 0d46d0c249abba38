"""Errors of the engine.

Hierarchy::

    EngineError                     base of everything raised by ``engine``; has ``code``
    ├── CompileError                a validated policy could not be compiled (``issues``)
    ├── InputError                  a decision input the engine cannot evaluate
    │                               (``code``, ``field``: e.g. value_out_of_range)
    ├── RulesEngineError            durable-rules failed; the adapter translated its bare
    │                               number into a code and names the rule/ruleset
    ├── CapacityError               a policy exceeds what durable-rules can hold safely
    │                               (rules per node, properties per fact)
    └── PortfolioInvalid            a portfolio folder breaks the data contract; ``problems``
                                    lists each one (file, row, column, code), ``total`` counts
                                    them all when the list is capped

Only ``api`` maps these codes to HTTP statuses.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CapacityError",
    "CompileError",
    "EngineError",
    "InputError",
    "PortfolioInvalid",
    "PortfolioProblem",
    "RulesEngineError",
]


class EngineError(Exception):
    """Base of every error raised by the engine."""

    code = "engine_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class CompileError(EngineError):
    """A policy could not be compiled into rulesets; ``issues`` lists every problem."""

    code = "compile_error"

    def __init__(self, issues: list[str], *, code: str | None = None) -> None:
        self.issues = issues
        super().__init__("; ".join(issues), code=code)


class InputError(EngineError):
    """An input the engine refuses, naming the field (a dotted path) and why."""

    code = "invalid_input"

    def __init__(self, message: str, *, field: str, code: str | None = None) -> None:
        self.field = field
        super().__init__(f"{field}: {message}", code=code)


class RulesEngineError(EngineError):
    """durable-rules reported an error; translated with the ruleset and, when known, the rule."""

    code = "rules_engine_error"

    def __init__(self, message: str, *, ruleset: str, rule: str | None = None, code: str | None = None) -> None:
        self.ruleset = ruleset
        self.rule = rule
        super().__init__(message, code=code)


class CapacityError(EngineError):
    """A policy is larger than durable-rules can safely hold (it would hang or crash)."""

    code = "policy_too_large"


@dataclass(frozen=True)
class PortfolioProblem:
    """One problem in a portfolio file, located so that an analyst can open the file and fix it.

    ``row`` is the 1-based number of the data row as a person counts them, the header row not
    counted (in a CSV file without line breaks inside quoted values it is on line ``row + 1``);
    ``None`` for a problem of the whole file or column. ``column`` is the column's name in the
    file, ``None`` for a problem of the whole file.
    """

    code: str
    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" row {self.row}"
        if self.column is not None:
            where += f" column {self.column}"
        return f"{where}: {self.message} [{self.code}]"


class PortfolioInvalid(EngineError):
    """A portfolio whose files break the data contract: every problem found, in one error.

    Reading goes on after the first problem so that an analyst fixes the files in one pass;
    ``problems`` holds the first ones in file, row and column order (capped, a real file with a
    systematic error would otherwise produce millions), ``total`` counts them all.
    """

    code = "portfolio_invalid"

    def __init__(self, problems: tuple[PortfolioProblem, ...], *, total: int) -> None:
        self.problems = problems
        self.total = total
        lines = [str(p) for p in problems]
        if total > len(problems):
            lines.append(f"... and {total - len(problems)} more problems")
        noun = "problem" if total == 1 else "problems"
        super().__init__(f"the portfolio has {total} {noun}:\n" + "\n".join(lines))

"""Errors of the engine.

Hierarchy::

    EngineError                     base of everything raised by ``engine``; has ``code``
    ├── CompileError                a validated policy could not be compiled; ``issues`` locates
    │   │                           every problem (file:line:col, rule, code) like policy issues
    │   └── CapacityError           a policy exceeds what durable-rules can hold safely
    │                               (rules per node, properties per fact, nesting) or what one
    │                               policy may expand to in it (memory never returned)
    ├── ConditionError              a condition tree no evaluator can compile (a compiler defect:
    │                               validation admits none); the caller locates it in a CompileError
    ├── InputInvalid                a decision input does not fit its request model; ``errors``
    │                               holds one ``{pointer, message, code}`` per bad field
    ├── InputError                  a decision input the engine cannot evaluate
    │                               (``code``, ``field``: e.g. value_out_of_range)
    ├── FrameError                  a frame given to the vectorised evaluator breaks the
    │                               input contract (engine.vectorised.frames; code frame_schema)
    ├── RulesEngineError            durable-rules failed while deciding; the adapter translated
    │                               its bare number into a code and names the ruleset and rule
    ├── PortfolioInvalid            a portfolio folder breaks the data contract; ``problems``
    │                               lists each one (file, row, column, code), ``total`` counts
    │                               them all when the list is capped
    └── AssumptionsInvalid          a simulation's assumptions file is wrong; ``issues`` locates
                                    every problem (file:line:col, path, code) like policy issues

Every class has a default ``code``; ``CODES`` lists every code its instances may carry, so the
API can prove each has an HTTP status and a documented entry. Only ``api`` maps codes to statuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from policy.errors import Issue
from policy.terms import TERMS_PROBLEM_CODES

__all__ = [
    "AssumptionsInvalid",
    "CapacityError",
    "CompileError",
    "ConditionError",
    "FrameError",
    "EngineError",
    "InputError",
    "InputInvalid",
    "PortfolioInvalid",
    "PortfolioProblem",
    "RulesEngineError",
]


class EngineError(Exception):
    """Base of every error raised by the engine."""

    code = "engine_error"
    CODES: ClassVar[tuple[str, ...]] = ("engine_error", "grade_band_defect")

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class CompileError(EngineError):
    """A policy could not be compiled; ``issues`` locates every problem (never first-only)."""

    code = "compile_error"
    CODES: ClassVar[tuple[str, ...]] = (
        "compile_error",
        "ruleset_conflict",
        "duplicate_rule_id",
        "field_type_conflict",
        # A condition or terms text that validation refuses first (the policy language's own codes):
        "condition_syntax",
        "condition_type",
        "condition_precision",
        "condition_value",
        "unknown_field",
        "unknown_grade",
        "arith_not_hoisted",
        "terms_syntax",
    )

    def __init__(self, issues: Sequence[Issue]) -> None:
        if not issues:
            raise ValueError("a CompileError needs at least one issue")
        self.issues = tuple(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues), code=self.issues[0].code)


class CapacityError(CompileError):
    """A policy is larger than durable-rules can safely hold (it would hang or crash, or hold too much memory)."""

    code = "policy_too_large"
    CODES: ClassVar[tuple[str, ...]] = ("policy_too_large", "condition_too_complex", "expansion_too_large")


class ConditionError(EngineError):
    """A condition tree that cannot be evaluated (arithmetic not hoisted, a comparison of two literals)."""

    code = "condition_type"
    CODES: ClassVar[tuple[str, ...]] = ("condition_type", "arith_not_hoisted", "unknown_field")


class InputInvalid(EngineError):
    """A decision input that does not fit its model; ``errors`` names each bad field by JSON pointer."""

    code = "invalid_request"
    CODES: ClassVar[tuple[str, ...]] = ("invalid_request",)

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.get('pointer') or e.get('parameter') or '/'}: {e['message']}" for e in errors))


class InputError(EngineError):
    """An input the engine refuses, naming the field (a dotted path) and why."""

    code = "invalid_input"
    CODES: ClassVar[tuple[str, ...]] = (
        "invalid_input",
        "value_type",
        "value_not_finite",
        "value_out_of_range",
        "value_precision",
        "value_too_long",
        "currency_mismatch",
        "unknown_grade",
        "unknown_segment",
        "unknown_decision_kind",
        "terms_syntax",
        "amount_out_of_range",
        "date_out_of_range",
        "as_of_before_invoice",
        "payment_before_invoice",
        "payment_after_as_of",
        *TERMS_PROBLEM_CODES,
        # Frames handed to the portfolio functions that break what read_portfolio guarantees:
        "due_dates_length",
        "due_date_missing",
        "due_before_invoice",
        "duplicate_id",
        "unknown_order",
        "order_customer_mismatch",
        "invoice_before_order",
    )

    def __init__(self, message: str, *, field: str, code: str | None = None) -> None:
        self.field = field
        super().__init__(f"{field}: {message}", code=code)


class FrameError(EngineError):
    """A frame given to the vectorised evaluator whose columns break the input contract (wrong type,
    a required column missing): the frame is refused as a whole, where a bad row is refused alone."""

    code = "frame_schema"
    CODES: ClassVar[tuple[str, ...]] = ("frame_schema",)


class RulesEngineError(EngineError):
    """durable-rules reported an error; translated with the ruleset and, when known, the rule."""

    code = "rules_engine_error"
    CODES: ClassVar[tuple[str, ...]] = ("rules_engine_error", "rules_engine_capacity", "rules_engine_unavailable")

    def __init__(self, message: str, *, ruleset: str, rule: str | None = None, code: str | None = None) -> None:
        self.ruleset = ruleset
        self.rule = rule
        super().__init__(message, code=code)


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
    CODES: ClassVar[tuple[str, ...]] = ("portfolio_invalid",)

    def __init__(self, problems: tuple[PortfolioProblem, ...], *, total: int) -> None:
        self.problems = problems
        self.total = total
        lines = [str(p) for p in problems]
        if total > len(problems):
            lines.append(f"... and {total - len(problems)} more problems")
        noun = "problem" if total == 1 else "problems"
        super().__init__(f"the portfolio has {total} {noun}:\n" + "\n".join(lines))


class AssumptionsInvalid(EngineError):
    """A simulation's assumptions file with mistakes; ``issues`` holds every one, located."""

    code = "assumptions_invalid"
    CODES: ClassVar[tuple[str, ...]] = ("assumptions_invalid",)

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = tuple(issues)
        count = len(self.issues)
        lines = "\n".join(str(issue) for issue in self.issues)
        super().__init__(f"the assumptions have {count} problem{'s' * (count != 1)}:\n{lines}")

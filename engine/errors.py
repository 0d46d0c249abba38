"""Errors of the engine.

Hierarchy::

    EngineError                     base of everything raised by ``engine``; has ``code``
    ├── CompileError                a validated policy could not be compiled (``issues``)
    ├── InputError                  a decision input the engine cannot evaluate
    │                               (``code``, ``field``: e.g. value_out_of_range)
    ├── FrameError                  a frame given to the vectorised evaluator breaks the
    │                               input contract (engine.vectorised.frames; frame_schema)
    ├── RulesEngineError            durable-rules failed; the adapter translated its bare
    │                               number into a code and names the rule/ruleset
    └── CapacityError               a policy exceeds what durable-rules can hold safely
                                    (rules per node, properties per fact)

Only ``api`` maps these codes to HTTP statuses.
"""

from __future__ import annotations

__all__ = ["CapacityError", "CompileError", "EngineError", "InputError", "RulesEngineError"]


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

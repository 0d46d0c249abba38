"""Policy test cases as data: ``input → expected output (subset)`` files beside a policy.

A cases file (``standard.cases.yaml``)::

    policy: standard.yaml          # relative to the cases file
    cases:
      - id: day-15-earns-2-percent
        kind: settlement
        input: {...}               # the decision's input, as the API takes it
        expect: {discount_rate: "0.0200", amount_due: "0.00"}
      - id: order-in-dollars
        kind: order
        input: {...}
        expect_error: {code: currency_mismatch}

``expect`` is a subset: every key given must be in the output with an equal value (numbers
compare as decimals, so ``0.02`` matches ``"0.0200"``); lists must have the same length and
match element by element. Each outcome carries the elements of the policy its decision exercised
(:mod:`engine.coverage`: factor bands and ratings, rules, grade bands, limit methods, caps,
discount tiers, ladder steps).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from engine.coverage import exercised_by
from engine.decide import decide
from engine.errors import EngineError
from engine.ir import CompiledPolicy
from policy.errors import Issue, PolicyInvalid
from policy.loader import load_document

__all__ = [
    "CaseOutcome",
    "CasesFile",
    "load_cases",
    "run_cases",
    "subset_mismatches",
]


class ExpectedError(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1, max_length=120)
    kind: Literal["assess", "order", "settlement", "collection"]
    note: str | None = None
    input: dict[str, Any]
    expect: dict[str, Any] | None = None
    expect_error: ExpectedError | None = None


class CasesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    policy: str
    cases: list[Case] = Field(min_length=1)
    _lines: dict[int, int] = PrivateAttr(default_factory=dict)  # case index → line in the file

    @property
    def lines(self) -> dict[int, int]:
        return self._lines


@dataclass(frozen=True)
class CaseOutcome:
    case_id: str
    kind: str
    line: int
    passed: bool
    mismatches: tuple[str, ...]
    covered: frozenset[str] = frozenset()


def _plain(value: Any) -> Any:
    """YAML values as JSON would carry them (dates → ISO text, Decimal → text)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def load_cases(text: str, file: str) -> CasesFile:
    """Load a cases file; problems come back as located issues (PolicyInvalid)."""
    doc = load_document(text, file)
    try:
        data = _plain(doc.data)
        model = CasesFile.model_validate(data)
    except ValidationError as exc:
        issues = []
        for e in exc.errors(include_url=False):
            loc = tuple(e["loc"])
            line, col = doc.marks.get(loc, doc.marks.get(loc[:-1], (1, 1)))
            issues.append(Issue(file, line, col, loc, e["msg"], f"case_{e['type']}"))
        raise PolicyInvalid(issues) from None
    # Where each case was written, for failure reports; not a key of the file (unknown keys are errors).
    model._lines = {i: doc.marks.get(("cases", i), (1, 1))[0] for i in range(len(model.cases))}
    return model


def _as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def subset_mismatches(expected: Any, actual: Any, path: str = "") -> list[str]:
    """What in ``expected`` the ``actual`` output does not match (empty: it matches)."""
    where = path or "output"
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {actual!r}"]
        out: list[str] = []
        for key, value in expected.items():
            if key not in actual:
                out.append(f"{path + '.' if path else ''}{key}: missing from the output")
            else:
                out += subset_mismatches(value, actual[key], f"{path + '.' if path else ''}{key}")
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: expected {expected!r}, got {actual!r}"]
        out = []
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            out += subset_mismatches(e, a, f"{where}[{i}]")
        return out
    if expected == actual:
        return []
    de, da = _as_decimal(expected), _as_decimal(actual)
    if de is not None and da is not None and de == da and not isinstance(actual, bool):
        return []
    return [f"{where}: expected {expected!r}, got {actual!r}"]


def run_cases(compiled: CompiledPolicy, cases: CasesFile) -> list[CaseOutcome]:
    """Run every case; a case passes when its output matches ``expect`` or it fails with ``expect_error``."""
    outcomes: list[CaseOutcome] = []
    for i, case in enumerate(cases.cases):
        line = cases.lines.get(i, 1)
        try:
            decision = decide(compiled, case.kind, case.input)
        except EngineError as exc:
            if case.expect_error is not None and exc.code == case.expect_error.code:
                outcomes.append(CaseOutcome(case.id, case.kind, line, True, ()))
            else:
                want = f"error {case.expect_error.code}" if case.expect_error else "a decision"
                outcomes.append(
                    CaseOutcome(case.id, case.kind, line, False, (f"expected {want}, got {exc.code}: {exc}",))
                )
            continue
        if case.expect_error is not None:
            msg = f"expected error {case.expect_error.code}, got a decision"
            outcomes.append(CaseOutcome(case.id, case.kind, line, False, (msg,)))
            continue
        output = decision.output()
        mismatches = subset_mismatches(case.expect or {}, output)
        covered = exercised_by(compiled, case.kind, output, decision.trace)
        outcomes.append(CaseOutcome(case.id, case.kind, line, not mismatches, tuple(mismatches), covered))
    return outcomes

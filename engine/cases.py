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
match element by element. Running the cases also measures *coverage*: which rules, grade bands,
limit methods, caps, discount tiers and ladder steps of the policy some case exercised.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from engine.decide import decide
from engine.errors import EngineError
from engine.ir import CompiledPolicy
from policy.errors import Issue, PolicyInvalid
from policy.loader import load_document

__all__ = [
    "CaseOutcome",
    "CasesFile",
    "Coverage",
    "coverage_of",
    "coverage_universe",
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


def _covered(kind: str, output: dict[str, Any], trace: dict[str, Any]) -> set[str]:
    """The elements of the policy a decision exercised."""
    got = {r["id"] for r in trace.get("rules_fired", [])}
    limit = trace.get("limit")
    if isinstance(limit, dict) and "methods" in limit:
        got |= {f"limit.{limit['grade']}.{m['method']}" for m in limit["methods"]}
        if limit.get("bound_by") and limit["bound_by"] != "base":
            got.add(f"cap.{limit['bound_by']}")
    if kind == "settlement":
        for line in output.get("payments", []):
            if Decimal(line["discount_rate"]) > 0:
                got.add(f"tier.{output['terms']['text']}.{line['discount_rate']}")
    if kind == "collection" and output.get("next_step"):
        got.add(f"ladder.{output['segment']}.{output['next_step']['step']}")
    return got


def coverage_universe(compiled: CompiledPolicy) -> set[str]:
    """Every element a complete set of cases should exercise."""
    universe = {r.id for kind in ("grades", "standards", "order", "collection") for r in compiled.tables[kind].rules}
    universe.add("order_rules.default")
    minimum = compiled.standards.min_grade
    last = compiled.grade(minimum).rank if minimum is not None else len(compiled.grades) - 1
    for g in compiled.grades[: last + 1]:  # grades below the standard never get a limit calculated
        universe |= {f"limit.{g.grade}.{m.method}" for m in compiled.limits[g.grade].methods}
    universe |= {"cap.net_assets", "cap.working_capital", "cap.absolute"}
    for terms in compiled.terms.values():
        universe |= {f"tier.{terms.text}.{format(t.rate.quantize(Decimal('0.0001')), 'f')}" for t in terms.tiers}
    for lad in compiled.ladders.values():
        universe |= {f"ladder.{lad.segment}.{step}" for step, _ in lad.steps}
    return universe


@dataclass
class Coverage:
    universe: set[str]
    covered: set[str] = field(default_factory=set)

    @property
    def missing(self) -> list[str]:
        return sorted(self.universe - self.covered)


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
        covered = frozenset(_covered(case.kind, output, decision.trace))
        outcomes.append(CaseOutcome(case.id, case.kind, line, not mismatches, tuple(mismatches), covered))
    return outcomes


def coverage_of(compiled: CompiledPolicy, outcomes: Iterable[CaseOutcome]) -> Coverage:
    cov = Coverage(coverage_universe(compiled))
    for o in outcomes:
        cov.covered |= set(o.covered) & cov.universe
    return cov

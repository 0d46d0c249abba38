"""The compiled form of a policy: frozen dataclasses the evaluator works on (it never sees YAML).

Money and rates are ``Decimal``; every element that can fire or bind in a decision carries its
``SourceRef`` so a trace can point an auditor to the line of the policy file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from types import MappingProxyType
from typing import Any, Literal, Protocol

from policy.errors import Issue
from policy.expressions import Condition, Value

__all__ = [
    "BandIR",
    "BandScoring",
    "CapsIR",
    "CompiledPolicy",
    "ComputedField",
    "RuleSpec",
    "RuleTable",
    "Fact",
    "FactValue",
    "Matcher",
    "FactorIR",
    "GradeIR",
    "GradeLimitIR",
    "LadderIR",
    "LimitMethodIR",
    "OrderRuleIR",
    "OrderRulesIR",
    "PenaltyIR",
    "PolicyMetaIR",
    "RatingScoring",
    "RulesetSet",
    "SourceRef",
    "StandardValueScoring",
    "StandardsIR",
    "StandardsRuleIR",
    "TermsIR",
    "TierIR",
]


@dataclass(frozen=True)
class SourceRef:
    """Where a policy element was written; traces cite ``file:line``."""

    file: str
    line: int
    column: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"

    def issue(self, path: tuple[str | int, ...], message: str, code: str) -> Issue:
        """A problem located here, in the form policy validation reports problems."""
        return Issue(self.file, self.line, self.column, path, message, code)


@dataclass(frozen=True)
class PolicyMetaIR:
    policy_id: str
    version: str
    sha256: str
    effective_from: dt.date
    effective_to: dt.date | None
    currency: str
    source_file: str


# --- scorecard ------------------------------------------------------------------------------
@dataclass(frozen=True)
class StandardValueScoring:
    higher_is_better: bool
    standard: Decimal
    alpha: Decimal


@dataclass(frozen=True)
class BandIR:
    min: Decimal | None
    max: Decimal | None
    points: Decimal


@dataclass(frozen=True)
class BandScoring:
    bands: tuple[BandIR, ...]
    outside: Decimal


@dataclass(frozen=True)
class RatingScoring:
    ratings: tuple[tuple[str, Decimal], ...]
    unknown: Decimal


@dataclass(frozen=True)
class FactorIR:
    id: str
    group: str
    input: str  # a field path of the assess context
    weight: Decimal  # the weights of a policy sum to 100
    missing: Decimal
    scoring: StandardValueScoring | BandScoring | RatingScoring
    source: SourceRef


@dataclass(frozen=True)
class GradeIR:
    grade: str
    rank: int  # 0 is the best grade
    min_score: Decimal
    max_score: Decimal  # exclusive, except for the top band which includes 100
    source: SourceRef


# --- standards ------------------------------------------------------------------------------
@dataclass(frozen=True)
class StandardsRuleIR:
    id: str  # e.g. "standards.min_grade" or "standards.rules.recent_defaults"
    condition: Condition  # true means the customer does NOT meet the standards
    reason: str
    source: SourceRef


@dataclass(frozen=True)
class StandardsIR:
    rules: tuple[StandardsRuleIR, ...]
    min_grade: str | None
    blacklist: frozenset[str]


# --- limits ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class LimitMethodIR:
    method: Literal["fixed", "pct_working_capital", "pct_liquidation_value", "pct_net_assets"]
    amount: Decimal | None = None
    pct: Decimal | None = None


@dataclass(frozen=True)
class CapsIR:
    net_assets: bool
    working_capital: bool
    absolute: Decimal | None


@dataclass(frozen=True)
class GradeLimitIR:
    grade: str
    methods: tuple[LimitMethodIR, ...]  # one, or several of which the minimum is taken
    caps: CapsIR
    source: SourceRef


# --- terms ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class TierIR:
    rate: Decimal
    days: int


@dataclass(frozen=True)
class PenaltyIR:
    rate: Decimal
    per: Literal["day", "year"]
    basis: int
    grace_days: int

    @property
    def daily_rate(self) -> Decimal:
        return self.rate if self.per == "day" else self.rate / self.basis


@dataclass(frozen=True)
class TermsIR:
    text: str  # canonical: "3/10, 2/20, n/30"
    tiers: tuple[TierIR, ...]
    credit_days: int
    cash_in_advance: bool
    penalty: PenaltyIR
    source: SourceRef | None  # None for terms given as text in a request


# --- order checks ---------------------------------------------------------------------------
@dataclass(frozen=True)
class OrderRuleIR:
    id: str
    condition: Condition
    outcome: Literal["approve", "hold", "reject"]
    reason: str
    source: SourceRef


@dataclass(frozen=True)
class OrderRulesIR:
    combine: Literal["most_severe", "first_match"]
    default_outcome: Literal["approve", "hold", "reject"]
    default_reason: str
    default_source: SourceRef
    rules: tuple[OrderRuleIR, ...]
    release_amount_pct: Decimal
    release_days: int

    @cached_property
    def by_id(self) -> Mapping[str, OrderRuleIR]:
        return MappingProxyType({r.id: r for r in self.rules})


# --- collection -----------------------------------------------------------------------------
@dataclass(frozen=True)
class LadderIR:
    segment: str
    steps: tuple[tuple[str, int], ...]  # (step, days overdue), in ladder order
    auxiliary: tuple[tuple[str, int], ...]  # (action, days overdue)
    skip_steps: bool
    min_days_between_steps: int
    pause_when_disputed: bool
    source: SourceRef
    # Where each part was written, by "step.<step>", "aux.<action>" or the setting's name.
    parts: tuple[tuple[str, SourceRef], ...] = ()

    def source_of(self, part: str) -> SourceRef:
        """Where ``part`` of the ladder was written (the segment's line for a part the file leaves out)."""
        return dict(self.parts).get(part, self.source)


FactValue = Decimal | str | bool | None  # None: the field is absent
Fact = Mapping[str, FactValue]  # keys are dotted field paths


class Matcher(Protocol):
    """Something that tells, for each fact, which rules hold: a durable ruleset or plain Python."""

    @property
    def name(self) -> str: ...

    def match(self, facts: Sequence[Fact]) -> list[tuple[str, ...]]: ...


@dataclass(frozen=True)
class RuleSpec:
    """One rule as data: its id, its condition (no arithmetic left in it) and where it was written."""

    id: str
    condition: Condition
    source: SourceRef


@dataclass(frozen=True)
class ComputedField:
    """A value a condition computes: ``path`` holds ``left - right`` so the rule compares it with 0."""

    path: str
    expression: Value


@dataclass(frozen=True)
class RuleTable:
    """The rules of one matcher and the computed fields their facts need."""

    rules: tuple[RuleSpec, ...]
    computed: tuple[ComputedField, ...]

    @cached_property
    def sources(self) -> Mapping[str, str]:
        """Each rule's ``file:line`` by rule id, as traces cite it (rendered once per compiled policy)."""
        return MappingProxyType({rule.id: str(rule.source) for rule in self.rules})


@dataclass(frozen=True)
class RulesetSet:
    """The matchers of one compiled policy, one per question the engine asks of rules."""

    grades: Matcher  # which grade band a score falls in
    standards: Matcher  # which credit standards a customer fails
    order: Matcher  # which order rules hold
    collection: Matcher  # which ladder steps and auxiliary actions are due
    settlement: Matcher  # which discount windows a payment falls in


@dataclass(frozen=True, repr=False)
class CompiledPolicy:
    """A policy ready to evaluate: compile once, evaluate many times (mappings are read-only)."""

    meta: PolicyMetaIR
    factors: tuple[FactorIR, ...]
    grades: tuple[GradeIR, ...]  # best first
    standards: StandardsIR
    limits: Mapping[str, GradeLimitIR]
    portfolio_total: Decimal
    rounding_step: Decimal
    rounding_mode: Literal["down", "nearest"]
    terms: Mapping[str, TermsIR]
    default_penalty: PenaltyIR  # terms.penalty of the policy: applies to terms given as text in a request
    review_days: Mapping[str, int]
    order_rules: OrderRulesIR
    ladders: Mapping[str, LadderIR]
    tables: Mapping[str, RuleTable]  # grades, standards, order, collection, settlement
    rulesets: RulesetSet

    def __repr__(self) -> str:
        m = self.meta
        return f"CompiledPolicy({m.policy_id} {m.version} sha256={m.sha256[:12]} matchers={self.rulesets.order.name})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))  # keeps test-failure reports (hypothesis, IPython) short

    def grade(self, name: str) -> GradeIR:
        for g in self.grades:
            if g.grade == name:
                return g
        raise KeyError(name)

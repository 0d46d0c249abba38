"""The ways to match rules: durable-rules (the engine of record) and its plain-Python twins.

All take the same :class:`~engine.ir.RuleSpec` tables and must answer identically; differential
property tests hold them to it (``tests/property/test_conditions_differential.py`` on random rule
tables, ``tests/property/test_twin_differential.py`` on whole generated policies).

- ``durable_matcher``: a durable-rules ruleset, registered once per process and never freed;
  only versions that decide live requests get one (``api.service.registry``).
- ``twin_matcher``: what durable-rules would hold, matched in Python. It plans the ruleset as
  ``durable_matcher`` would (the same compile and capacity errors) and refuses the same inputs
  (``FactCheck``: numbers beyond 10^14, texts over 1,000 characters), but registers nothing:
  drafts, replays, test cases and one-off decisions use it.
- ``python_matcher``: closures over ``Decimal`` values and nothing else, the batch path of the
  simulation (~100x faster than durable-rules; it compares numbers of any size).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from engine.conditions import compile_predicate
from engine.errors import CompileError, ConditionError
from engine.ir import Fact, Matcher, RuleSpec
from engine.rules_adapter import FactCheck, build_ruleset, plan_ruleset
from policy.errors import Issue

__all__ = ["MatcherFactory", "PythonMatcher", "TwinMatcher", "durable_matcher", "python_matcher", "twin_matcher"]

MatcherFactory = Callable[[str, Sequence[RuleSpec]], Matcher]
Predicates = tuple[tuple[str, Callable[[Fact], bool]], ...]


def durable_matcher(name: str, rules: Sequence[RuleSpec]) -> Matcher:
    """A durable-rules ruleset (registered once per process under ``name``)."""
    return build_ruleset(name, rules)


@dataclass(frozen=True)
class PythonMatcher:
    """The same rules as closures over ``Decimal`` values: ~100x faster, no rules engine."""

    name: str
    predicates: Predicates

    def match(self, facts: Sequence[Fact]) -> list[tuple[str, ...]]:
        return [tuple(rid for rid, holds in self.predicates if holds(fact)) for fact in facts]


@dataclass(frozen=True)
class TwinMatcher:
    """A durable ruleset's plain-Python twin: its input checks, then the closures; no engine at all."""

    name: str
    predicates: Predicates
    check: FactCheck

    def match(self, facts: Sequence[Fact]) -> list[tuple[str, ...]]:
        for fact in facts:  # every fact checked before any is matched, as Ruleset.match does
            self.check(fact)
        return [tuple(rid for rid, holds in self.predicates if holds(fact)) for fact in facts]


def _predicates(rules: Sequence[RuleSpec]) -> Predicates:
    """One closure per rule; every rule that cannot be compiled is a located issue."""
    predicates: list[tuple[str, Callable[[Fact], bool]]] = []
    issues: list[Issue] = []
    for rule in rules:
        try:
            predicates.append((rule.id, compile_predicate(rule.condition)))
        except ConditionError as error:
            issues.append(rule.source.issue((rule.id,), f"rule '{rule.id}': {error.message}", error.code))
    if issues:
        raise CompileError(issues)
    return tuple(predicates)


def python_matcher(name: str, rules: Sequence[RuleSpec]) -> Matcher:
    """Plain-Python matching of the same rule table; every rule it cannot compile is a located issue."""
    return PythonMatcher(name, _predicates(rules))


def twin_matcher(name: str, rules: Sequence[RuleSpec]) -> Matcher:
    """The plain-Python twin of ``durable_matcher(name, rules)``: refuses what it refuses, registers nothing."""
    plan = plan_ruleset(name, rules)
    return TwinMatcher(name, _predicates(rules), plan.fact_check())

"""What of a policy its test cases exercised: every element a case can go through, named and located.

The elements of a policy, each with the ``file:line`` where it is written:

* each scorecard factor's ways to score: every band of a ``bands`` factor, every rating of a
  ``rating`` factor, both sides of the standard of a ``standard_value`` factor, and its
  ``missing`` points (the field absent from the credit file);
* each grade band; each credit standard (minimum grade, expected DSO and bad-debt rate,
  blacklist, every rule);
* each limit method of every grade that gets credit, and each cap switched on somewhere binding;
* each discount tier of the terms;
* each order rule firing, and the order default (no rule fired);
* each collection step and auxiliary action falling due, and each step chosen as the next one.

A decision exercises the elements its output and trace show it went through
(:func:`exercised_by`); :func:`coverage_of` sets them against all of the policy's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from engine.ir import BandIR, BandScoring, CompiledPolicy, FactorIR, RatingScoring, SourceRef, StandardValueScoring
from policy.errors import format_path
from policy.validate import LoadedPolicy

__all__ = ["Coverage", "PolicyElement", "coverage_of", "exercised_by", "policy_elements"]

DocPath = tuple[str | int, ...]
_BASIS = {
    "pct_working_capital": "working capital",
    "pct_liquidation_value": "liquidation value",
    "pct_net_assets": "net assets",
}


@dataclass(frozen=True)
class PolicyElement:
    """One thing of a policy a test case can exercise."""

    key: str  # its identity, matched against what decisions exercised
    name: str  # how a credit manager reads it: "factor max_days_late: band 1 to under 8 → 90 points"
    path: DocPath  # where in the document
    source: SourceRef

    @property
    def path_text(self) -> str:
        return format_path(self.path)


@dataclass(frozen=True)
class Coverage:
    """The elements of a policy, in file order, and the keys of those some case exercised."""

    elements: tuple[PolicyElement, ...]  # section by section, in the order of the file
    covered: frozenset[str]

    @property
    def total(self) -> int:
        return len(self.elements)

    @property
    def exercised(self) -> int:
        return sum(e.key in self.covered for e in self.elements)

    @property
    def missing(self) -> list[PolicyElement]:
        """The elements no case exercised, in the order of :attr:`elements`."""
        return [e for e in self.elements if e.key not in self.covered]

    @property
    def percent(self) -> Decimal:
        """Exercised share in percent, rounded down to 0.1 (so 99.96 % never shows as 100.0)."""
        if not self.elements:
            return Decimal("100.0")
        return (Decimal(self.exercised) * 100 / self.total).quantize(Decimal("0.1"), ROUND_DOWN)

    def reaches(self, fraction: Decimal) -> bool:
        """Whether at least ``fraction`` (0.95 is 95 %) of the elements were exercised, compared exactly."""
        return Decimal(self.exercised) >= fraction * self.total


def coverage_of(loaded: LoadedPolicy, compiled: CompiledPolicy, exercised: Iterable[Iterable[str]]) -> Coverage:
    """The policy's elements against the keys exercised by each decision of a run of cases."""
    elements = policy_elements(loaded, compiled)
    known = {e.key for e in elements}
    covered = frozenset(key for keys in exercised for key in keys if key in known)
    return Coverage(elements, covered)


# --- the elements of a policy ---------------------------------------------------------------
def _number(value: Decimal) -> str:
    return f"{value.normalize():f}" if value != 0 else "0"


def _percent(fraction: Decimal) -> str:
    return f"{_number(fraction * 100)} %"


def band_text(band: BandIR) -> str:
    """A band as a credit manager says it: ``1 to under 8``, ``under 1``, ``91 or more``."""
    if band.min is None and band.max is None:
        return "any value"
    if band.min is None:
        return f"under {_number(band.max or Decimal(0))}"
    if band.max is None:
        return f"{_number(band.min)} or more"
    return f"{_number(band.min)} to under {_number(band.max)}"


def _tier_key(text: str, rate: Decimal) -> str:
    return f"tier.{text}.{format(rate.quantize(Decimal('0.0001')), 'f')}"


class _Elements:
    """Collects elements, locating each in the policy file."""

    def __init__(self, loaded: LoadedPolicy) -> None:
        self.loaded = loaded
        self.items: list[PolicyElement] = []

    def add(self, key: str, name: str, path: DocPath) -> None:
        line, column = self.loaded.location(path)
        self.items.append(PolicyElement(key, name, path, SourceRef(self.loaded.file, line, column)))


def _factor_elements(out: _Elements, index: int, factor: FactorIR) -> None:
    at: DocPath = ("scorecard", "factors", index)
    who = f"factor {factor.id}"
    sc = factor.scoring
    if isinstance(sc, BandScoring):
        for j, band in enumerate(sc.bands):
            name = f"{who}: band {band_text(band)} → {_number(band.points)} points"
            out.add(f"factor.{factor.id}.band.{j}", name, (*at, "bands", j))
    elif isinstance(sc, RatingScoring):
        written = out.loaded.policy.scorecard.factors[index]
        words = list(getattr(written, "ratings", dict(sc.ratings)))  # as written, not sorted
        points = dict(sc.ratings)
        for word in words:
            name = f"{who}: rating {word} → {_number(points[word])} points"
            out.add(f"factor.{factor.id}.rating.{word}", name, (*at, "ratings", word))
    else:
        good, bad = ("at or above", "below") if sc.higher_is_better else ("at or below", "above")
        standard = _number(sc.standard)
        out.add(f"factor.{factor.id}.meets", f"{who}: {good} the standard {standard} → 100 points", (*at, "standard"))
        name = f"{who}: {bad} the standard {standard} → points deducted (α {_number(sc.alpha)})"
        out.add(f"factor.{factor.id}.short", name, (*at, "standard"))
    name = f"{who}: value missing → {_number(factor.missing)} points"
    out.add(f"factor.{factor.id}.missing", name, (*at, "missing"))


def _standards_elements(out: _Elements, compiled: CompiledPolicy) -> None:
    written = out.loaded.policy.standards
    path: DocPath
    for rule in compiled.standards.rules:
        if rule.id == "standards.blacklist":
            name, path = f"credit standard: blacklist → {rule.reason}", ("standards", "blacklist")
        elif rule.id == "standards.min_grade":
            name, path = (
                f"credit standard: minimum grade {written.min_grade} → {rule.reason}",
                ("standards", "min_grade"),
            )
        elif rule.id == "standards.max_expected_dso_days":
            limit = _number(written.max_expected_dso_days or Decimal(0))
            name = f"credit standard: expected DSO above {limit} days → {rule.reason}"
            path = ("standards", "max_expected_dso_days")
        elif rule.id == "standards.max_expected_bad_debt_rate":
            limit = _percent(written.max_expected_bad_debt_rate or Decimal(0))
            name = f"credit standard: expected bad-debt rate above {limit} → {rule.reason}"
            path = ("standards", "max_expected_bad_debt_rate")
        else:
            rule_id = rule.id.removeprefix("standards.rules.")
            index = next(i for i, r in enumerate(written.rules) if r.id == rule_id)
            name, path = f"credit standard rule {rule_id} → {rule.reason}", ("standards", "rules", index)
        out.add(rule.id, name, path)


def _limit_elements(out: _Elements, compiled: CompiledPolicy) -> None:
    minimum = compiled.standards.min_grade
    last = compiled.grade(minimum).rank if minimum is not None else len(compiled.grades) - 1
    caps_on: set[str] = set()
    for g in compiled.grades[: last + 1]:  # grades below the standard never get a limit calculated
        rule = compiled.limits[g.grade]
        several = len(rule.methods) > 1
        for k, m in enumerate(rule.methods):
            what = f"fixed {_number(m.amount or Decimal(0))}" if m.method == "fixed" else ""
            if m.pct is not None:
                what = f"{_percent(m.pct)} of {_BASIS[m.method]}"
            name = f"limit of {g.grade}: {what}" + (" (the smallest of its methods)" if several else "")
            path: DocPath = ("limits", "per_grade", g.grade, "of", k) if several else ("limits", "per_grade", g.grade)
            out.add(f"limit.{g.grade}.{m.method}", name, path)
        caps_on |= {"net_assets"} if rule.caps.net_assets else set()
        caps_on |= {"working_capital"} if rule.caps.working_capital else set()
        caps_on |= {"absolute"} if rule.caps.absolute is not None else set()
    words = {"net_assets": "net assets", "working_capital": "working capital", "absolute": "the absolute cap"}
    for cap in ("net_assets", "working_capital", "absolute"):  # a cap no grade switches on can never bind
        if cap in caps_on:
            out.add(f"cap.{cap}", f"limit capped by {words[cap]}", ("limits", "caps", cap))


def _terms_elements(out: _Elements, compiled: CompiledPolicy) -> None:
    seen: set[str] = set()
    for grade, terms in compiled.terms.items():
        for tier in terms.tiers:
            key = _tier_key(terms.text, tier.rate)
            if key not in seen:  # grades sharing terms text share its tiers
                seen.add(key)
                name = f"terms {terms.text}: {_percent(tier.rate)} discount within {tier.days} days"
                out.add(key, name, ("terms", "per_grade", grade, "text"))


def _order_elements(out: _Elements, compiled: CompiledPolicy) -> None:
    written = out.loaded.policy.order_rules
    for index, rule in enumerate(compiled.order_rules.rules):
        name = f"order rule {rule.id.removeprefix('order_rules.')} → {rule.outcome} {rule.reason}"
        out.add(rule.id, name, ("order_rules", "rules", index))
    default = written.default
    name = f"order default (no rule fires) → {default.outcome} {default.reason}"
    out.add("order_rules.default", name, ("order_rules", "default"))


def _collection_elements(out: _Elements, compiled: CompiledPolicy) -> None:
    for ladder in compiled.ladders.values():
        at: DocPath = ("collection", "segments", ladder.segment)
        for step, days in ladder.steps:
            agreement = " with an arbitration agreement" if step == "arbitration" else ""
            name = f"collection {ladder.segment}: {step} due from {days} days overdue{agreement}"
            out.add(f"collection.{ladder.segment}.step.{step}", name, (*at, "steps", step))
            name = f"collection {ladder.segment}: {step} chosen as the next step"
            out.add(f"ladder.{ladder.segment}.{step}", name, (*at, "steps", step))
        for action, days in ladder.auxiliary:
            name = f"collection {ladder.segment}: {action} due from {days} days overdue"
            out.add(f"collection.{ladder.segment}.aux.{action}", name, (*at, "auxiliary", action))


def policy_elements(loaded: LoadedPolicy, compiled: CompiledPolicy) -> tuple[PolicyElement, ...]:
    """Every element of the policy a complete set of cases exercises, section by section as the file has them."""
    out = _Elements(loaded)
    for index, factor in enumerate(compiled.factors):
        _factor_elements(out, index, factor)
    for rank, g in enumerate(compiled.grades):
        upper = f"to {_number(g.max_score)}" if rank == 0 else f"to under {_number(g.max_score)}"
        out.add(f"grades.{g.grade}", f"grade {g.grade}: score {_number(g.min_score)} {upper}", ("grades", rank))
    _standards_elements(out, compiled)
    _limit_elements(out, compiled)
    _terms_elements(out, compiled)
    _order_elements(out, compiled)
    _collection_elements(out, compiled)
    # Section by section in the order of the file (a policy may write its sections in any order);
    # inside a section, as written: factor by factor, band by band.
    return tuple(sorted(out.items, key=lambda e: loaded.location(e.path[:1])))


# --- what one decision exercised ------------------------------------------------------------
def _decimal(text: object) -> Decimal | None:
    try:
        return Decimal(str(text))
    except InvalidOperation:
        return None


def _factor_branch(factor: FactorIR, value: object) -> str | None:
    """The key of the way a factor scored the value the trace shows (None: no element scored it)."""
    if value is None:
        return f"factor.{factor.id}.missing"
    sc = factor.scoring
    if isinstance(sc, RatingScoring):
        word = str(value)
        return f"factor.{factor.id}.rating.{word}" if word in dict(sc.ratings) else None
    number = _decimal(value)
    if number is None:
        return None
    if isinstance(sc, BandScoring):
        for j, band in enumerate(sc.bands):
            if (band.min is None or number >= band.min) and (band.max is None or number < band.max):
                return f"factor.{factor.id}.band.{j}"
        return None  # outside every band
    assert isinstance(sc, StandardValueScoring)
    short = sc.standard - number if sc.higher_is_better else number - sc.standard
    return f"factor.{factor.id}.{'short' if short > 0 else 'meets'}"


def _factor_keys(compiled: CompiledPolicy, scores: Sequence[Mapping[str, Any]]) -> set[str]:
    factors = {f.id: f for f in compiled.factors}
    keys = set()
    for score in scores:
        factor = factors.get(str(score.get("id")))
        if factor is not None and (key := _factor_branch(factor, score.get("value"))) is not None:
            keys.add(key)
    return keys


def exercised_by(compiled: CompiledPolicy, kind: str, output: dict[str, Any], trace: dict[str, Any]) -> frozenset[str]:
    """The keys of the elements one decision went through, read from its output and trace."""
    got = {r["id"] for r in trace.get("rules_fired", [])}
    inline = trace.get("inline_assessment")  # an order whose customer came with a credit file
    scores = trace.get("factors") or (inline.get("factors", []) if isinstance(inline, dict) else [])
    got |= _factor_keys(compiled, scores)
    limit = trace.get("limit")
    if isinstance(limit, dict) and "methods" in limit:
        got |= {f"limit.{limit['grade']}.{m['method']}" for m in limit["methods"]}
        if limit.get("bound_by") and limit["bound_by"] != "base":
            got.add(f"cap.{limit['bound_by']}")
    if kind == "settlement":
        for line in output.get("payments", []):
            if Decimal(line["discount_rate"]) > 0:
                got.add(_tier_key(output["terms"]["text"], Decimal(line["discount_rate"])))
    if kind == "collection" and output.get("next_step"):
        got.add(f"ladder.{output['segment']}.{output['next_step']['step']}")
    return frozenset(got)

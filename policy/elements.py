"""A policy as the named things an auditor talks about: factors, grades, limits, terms, rules, ladders.

The diff and the blame of policy versions speak this vocabulary. A policy is a list of
:class:`Element` objects in the policy's own order (the sections as the language orders them,
the items of a section as the file writes them). Each element has

* a **name** that reads like the policy: ``factor on_time_payment``, ``grade BB``, ``limit BB``,
  ``terms BBB``, ``review BB``, ``order rule over_limit``, ``standards rule repeated_defaults``,
  ``collection ordinary``; the sections' own settings are the elements ``limits``, ``terms``,
  ``standards``, ``blacklist``, ``order rules``, ``scorecard`` and ``grades``, and the metadata is
  ``policy``;
* a **path** naming it in the document by ids, never by position: ``limits.per_grade.BB``,
  ``order_rules.rules[over_limit]``, ``scorecard.factors[on_time_payment]``;
* its **aspects**, the things about it that can change one by one (a factor's weight, a ladder's
  ``visit`` step, a rule's condition), each with its canonical value (what it means: equal values
  mean the same policy, see :mod:`policy.versioning`) and its text as a credit manager reads it:
  percentages as percentages (``10 %``), amounts as money (``CNY 2,000,000.00``), terms as terms
  (``2/10, n/30``), conditions as written.

An aspect of a keyed list's order (``ordering``) holds the names in order; the diff compares
only the names both versions have, so adding a rule is one addition, not also a new order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from policy.fields import FieldType, lookup_field
from policy.loader import DocPath
from policy.schema import (
    AUXILIARY_ACTIONS,
    LADDER_STEPS,
    BandedFactor,
    FixedLimit,
    LimitCaps,
    MinOfLimits,
    PctLimit,
    PenaltyInterest,
    Policy,
    RatingFactor,
    StandardValueFactor,
)
from policy.validate import LoadedPolicy
from policy.versioning import Canonical, canonical_form

__all__ = [
    "SECTIONS",
    "Aspect",
    "Element",
    "Found",
    "Source",
    "find",
    "matches_query",
    "names_whole",
    "policy_elements",
]

# The sections in the language's order, with their titles; "policy" is the metadata.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("policy", "Metadata"),
    ("scorecard", "Scorecard"),
    ("grades", "Grades"),
    ("standards", "Credit standards"),
    ("limits", "Limits"),
    ("terms", "Terms"),
    ("review", "Review"),
    ("order_rules", "Order rules"),
    ("collection", "Collection"),
)


@dataclass(frozen=True)
class Source:
    """Where something is written: a file and a 1-based line and column."""

    file: str
    line: int
    column: int

    def to_dict(self) -> dict[str, str | int]:
        return {"file": self.file, "line": self.line, "column": self.column}


@dataclass(frozen=True)
class Aspect:
    """One thing about an element that can change on its own."""

    name: str  # "weight", "visit", "" for the element's value itself
    value: Canonical  # the canonical value: equal values mean the same thing
    text: str  # how it reads: "10 %", "from day 20", "2/10, n/30"
    keys: tuple[tuple[str, ...], ...] = ((),)  # where it is written, below the element
    ordering: bool = False  # value is a list of names whose order is the content
    at: DocPath | None = None  # where to point in the file, below the element, when not at keys[0]
    source: Source | None = None

    def paths(self, element_path: str) -> tuple[str, ...]:
        """The id-paths of the keys this aspect covers."""
        return tuple(".".join((element_path, *key)) for key in self.keys)


@dataclass(frozen=True)
class Element:
    """A named thing of the policy, with its aspects."""

    section: str
    name: str
    path: str
    aspects: tuple[Aspect, ...]
    summary: str  # one line describing the whole element, for when it is added or removed
    value: Canonical  # the element's canonical form
    source: Source | None = None

    def aspect(self, name: str) -> Aspect | None:
        return next((a for a in self.aspects if a.name == name), None)

    def answers_to(self, query: str) -> bool:
        """True when ``query`` names this element (or one of its aspects), by name or by path."""
        names = [self.name, *(f"{self.name} {a.name}" for a in self.aspects if a.name)]
        paths = [self.path, *(p for a in self.aspects for p in a.paths(self.path))]
        return matches_query(query, names, paths)


def _normal(query: str) -> str:
    return " ".join(query.split())


def matches_query(query: str, names: Sequence[str], paths: Sequence[str]) -> bool:
    """A query names a thing when it is one of its names, or a path at, above or inside one of its paths."""
    wanted = _normal(query)
    if wanted in names:
        return True
    for path in paths:
        if wanted == path or any(path.startswith(wanted + sep) or wanted.startswith(path + sep) for sep in ".["):
            return True
    return False


def names_whole(query: str, name: str, path: str) -> bool:
    """A query names a whole element (not only a part of it): its name, its path, or a path above it."""
    wanted = _normal(query)
    return wanted in (name, path) or any(path.startswith(wanted + sep) for sep in ".[")


@dataclass(frozen=True)
class Found:
    """What a query names in a policy: an element, or one aspect of it."""

    name: str  # "terms BBB", "collection ordinary visit"
    path: str
    text: str
    source: Source | None


def find(elements: Sequence[Element], query: str) -> list[Found]:
    """Every element the query names whole, and every aspect it names of the others, in the policy's order."""
    found = []
    for element in elements:
        if not element.answers_to(query):
            continue
        if names_whole(query, element.name, element.path):
            found.append(Found(element.name, element.path, element.summary, element.source))
            continue
        for aspect in element.aspects:
            if matches_query(query, [f"{element.name} {aspect.name}".strip()], aspect.paths(element.path)):
                name = f"{element.name} {aspect.name}".strip()
                found.append(Found(name, aspect.paths(element.path)[0], aspect.text, aspect.source))
    return found


# --- how values read ------------------------------------------------------------------------


def _decimal(value: Canonical) -> Decimal:
    assert isinstance(value, str | int) and not isinstance(value, bool), value
    return Decimal(value)


def _number(value: Decimal) -> str:
    """Exact, grouped, without trailing zeros: 1000000 → "1,000,000", 0.50 → "0.5"."""
    return "0" if value == 0 else f"{value.normalize():,f}"


def _percent(value: Decimal) -> str:
    return f"{_number(value * 100)} %"


def _money(value: Decimal, currency: str) -> str:
    return f"{currency} {value:,.2f}"


def _quoted(text: str) -> str:
    """Free text in quotes, on one line, exactly (a line break reads \\n)."""
    return json.dumps(text, ensure_ascii=False)


def _written(text: str) -> str:
    """A condition as written, its line breaks and runs of spaces folded to one space."""
    return " ".join(text.split())


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _days(days: int) -> str:
    return f"{days} day" if days == 1 else f"{days} days"


def _field_value(field_path: str, value: Decimal, currency: str) -> str:
    """A value of a credit-file field as that field reads: ratios as percentages, amounts as money."""
    spec = lookup_field("assess", field_path)
    if spec is not None and spec.type is FieldType.RATIO:
        return _percent(value)
    if spec is not None and spec.type is FieldType.MONEY:
        return _money(value, currency)
    return _number(value)


_BASES = {
    "pct_working_capital": "working capital",
    "pct_liquidation_value": "liquidation value",
    "pct_net_assets": "net assets",
}


def _method(method: FixedLimit | PctLimit | MinOfLimits, currency: str) -> str:
    if isinstance(method, FixedLimit):
        return _money(method.amount, currency)
    if isinstance(method, PctLimit):
        return f"{_percent(method.pct)} of {_BASES[method.method]}"
    return "min(" + ", ".join(_method(part, currency) for part in method.of) + ")"


def _caps(caps: LimitCaps, currency: str) -> str:
    parts = [name for name, on in (("net assets", caps.net_assets), ("working capital", caps.working_capital)) if on]
    if caps.absolute is not None:
        parts.append(_money(caps.absolute, currency))
    return "at most " + ", ".join(parts) if parts else "none"


def _penalty(penalty: PenaltyInterest) -> str:
    text = f"{_percent(penalty.rate)} a {penalty.per}"
    if penalty.per == "year" or penalty.basis != 365:
        text += f" ({penalty.basis}-day year)"
    if penalty.grace_days:
        text += f" after {_days(penalty.grace_days)} of grace"
    return text


def _band_edge(factor: BandedFactor, value: Decimal, currency: str) -> str:
    return _field_value(factor.input, value, currency)


def _bands(factor: BandedFactor, currency: str) -> str:
    parts = []
    for band in factor.bands:
        low = None if band.min is None else _band_edge(factor, band.min, currency)
        high = None if band.max is None else _band_edge(factor, band.max, currency)
        if low is None and high is None:
            where = "any value"
        elif low is None:
            where = f"under {high}"
        elif high is None:
            where = f"{low} and over"
        else:
            where = f"{low} to under {high}"
        parts.append(f"{where}: {_number(band.points)}")
    return "; ".join(parts)


_KINDS = {"standard_value": "standard value", "bands": "bands", "rating": "rating"}
_DIRECTIONS = {"higher_is_better": "higher is better", "lower_is_better": "lower is better"}


# --- building the elements ------------------------------------------------------------------


@dataclass
class _Builder:
    """Builds the elements of one policy, locating each in its document."""

    loaded: LoadedPolicy
    form: dict[str, Canonical]
    elements: list[Element] = field(default_factory=list)

    @property
    def currency(self) -> str:
        return self.loaded.policy.policy.currency

    def source(self, doc_path: DocPath) -> Source:
        line, column = self.loaded.location(doc_path)
        return Source(self.loaded.file, line, column)

    def add(
        self,
        section: str,
        name: str,
        path: str,
        doc_path: DocPath,
        value: Canonical,
        aspects: Sequence[Aspect],
        summary: str | None = None,
    ) -> None:
        located = tuple(
            replace(a, source=self.source((*doc_path, *(a.keys[0] if a.at is None else a.at)))) for a in aspects
        )
        if summary is None:
            summary = "; ".join(
                f"{a.name} {a.text}".strip() for a in located if a.name not in ("note", "label") and not a.ordering
            )
        self.elements.append(Element(section, name, path, located, summary, value, self.source(doc_path)))


def _form(form: Canonical, *keys: str | int) -> Canonical:
    for key in keys:
        if isinstance(form, dict) and isinstance(key, str):
            form = form[key]
        elif isinstance(form, list) and isinstance(key, int):
            form = form[key]
        else:  # pragma: no cover - the canonical form has the model's shape
            raise KeyError(key)
    return form


def _names(names: list[str]) -> list[Canonical]:
    return list[Canonical](names)


def _note(note: str | None, container: Canonical) -> list[Aspect]:
    """The note of an element, when it has one (``container`` is the element's canonical form)."""
    return [] if note is None else [Aspect("note", _form(container, "note"), _quoted(note), (("note",),))]


def _metadata(b: _Builder, policy: Policy) -> None:
    meta, form = policy.policy, _form(b.form, "policy")
    rows: list[tuple[str, str, object, str]] = [
        ("id", "id", meta.id, meta.id),
        ("version", "version", meta.version, meta.version),
        ("effective from", "effective_from", meta.effective_from, meta.effective_from.isoformat()),
        ("effective to", "effective_to", meta.effective_to, str(meta.effective_to)),
        ("currency", "currency", meta.currency, meta.currency),
        ("author", "author", meta.author, _quoted(meta.author)),
        ("change note", "change_note", meta.change_note, _quoted(meta.change_note)),
        ("description", "description", meta.description, _quoted(meta.description or "")),
        ("minimum coverage", "min_coverage", meta.min_coverage, _percent(meta.min_coverage or Decimal(0))),
    ]
    aspects = [Aspect(name, _form(form, key), text, ((key,),)) for name, key, value, text in rows if value is not None]
    b.add("policy", "policy", "policy", ("policy",), form, aspects)


def _scorecard(b: _Builder, policy: Policy) -> None:
    card = policy.scorecard
    for group_id, group in card.groups.items():
        form = _form(b.form, "scorecard", "groups", group_id)
        aspects = [Aspect("label", _form(form, "label"), _quoted(group.label), (("label",),))]
        aspects += _note(group.note, form)
        path = f"scorecard.groups.{group_id}"
        b.add("scorecard", f"group {group_id}", path, ("scorecard", "groups", group_id), form, aspects, group.label)
    for index, factor in enumerate(card.factors):
        form = _form(b.form, "scorecard", "factors", index)
        b.add(
            "scorecard",
            f"factor {factor.id}",
            f"scorecard.factors[{factor.id}]",
            ("scorecard", "factors", index),
            form,
            _factor_aspects(factor, form, b.currency),
            _factor_summary(factor, b.currency),
        )
    order = [f.id for f in card.factors]
    b.add(
        "scorecard",
        "scorecard",
        "scorecard",
        ("scorecard",),
        None,
        [Aspect("factor order", _names(order), ", ".join(order), (("factors",),), ordering=True)],
    )


def _factor_aspects(
    factor: StandardValueFactor | BandedFactor | RatingFactor, form: Canonical, currency: str
) -> list[Aspect]:
    def aspect(name: str, key: str, text: str) -> Aspect:
        return Aspect(name, _form(form, key), text, ((key,),))

    aspects = [
        aspect("group", "group", factor.group),
        aspect("input", "input", factor.input),
        aspect("kind", "kind", _KINDS[factor.kind]),
    ]
    if isinstance(factor, StandardValueFactor):
        aspects += [
            aspect("standard", "standard", _field_value(factor.input, factor.standard, currency)),
            aspect("direction", "direction", _DIRECTIONS[factor.direction]),
            aspect("alpha", "alpha", f"{_number(factor.alpha)} points per unit"),
        ]
    elif isinstance(factor, BandedFactor):
        aspects += [
            aspect("bands", "bands", _bands(factor, currency)),
            aspect("points outside the bands", "outside", _number(factor.outside)),
        ]
    else:
        ratings = _form(form, "ratings")
        aspects += [
            Aspect(f"points for {word}", _form(ratings, word), _number(points), (("ratings", word),))
            for word, points in factor.ratings.items()
        ]
        aspects.append(aspect("points for an unknown rating", "unknown_rating", _number(factor.unknown_rating)))
    aspects += [
        aspect("weight", "weight", _number(factor.weight)),
        aspect("points when missing", "missing", _number(factor.missing)),
        *_note(factor.note, form),
    ]
    return aspects


def _factor_summary(factor: StandardValueFactor | BandedFactor | RatingFactor, currency: str) -> str:
    if isinstance(factor, StandardValueFactor):
        scoring = (
            f"standard {_field_value(factor.input, factor.standard, currency)} "
            f"({_DIRECTIONS[factor.direction]}, {_number(factor.alpha)} points per unit)"
        )
    elif isinstance(factor, BandedFactor):
        scoring = f"bands {_bands(factor, currency)}"
    else:
        scoring = "ratings " + ", ".join(f"{word} {_number(points)}" for word, points in factor.ratings.items())
    return (
        f"weight {_number(factor.weight)}, reads {factor.input} (group {factor.group}), {scoring}, "
        f"{_number(factor.missing)} points when missing"
    )


def _grades(b: _Builder, policy: Policy) -> None:
    for index, band in enumerate(policy.grades):
        form = _form(b.form, "grades", index)
        scores = Aspect(
            "scores",
            [_form(form, "min_score"), _form(form, "max_score")],
            f"{_number(band.min_score)}–{_number(band.max_score)}",
            (("min_score",), ("max_score",)),
        )
        label = (
            [] if band.label is None else [Aspect("label", _form(form, "label"), _quoted(band.label), (("label",),))]
        )
        b.add("grades", f"grade {band.grade}", f"grades[{band.grade}]", ("grades", index), form, [scores, *label])
    order = [band.grade for band in policy.grades]
    b.add(
        "grades",
        "grades",
        "grades",
        ("grades",),
        None,
        [Aspect("order", _names(order), ", ".join(order), ordering=True)],
    )


def _standards(b: _Builder, policy: Policy) -> None:
    standards, form = policy.standards, _form(b.form, "standards")
    aspects = []
    if standards.min_grade is not None:
        aspects.append(Aspect("minimum grade", _form(form, "min_grade"), standards.min_grade, (("min_grade",),)))
    if standards.max_expected_dso_days is not None:
        days = f"{_number(standards.max_expected_dso_days)} days"
        aspects.append(
            Aspect("maximum expected DSO", _form(form, "max_expected_dso_days"), days, (("max_expected_dso_days",),))
        )
    if standards.max_expected_bad_debt_rate is not None:
        rate = _percent(standards.max_expected_bad_debt_rate)
        key = "max_expected_bad_debt_rate"
        aspects.append(Aspect("maximum expected bad-debt rate", _form(form, key), rate, ((key,),)))
    order = [rule.id for rule in standards.rules]
    aspects.append(Aspect("rule order", _names(order), ", ".join(order), (("rules",),), ordering=True))
    b.add("standards", "standards", "standards", ("standards",), None, aspects)
    first: dict[str, int] = {}  # a customer written twice is one entry, where first written
    for index, customer in enumerate(standards.blacklist):
        first.setdefault(customer, index)
    blacklisted = [Aspect(customer, True, "", at=(index,)) for customer, index in first.items()]
    b.add(
        "standards",
        "blacklist",
        "standards.blacklist",
        ("standards", "blacklist"),
        _form(form, "blacklist"),
        blacklisted,
    )
    for index, rule in enumerate(standards.rules):
        rule_form = _form(form, "rules", index)
        aspects = [
            Aspect("when", _form(rule_form, "when"), _written(rule.when), (("when",),)),
            Aspect("reason", _form(rule_form, "reason"), rule.reason, (("reason",),)),
            *_note(rule.note, rule_form),
        ]
        b.add(
            "standards",
            f"standards rule {rule.id}",
            f"standards.rules[{rule.id}]",
            ("standards", "rules", index),
            rule_form,
            aspects,
            f"{rule.reason} when {_written(rule.when)}",
        )


def _limits(b: _Builder, policy: Policy) -> None:
    limits, form, currency = policy.limits, _form(b.form, "limits"), b.currency
    rounding = limits.rounding
    mode = "down to a multiple of" if rounding.mode == "down" else "to the nearest multiple of"
    aspects = [
        Aspect(
            "portfolio total",
            _form(form, "portfolio_total"),
            _money(limits.portfolio_total, currency),
            (("portfolio_total",),),
        ),
        Aspect("rounding", _form(form, "rounding"), f"{mode} {_number(rounding.step)}", (("rounding",),)),
        Aspect("caps", _form(form, "caps"), _caps(limits.caps, currency), (("caps",),)),
    ]
    b.add("limits", "limits", "limits", ("limits",), None, aspects)
    for grade, rule in limits.per_grade.items():
        rule_form = _form(form, "per_grade", grade)
        # Every key a method may have, whichever this one has: the aspect is the same on both sides of a diff.
        keys: tuple[tuple[str, ...], ...] = (("method",), ("pct",), ("amount",), ("of",))
        method_form: dict[str, Canonical] = {
            key: _form(rule_form, key) for (key,) in keys if isinstance(rule_form, dict) and key in rule_form
        }
        aspects = [Aspect("", method_form, _method(rule, currency), keys)]
        if rule.caps is not None:
            aspects.append(Aspect("caps", _form(rule_form, "caps"), _caps(rule.caps, currency), (("caps",),)))
        aspects += _note(rule.note, rule_form)
        b.add(
            "limits", f"limit {grade}", f"limits.per_grade.{grade}", ("limits", "per_grade", grade), rule_form, aspects
        )


def _terms(b: _Builder, policy: Policy) -> None:
    terms, form = policy.terms, _form(b.form, "terms")
    b.add(
        "terms",
        "terms",
        "terms",
        ("terms",),
        None,
        [Aspect("penalty", _form(form, "penalty"), _penalty(terms.penalty), (("penalty",),))],
    )
    for grade, entry in terms.per_grade.items():
        entry_form = _form(form, "per_grade", grade)
        text = _form(entry_form, "text")
        aspects = [Aspect("", text, str(text), (("text",),))]
        if entry.penalty is not None:
            aspects.append(Aspect("penalty", _form(entry_form, "penalty"), _penalty(entry.penalty), (("penalty",),)))
        aspects += _note(entry.note, entry_form)
        b.add("terms", f"terms {grade}", f"terms.per_grade.{grade}", ("terms", "per_grade", grade), entry_form, aspects)


def _review(b: _Builder, policy: Policy) -> None:
    for grade, days in policy.review.per_grade.items():
        value = _form(b.form, "review", "per_grade", grade)
        aspects = [Aspect("every", value, _days(days))]
        b.add("review", f"review {grade}", f"review.per_grade.{grade}", ("review", "per_grade", grade), value, aspects)


def _order_rules(b: _Builder, policy: Policy) -> None:
    rules, form = policy.order_rules, _form(b.form, "order_rules")
    tolerance = rules.release_tolerance
    order = [rule.id for rule in rules.rules]
    aspects = [
        Aspect("combine", _form(form, "combine"), rules.combine.replace("_", " "), (("combine",),)),
        Aspect("default", _form(form, "default"), f"{rules.default.outcome} ({rules.default.reason})", (("default",),)),
        Aspect(
            "release tolerance",
            _form(form, "release_tolerance"),
            f"+{_percent(tolerance.amount_pct)} for {_days(tolerance.days)}",
            (("release_tolerance",),),
        ),
        Aspect("order", _names(order), ", ".join(order), (("rules",),), ordering=True),
    ]
    b.add("order_rules", "order rules", "order_rules", ("order_rules",), None, aspects)
    for index, rule in enumerate(rules.rules):
        rule_form = _form(form, "rules", index)
        then = f"{rule.then.outcome} ({rule.then.reason})"
        aspects = [
            Aspect("when", _form(rule_form, "when"), _written(rule.when), (("when",),)),
            Aspect("then", _form(rule_form, "then"), then, (("then",),)),
            *_note(rule.note, rule_form),
        ]
        b.add(
            "order_rules",
            f"order rule {rule.id}",
            f"order_rules.rules[{rule.id}]",
            ("order_rules", "rules", index),
            rule_form,
            aspects,
            f"{then} when {_written(rule.when)}",
        )


def _collection(b: _Builder, policy: Policy) -> None:
    for segment, ladder in policy.collection.segments.items():
        form = _form(b.form, "collection", "segments", segment)
        rank = {step: index for index, step in enumerate(LADDER_STEPS)}
        steps = sorted(ladder.steps.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0]))
        aspects = [
            Aspect(step, _form(form, "steps", step), f"from day {days}", (("steps", step),)) for step, days in steps
        ]
        actions = {action: index for index, action in enumerate(AUXILIARY_ACTIONS)}
        auxiliary = sorted(ladder.auxiliary.items(), key=lambda item: (actions.get(item[0], len(actions)), item[0]))
        aspects += [
            Aspect(
                action.replace("_", " "), _form(form, "auxiliary", action), f"from day {days}", (("auxiliary", action),)
            )
            for action, days in auxiliary
        ]
        aspects += [
            Aspect("skip steps", _form(form, "skip_steps"), _yes(ladder.skip_steps), (("skip_steps",),)),
            Aspect(
                "min days between steps",
                _form(form, "min_days_between_steps"),
                _days(ladder.min_days_between_steps),
                (("min_days_between_steps",),),
            ),
            Aspect(
                "pause when disputed",
                _form(form, "pause_when_disputed"),
                _yes(ladder.pause_when_disputed),
                (("pause_when_disputed",),),
            ),
            *_note(ladder.note, form),
        ]
        path = f"collection.segments.{segment}"
        b.add("collection", f"collection {segment}", path, ("collection", "segments", segment), form, aspects)


def policy_elements(loaded: LoadedPolicy) -> list[Element]:
    """Every element of the policy in the policy's order, the metadata (section ``policy``) first."""
    builder = _Builder(loaded, canonical_form(loaded.policy))
    for build in (_metadata, _scorecard, _grades, _standards, _limits, _terms, _review, _order_rules, _collection):
        build(builder, loaded.policy)
    return builder.elements

"""The simulation report (``report.html``): ``summary.json`` as a page a credit committee reads.

A committee should grasp the change in ten seconds, so the page leads with the headline figures
(baseline, candidate and the change, green where the candidate does better and red where it
does worse, said in words too) and the verdict of the marginal analysis; then what was compared,
the charts, the tables behind them and the assumptions. It is written for credit managers: the
domain's words (grade, limit, DSO, bad debt, marginal revenue and cost), no field names.

Every figure taken from the summary is a :class:`~api.service.reports.html.Datum` whose path is
the figure's place in ``summary.json`` (aliases as in the file: ``schema``, ``from``); figures the
page works out itself (a change between two versions, a running total) are not marked, so a test
can check each marked one against the file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, TypeAlias

from api.service.reports.html import (
    BASELINE_COLOUR,
    CANDIDATE_COLOUR,
    Column,
    Content,
    Datum,
    Markup,
    ReferenceLine,
    Series,
    SvgText,
    WaterfallStep,
    bar_line_chart,
    chart_grid,
    facts_table,
    format_count,
    format_days,
    format_money,
    format_percent,
    format_points,
    grouped_bar_chart,
    heatmap,
    json_path,
    money_ticks,
    page,
    section,
    table,
    tag,
    waterfall_chart,
)
from engine.simulation.summary import Headline, Summary, VersionSummary

__all__ = ["render_simulation"]

BASELINE = "Baseline (A)"
CANDIDATE = "Candidate (B)"
_VERSIONS = ("baseline", "candidate")

OUTCOME_NAMES = {"approve": "Approved", "hold": "Held for review", "reject": "Rejected"}
STEP_NAMES = {
    "none": "No step due yet",
    "letter": "Letter, phone, e-mail",
    "visit": "Visit",
    "agency": "Collection agency",
    "arbitration": "Arbitration",
    "litigation": "Litigation",
}
AUXILIARY_NAMES = {
    "penalty_interest": "Charge penalty interest",
    "stop_supply": "Stop supplying",
    "cancel_limit": "Cancel the credit limit",
}
SEGMENT_NAMES = {"core": "Core customers", "ordinary": "Ordinary customers", "high_risk": "High-risk customers"}
AGING_ORDER = ("0-30", "31-60", "61-90", "90+")
VERDICT_CLASSES = {"adopt": "good", "keep the baseline": "bad", "neutral": "neutral"}

Judgement = Literal["better", "worse", "unchanged"]
Kind = Literal["money", "count", "percent", "days"]
Value: TypeAlias = Decimal | int
Point: TypeAlias = tuple[Value, Datum]  # a version's value for a key, and the figure that shows it
Pick: TypeAlias = Callable[[str, VersionSummary, str], Point | None]  # (baseline|candidate, version, key)


@dataclass(frozen=True)
class _Figures:
    """Writes the summary's values for people and marks each with its path in ``summary.json``."""

    currency: str

    def money(
        self, value: Decimal, *path: str | int, signed: bool = False, compact: bool = False, negated: bool = False
    ) -> Datum:
        shown = -value if negated else value
        text = format_money(shown, self.currency, signed=signed, compact=compact)
        return Datum(text, json_path(*path), "money", negated)

    def count(self, value: int | Decimal, *path: str | int, signed: bool = False) -> Datum:
        return Datum(format_count(value, signed=signed), json_path(*path), "count")

    def percent(self, value: Decimal, *path: str | int) -> Datum:
        return Datum(format_percent(value), json_path(*path), "percent")

    def points(self, value: Decimal, *path: str | int) -> Datum:
        return Datum(format_points(value), json_path(*path), "points")

    def days(self, value: Decimal, *path: str | int, signed: bool = False) -> Datum:
        return Datum(format_days(value, signed=signed), json_path(*path), "days")

    def text(self, value: str, *path: str | int) -> Datum:
        return Datum(value, json_path(*path), "text")

    def date(self, value: dt.date | None, *path: str | int) -> Datum:
        if value is None:
            return self.absent("none", *path)
        return Datum(value.isoformat(), json_path(*path), "date")

    def absent(self, words: str, *path: str | int) -> Datum:
        """What the page says where the summary has no value (``null``)."""
        return Datum(words, json_path(*path), "empty")

    def figure(self, kind: Kind, value: Value, *path: str | int, compact: bool = False) -> Datum:
        """A value of one of the summary's measures, written as its kind asks."""
        if kind == "money":
            return self.money(Decimal(value), *path, compact=compact)
        if kind == "percent":
            return self.percent(Decimal(value), *path)
        if kind == "days":
            return self.days(Decimal(value), *path)
        return self.count(value, *path)

    def money_format(self, value: Decimal) -> str:
        """Axis ticks in charts: short (``¥ 45m``)."""
        return money_ticks(self.currency)(value)

    def change(self, baseline: Value | None, candidate: Value | None, kind: Kind) -> Markup:
        """The change from A to B as the page works it out (not a figure of the summary: unmarked)."""
        if baseline is None or candidate is None:
            return tag("span", "—", class_="derived")
        delta = Decimal(candidate) - Decimal(baseline)
        if kind == "money":
            text = format_money(delta, self.currency, signed=True)
        elif kind == "percent":
            text = format_points(delta)
        elif kind == "days":
            text = format_days(delta, signed=True)
        else:
            text = format_count(delta, signed=True)
        return tag("span", text, class_="derived")


def _ordered(keys: Iterable[str], preferred: Sequence[str] = ()) -> list[str]:
    """The keys with the known ones first in their natural order, the others as they come."""
    seen = list(dict.fromkeys(keys))
    return [key for key in preferred if key in seen] + [key for key in seen if key not in preferred]


def _union(*mappings: Mapping[str, object], preferred: Sequence[str] = ()) -> list[str]:
    return _ordered((key for mapping in mappings for key in mapping), preferred)


def _judgement(change: Decimal, better: str) -> Judgement:
    if change == 0:
        return "unchanged"
    return "better" if (change > 0) == (better == "higher") else "worse"


def _versions(summary: Summary) -> tuple[VersionSummary, VersionSummary]:
    return summary.baseline, summary.candidate


# --- the parts of the page, in order --------------------------------------------------------


def _title(summary: Summary, figures: _Figures) -> Markup:
    baseline, candidate = summary.baseline.policy, summary.candidate.policy
    portfolio = summary.portfolio
    heading = tag(
        "h1",
        [
            "Policy simulation: ",
            figures.text(candidate.id, "candidate", "policy", "id"),
            " ",
            figures.text(candidate.version, "candidate", "policy", "version"),
            " against ",
            figures.text(baseline.id, "baseline", "policy", "id"),
            " ",
            figures.text(baseline.version, "baseline", "policy", "version"),
        ],
    )
    subtitle = tag(
        "p",
        [
            "What the candidate policy (B) would have changed against the baseline (A) on the portfolio ",
            tag("code", figures.text(portfolio.path, "portfolio", "path")),
            ": ",
            figures.count(portfolio.customers, "portfolio", "customers"),
            " customers, ",
            figures.count(portfolio.orders, "portfolio", "orders"),
            " orders, ",
            figures.count(portfolio.invoices, "portfolio", "invoices"),
            " invoices; amounts in ",
            figures.text(portfolio.currency, "portfolio", "currency"),
            ", as of ",
            figures.date(summary.as_of, "as_of"),
            ".",
        ],
        class_="subtitle",
    )
    return Markup(heading + subtitle)


def _verdict(summary: Summary, figures: _Figures) -> Markup:
    """The marginal analysis in one sentence: change the policy only if marginal revenue exceeds marginal cost."""
    marginal = summary.marginal
    revenue = figures.money(marginal.margin_change, "marginal", "margin_change")
    cost = figures.money(marginal.marginal_cost, "marginal", "marginal_cost")
    net = figures.money(marginal.net_benefit, "marginal", "net_benefit")
    verdict = tag("strong", figures.text(marginal.verdict, "marginal", "verdict"))
    if marginal.verdict == "adopt":
        words: list[Content] = [
            "Verdict: ",
            verdict,
            " the candidate. Its marginal revenue of ",
            revenue,
            " is more than its marginal cost of ",
            cost,
            ": a net benefit of ",
            net,
            ".",
        ]
    elif marginal.verdict == "keep the baseline":
        words = [
            "Verdict: ",
            verdict,
            ". The candidate's marginal cost of ",
            cost,
            " is not covered by its marginal revenue of ",
            revenue,
            ": a net benefit of ",
            net,
            ".",
        ]
    else:
        words = [
            "Verdict: ",
            verdict,
            ". The candidate's marginal revenue of ",
            revenue,
            " and marginal cost of ",
            cost,
            " balance: a net benefit of ",
            net,
            ".",
        ]
    return tag("p", words, class_=f"verdict {VERDICT_CLASSES[marginal.verdict]}")


def _headline_values(item: Headline, index: int, figures: _Figures) -> tuple[Datum, Datum, Datum]:
    path = ("headline", index)
    if item.unit == "money":
        return (
            figures.money(item.baseline, *path, "baseline"),
            figures.money(item.candidate, *path, "candidate"),
            figures.money(item.change, *path, "change", signed=True),
        )
    if item.unit == "rate":
        return (
            figures.percent(item.baseline, *path, "baseline"),
            figures.percent(item.candidate, *path, "candidate"),
            figures.points(item.change, *path, "change"),
        )
    if item.unit == "days":
        return (
            figures.days(item.baseline, *path, "baseline"),
            figures.days(item.candidate, *path, "candidate"),
            figures.days(item.change, *path, "change", signed=True),
        )
    return (
        figures.count(item.baseline, *path, "baseline"),
        figures.count(item.candidate, *path, "candidate"),
        figures.count(item.change, *path, "change", signed=True),
    )


def _headline_card(item: Headline, index: int, figures: _Figures) -> Markup:
    baseline, candidate, change = _headline_values(item, index, figures)
    judgement = _judgement(item.change, item.better)
    arrow = "▲ " if item.change > 0 else "▼ " if item.change < 0 else "= "
    css = {"better": "good", "worse": "bad", "unchanged": "neutral"}[judgement]
    aim = "higher is better" if item.better == "higher" else "lower is better"
    return tag(
        "div",
        [
            tag("div", figures.text(item.label, "headline", index, "label"), class_="label"),
            tag("div", [arrow, change], class_="change"),
            tag("div", ["A ", baseline, " → B ", candidate], class_="from-to"),
            tag("div", f"{judgement} ({aim})", class_="judgement"),
        ],
        class_=f"card {css}",
        data_headline=item.key,
    )


def _headline_section(summary: Summary, figures: _Figures) -> Markup:
    cards = tag(
        "div", [_headline_card(item, index, figures) for index, item in enumerate(summary.headline)], class_="cards"
    )
    return section(
        "The change in brief",
        _verdict(summary, figures),
        cards,
        section_id="headline",
        intro="Candidate B against baseline A on the same customers and orders. Green: the candidate does better; "
        "red: it does worse.",
    )


def _compared_section(summary: Summary, figures: _Figures) -> Markup:
    columns = [Column(""), Column(BASELINE), Column(CANDIDATE)]

    def both(label: str, field: str, code: bool = False) -> list[Content]:
        cells: list[Content] = [label]
        for name, version in zip(_VERSIONS, _versions(summary), strict=True):
            datum = figures.text(getattr(version.policy, field), name, "policy", field)
            cells.append(tag("code", datum) if code else datum)
        return cells

    versions = table(
        columns,
        [
            both("Policy", "id"),
            both("Version", "version"),
            both("Taken from", "source"),
            both("SHA-256", "sha256", True),
        ],
        caption="The policy versions compared",
    )
    portfolio = summary.portfolio
    segments_meaning = (
        " (as the portfolio gives them)"
        if portfolio.segments == "given"
        else " from the history: core are the customers making the first 70 % of the last 3 years' sales, "
        "high-risk those the baseline grades below its minimum grade, the others ordinary"
    )
    facts = facts_table(
        [
            ("Portfolio", tag("code", figures.text(portfolio.path, "portfolio", "path"))),
            ("As of", figures.date(summary.as_of, "as_of")),
            ("Customers", figures.count(portfolio.customers, "portfolio", "customers")),
            (
                "Customers not assessed (their file breaks the rules of a credit file)",
                figures.count(portfolio.customers_not_assessed, "portfolio", "customers_not_assessed"),
            ),
            ("Orders (re-decided)", figures.count(portfolio.orders, "portfolio", "orders")),
            ("Invoices", figures.count(portfolio.invoices, "portfolio", "invoices")),
            ("Currency", figures.text(portfolio.currency, "portfolio", "currency")),
            ("First order", figures.date(portfolio.first_order, "portfolio", "first_order")),
            ("Last order", figures.date(portfolio.last_order, "portfolio", "last_order")),
            ("Customer segments", [figures.text(portfolio.segments, "portfolio", "segments"), segments_meaning]),
        ],
        caption="The portfolio",
    )
    return section("What was compared", tag("div", [versions, facts], class_="tables"), section_id="compared")


# --- charts ---------------------------------------------------------------------------------


def _pick(
    figures: _Figures,
    kind: Kind,
    value_of: Callable[[VersionSummary, str], Value | None],
    path_of: Callable[[str], tuple[str | int, ...]],
    *,
    compact: bool = False,
) -> Pick:
    """How to find a version's value for a key and show it, marked with its path under the version."""

    def pick(name: str, version: VersionSummary, key: str) -> Point | None:
        value = value_of(version, key)
        if value is None:
            return None
        return value, figures.figure(kind, value, name, *path_of(key), compact=compact)

    return pick


def _per_version(keys: Sequence[str], summary: Summary, pick: Pick) -> list[Series]:
    """A bar series per version over ``keys``; a key a version lacks is drawn as zero and labelled ``—``."""
    series: list[Series] = []
    for name, version, label, colour in zip(
        _VERSIONS, _versions(summary), (BASELINE, CANDIDATE), (BASELINE_COLOUR, CANDIDATE_COLOUR), strict=True
    ):
        points = [pick(name, version, key) for key in keys]
        values: list[Value] = [point[0] if point is not None else 0 for point in points]
        labels: list[SvgText] = [point[1] if point is not None else "—" for point in points]
        series.append(Series(name=label, values=values, colour=colour, labels=labels))
    return series


def _grades_section(summary: Summary, figures: _Figures) -> Markup:
    grades = _union(summary.baseline.grades, summary.candidate.grades)
    distribution = grouped_bar_chart(
        title="Customers per grade",
        categories=grades,
        series=_per_version(
            grades, summary, _pick(figures, "count", lambda version, grade: version.grades.get(grade), _in("grades"))
        ),
        description="How many customers each version puts in each grade, best grade first.",
    )
    migration = summary.migration
    reading = (
        " Outlined: grade unchanged; left of the outline: upgraded by the candidate; right of it: downgraded."
        if migration.baseline_grades == migration.candidate_grades
        else " Outlined: grade unchanged."
    )
    matrix = heatmap(
        title="Grade migration from A to B",
        row_labels=migration.baseline_grades,
        column_labels=migration.candidate_grades,
        counts=migration.counts,
        row_title="Grade under A",
        column_title="Grade under B",
        cell_labels=[
            [figures.count(count, "migration", "counts", row, column) for column, count in enumerate(counts)]
            for row, counts in enumerate(migration.counts)
        ],
        description="Customers by their grade under the baseline (rows) and under the candidate (columns)." + reading,
    )
    return section(
        "Grades",
        chart_grid(distribution, matrix),
        section_id="grades",
        intro="Each grade carries its own limit, terms and collection treatment: loose for good grades, tight for "
        "poor ones.",
    )


def _in(*path: str | int) -> Callable[[str], tuple[str | int, ...]]:
    """The path of a keyed value under a version: ``path`` then the key."""
    return lambda key: (*path, key)


def _outcome_pick(figures: _Figures, measure: Literal["count", "amount"], *, compact: bool = False) -> Pick:
    def value_of(version: VersionSummary, outcome: str) -> Value | None:
        found = version.orders.by_outcome.get(outcome)
        return None if found is None else getattr(found, measure)

    kind: Kind = "count" if measure == "count" else "money"
    return _pick(figures, kind, value_of, lambda outcome: ("orders", "by_outcome", outcome, measure), compact=compact)


def _outcomes(summary: Summary) -> list[str]:
    return _union(
        summary.baseline.orders.by_outcome, summary.candidate.orders.by_outcome, preferred=list(OUTCOME_NAMES)
    )


def _orders_section(summary: Summary, figures: _Figures) -> Markup:
    outcomes = _outcomes(summary)
    names = [OUTCOME_NAMES.get(outcome, outcome) for outcome in outcomes]
    by_count = grouped_bar_chart(
        title="Orders by outcome: number",
        categories=names,
        series=_per_version(outcomes, summary, _outcome_pick(figures, "count")),
        description="The order history re-decided by each version, with the exposure each customer had that day.",
    )
    by_amount = grouped_bar_chart(
        title="Orders by outcome: amount",
        categories=names,
        series=_per_version(outcomes, summary, _outcome_pick(figures, "amount", compact=True)),
        tick_format=figures.money_format,
        description="The same orders by their amount.",
    )
    stopped, released = summary.sales_stopped, summary.sales_released
    intro: list[Content] = [
        "The candidate stops ",
        figures.count(stopped.count, "sales_stopped", "count"),
        " orders the baseline approves (",
        figures.money(stopped.amount, "sales_stopped", "amount"),
        ") and releases ",
        figures.count(released.count, "sales_released", "count"),
        " orders the baseline does not approve (",
        figures.money(released.amount, "sales_released", "amount"),
        ").",
    ]
    return section("Orders", chart_grid(by_count, by_amount), section_id="orders", intro=intro)


def _running_total(values: Iterable[Decimal]) -> list[Value]:
    total = Decimal(0)
    running: list[Value] = []
    for value in values:
        total += value
        running.append(total)
    return running


def _limits_section(summary: Summary, figures: _Figures) -> Markup:
    grades = _union(summary.baseline.limits.by_grade, summary.candidate.limits.by_grade)
    bars = _per_version(
        grades,
        summary,
        _pick(
            figures,
            "money",
            lambda version, grade: version.limits.by_grade.get(grade),
            _in("limits", "by_grade"),
            compact=True,
        ),
    )
    lines = [
        Series(
            name=f"{short}: running total",
            values=_running_total(version.limits.by_grade.get(grade, Decimal(0)) for grade in grades),
            colour=colour,
        )
        for short, version, colour in zip(("A", "B"), _versions(summary), ("#5b6773", "#0b3d75"), strict=True)
    ]
    totals = [version.limits.portfolio_total for version in _versions(summary)]
    if totals[0] == totals[1]:
        shared = figures.money(totals[0], "baseline", "limits", "portfolio_total", compact=True)
        references = [ReferenceLine(("Portfolio total, A and B: ", shared), totals[0])]
    else:
        references = [
            ReferenceLine(
                (f"Portfolio total {short}: ", figures.money(total, name, "limits", "portfolio_total", compact=True)),
                total,
                colour=colour,
            )
            for short, name, total, colour in zip(("A", "B"), _VERSIONS, totals, ("#c2410c", "#7c2d12"), strict=True)
        ]
    chart = bar_line_chart(
        title="Limits granted per grade, against the portfolio total",
        categories=grades,
        bars=bars,
        lines=lines,
        references=references,
        tick_format=figures.money_format,
        description="Columns: the limits each version grants per grade. Lines: their running total, best grade "
        "first. All limits together may not exceed the portfolio total (dashed).",
        wide=True,
    )
    intro: list[Content] = [
        "Credit granted in total: ",
        figures.money(summary.baseline.limits.total_granted, "baseline", "limits", "total_granted"),
        " under A, ",
        figures.money(summary.candidate.limits.total_granted, "candidate", "limits", "total_granted"),
        " under B (",
        figures.money(summary.credit_changes.limit_change, "credit_changes", "limit_change", signed=True),
        ").",
    ]
    return section("Credit limits", chart_grid(chart), section_id="limits", intro=intro)


def _field_pick(figures: _Figures, kind: Kind, part: str, *, compact: bool = False) -> Pick:
    """A measure of a version named by its field in one part of the version (``terms``, ``risk`` …)."""

    def value_of(version: VersionSummary, field: str) -> Value | None:
        value: Value = getattr(getattr(version, part), field)
        return value

    return _pick(figures, kind, value_of, _in(part), compact=compact)


def _receivables_section(summary: Summary, figures: _Figures) -> Markup:
    buckets = _aging_buckets(summary)
    aging = grouped_bar_chart(
        title="Overdue receivables by days past due",
        categories=[f"{bucket} days" for bucket in buckets],
        series=_per_version(
            buckets,
            summary,
            _pick(
                figures,
                "money",
                lambda version, bucket: version.collection.aging.get(bucket),
                _in("collection", "aging"),
                compact=True,
            ),
        ),
        tick_format=figures.money_format,
        description="Open overdue amounts on the as-of date, by how long they have been overdue.",
    )
    measures = {"dso_days": "DSO", "average_credit_days": "Average credit period"}
    dso = grouped_bar_chart(
        title="DSO and the credit period",
        categories=list(measures.values()),
        series=_per_version(list(measures), summary, _field_pick(figures, "days", "terms")),
        tick_format=lambda value: format_days(value, decimals=0),
        description="Days sales outstanding (how long credit sales take to become cash) and the credit period "
        "granted, weighted by sales. A lower DSO frees cash.",
    )
    return section(
        "Receivables and DSO",
        chart_grid(aging, dso),
        section_id="receivables",
        intro="A credit policy has two goals: cut bad debt, and cut DSO.",
    )


def _aging_buckets(summary: Summary) -> list[str]:
    return _union(summary.baseline.collection.aging, summary.candidate.collection.aging, preferred=AGING_ORDER)


def _risk_section(summary: Summary, figures: _Figures) -> Markup:
    measures = {"expected_loss": "Expected loss", "write_offs": "Historic write-offs"}
    losses = grouped_bar_chart(
        title="Expected loss (bad debt)",
        categories=list(measures.values()),
        series=_per_version(list(measures), summary, _field_pick(figures, "money", "risk")),
        tick_format=figures.money_format,
        description="Expected loss: over the customers, probability of default × loss given default × limit. "
        "Write-offs: what the customers each version grants credit have cost in the past.",
    )
    grades = _pd_grades(summary)
    defaults = grouped_bar_chart(
        title="Probability of default per grade",
        categories=grades,
        series=_per_version(grades, summary, _pd_pick(figures)),
        tick_format=lambda value: format_percent(value, decimals=0),
        description="The chance that a customer of the grade defaults within a year, as each version's "
        "expected loss uses it.",
    )
    return section(
        "Risk",
        chart_grid(losses, defaults),
        section_id="risk",
        intro="The first goal of a credit policy: cut bad debt.",
    )


def _pd_grades(summary: Summary) -> list[str]:
    return _union(summary.baseline.risk.pd_by_grade, summary.candidate.risk.pd_by_grade)


def _pd_pick(figures: _Figures) -> Pick:
    return _pick(
        figures, "percent", lambda version, grade: version.risk.pd_by_grade.get(grade), _in("risk", "pd_by_grade")
    )


_COSTS = {
    "carrying_cost_change": "Carrying cost",
    "collection_cost_change": "Collection cost",
    "bad_debt_change": "Bad debt",
    "discount_cost_change": "Cash discounts",
}


def _marginal_section(summary: Summary, figures: _Figures) -> Markup:
    marginal = summary.marginal
    costs = [
        WaterfallStep(
            label,
            -getattr(marginal, field),
            figures.money(getattr(marginal, field), "marginal", field, signed=True, negated=True),
        )
        for field, label in _COSTS.items()
    ]
    steps = [
        WaterfallStep(
            "Marginal revenue",
            marginal.margin_change,
            figures.money(marginal.margin_change, "marginal", "margin_change", signed=True),
        ),
        *costs,
        WaterfallStep(
            "Net benefit",
            marginal.net_benefit,
            figures.money(marginal.net_benefit, "marginal", "net_benefit", signed=True),
            total=True,
        ),
    ]
    chart = waterfall_chart(
        title="From marginal revenue to net benefit",
        steps=steps,
        tick_format=figures.money_format,
        description="The margin on the change in approved sales, less each cost the change brings (a cost that "
        "falls adds to the benefit), gives the net benefit of adopting the candidate.",
        wide=True,
    )
    lines = {
        "sales_change": "Change in approved sales",
        "margin_change": "Marginal revenue: the change in sales × the gross margin",
        "carrying_cost_change": "Change in carrying cost: receivables tied up × cost of capital × time",
        "collection_cost_change": "Change in collection cost",
        "bad_debt_change": "Change in bad debt (expected loss)",
        "discount_cost_change": "Change in cash discounts",
        "marginal_cost": "Marginal cost: the four cost changes",
        "net_benefit": "Net benefit: marginal revenue − marginal cost",
    }
    rows: list[tuple[Content, Content]] = [
        (label, figures.money(getattr(marginal, field), "marginal", field, signed=True))
        for field, label in lines.items()
    ]
    rows.append(("Verdict", tag("strong", figures.text(marginal.verdict, "marginal", "verdict"))))
    analysis = facts_table(
        rows, caption="The marginal analysis (a positive cost change is a cost that rises)", numeric=True
    )
    return section(
        "Marginal analysis",
        _verdict(summary, figures),
        chart_grid(chart),
        tag("div", analysis, class_="stack"),
        section_id="marginal",
        intro="Change the policy only if the marginal revenue exceeds the marginal cost: the carrying cost of the "
        "receivables, the collection cost, bad debt and the cash discounts.",
    )


# --- the tables -----------------------------------------------------------------------------

_AB = [Column(""), Column(BASELINE, numeric=True), Column(CANDIDATE, numeric=True), Column("Change", numeric=True)]


def _ab_rows(
    summary: Summary, figures: _Figures, kind: Kind, pick: Pick, keys: Sequence[str], labels: Mapping[str, str]
) -> list[list[Content]]:
    """One row per key comparing A and B: each side's figure (marked), then the change (worked out, unmarked)."""
    rows: list[list[Content]] = []
    for key in keys:
        cells: list[Content] = [labels.get(key, key)]
        values: list[Value | None] = []
        for name, version in zip(_VERSIONS, _versions(summary), strict=True):
            point = pick(name, version, key)
            values.append(None if point is None else point[0])
            cells.append(tag("span", "—", class_="derived") if point is None else point[1])
        cells.append(figures.change(values[0], values[1], kind))
        rows.append(cells)
    return rows


def _ab_table(
    summary: Summary,
    figures: _Figures,
    caption: str,
    sections: Sequence[tuple[Kind, Pick, Sequence[str], Mapping[str, str]]],
) -> Markup:
    rows = [
        row for kind, pick, keys, labels in sections for row in _ab_rows(summary, figures, kind, pick, keys, labels)
    ]
    return table(_AB, rows, caption=caption, extra_class="compare")


def _credit_tables(summary: Summary, figures: _Figures) -> list[Markup]:
    changes = summary.credit_changes
    credit = facts_table(
        [
            ("Customers whose limit rises", figures.count(changes.gaining, "credit_changes", "gaining")),
            ("Customers whose limit falls", figures.count(changes.losing, "credit_changes", "losing")),
            ("Newly eligible for credit", figures.count(changes.newly_eligible, "credit_changes", "newly_eligible")),
            (
                "No longer eligible for credit",
                figures.count(changes.newly_ineligible, "credit_changes", "newly_ineligible"),
            ),
            (
                "Change in the total of limits",
                figures.money(changes.limit_change, "credit_changes", "limit_change", signed=True),
            ),
        ],
        caption="Credit changes",
        numeric=True,
    )
    eligibility = _ab_table(
        summary,
        figures,
        "Customers and the credit standards",
        [
            (
                "count",
                _pick(figures, "count", lambda version, field: getattr(version, field), lambda field: (field,)),
                ["eligible", "ineligible"],
                {"eligible": "Meet the credit standards", "ineligible": "Do not meet them (no credit)"},
            )
        ],
    )
    limit_fields = {
        "total_granted": "Total of limits granted",
        "portfolio_total": "Portfolio total (the ceiling)",
        "open_receivables": "Receivables open on the as-of date",
    }
    limits = _ab_table(
        summary,
        figures,
        "Limits",
        [
            ("money", _field_pick(figures, "money", "limits"), list(limit_fields), limit_fields),
            ("percent", _field_pick(figures, "percent", "limits"), ["utilisation"], {"utilisation": "Use of limits"}),
            (
                "count",
                _field_pick(figures, "count", "limits"),
                ["customers_capped_by_total"],
                {"customers_capped_by_total": "Customers cut back by the portfolio total"},
            ),
        ],
    )
    allocation = facts_table(
        [
            (
                f"Order in which the portfolio total is shared out, {short}",
                figures.text(version.limits.allocation_order, name, "limits", "allocation_order"),
            )
            for short, name, version in zip(("A", "B"), _VERSIONS, _versions(summary), strict=True)
        ],
        caption="Sharing out the portfolio total",
    )
    grades = _union(summary.baseline.limits.by_grade, summary.candidate.limits.by_grade)
    by_grade = _ab_table(
        summary,
        figures,
        "Limits by grade",
        [
            (
                "money",
                _pick(
                    figures,
                    "money",
                    lambda version, grade: version.limits.by_grade.get(grade),
                    _in("limits", "by_grade"),
                ),
                grades,
                {},
            )
        ],
    )
    segments = _union(
        summary.baseline.limits.by_segment, summary.candidate.limits.by_segment, preferred=list(SEGMENT_NAMES)
    )
    by_segment = _ab_table(
        summary,
        figures,
        "Limits by customer segment",
        [
            (
                "money",
                _pick(
                    figures,
                    "money",
                    lambda version, segment: version.limits.by_segment.get(segment),
                    _in("limits", "by_segment"),
                ),
                segments,
                SEGMENT_NAMES,
            )
        ],
    )
    return [credit, eligibility, limits, allocation, by_grade, by_segment]


def _order_tables(summary: Summary, figures: _Figures) -> list[Markup]:
    outcomes = _outcomes(summary)
    by_outcome = _ab_table(
        summary,
        figures,
        "Orders by outcome",
        [
            ("count", _outcome_pick(figures, "count"), outcomes, {k: f"{v}: number" for k, v in OUTCOME_NAMES.items()}),
            (
                "money",
                _outcome_pick(figures, "amount"),
                outcomes,
                {k: f"{v}: amount" for k, v in OUTCOME_NAMES.items()},
            ),
        ],
    )
    transitions = table(
        [Column("Under A"), Column("Under B"), Column("Orders", numeric=True), Column("Amount", numeric=True)],
        [
            [
                figures.text(transition.from_, "order_transitions", index, "from"),
                figures.text(transition.to, "order_transitions", index, "to"),
                figures.count(transition.count, "order_transitions", index, "count"),
                figures.money(transition.amount, "order_transitions", index, "amount"),
            ]
            for index, transition in enumerate(summary.order_transitions)
        ],
        caption="Orders whose outcome changes",
        empty="No order changes outcome.",
    )
    sales = table(
        [Column(""), Column("Orders", numeric=True), Column("Amount", numeric=True)],
        [
            [
                label,
                figures.count(getattr(summary, field).count, field, "count"),
                figures.money(getattr(summary, field).amount, field, "amount"),
            ]
            for field, label in (
                ("sales_stopped", "Sales stopped: approved by A, not by B"),
                ("sales_released", "Sales released: approved by B, not by A"),
            )
        ],
        caption="Sales stopped and released",
    )
    return [by_outcome, transitions, sales]


def _collection_tables(summary: Summary, figures: _Figures) -> list[Markup]:
    terms_fields = {"discount_cost": "Cash discounts earned by paid invoices"}
    terms = _ab_table(
        summary,
        figures,
        "Terms and what they cost",
        [
            ("money", _field_pick(figures, "money", "terms"), list(terms_fields), terms_fields),
            (
                "count",
                _field_pick(figures, "count", "terms"),
                ["discounted_invoices"],
                {"discounted_invoices": "Invoices paid with a discount"},
            ),
            (
                "days",
                _field_pick(figures, "days", "terms"),
                ["average_credit_days", "dso_days"],
                {"average_credit_days": "Average credit period (weighted by sales)", "dso_days": "DSO"},
            ),
        ],
    )
    steps = _union(
        summary.baseline.collection.by_step, summary.candidate.collection.by_step, preferred=list(STEP_NAMES)
    )

    def step_pick(measure: Literal["count", "amount"]) -> Pick:
        def value_of(version: VersionSummary, step: str) -> Value | None:
            found = version.collection.by_step.get(step)
            return None if found is None else getattr(found, measure)

        kind: Kind = "count" if measure == "count" else "money"
        return _pick(figures, kind, value_of, lambda step: ("collection", "by_step", step, measure))

    by_step = _ab_table(
        summary,
        figures,
        "Overdue invoices by the next collection step due",
        [
            ("count", step_pick("count"), steps, {k: f"{v}: invoices" for k, v in STEP_NAMES.items()}),
            ("money", step_pick("amount"), steps, {k: f"{v}: amount" for k, v in STEP_NAMES.items()}),
        ],
    )
    measures = _union(
        summary.baseline.collection.auxiliary_due,
        summary.candidate.collection.auxiliary_due,
        preferred=list(AUXILIARY_NAMES),
    )
    auxiliary = _ab_table(
        summary,
        figures,
        "Auxiliary measures due (invoices)",
        [
            (
                "count",
                _pick(
                    figures,
                    "count",
                    lambda version, measure: version.collection.auxiliary_due.get(measure),
                    _in("collection", "auxiliary_due"),
                ),
                measures,
                AUXILIARY_NAMES,
            ),
            (
                "money",
                _field_pick(figures, "money", "collection"),
                ["penalty_interest"],
                {"penalty_interest": "Penalty interest accrued"},
            ),
        ],
    )
    aging = _ab_table(
        summary,
        figures,
        "Overdue receivables by days past due",
        [
            (
                "money",
                _pick(
                    figures,
                    "money",
                    lambda version, bucket: version.collection.aging.get(bucket),
                    _in("collection", "aging"),
                ),
                _aging_buckets(summary),
                {bucket: f"{bucket} days" for bucket in AGING_ORDER},
            )
        ],
    )
    return [terms, by_step, auxiliary, aging]


def _core_and_risk_tables(summary: Summary, figures: _Figures) -> list[Markup]:
    def orders_not_approved(measure: Literal["count", "amount"]) -> Pick:
        kind: Kind = "count" if measure == "count" else "money"
        return _pick(
            figures,
            kind,
            lambda version, _: getattr(version.core.orders_not_approved, measure),
            lambda _: ("core", "orders_not_approved", measure),
        )

    core = _ab_table(
        summary,
        figures,
        "Core customers (the first 70 % of sales)",
        [
            (
                "count",
                _field_pick(figures, "count", "core"),
                ["customers", "eligible"],
                {"customers": "Core customers", "eligible": "Of whom eligible for credit"},
            ),
            ("money", _field_pick(figures, "money", "core"), ["limits_total"], {"limits_total": "Their limits"}),
            ("count", orders_not_approved("count"), ["orders"], {"orders": "Their orders not approved: number"}),
            ("money", orders_not_approved("amount"), ["amount"], {"amount": "Their orders not approved: amount"}),
        ],
    )
    risk_fields = {
        "exposure_at_default": "Exposure at default (the limits granted)",
        "expected_loss": "Expected loss",
        "write_offs": "Historic write-offs of the customers given credit",
    }
    risk = _ab_table(
        summary, figures, "Risk", [("money", _field_pick(figures, "money", "risk"), list(risk_fields), risk_fields)]
    )
    sources = facts_table(
        [
            (
                f"Probabilities of default used by {short}",
                [
                    figures.text(version.risk.pd_source, name, "risk", "pd_source"),
                    ": estimated from the portfolio's history"
                    if version.risk.pd_source == "history"
                    else ": as set in the assumptions",
                ],
            )
            for short, name, version in zip(("A", "B"), _VERSIONS, _versions(summary), strict=True)
        ],
        caption="Where the probabilities of default come from",
    )
    pd = _ab_table(
        summary, figures, "Probability of default per grade", [("percent", _pd_pick(figures), _pd_grades(summary), {})]
    )
    return [core, risk, sources, pd]


def _details_section(summary: Summary, figures: _Figures) -> Markup:
    groups = [
        ("Credit and limits", _credit_tables(summary, figures)),
        ("Orders", _order_tables(summary, figures)),
        ("Terms and collection", _collection_tables(summary, figures)),
        ("Core customers and risk", _core_and_risk_tables(summary, figures)),
    ]
    return section(
        "Details",
        *[[tag("h3", title), tag("div", tables, class_="stack")] for title, tables in groups],
        section_id="details",
        intro="The figures behind the charts. The change column is worked out here, B − A.",
    )


def _assumptions_section(summary: Summary, figures: _Figures) -> Markup:
    assumptions = summary.assumptions
    economics = facts_table(
        [
            ("Gross margin on a sale", figures.percent(assumptions.gross_margin, "assumptions", "gross_margin")),
            (
                "Cost of capital (a year)",
                figures.percent(assumptions.cost_of_capital, "assumptions", "cost_of_capital"),
            ),
            ("Days in a year", figures.count(assumptions.days_per_year, "assumptions", "days_per_year")),
            (
                "Loss given default (share of the exposure lost)",
                figures.percent(assumptions.loss_given_default, "assumptions", "loss_given_default"),
            ),
            (
                "Probabilities of default",
                figures.absent("estimated from the portfolio's history", "assumptions", "pd_by_grade")
                if assumptions.pd_by_grade is None
                else "as in the table",
            ),
        ],
        caption="Economics of the marginal analysis",
        numeric=True,
    )
    collection_cost = table(
        [Column("Collection step"), Column("Cost of one step", numeric=True)],
        [
            [STEP_NAMES.get(step, step), figures.money(cost, "assumptions", "collection_cost", step)]
            for step, cost in assumptions.collection_cost.items()
        ],
        caption="Cost of a collection step",
    )
    tables = [economics, collection_cost]
    if assumptions.pd_by_grade is not None:
        tables.append(
            table(
                [Column("Grade"), Column("Probability of default", numeric=True)],
                [
                    [grade, figures.percent(rate, "assumptions", "pd_by_grade", grade)]
                    for grade, rate in assumptions.pd_by_grade.items()
                ],
                caption="Probability of default per grade, as assumed",
            )
        )
    return section(
        "Assumptions",
        tag("div", tables, class_="stack"),
        section_id="assumptions",
        intro="As the simulation used them (defaults where the assumptions file gave none).",
    )


def _footer(summary: Summary, figures: _Figures) -> Markup:
    return tag(
        "footer",
        [
            "Built from summary.json (",
            figures.text(summary.schema_, "schema"),
            "). The same summary always gives the same page.",
        ],
    )


def render_simulation(summary: Summary) -> str:
    """``report.html`` for a simulation: a self-contained page, the same bytes for the same summary."""
    figures = _Figures(summary.portfolio.currency)
    baseline, candidate = summary.baseline.policy, summary.candidate.policy
    title = f"Simulation: {candidate.id} {candidate.version} against {baseline.id} {baseline.version}"
    body = [
        _title(summary, figures),
        _headline_section(summary, figures),
        _compared_section(summary, figures),
        _grades_section(summary, figures),
        _orders_section(summary, figures),
        _limits_section(summary, figures),
        _receivables_section(summary, figures),
        _risk_section(summary, figures),
        _marginal_section(summary, figures),
        _details_section(summary, figures),
        _assumptions_section(summary, figures),
        _footer(summary, figures),
    ]
    return page(title=title, body=body)

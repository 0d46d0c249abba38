"""The simulation report: the headline first, every section there, every figure of the summary shown and equal
to summary.json, hostile text inert, the same bytes for the same summary."""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from pydantic import BaseModel

from api.service.reports.simulation import render_simulation
from engine.simulation import summary as summary_module
from engine.simulation.summary import Summary
from tests.factories import simulation_summary
from tests.report_figures import figure_mismatch, leaf_paths, marked_figures

SECTIONS = [
    "headline",
    "compared",
    "grades",
    "orders",
    "limits",
    "receivables",
    "risk",
    "marginal",
    "details",
    "assumptions",
]
CHARTS = {"grouped-bar": 7, "heatmap": 1, "bar-line": 1, "waterfall": 1}
# Values the page uses without printing: what a headline measures and which way is better (they colour its
# card), and the grade scales of the migration matrix (they name its rows and columns).
NOT_PRINTED = re.compile(r"^(headline\.\d+\.(key|unit|better)|migration\.(baseline|candidate)_grades\.\d+)$")


def summary_json(summary: Summary) -> Any:
    return json.loads(summary.to_json())


def variant(edit: Callable[[Any], None]) -> Summary:
    """The factory's summary with ``edit`` applied to its JSON, validated again."""
    data = summary_json(simulation_summary())
    edit(data)
    return Summary.model_validate(data)


def mismatches(summary: Summary, report: str) -> list[str]:
    document = summary_json(summary)
    return [problem for figure in marked_figures(report) if (problem := figure_mismatch(figure, document))]


def not_shown(summary: Summary, report: str) -> list[str]:
    shown = {figure.path for figure in marked_figures(report)}
    return [path for path in leaf_paths(summary_json(summary)) if path not in shown and not NOT_PRINTED.match(path)]


@pytest.fixture(scope="module")
def summary() -> Summary:
    return simulation_summary()


@pytest.fixture(scope="module")
def report(summary: Summary) -> str:
    return render_simulation(summary)


# --- structure ------------------------------------------------------------------------------


def test_the_sections_come_in_the_order_a_committee_reads_them(report: str) -> None:
    found = re.findall(r'<section id="([^"]+)">', report)
    assert found == SECTIONS
    assert report.index("<h1>") < report.index('<section id="headline">')


def test_the_headline_leads_with_the_verdict_and_a_card_per_headline_figure(summary: Summary, report: str) -> None:
    headline = report[report.index('<section id="headline">') : report.index('<section id="compared">')]
    assert 'class="verdict good"' in headline and 'data-summary="marginal.verdict"' in headline
    for index, item in enumerate(summary.headline):
        assert f'data-headline="{item.key}"' in headline
        for member in ("label", "baseline", "candidate", "change"):
            assert f'data-summary="headline.{index}.{member}"' in headline


def test_each_card_is_coloured_and_worded_by_whether_the_change_is_better(summary: Summary, report: str) -> None:
    judged = {key: css for css, key in re.findall(r'<div class="card (\w+)" data-headline="(\w+)">', report)}
    assert len(judged) == len(summary.headline)
    for item in summary.headline:
        better = (item.change > 0) == (item.better == "higher")
        assert judged[item.key] == ("good" if better else "bad"), item.key
    # The factory has both kinds: fewer customers eligible is worse, less expected loss is better.
    assert judged["eligible"] == "bad" and judged["expected_loss"] == "good"
    assert "worse (higher is better)" in report and "better (lower is better)" in report


def test_an_unchanged_figure_is_neither_good_nor_bad() -> None:
    def unchanged(data: Any) -> None:
        data["headline"][0]["candidate"] = data["headline"][0]["baseline"]
        data["headline"][0]["change"] = "0"

    report = render_simulation(variant(unchanged))
    assert '<div class="card neutral" data-headline="approved_sales">' in report
    assert "unchanged (higher is better)" in report


@pytest.mark.parametrize(
    ("verdict", "css", "words"),
    [
        ("adopt", "good", "the candidate. Its marginal revenue of"),
        ("keep the baseline", "bad", "The candidate's marginal cost of"),
        ("neutral", "neutral", "balance: a net benefit of"),
    ],
)
def test_the_verdict_is_said_in_words_and_coloured(verdict: str, css: str, words: str) -> None:
    def set_verdict(data: Any) -> None:
        data["marginal"]["verdict"] = verdict

    report = render_simulation(variant(set_verdict))
    paragraph = re.search(rf'<p class="verdict {css}">(.*?)</p>', report)
    assert paragraph is not None
    assert words in html.unescape(paragraph.group(1))
    assert f'data-format="text">{verdict}</span>' in paragraph.group(1)


def test_the_charts_are_all_there_and_each_is_an_svg(report: str) -> None:
    kinds = re.findall(r'<figure class="chart(?: wide)?" data-chart="([a-z-]+)">', report)
    assert Counter(kinds) == CHARTS
    for figure in re.findall(r'<figure class="chart.*?</figure>', report):
        assert '<svg viewBox="0 0 ' in figure and 'role="img"' in figure


def test_the_waterfall_draws_each_cost_as_what_it_takes_off_the_benefit(summary: Summary, report: str) -> None:
    waterfall = re.search(r'data-chart="waterfall">.*?</figure>', report)
    assert waterfall is not None
    figures = {figure.path: figure for figure in marked_figures(waterfall.group(0))}
    # The carrying cost rises: it takes money off the benefit; the collection cost falls: it adds to it.
    assert summary.marginal.carrying_cost_change > 0 > summary.marginal.collection_cost_change
    assert figures["marginal.carrying_cost_change"].text == "−¥ 612,480.35"
    assert figures["marginal.carrying_cost_change"].negated
    assert figures["marginal.collection_cost_change"].text == "+¥ 84,250.00"
    assert figures["marginal.net_benefit"].text == "+¥ 6,924,177.10" and not figures["marginal.net_benefit"].negated
    assert list(figures) == [
        "marginal.margin_change",
        "marginal.carrying_cost_change",
        "marginal.collection_cost_change",
        "marginal.bad_debt_change",
        "marginal.discount_cost_change",
        "marginal.net_benefit",
    ]


# --- figures --------------------------------------------------------------------------------


def test_every_marked_figure_equals_the_summary(summary: Summary, report: str) -> None:
    assert len(marked_figures(report)) > 400
    assert mismatches(summary, report) == []


def test_every_value_of_the_summary_is_on_the_page(summary: Summary, report: str) -> None:
    assert not_shown(summary, report) == []


def test_the_check_catches_a_figure_that_is_wrong(summary: Summary, report: str) -> None:
    shown = 'data-summary="baseline.limits.total_granted" data-format="money">¥ 165,580,000.00<'
    assert shown in report
    wrong_amount = report.replace(shown, shown.replace("165,580,000.00", "165,580,000.01"), 1)
    wrong_path = report.replace(shown, shown.replace("baseline.", "candidate."), 1)
    unsigned_cost = report.replace("data-negated>−¥ 612,480.35", ">−¥ 612,480.35", 1)
    for broken in (wrong_amount, wrong_path, unsigned_cost):
        assert broken != report
        assert len(mismatches(summary, broken)) == 1


def test_money_is_written_in_the_portfolio_currency(report: str) -> None:
    money = [figure.text for figure in marked_figures(report) if figure.format == "money"]
    assert money and all(re.fullmatch(r"[+−]?¥ [\d,]+(\.\d+)?(k|m|bn)?", text) for text in money), money
    euros = render_simulation(variant(lambda data: data["portfolio"].update(currency="EUR")))
    assert "€ 165,580,000.00" in euros and "¥" not in euros


def test_amounts_in_tables_are_exact(report: str) -> None:
    details = report[report.index('<section id="details">') :]
    money = [figure.text for figure in marked_figures(details) if figure.format == "money"]
    assert money and all(re.search(r"\.\d\d$", text) for text in money), money


# --- variants -------------------------------------------------------------------------------


def test_versions_with_different_grade_scales() -> None:
    def extra_grade(data: Any) -> None:
        candidate = data["candidate"]
        candidate["grades"]["E"] = 3
        candidate["limits"]["by_grade"]["E"] = "0.00"
        candidate["risk"]["pd_by_grade"]["E"] = "0.9000"
        data["migration"]["candidate_grades"].append("E")
        for row in data["migration"]["counts"]:
            row.append(0)
        del data["baseline"]["grades"]["D"]

    summary = variant(extra_grade)
    report = render_simulation(summary)
    assert mismatches(summary, report) == []
    assert not_shown(summary, report) == []
    assert "Outlined: grade unchanged." in report  # no left/right reading when the scales differ
    assert ">—</span>" in report  # D under A, E under B: a version without the grade has a dash


def test_no_transitions_and_no_headline_figures() -> None:
    def nothing(data: Any) -> None:
        data["order_transitions"] = []
        data["headline"] = []

    summary = variant(nothing)
    report = render_simulation(summary)
    assert "No order changes outcome." in report
    assert '<section id="headline">' in report and 'class="card ' not in report
    assert mismatches(summary, report) == []


def test_given_segments_and_assumed_probabilities_of_default() -> None:
    def assumed(data: Any) -> None:
        data["portfolio"]["segments"] = "given"
        data["portfolio"]["first_order"] = None
        data["assumptions"]["pd_by_grade"] = {"AAA": "0.0010", "D": "0.5000"}
        data["candidate"]["risk"]["pd_source"] = "assumptions"

    summary = variant(assumed)
    report = render_simulation(summary)
    assert mismatches(summary, report) == []
    assert not_shown(summary, report) == []
    assert "(as the portfolio gives them)" in report and ": as set in the assumptions" in report
    assert 'data-summary="assumptions.pd_by_grade.D" data-format="percent">50.00%<' in report
    assert 'data-summary="portfolio.first_order" data-format="empty">none<' in report


# --- hostile text ---------------------------------------------------------------------------

PAYLOAD = """<script>alert(1)</script><img/src=x/onerror=alert(2)>"'&amp;.~"""
# Strings the schema fixes (literals), which a summary cannot carry anything else in.
LITERALS = {"given", "derived", "history", "assumptions", "adopt", "keep the baseline", "neutral", "higher", "lower"}
LITERALS |= {"money", "count", "rate", "days", summary_module.SCHEMA}
FIELD_NAMES = {
    alias
    for model in vars(summary_module).values()
    if isinstance(model, type) and issubclass(model, BaseModel)
    for name, field in model.model_fields.items()
    for alias in (name, field.alias)
    if alias
}


def _poisoned(value: Any) -> Any:
    """Every free text and every free key of the summary with the payload appended (figures and dates kept)."""
    if isinstance(value, dict):
        return {(key if key in FIELD_NAMES else key + PAYLOAD): _poisoned(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_poisoned(item) for item in value]
    if isinstance(value, str) and value not in LITERALS and not re.fullmatch(r"-?[\d.]+|\d{4}-\d\d-\d\d", value):
        return value + PAYLOAD
    return value


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[str] = Counter()
        self.attributes: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        self.attributes.update(name for name, _ in attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_hostile_text_anywhere_in_the_summary_stays_text() -> None:
    summary = Summary.model_validate(_poisoned(summary_json(simulation_summary())))
    assert summary.portfolio.currency.endswith(PAYLOAD) and "AAA" + PAYLOAD in summary.baseline.grades
    report = render_simulation(summary)
    elements = _Elements()
    elements.feed(report)
    assert elements.tags["script"] == 0 and elements.tags["img"] == 0
    assert not [name for name in elements.attributes if name.startswith("on")]
    assert "".join(elements.text).count(PAYLOAD) > 100
    # Paths name hostile keys (with dots and tildes) and still lead to the value shown.
    assert mismatches(summary, report) == []
    assert not_shown(summary, report) == []


# --- the same bytes -------------------------------------------------------------------------


def test_the_same_summary_gives_the_same_bytes(summary: Summary, report: str) -> None:
    assert render_simulation(simulation_summary()) == report
    assert render_simulation(Summary.model_validate_json(summary.to_json())) == report
    assert re.findall(r' id="([^"]+)"', report) == SECTIONS  # no generated ids


def test_the_page_fetches_nothing(report: str) -> None:
    for fetched in ("http:", "https:", "src=", "url(", "@import", "<link", "<script", "<img", "<iframe"):
        assert fetched not in report.lower(), fetched
    assert report.startswith("<!DOCTYPE html>") and report.endswith("</html>\n")
    assert Decimal(len(report.encode("utf-8"))) < 400_000

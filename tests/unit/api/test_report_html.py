"""The report toolkit: hostile text stays text wherever it goes, charts draw any data (none, zeros, negatives),
figures are written for people, and the same input always gives the same bytes."""

from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest

from api.service.reports.html import (
    Column,
    Content,
    Datum,
    Markup,
    ReferenceLine,
    Series,
    WaterfallStep,
    bar_line_chart,
    escape,
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
    render,
    section,
    table,
    tag,
    waterfall_chart,
)
from tests.report_figures import MarkedFigure, figure_mismatch, marked_figures

# Breaks out of text, out of a double- or single-quoted attribute, and opens elements that run code.
HOSTILE = """<script>alert(1)</script><img src=x onerror=alert(2)>"' onmouseover="alert(3)" &amp; </text></svg>"""


class _Elements(HTMLParser):
    """Every element and attribute the browser would build, and all the text it would show."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend(attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(markup: str) -> _Elements:
    elements = _Elements()
    elements.feed(markup)
    elements.close()
    return elements


def assert_inert(markup: str, *, allowed_tags: set[str] | None = None) -> _Elements:
    """No element or attribute came from the hostile text, and the hostile text is there as text."""
    elements = parsed(markup)
    assert not {"script", "img"} & set(elements.tags), elements.tags
    assert not [name for name, _ in elements.attributes if name.startswith("on")], elements.attributes
    if allowed_tags is not None:
        assert set(elements.tags) <= allowed_tags, set(elements.tags) - allowed_tags
    assert HOSTILE in "".join(elements.text) or any(HOSTILE == value for _, value in elements.attributes)
    return elements


SVG_TAGS = {"figure", "figcaption", "strong", "span", "ul", "li", "svg", "title", "rect", "line", "text", "tspan"}
SVG_TAGS |= {"polyline", "circle", "p"}


# --- escaping and markup --------------------------------------------------------------------


def test_escape_writes_every_special_character_as_a_reference() -> None:
    assert escape("""<a href="x">'&'</a>""") == "&lt;a href=&quot;x&quot;&gt;&#x27;&amp;&#x27;&lt;/a&gt;"


def test_escape_leaves_markup_alone_and_makes_lone_surrogates_writable() -> None:
    assert escape(Markup("<b>ok</b>")) == "<b>ok</b>"
    assert escape("a\ud800b") == "a?b"
    assert escape("a\ud800b").encode("utf-8") == b"a?b"


def test_render_escapes_strings_marks_data_and_joins_sequences() -> None:
    content: list[Content] = ["<i>", Markup("<b>bold</b>"), Datum("¥ 1.00", "a.b", "money"), [["x&y"]]]
    assert render(content) == (
        '&lt;i&gt;<b>bold</b><span class="datum" data-summary="a.b" data-format="money">¥ 1.00</span>x&amp;y'
    )


def test_tag_escapes_attribute_values_and_handles_flags() -> None:
    markup = tag("td", HOSTILE, title=HOSTILE, class_="num", hidden=True, data_negated=False, colspan=None)
    assert markup.startswith('<td title="&lt;script&gt;')
    assert " hidden>" in markup and "data-negated" not in markup and "colspan" not in markup
    assert_inert(markup)
    assert parsed(markup).attributes[0] == ("title", HOSTILE)


@pytest.mark.parametrize("name", ["td onclick", "x>", "", "1a"])
def test_tag_refuses_names_that_are_not_names(name: str) -> None:
    with pytest.raises(ValueError):
        tag(name)
    with pytest.raises(ValueError):
        tag("td", **{name or "_": "x"})


def test_datum_marks_its_path_in_html_and_svg() -> None:
    datum = Datum("−¥ 5.00", "marginal.carrying_cost_change", "money", negated=True)
    assert datum.html() == (
        '<span class="datum" data-summary="marginal.carrying_cost_change" data-format="money" data-negated>'
        "−¥ 5.00</span>"
    )
    assert datum.svg().startswith('<tspan data-summary="marginal.carrying_cost_change"')
    assert marked_figures(datum.svg()) == [MarkedFigure("marginal.carrying_cost_change", "money", True, "−¥ 5.00")]


def test_json_path_escapes_dots_and_tildes_in_keys() -> None:
    assert json_path("baseline", "grades", "AAA") == "baseline.grades.AAA"
    assert json_path("headline", 0, "change") == "headline.0.change"
    assert json_path("a.b", "c~d") == "a~1b.c~0d"


# --- figures for people ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "options", "expected"),
    [
        ("1230000", {}, "¥ 1,230,000.00"),
        ("-1230.5", {}, "−¥ 1,230.50"),
        ("0", {"signed": True}, "¥ 0.00"),
        ("19800000", {"signed": True}, "+¥ 19,800,000.00"),
        ("0.005", {}, "¥ 0.01"),
        ("45230000", {"compact": True}, "¥ 45.2m"),
        ("1046233400", {"compact": True}, "¥ 1.05bn"),
        ("-8200000", {"compact": True}, "−¥ 8.20m"),
        ("999950", {"compact": True}, "¥ 1.00m"),
        ("12500", {"compact": True}, "¥ 12.5k"),
        ("950", {"compact": True}, "¥ 950"),
        ("0", {"compact": True}, "¥ 0"),
    ],
)
def test_money_has_separators_the_currency_and_a_real_minus(
    amount: str, options: dict[str, bool], expected: str
) -> None:
    assert format_money(Decimal(amount), "CNY", **options) == expected


def test_money_names_a_currency_without_a_symbol_by_its_code() -> None:
    assert format_money(Decimal("1000"), "CHF") == "CHF 1,000.00"
    assert format_money(Decimal("1000"), "EUR") == "€ 1,000.00"


def test_money_ticks_are_short_round_numbers() -> None:
    tick = money_ticks("CNY")
    assert [tick(Decimal(value)) for value in ("0", "50000000", "1500000000", "2000000", "-250000")] == [
        "¥ 0",
        "¥ 50m",
        "¥ 1.5bn",
        "¥ 2m",
        "−¥ 250k",
    ]


def test_counts_rates_and_days() -> None:
    assert format_count(1234567) == "1,234,567"
    assert format_count(-3, signed=True) == "−3"
    assert format_count(12, signed=True) == "+12"
    assert format_count(Decimal("402")) == "402"
    assert format_percent(Decimal("0.7312")) == "73.12%"
    assert format_percent(Decimal("0.0008")) == "0.08%"
    assert format_percent(Decimal("0.5"), decimals=0) == "50%"
    assert format_points(Decimal("0.004")) == "+0.40 pp"
    assert format_points(Decimal("-0.0006")) == "−0.06 pp"
    assert format_days(Decimal("52.8413")) == "52.8 days"
    assert format_days(Decimal("-3.2386"), signed=True) == "−3.2 days"


# --- page, sections, tables -----------------------------------------------------------------


def test_page_is_one_self_contained_document() -> None:
    charts = hostile_charts("Plain text")
    document = page(title="Report", body=[section("Part", *charts, table([Column("a")], [["b"]]), section_id="part")])
    assert document.startswith('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">')
    attributes = parsed(document).attributes
    assert ("http-equiv", "Content-Security-Policy") in attributes
    assert any(name == "content" and (value or "").startswith("default-src 'none';") for name, value in attributes)
    for fetched in ("http:", "https:", "src=", "url(", "@import", "<link", "<script", "<img", "<iframe"):
        assert fetched not in document.lower(), fetched
    assert "@media print" in document and "@page" in document


def test_page_escapes_its_title_sections_and_intros() -> None:
    document = page(title=HOSTILE, body=[section(HOSTILE, tag("p", HOSTILE), section_id="part", intro=HOSTILE)])
    elements = assert_inert(document)
    assert elements.tags.count("title") == 1
    assert "".join(elements.text).count(HOSTILE) == 4  # the title, the heading, the intro, the paragraph


def test_table_escapes_caption_headings_and_cells_and_aligns_figures() -> None:
    markup = table(
        [Column(HOSTILE), Column("Amount", numeric=True)],
        [[HOSTILE, Datum(HOSTILE, "x", "text")], ["row", "1"]],
        caption=HOSTILE,
    )
    elements = assert_inert(markup)
    assert "".join(elements.text).count(HOSTILE) == 4
    assert '<th class="num" scope="col">Amount</th>' in markup
    assert '<th scope="row">row</th><td class="num">1</td>' in markup


def test_table_without_rows_says_so_and_refuses_ragged_rows() -> None:
    empty = table([Column("a"), Column("b")], [], empty=HOSTILE)
    assert '<td colspan="2" class="empty">' in empty
    assert_inert(empty)
    with pytest.raises(ValueError, match="row 1 has 1 cells for 2 columns"):
        table([Column("a"), Column("b")], [["only one"]])


def test_facts_table_has_no_column_headings() -> None:
    markup = facts_table([("What", "Value")], caption="Facts", numeric=True)
    assert "<thead>" not in markup and '<td class="num">Value</td>' in markup


# --- charts ---------------------------------------------------------------------------------


def _hostile_series(values: list[int], colour: str = "#123456", text: str = HOSTILE) -> Series:
    return Series(name=text, values=values, colour=colour, labels=[text] * len(values))


def hostile_charts(text: str = HOSTILE) -> list[Markup]:
    """Every chart with ``text`` (by default hostile) in every place text goes."""
    return [
        grouped_bar_chart(
            title=text, categories=[text, "b"], series=[_hostile_series([1, -2], text=text)], description=text
        ),
        heatmap(
            title=text,
            row_labels=[text, "b"],
            column_labels=[text, "c"],
            counts=[[1, 2], [3, 4]],
            row_title=text,
            column_title=text,
            cell_labels=[[text, "2"], ["3", Datum(text, text, "text")]],
            description=text,
        ),
        waterfall_chart(
            title=text,
            steps=[WaterfallStep(text, 5, text), WaterfallStep(text, 3, total=True)],
            description=text,
        ),
        bar_line_chart(
            title=text,
            categories=[text, "b"],
            bars=[_hostile_series([4, -1], text=text)],
            lines=[_hostile_series([4, 3], "#654321", text=text)],
            references=[ReferenceLine((text, Datum(text, text, "text")), 6)],
            description=text,
        ),
    ]


@pytest.mark.parametrize("chart", range(4))
def test_hostile_text_in_a_chart_stays_text(chart: int) -> None:
    markup = hostile_charts()[chart]
    elements = assert_inert(markup, allowed_tags=SVG_TAGS)
    assert elements.tags.count("svg") >= 1
    # In the figure caption, in the tooltips (<title>) and as labels: several times, always as text.
    assert "".join(elements.text).count(HOSTILE) >= 3


def _rects(markup: str) -> list[dict[str, str | None]]:
    """The rectangles of the chart itself (not the legend's swatches)."""
    rects: list[dict[str, str | None]] = []
    markup = markup[markup.index('class="chart-svg"') :]

    class Rects(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "rect":
                rects.append(dict(attrs))

    Rects().feed(markup)
    return rects


def _zero_line_x(markup: str) -> float:
    # The zero line is the darker one, written after the bars.
    match = re.findall(r'<line x1="([\d.]+)"[^>]*stroke="#5b6773" stroke-width="1.2"', markup)
    assert match, markup
    return float(match[-1])


def test_grouped_bars_run_right_for_rises_and_left_for_falls() -> None:
    markup = grouped_bar_chart(title="t", categories=["up", "down"], series=[Series("s", [10, -5], "#111111")])
    zero = _zero_line_x(markup)
    up, down = [rect for rect in _rects(markup) if rect.get("fill") == "#111111"]
    assert float(up["x"] or 0) == zero and float(up["width"] or 0) > 0
    assert float(down["x"] or 0) + float(down["width"] or 0) == pytest.approx(zero, abs=0.11)
    assert float(up["width"] or 0) == pytest.approx(2 * float(down["width"] or 0), abs=0.2)
    assert 'text-anchor="end">−5</text>' in markup and 'text-anchor="start">10</text>' in markup


def test_charts_of_zeros_draw_empty_bars_on_a_zero_to_one_axis() -> None:
    markup = grouped_bar_chart(title="t", categories=["a", "b"], series=[Series("s", [0, 0], "#111111")])
    assert [rect["width"] for rect in _rects(markup) if rect.get("fill") == "#111111"] == ["0.0", "0.0"]
    assert ">0</text>" in markup and ">1</text>" in markup
    all_zero = heatmap(title="t", row_labels=["a"], column_labels=["a"], counts=[[0]], row_title="r", column_title="c")
    assert 'fill="#f4f7fa"' in all_zero  # the lightest shade, no division by zero
    assert (
        waterfall_chart(title="t", steps=[WaterfallStep("s", 0), WaterfallStep("n", 0, total=True)]).count("<rect") >= 2
    )
    assert "<polyline" in bar_line_chart(title="t", categories=["a"], bars=[], lines=[Series("l", [0], "#111111")])


@pytest.mark.parametrize(
    "markup",
    [
        grouped_bar_chart(title="t", categories=[], series=[]),
        grouped_bar_chart(title="t", categories=["a"], series=[]),
        heatmap(title="t", row_labels=[], column_labels=[], counts=[], row_title="r", column_title="c"),
        waterfall_chart(title="t", steps=[]),
        bar_line_chart(title="t", categories=[], bars=[]),
    ],
)
def test_charts_without_data_say_so_instead_of_drawing(markup: str) -> None:
    assert "<svg" not in markup
    assert "Nothing to chart" in markup and 'class="no-data"' in markup


def test_waterfall_steps_from_the_running_total_and_draws_totals_from_zero() -> None:
    markup = waterfall_chart(
        title="t",
        steps=[WaterfallStep("revenue", 100), WaterfallStep("cost", -30), WaterfallStep("net", 70, total=True)],
    )
    revenue, cost, net = [rect for rect in _rects(markup) if rect.get("rx") == "2"]
    assert revenue["fill"] == "#1b7f3b" and cost["fill"] == "#b3261e" and net["fill"] == "#334e68"
    # The cost hangs from the revenue's top down to where the net total's top is.
    assert cost["y"] == revenue["y"]
    assert float(cost["y"] or 0) + float(cost["height"] or 0) == pytest.approx(float(net["y"] or 0), abs=0.11)


def test_waterfall_with_a_negative_total_goes_below_zero() -> None:
    markup = waterfall_chart(
        title="t", steps=[WaterfallStep("a", 10), WaterfallStep("b", -40), WaterfallStep("n", -30, total=True)]
    )
    assert "−30" in markup and "−40" in markup and ">10<" in markup


def test_bar_line_draws_references_and_negative_columns() -> None:
    markup = bar_line_chart(
        title="t",
        categories=["a", "b"],
        bars=[Series("s", [Decimal(5), Decimal(-2)], "#111111")],
        lines=[Series("l", [Decimal(5), Decimal(3)], "#222222")],
        references=[ReferenceLine("ceiling", 8)],
    )
    assert markup.count('stroke-dasharray="7 4"') == 1 and ">ceiling</text>" in markup
    assert "<polyline" in markup and markup.count("<circle") == 2
    assert all(float(rect["height"] or 0) >= 0 for rect in _rects(markup))


def test_heatmap_writes_each_count_outlines_the_diagonal_and_refuses_a_wrong_shape() -> None:
    markup = heatmap(
        title="t",
        row_labels=["A", "B"],
        column_labels=["A", "B"],
        counts=[[5, 1], [0, 7]],
        row_title="r",
        column_title="c",
    )
    assert [count for count in ("5", "1", "0", "7") if f">{count}</text>" in markup] == ["5", "1", "0", "7"]
    assert markup.count('fill="none" stroke="#1d2733"') == 2
    assert 'fill="#0b3d75"' in markup  # the largest count has the darkest shade
    with pytest.raises(ValueError):
        heatmap(title="t", row_labels=["A"], column_labels=["A", "B"], counts=[[1]], row_title="r", column_title="c")


def test_series_must_fit_their_categories() -> None:
    with pytest.raises(ValueError, match="2 values for 3 categories"):
        grouped_bar_chart(title="t", categories=["a", "b", "c"], series=[Series("s", [1, 2], "#111111")])
    with pytest.raises(ValueError, match="1 labels for 2 values"):
        grouped_bar_chart(title="t", categories=["a", "b"], series=[Series("s", [1, 2], "#111111", labels=["x"])])


def test_charts_are_deterministic_and_never_write_minus_zero() -> None:
    first = "".join(hostile_charts())
    assert first == "".join(hostile_charts())
    assert "-0.0" not in first and "nan" not in first.lower() and "inf" not in first.lower()
    assert 'id="' not in first  # no generated ids to differ between runs or clash between charts


def test_figures_in_charts_are_marked_and_read_back() -> None:
    markup = grouped_bar_chart(
        title="t",
        categories=["a"],
        series=[Series("s", [Decimal("45230000")], "#111111", labels=[Datum("¥ 45.2m", "x", "money")])],
    )
    (figure,) = marked_figures(markup)
    assert figure_mismatch(figure, {"x": "45230000.00"}) is None
    assert figure_mismatch(figure, {"x": "45300000.00"}) is not None  # one shown digit off is caught

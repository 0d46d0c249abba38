"""Self-contained HTML reports: escaping, a page skeleton, tables, figures formatted for people, inline SVG charts.

Why by hand and why this shape: a report goes to a credit committee or an auditor, is read on a
laptop, printed, mailed and archived beside the decision it supported. So a page is **one file
that needs nothing else**: no fonts, scripts, images or stylesheets are fetched (the page's own
Content-Security-Policy forbids it), and the charts are SVG written here. The same input gives
**the same bytes** (no timestamps, no random ids, coordinates written to one decimal), so a report
can be hashed, diffed and pinned in a test.

Text is escaped wherever it goes (element text, attribute values, SVG labels, tooltips): anything
that is a plain ``str`` is escaped when written, only :class:`Markup` built by this module is
written as is. A figure taken from a JSON document behind the report is a :class:`Datum`: its
text on the page carries ``data-summary`` (the value's path in that document, see
:func:`json_path`) and ``data-format`` (how it was written: ``money``, ``count``, ``percent``,
``points``, ``days``, ``date``, ``text``, ``empty``), so a test can find every figure on the page
and check it against the document.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Literal, TypeAlias

__all__ = [
    "BASELINE_COLOUR",
    "BAD_COLOUR",
    "CANDIDATE_COLOUR",
    "GOOD_COLOUR",
    "Column",
    "Content",
    "Datum",
    "DatumFormat",
    "Markup",
    "ReferenceLine",
    "Series",
    "SvgText",
    "WaterfallStep",
    "bar_line_chart",
    "chart_grid",
    "escape",
    "facts_table",
    "format_count",
    "format_days",
    "format_money",
    "format_percent",
    "format_points",
    "grouped_bar_chart",
    "heatmap",
    "json_path",
    "money_ticks",
    "page",
    "render",
    "section",
    "table",
    "tag",
    "waterfall_chart",
]

BASELINE_COLOUR = "#8d9aa8"
CANDIDATE_COLOUR = "#1f5fa8"
GOOD_COLOUR = "#1b7f3b"
BAD_COLOUR = "#b3261e"
NEUTRAL_COLOUR = "#4b5563"
TOTAL_COLOUR = "#334e68"
REFERENCE_COLOUR = "#c2410c"
MINUS = "\u2212"  # a real minus sign: as wide as the plus, never broken from its number

# --- markup ---------------------------------------------------------------------------------


class Markup(str):
    """Text that is already HTML and is written as is: only this module's functions make it."""

    __slots__ = ()


DatumFormat = Literal["money", "count", "percent", "points", "days", "date", "text", "empty"]


@dataclass(frozen=True)
class Datum:
    """A figure from the document behind the report, as shown, with where it came from.

    ``path`` is the value's place in that document (:func:`json_path`); ``negated`` says the page
    shows minus the value (a cost drawn as what it takes off a benefit).
    """

    text: str
    path: str
    format: DatumFormat
    negated: bool = False

    def _attributes(self) -> dict[str, Attribute]:
        return {"data_summary": self.path, "data_format": self.format, "data_negated": self.negated or None}

    def html(self) -> Markup:
        """The figure in HTML text."""
        return tag("span", self.text, class_="datum", **self._attributes())

    def svg(self) -> Markup:
        """The figure inside an SVG ``<text>`` (an HTML ``span`` there would end the SVG)."""
        return tag("tspan", self.text, **self._attributes())


Content: TypeAlias = "str | Datum | Sequence[Content]"
Attribute: TypeAlias = "str | int | float | Decimal | bool | None"
SvgText: TypeAlias = "str | Datum | Sequence[str | Datum]"

_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*")
_VOID = frozenset({"meta", "br", "hr", "col", "img", "input", "link", "wbr"})


def escape(text: object) -> Markup:
    """Text made safe for element content and quoted attribute values (``& < > " '``).

    A lone surrogate (JSON can spell one) would make the page unwritable as UTF-8: it becomes ``?``.
    """
    if isinstance(text, Markup):
        return text
    safe = str(text).encode("utf-8", "replace").decode("utf-8")
    return Markup(html.escape(safe, quote=True))


def render(content: Content) -> Markup:
    """Content as HTML: strings escaped, :class:`Markup` as is, a :class:`Datum` marked, sequences joined."""
    if isinstance(content, Markup):
        return content
    if isinstance(content, str):
        return escape(content)
    if isinstance(content, Datum):
        return content.html()
    return Markup("".join(render(part) for part in content))


def _attribute_text(value: str | int | float | Decimal) -> str:
    if isinstance(value, float):
        return _coordinate(value)
    return str(value)


def tag(name: str, content: Content = "", /, **attributes: Attribute) -> Markup:
    """One element. ``class_`` is ``class``; other underscores become hyphens (``data_summary``);
    ``True`` writes a bare attribute, ``None`` and ``False`` leave it out; floats are written to one decimal.
    """
    if not _NAME.fullmatch(name):
        raise ValueError(f"not an element name: {name!r}")
    parts = [name]
    for key, value in attributes.items():
        attribute = key.rstrip("_").replace("_", "-")
        if not _NAME.fullmatch(attribute):
            raise ValueError(f"not an attribute name: {key!r}")
        if value is None or value is False:
            continue
        parts.append(attribute if value is True else f'{attribute}="{escape(_attribute_text(value))}"')
    opening = "<" + " ".join(parts) + ">"
    if name in _VOID:
        return Markup(opening)
    return Markup(f"{opening}{render(content)}</{name}>")


def json_path(*segments: str | int) -> str:
    """A value's place in a JSON document, segments joined by dots (``baseline.grades.AAA``, ``headline.0.change``).

    In a key, ``~`` is written ``~0`` and ``.`` is written ``~1`` (as in a JSON Pointer), so any key can be named.
    """
    return ".".join(str(segment).replace("~", "~0").replace(".", "~1") for segment in segments)


# --- figures for people ---------------------------------------------------------------------

CURRENCY_SYMBOLS = {"CNY": "¥", "EUR": "€", "USD": "$", "GBP": "£"}
_COMPACT_UNITS = ((Decimal(10) ** 9, "bn"), (Decimal(10) ** 6, "m"), (Decimal(10) ** 3, "k"))


def _sign(value: Decimal, signed: bool) -> str:
    if value < 0:
        return MINUS
    return "+" if signed and value > 0 else ""


def _grouped(value: Decimal, decimals: int) -> str:
    quantum = Decimal(1).scaleb(-decimals)
    return f"{abs(value).quantize(quantum, rounding=ROUND_HALF_UP):,.{decimals}f}"


def _compact(value: Decimal) -> str:
    """Three significant digits with k / m / bn, for chart labels where the full amount does not fit."""
    magnitude = abs(value)
    for index, (unit_size, unit) in enumerate(_COMPACT_UNITS):
        if magnitude < unit_size:
            continue
        scaled = magnitude / unit_size
        decimals = max(0, 2 - scaled.adjusted())
        text = _grouped(scaled, decimals)
        if Decimal(text.replace(",", "")) >= 1000 and index > 0:  # 999.95k rounds to 1000k: say 1.00m
            scaled = magnitude / _COMPACT_UNITS[index - 1][0]
            return _grouped(scaled, 2) + _COMPACT_UNITS[index - 1][1]
        return text + unit
    return _grouped(magnitude, 2 if magnitude < 10 and magnitude != magnitude.to_integral_value() else 0)


def format_money(amount: Decimal, currency: str, *, signed: bool = False, compact: bool = False) -> str:
    """``¥ 1,230,000.00`` (the symbol for CNY, EUR, USD, GBP, else the code); ``compact``: ``¥ 1.23m``.

    ``signed`` writes ``+`` before a rise, for changes; a fall always has a minus sign.
    """
    symbol = CURRENCY_SYMBOLS.get(currency, currency)
    digits = _compact(amount) if compact else _grouped(amount, 2)
    return f"{_sign(amount, signed)}{symbol} {digits}"


def money_ticks(currency: str) -> Callable[[Decimal], str]:
    """Axis ticks in money: short, without trailing zeros (``¥ 50m``, ``¥ 1.5bn``): a tick is a round number."""

    def tick(amount: Decimal) -> str:
        text = format_money(amount, currency, compact=True)
        return re.sub(r"\.0+(?=\D*$)|(\.\d*?)0+(?=\D*$)", r"\1", text)

    return tick


def format_count(count: int | Decimal, *, signed: bool = False) -> str:
    """``1,234``; ``signed``: ``+12`` / ``−3``."""
    value = Decimal(count)
    decimals = 0 if value == value.to_integral_value() else 2
    return _sign(value, signed) + _grouped(value, decimals)


def format_percent(rate: Decimal, *, signed: bool = False, decimals: int = 2) -> str:
    """A share written as a percentage: ``0.7312`` is ``73.12%``."""
    return _sign(rate, signed) + _grouped(rate * 100, decimals) + "%"


def format_points(rate_change: Decimal, *, decimals: int = 2) -> str:
    """A change of a rate in percentage points: ``0.004`` is ``+0.40 pp``."""
    return _sign(rate_change, True) + _grouped(rate_change * 100, decimals) + " pp"


def format_days(days: Decimal, *, signed: bool = False, decimals: int = 1) -> str:
    """``45.3 days``."""
    return _sign(days, signed) + _grouped(days, decimals) + " days"


# --- the page -------------------------------------------------------------------------------

# Colours are chosen to survive printing in black and white: every coloured judgement is also
# written in words (better / worse), and the charts carry their numbers.
_STYLE = """
:root { --ink: #1d2733; --muted: #5b6773; --rule: #d9dee4; --panel: #f5f7f9;
  --good: #1b7f3b; --good-bg: #e7f4ea; --bad: #b3261e; --bad-bg: #fbeae8; --neutral-bg: #eef1f4; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; color: var(--ink); background: #fff; font: 15px/1.45 system-ui, -apple-system, "Segoe UI",
  Roboto, "Helvetica Neue", Arial, "Liberation Sans", "DejaVu Sans", sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 28px 24px 48px; }
h1 { font-size: 26px; line-height: 1.25; margin: 0 0 6px; }
h2 { font-size: 20px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--ink); }
h3 { font-size: 18px; margin: 28px 0 6px; }
p { margin: 6px 0 10px; max-width: 80ch; }
.subtitle { color: var(--muted); margin: 0 0 18px; }
.intro { color: var(--muted); }
.num, td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code, .mono { font-family: "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace; font-size: 12px;
  overflow-wrap: anywhere; }
table.data { border-collapse: collapse; margin: 8px 0 18px; width: 100%; font-variant-numeric: tabular-nums; }
table.data caption { text-align: left; font-weight: 600; font-size: 14px; color: var(--muted); padding: 0 0 4px; }
table.data th, table.data td { padding: 5px 12px 5px 8px; border-bottom: 1px solid var(--rule);
  text-align: left; vertical-align: top; }
table.data thead th { border-bottom: 2px solid var(--ink); font-size: 13px; color: var(--muted); }
table.data tbody th { font-weight: 600; }
table.data .num { text-align: right; }
table.data td.empty { color: var(--muted); font-style: italic; }
table.facts tbody th, table.compare tbody th { width: 42%; }
.derived { color: var(--muted); }
.tables { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 0 32px; align-items: start; }
.stack { max-width: 900px; }
.charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 20px 28px; margin: 12px 0;
  align-items: start; }
figure.chart { margin: 0; padding: 12px 14px 10px; border: 1px solid var(--rule); border-radius: 6px;
  background: #fff; break-inside: avoid; page-break-inside: avoid; }
figure.chart.wide { grid-column: 1 / -1; }
figure.chart figcaption { margin-bottom: 6px; }
figure.chart figcaption strong { display: block; font-size: 15px; }
figure.chart figcaption span { color: var(--muted); font-size: 13px; }
figure.chart svg { display: block; width: 100%; height: auto; overflow: visible; fill: var(--ink); }
figure.chart svg text { font-family: inherit; }
.legend { list-style: none; margin: 4px 0 6px; padding: 0; font-size: 13px; color: var(--muted); }
.legend li { display: inline-block; margin-right: 18px; white-space: nowrap; }
.legend svg { display: inline-block !important; width: 22px !important; height: 12px !important;
  vertical-align: -1px; margin-right: 5px; }
.no-data { color: var(--muted); font-style: italic; padding: 24px 0; }
.verdict { font-size: 17px; padding: 12px 16px; border-radius: 6px; margin: 10px 0 18px; max-width: none;
  border-left: 6px solid var(--muted); background: var(--neutral-bg); }
.verdict.good { border-color: var(--good); background: var(--good-bg); }
.verdict.bad { border-color: var(--bad); background: var(--bad-bg); }
.cards { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 12px; margin: 10px 0; }
.card { border: 1px solid var(--rule); border-top: 5px solid var(--muted); border-radius: 6px; padding: 10px 14px;
  background: var(--neutral-bg); break-inside: avoid; }
.card.good { border-top-color: var(--good); background: var(--good-bg); }
.card.bad { border-top-color: var(--bad); background: var(--bad-bg); }
.card .label { font-weight: 600; font-size: 14px; }
.card .change { font-size: 23px; font-weight: 700; margin: 2px 0; white-space: nowrap; }
.card.good .change { color: var(--good); }
.card.bad .change { color: var(--bad); }
.card .judgement { font-size: 12px; font-weight: 700; text-transform: uppercase; letter-spacing: .04em; }
.card .from-to { font-size: 13px; color: var(--muted); font-variant-numeric: tabular-nums; }
.good-text { color: var(--good); font-weight: 600; }
.bad-text { color: var(--bad); font-weight: 600; }
footer { margin-top: 40px; padding-top: 10px; border-top: 1px solid var(--rule); color: var(--muted); font-size: 12px; }
@media (max-width: 900px) { .charts, .tables, .cards { grid-template-columns: minmax(0, 1fr); } }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { font-size: 10pt; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; }
  .charts, .tables { grid-template-columns: minmax(0, 1fr); }
  .cards { grid-template-columns: repeat(2, minmax(0, 1fr)); }
  tr, .card, figure.chart { break-inside: avoid; page-break-inside: avoid; }
}
"""

# Nothing may be fetched: no scripts, fonts, images or frames; styles only from the page itself.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def page(*, title: str, body: Content, lang: str = "en", style: str = "") -> str:
    """A whole HTML document: the skeleton, the inline stylesheet (plus a page's own ``style``) and ``body``
    inside ``<main>``."""
    head = tag(
        "head",
        [
            tag("meta", charset="utf-8"),
            tag("meta", name="viewport", content="width=device-width, initial-scale=1"),
            tag("meta", http_equiv="Content-Security-Policy", content=_CSP),
            tag("meta", name="color-scheme", content="light"),
            tag("title", title),
            Markup(f"<style>{_STYLE}{style}</style>"),
        ],
    )
    return "<!DOCTYPE html>\n" + tag("html", [head, tag("body", tag("main", body))], lang=lang) + "\n"


def section(title: str, *content: Content, section_id: str, intro: Content | None = None) -> Markup:
    """A titled part of the page, with an optional sentence saying what it shows."""
    lead = tag("p", intro, class_="intro") if intro is not None else Markup("")
    return tag("section", [tag("h2", title), lead, *content], id=section_id)


@dataclass(frozen=True)
class Column:
    """A table column: its heading, and whether it holds figures (right-aligned)."""

    title: Content
    numeric: bool = False


def table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[Content]],
    *,
    caption: Content | None = None,
    empty: str = "None.",
    row_headers: bool = True,
    column_headers: bool = True,
    extra_class: str | None = None,
) -> Markup:
    """A data table; the first cell of a row is its header unless ``row_headers`` is false."""
    for number, row in enumerate(rows, start=1):
        if len(row) != len(columns):
            raise ValueError(f"row {number} has {len(row)} cells for {len(columns)} columns")
    head = tag("thead", tag("tr", [_cell("th", column, column.title, scope="col") for column in columns]))
    if rows:
        body_rows = [
            tag(
                "tr",
                [
                    _cell(
                        "th" if index == 0 and row_headers else "td", column, cell, scope="row" if index == 0 else None
                    )
                    for index, (column, cell) in enumerate(zip(columns, row, strict=True))
                ],
            )
            for row in rows
        ]
    else:
        body_rows = [tag("tr", tag("td", empty, colspan=len(columns), class_="empty"))]
    parts: list[Content] = [tag("caption", caption)] if caption is not None else []
    if column_headers:
        parts.append(head)
    return tag("table", [*parts, tag("tbody", body_rows)], class_=" ".join(filter(None, ["data", extra_class])))


def _cell(name: str, column: Column, content: Content, scope: str | None) -> Markup:
    return tag(name, content, class_="num" if column.numeric else None, scope=scope if name == "th" else None)


def facts_table(
    rows: Sequence[tuple[Content, Content]], *, caption: Content | None = None, numeric: bool = False
) -> Markup:
    """A two-column table of named facts (what, value), without column headings; ``numeric`` right-aligns the values."""
    columns = [Column("What"), Column("Value", numeric=numeric)]
    return table(columns, [list(row) for row in rows], caption=caption, column_headers=False, extra_class="facts")


def chart_grid(*figures: Markup) -> Markup:
    """Charts side by side, two to a row on a laptop (``wide`` ones take a whole row), one per row in print."""
    return tag("div", list(figures), class_="charts")


# --- charts ---------------------------------------------------------------------------------

NARROW = 560  # a chart in one of two columns on a 1280-pixel-wide screen, drawn at its own size
WIDE = 1150
_FONT = 12
_CHAR_WIDTH = 0.62  # of the font size: DejaVu Sans and Liberation Sans digits are 0.55-0.64 em wide
_Number: TypeAlias = "Decimal | int"
TickFormat = Callable[[Decimal], str]


@dataclass(frozen=True)
class Series:
    """One set of values across a chart's categories (a version, a measure); ``labels`` as shown beside them."""

    name: str
    values: Sequence[_Number]
    colour: str
    labels: Sequence[SvgText] | None = None  # None: each value through the chart's tick format


@dataclass(frozen=True)
class WaterfallStep:
    """One bar of a waterfall: a change from the running total, or (``total``) a total drawn from zero."""

    label: str
    value: _Number
    value_label: SvgText | None = None
    total: bool = False


@dataclass(frozen=True)
class ReferenceLine:
    """A level drawn across a chart (a budget, a ceiling), named where it ends."""

    label: SvgText
    value: _Number
    colour: str = REFERENCE_COLOUR


def _coordinate(value: float) -> str:
    """A coordinate to one decimal, never ``-0.0``: the same number always gives the same bytes."""
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def _text_width(text: str, size: float) -> float:
    """What a label takes in a sans-serif font, a little generously (no font metrics offline)."""
    return len(text) * size * _CHAR_WIDTH


def _plain(label: SvgText) -> str:
    if isinstance(label, str):
        return label
    if isinstance(label, Datum):
        return label.text
    return "".join(_plain(part) for part in label)


def _svg_text(label: SvgText) -> Markup:
    if isinstance(label, str):
        return escape(label)
    if isinstance(label, Datum):
        return label.svg()
    return Markup("".join(_svg_text(part) for part in label))


def _shorten(text: str, width: float, size: float) -> str:
    """A label cut with an ellipsis to fit ``width`` (the full text stays in the tooltip)."""
    if _text_width(text, size) <= width + 0.5:  # half a pixel of slack: float rounding must not cut a fitting label
        return text
    keep = max(1, int(width / (size * _CHAR_WIDTH)) - 1)
    return text[:keep] + "…"


def _wrap(text: str, width: float, size: float, lines: int = 2) -> list[str]:
    """Words in at most ``lines`` lines of ``width``; the last line shortened if they do not fit."""
    result: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and _text_width(candidate, size) > width:
            result.append(current)
            current = word
        else:
            current = candidate
    result.append(current)
    if len(result) > lines:
        result = [*result[: lines - 1], " ".join(result[lines - 1 :])]
    return [_shorten(line, width, size) for line in result]


def _text(
    x: float,
    y: float,
    label: SvgText,
    *,
    size: float = _FONT,
    anchor: str = "start",
    halo: bool = False,
    **extra: Attribute,
) -> Markup:
    """A label; ``halo`` outlines it in white so it stays legible where it crosses a line or a bar."""
    if halo:
        extra = {"stroke": "#ffffff", "stroke_width": 3, "stroke_linejoin": "round", "paint_order": "stroke", **extra}
    return tag("text", _svg_text(label), x=x, y=y, font_size=size, text_anchor=anchor, **extra)


def _nice_ticks(values: Sequence[Decimal], *, whole: bool, count: int = 5) -> list[Decimal]:
    """Round steps (1, 2 or 5 × a power of ten) covering the values and zero; 0..1 when there is nothing."""
    low = min([Decimal(0), *values])
    high = max([Decimal(0), *values])
    if low == high:
        high = low + 1
    raw = (high - low) / count
    base = Decimal(1).scaleb(raw.adjusted())
    step = next(base * multiple for multiple in (1, 2, 5, 10) if base * multiple >= raw)
    if whole:
        step = max(step, Decimal(1))
    first = (low / step).to_integral_value(rounding=ROUND_FLOOR) * step
    last = (high / step).to_integral_value(rounding=ROUND_CEILING) * step
    steps = int((last - first) / step)
    return [first + step * index for index in range(steps + 1)]


@dataclass(frozen=True)
class _Scale:
    """Values low..high onto pixels start..end (either way round)."""

    low: Decimal
    high: Decimal
    start: float
    end: float

    def __call__(self, value: _Number) -> float:
        share = float((Decimal(value) - self.low) / (self.high - self.low))
        return self.start + share * (self.end - self.start)


def _default_format(value: Decimal) -> str:
    return format_count(value)


def _labels(series: Series, tick_format: TickFormat) -> list[SvgText]:
    if series.labels is not None:
        if len(series.labels) != len(series.values):
            raise ValueError(f"series {series.name!r}: {len(series.labels)} labels for {len(series.values)} values")
        return list(series.labels)
    return [tick_format(Decimal(value)) for value in series.values]


def _check_series(categories: Sequence[str], series: Sequence[Series]) -> None:
    for one in series:
        if len(one.values) != len(categories):
            raise ValueError(f"series {one.name!r} has {len(one.values)} values for {len(categories)} categories")


def _swatch(colour: str, shape: Literal["box", "line", "dashed"]) -> Markup:
    if shape == "box":
        mark = tag("rect", x=3, y=1, width=14, height=10, rx=2, fill=colour)
    else:
        mark = tag(
            "line",
            x1=1,
            y1=6,
            x2=21,
            y2=6,
            stroke=colour,
            stroke_width=3,
            stroke_dasharray="5 3" if shape == "dashed" else None,
        )
    return tag("svg", mark, viewBox="0 0 22 12", width=22, height=12, aria_hidden="true")


def _legend(entries: Sequence[tuple[str, str, Literal["box", "line", "dashed"]]]) -> Markup:
    if not entries:
        return Markup("")
    return tag("ul", [tag("li", [_swatch(colour, shape), name]) for name, colour, shape in entries], class_="legend")


def _figure(
    kind: str,
    title: str,
    description: Content,
    drawing: Sequence[Markup],
    *,
    width: float,
    height: float,
    wide: bool,
    legend: Markup = Markup(""),
) -> Markup:
    caption = tag("figcaption", [tag("strong", title), tag("span", description)])
    svg = tag(
        "svg",
        [tag("title", title), *drawing],
        viewBox=f"0 0 {_coordinate(width)} {_coordinate(height)}",
        width=width,
        height=height,
        role="img",
        aria_label=title,
        class_="chart-svg",
    )
    return tag("figure", [caption, legend, svg], class_="chart wide" if wide else "chart", data_chart=kind)


def _no_data(kind: str, title: str, description: Content, reason: str, *, wide: bool) -> Markup:
    caption = tag("figcaption", [tag("strong", title), tag("span", description)])
    body = tag("p", f"Nothing to chart: {reason}.", class_="no-data")
    return tag("figure", [caption, body], class_="chart wide" if wide else "chart", data_chart=kind)


def grouped_bar_chart(
    *,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    tick_format: TickFormat = _default_format,
    description: Content = "",
    wide: bool = False,
) -> Markup:
    """Horizontal bars, one group per category and one bar per series, each with its value written beside it.

    Horizontal, because amounts written in full need room: a label runs on past the end of its bar.
    Negative values run left of the zero line.
    """
    kind = "grouped-bar"
    if not categories or not series:
        return _no_data(kind, title, description, "no categories" if not categories else "no values", wide=wide)
    _check_series(categories, series)
    width = WIDE if wide else NARROW
    labels = [_labels(one, tick_format) for one in series]
    values = [[Decimal(value) for value in one.values] for one in series]
    flat = [value for row in values for value in row]
    whole = all(isinstance(value, int) for one in series for value in one.values)
    ticks = _nice_ticks(flat, whole=whole)

    def widest(negative: bool) -> float:
        widths = [
            _text_width(_plain(label), 11)
            for row, row_labels in zip(values, labels, strict=True)
            for value, label in zip(row, row_labels, strict=True)
            if (value < 0) == negative
        ]
        return max(widths, default=0.0) + (8 if widths else 0)

    category_width = min(width * 0.3, max(_text_width(category, _FONT) for category in categories) + 12)
    left = category_width + widest(negative=True) + 6
    right = width - max(widest(negative=False), _text_width(tick_format(ticks[-1]), 11) / 2) - 6
    scale = _Scale(ticks[0], ticks[-1], left, right)
    bar_height = 18.0 if len(series) <= 2 else 13.0
    group_height = len(series) * bar_height + (len(series) - 1) * 2
    gap = 14.0
    top = 6.0
    bottom = top + len(categories) * (group_height + gap) - gap
    height = bottom + 30
    drawing: list[Markup] = []
    for tick in ticks:
        x = scale(tick)
        drawing.append(tag("line", x1=x, y1=top - 4, x2=x, y2=bottom + 4, stroke="#e3e7ec", stroke_width=1))
        drawing.append(_text(x, bottom + 20, tick_format(tick), size=11, anchor="middle", fill="#5b6773"))
    zero = scale(0)
    for index, category in enumerate(categories):
        group_top = top + index * (group_height + gap)
        shown = _shorten(category, category_width - 12, _FONT)
        drawing.append(
            tag(
                "text",
                [tag("title", category), escape(shown)],
                x=category_width - 8,
                y=group_top + group_height / 2 + 4,
                font_size=_FONT,
                text_anchor="end",
                font_weight=600,
            )
        )
        for number, one in enumerate(series):
            value = values[number][index]
            label = labels[number][index]
            y = group_top + number * (bar_height + 2)
            end = scale(value)
            tooltip = f"{one.name}, {category}: {_plain(label)}"
            drawing.append(
                tag(
                    "rect",
                    tag("title", tooltip),
                    x=min(zero, end),
                    y=y,
                    width=abs(end - zero),
                    height=bar_height,
                    fill=one.colour,
                    rx=2,
                )
            )
            text_x = end - 4 if value < 0 else end + 4
            drawing.append(
                _text(text_x, y + bar_height / 2 + 4, label, size=11, anchor="end" if value < 0 else "start")
            )
    drawing.append(tag("line", x1=zero, y1=top - 4, x2=zero, y2=bottom + 4, stroke="#5b6773", stroke_width=1.2))
    legend = _legend([(one.name, one.colour, "box") for one in series])
    return _figure(kind, title, description, drawing, width=width, height=height, wide=wide, legend=legend)


def _vertical_axis(
    ticks: Sequence[Decimal], scale: _Scale, tick_format: TickFormat, left: float, right: float
) -> list[Markup]:
    drawing: list[Markup] = []
    for tick in ticks:
        y = scale(tick)
        drawing.append(tag("line", x1=left, y1=y, x2=right, y2=y, stroke="#e3e7ec", stroke_width=1))
        drawing.append(_text(left - 6, y + 4, tick_format(tick), size=11, anchor="end", fill="#5b6773"))
    zero = scale(0)
    drawing.append(tag("line", x1=left, y1=zero, x2=right, y2=zero, stroke="#5b6773", stroke_width=1.2))
    return drawing


def _fitting_size(text: str, room: float, largest: float = 11, smallest: float = 8) -> float | None:
    """The largest font size (down to ``smallest``) at which ``text`` fits ``room``; None if none does."""
    size = min(largest, room / max(1, len(text)) / (_CHAR_WIDTH + 0.04))  # a margin: labels sit side by side
    return size if size >= smallest else None


def waterfall_chart(
    *,
    title: str,
    steps: Sequence[WaterfallStep],
    tick_format: TickFormat = _default_format,
    description: Content = "",
    wide: bool = False,
) -> Markup:
    """Steps from one figure to another: each change a bar from the running total, totals from zero.

    Rises are green, falls red, totals dark; a dashed line carries each level on to the next bar.
    """
    kind = "waterfall"
    if not steps:
        return _no_data(kind, title, description, "no steps", wide=wide)
    width = WIDE if wide else NARROW
    spans: list[tuple[Decimal, Decimal]] = []
    running = Decimal(0)
    for step in steps:
        value = Decimal(step.value)
        start, end = (Decimal(0), value) if step.total else (running, running + value)
        spans.append((start, end))
        running = end
    ticks = _nice_ticks([level for span in spans for level in span], whole=False)
    left = max(_text_width(tick_format(tick), 11) for tick in ticks) + 14
    right = width - 8
    top, bottom = 26.0, 286.0
    height = bottom + 44
    scale = _Scale(ticks[0], ticks[-1], bottom, top)
    drawing = _vertical_axis(ticks, scale, tick_format, left, right)
    slot = (right - left) / len(steps)
    bar_width = slot * 0.56
    for index, (step, (start, end)) in enumerate(zip(steps, spans, strict=True)):
        x = left + index * slot + (slot - bar_width) / 2
        high, low = scale(max(start, end)), scale(min(start, end))
        value = Decimal(step.value)
        colour = (
            TOTAL_COLOUR if step.total else GOOD_COLOUR if value > 0 else BAD_COLOUR if value < 0 else NEUTRAL_COLOUR
        )
        label = step.value_label if step.value_label is not None else tick_format(value)
        drawing.append(
            tag(
                "rect",
                tag("title", f"{step.label}: {_plain(label)}"),
                x=x,
                y=high,
                width=bar_width,
                height=max(low - high, 1.0),
                fill=colour,
                rx=2,
            )
        )
        size = _fitting_size(_plain(label), slot - 4)
        if size is not None:
            below = end < start
            drawing.append(
                _text(
                    x + bar_width / 2,
                    low + size + 3 if below else high - 5,
                    label,
                    size=size,
                    anchor="middle",
                    font_weight=600,
                )
            )
        if index + 1 < len(steps):
            level = scale(end)
            drawing.append(
                tag(
                    "line",
                    x1=x + bar_width,
                    y1=level,
                    x2=x + slot,
                    y2=level,
                    stroke="#5b6773",
                    stroke_width=1,
                    stroke_dasharray="3 3",
                )
            )
        for line, text in enumerate(_wrap(step.label, slot - 6, _FONT)):
            drawing.append(_text(x + bar_width / 2, bottom + 18 + line * 14, text, anchor="middle"))
    legend = _legend([("rise", GOOD_COLOUR, "box"), ("fall", BAD_COLOUR, "box"), ("total", TOTAL_COLOUR, "box")])
    return _figure(kind, title, description, drawing, width=width, height=height, wide=wide, legend=legend)


def bar_line_chart(
    *,
    title: str,
    categories: Sequence[str],
    bars: Sequence[Series],
    lines: Sequence[Series] = (),
    references: Sequence[ReferenceLine] = (),
    tick_format: TickFormat = _default_format,
    description: Content = "",
    wide: bool = False,
) -> Markup:
    """Columns per category (grouped by series), lines across the categories, and levels drawn across the chart.

    For instance the limits granted per grade, the running total of those limits, and the portfolio total
    they must stay under.
    """
    kind = "bar-line"
    if not categories or not (bars or lines):
        return _no_data(kind, title, description, "no categories" if not categories else "no values", wide=wide)
    _check_series(categories, [*bars, *lines])
    width = WIDE if wide else NARROW
    levels = [Decimal(value) for one in [*bars, *lines] for value in one.values]
    levels += [Decimal(reference.value) for reference in references]
    whole = all(isinstance(value, int) for one in [*bars, *lines] for value in one.values)
    ticks = _nice_ticks(levels, whole=whole)
    left = max(_text_width(tick_format(tick), 11) for tick in ticks) + 14
    right = width - 8
    top, bottom = 30.0, 300.0
    height = bottom + 40
    scale = _Scale(ticks[0], ticks[-1], bottom, top)
    drawing = _vertical_axis(ticks, scale, tick_format, left, right)
    slot = (right - left) / len(categories)
    group_width = slot * 0.84
    bar_width = group_width / max(1, len(bars))
    bar_labels = [_labels(one, tick_format) for one in bars]
    labels: list[Markup] = []  # written last, over the bars and lines
    for index, category in enumerate(categories):
        centre = left + index * slot + slot / 2
        drawing.append(
            tag(
                "text",
                [tag("title", category), escape(_shorten(category, slot - 4, _FONT))],
                x=centre,
                y=bottom + 18,
                font_size=_FONT,
                text_anchor="middle",
                font_weight=600,
            )
        )
        for number, one in enumerate(bars):
            value = Decimal(one.values[index])
            label = bar_labels[number][index]
            x = centre - group_width / 2 + number * bar_width
            high, low = scale(max(value, Decimal(0))), scale(min(value, Decimal(0)))
            drawing.append(
                tag(
                    "rect",
                    tag("title", f"{one.name}, {category}: {_plain(label)}"),
                    x=x + 1,
                    y=high,
                    width=max(bar_width - 2, 1.0),
                    height=low - high,
                    fill=one.colour,
                    rx=2,
                )
            )
            size = _fitting_size(_plain(label), bar_width - 2)  # within its own bar: neighbours' labels never meet
            if size is not None:
                y = low + size + 3 if value < 0 else high - 4
                labels.append(_text(x + bar_width / 2, y, label, size=size, anchor="middle", halo=True))
    for one in lines:
        points = [(left + index * slot + slot / 2, scale(value)) for index, value in enumerate(one.values)]
        drawing.append(
            tag(
                "polyline",
                tag("title", one.name),
                points=" ".join(f"{_coordinate(x)},{_coordinate(y)}" for x, y in points),
                fill="none",
                stroke=one.colour,
                stroke_width=2.5,
            )
        )
        for (x, y), label in zip(points, _labels(one, tick_format), strict=True):
            drawing.append(
                tag("circle", tag("title", f"{one.name}: {_plain(label)}"), cx=x, cy=y, r=3.5, fill=one.colour)
            )
    for number, reference in enumerate(references):
        y = scale(reference.value)
        drawing.append(
            tag("line", x1=left, y1=y, x2=right, y2=y, stroke=reference.colour, stroke_width=2, stroke_dasharray="7 4")
        )
        # Named at the left, where running totals are still low, above the line or (every second one) below it.
        labels.append(
            _text(
                left + 6,
                y - 6 if number % 2 == 0 else y + 15,
                reference.label,
                size=12,
                font_weight=600,
                fill=reference.colour,
                halo=True,
            )
        )
    drawing.extend(labels)
    legend = _legend(
        [(one.name, one.colour, "box") for one in bars]
        + [(one.name, one.colour, "line") for one in lines]
        + [(_plain(reference.label), reference.colour, "dashed") for reference in references]
    )
    return _figure(kind, title, description, drawing, width=width, height=height, wide=wide, legend=legend)


def _blend(share: float) -> str:
    """The colour for a share 0..1 of the largest count: from near-white to the candidate's dark blue."""
    light, dark = (0xF4, 0xF7, 0xFA), (0x0B, 0x3D, 0x75)
    share = min(max(share, 0.0), 1.0)
    channels = (round(a + (b - a) * share) for a, b in zip(light, dark, strict=True))
    return "#" + "".join(f"{channel:02x}" for channel in channels)


def heatmap(
    *,
    title: str,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    counts: Sequence[Sequence[int]],
    row_title: str,
    column_title: str,
    cell_labels: Sequence[Sequence[SvgText]] | None = None,
    description: Content = "",
    wide: bool = False,
) -> Markup:
    """A matrix of counts, each cell shaded by its count against the largest and written out.

    Cells where the row and the column have the same name (no change) are outlined.
    """
    kind = "heatmap"
    if not row_labels or not column_labels:
        return _no_data(kind, title, description, "no rows or no columns", wide=wide)
    if len(counts) != len(row_labels) or any(len(row) != len(column_labels) for row in counts):
        raise ValueError(f"counts must be {len(row_labels)} rows of {len(column_labels)} for the labels given")
    if cell_labels is not None and (
        len(cell_labels) != len(row_labels) or any(len(row) != len(column_labels) for row in cell_labels)
    ):
        raise ValueError("cell_labels must have the shape of counts")
    width = WIDE if wide else NARROW
    row_label_width = min(width * 0.25, max(_text_width(label, _FONT) for label in row_labels) + 12)
    left = 24 + row_label_width
    top = 46.0
    cell = min(46.0, (width - left - 8) / len(column_labels))
    bottom = top + cell * len(row_labels)
    height = bottom + 46
    largest = max((count for row in counts for count in row), default=0)
    size = min(_FONT, cell * 0.42)
    drawing: list[Markup] = [
        _text(left + cell * len(column_labels) / 2, 14, column_title, anchor="middle", font_weight=600),
        _text(
            12,
            top + (bottom - top) / 2,
            row_title,
            anchor="middle",
            font_weight=600,
            transform=f"rotate(-90 12 {_coordinate(top + (bottom - top) / 2)})",
        ),
    ]
    for column, column_label in enumerate(column_labels):
        drawing.append(
            tag(
                "text",
                [tag("title", column_label), escape(_shorten(column_label, cell - 2, size))],
                x=left + column * cell + cell / 2,
                y=top - 8,
                font_size=size,
                text_anchor="middle",
                font_weight=600,
            )
        )
    outlines: list[Markup] = []
    for row, row_label in enumerate(row_labels):
        y = top + row * cell
        drawing.append(
            tag(
                "text",
                [tag("title", row_label), escape(_shorten(row_label, row_label_width - 8, _FONT))],
                x=left - 8,
                y=y + cell / 2 + 4,
                font_size=_FONT,
                text_anchor="end",
                font_weight=600,
            )
        )
        for column, column_label in enumerate(column_labels):
            count = counts[row][column]
            share = count / largest if largest > 0 else 0.0
            x = left + column * cell
            cell_label: SvgText = cell_labels[row][column] if cell_labels is not None else format_count(count)
            tooltip = f"{row_label} → {column_label}: {_plain(cell_label)}"
            drawing.append(
                tag(
                    "rect",
                    tag("title", tooltip),
                    x=x,
                    y=y,
                    width=cell,
                    height=cell,
                    fill=_blend(share),
                    stroke="#ffffff",
                    stroke_width=1,
                )
            )
            ink = "#ffffff" if share > 0.55 else "#9aa5b1" if count == 0 else "#1d2733"
            drawing.append(
                _text(x + cell / 2, y + cell / 2 + size * 0.35, cell_label, size=size, anchor="middle", fill=ink)
            )
            if row_label == column_label:
                outlines.append(
                    tag(
                        "rect",
                        x=x + 1,
                        y=y + 1,
                        width=cell - 2,
                        height=cell - 2,
                        fill="none",
                        stroke="#1d2733",
                        stroke_width=2,
                    )
                )
    drawing.extend(outlines)
    steps = 5
    key_left = left
    drawing.append(_text(key_left, bottom + 30, "Fewer", size=11, anchor="start", fill="#5b6773"))
    for step in range(steps):
        drawing.append(
            tag(
                "rect", x=key_left + 44 + step * 26, y=bottom + 20, width=24, height=13, fill=_blend(step / (steps - 1))
            )
        )
    drawing.append(
        _text(
            key_left + 44 + steps * 26 + 4,
            bottom + 30,
            f"more (largest: {format_count(largest)})",
            size=11,
            fill="#5b6773",
        )
    )
    return _figure(kind, title, description, drawing, width=width, height=height, wide=wide)

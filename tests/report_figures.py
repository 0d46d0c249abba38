"""Finding the figures a report marks (``data-summary``) and checking each against the JSON document behind it.

Shared by the renderer's unit tests (on the HTML as written) and the browser test (on the DOM
Chromium built). Undoing the display formatting is done here, independently of the code that
formats: a figure is read back from its text (sign, currency, thousands separators, ``%``,
``pp``, ``days``, ``k``/``m``/``bn``) and must equal the document's value to the precision the
text shows — exactly for amounts written in full, to the last shown digit for short ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

__all__ = ["MarkedFigure", "figure_mismatch", "leaf_paths", "marked_figures", "resolve", "shown_number"]

_SCALES = {"": Decimal(1), "k": Decimal(10) ** 3, "m": Decimal(10) ** 6, "bn": Decimal(10) ** 9}
_NUMBER = re.compile(r"^(?P<digits>\d[\d,]*(?:\.(?P<decimals>\d+))?)(?P<scale>k|m|bn)?$")


@dataclass(frozen=True)
class MarkedFigure:
    """One element carrying ``data-summary``: its path, how it is written, and the text shown."""

    path: str
    format: str
    negated: bool
    text: str


_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)


class _FigureParser(HTMLParser):
    """Collects the text of every element with ``data-summary`` (their content is text: nothing nests in them)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.figures: list[MarkedFigure] = []
        self._open: list[tuple[str, dict[str, str | None] | None, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            return
        attributes = dict(attrs)
        self._open.append((tag, attributes if "data-summary" in attributes else None, []))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_data(self, data: str) -> None:
        for _, attributes, texts in self._open:
            if attributes is not None:
                texts.append(data)

    def handle_endtag(self, tag: str) -> None:
        names = [name for name, _, _ in self._open]
        if tag not in names:
            return
        index = len(names) - 1 - names[::-1].index(tag)
        for _, attributes, texts in reversed(self._open[index:]):
            if attributes is not None:
                self.figures.append(
                    MarkedFigure(
                        path=attributes["data-summary"] or "",
                        format=attributes.get("data-format") or "",
                        negated="data-negated" in attributes,
                        text="".join(texts),
                    )
                )
        del self._open[index:]


def marked_figures(html_text: str) -> list[MarkedFigure]:
    """Every element with ``data-summary`` on the page, in document order."""
    parser = _FigureParser()
    parser.feed(html_text)
    parser.close()
    return parser.figures


def _segments(path: str) -> list[str]:
    return [segment.replace("~1", ".").replace("~0", "~") for segment in path.split(".")]


def resolve(document: Any, path: str) -> Any:
    """The value at a dotted path (``~1`` is a dot and ``~0`` a tilde inside a key); KeyError if there is none."""
    value = document
    for segment in _segments(path):
        if isinstance(value, list):
            value = value[int(segment)]
        elif isinstance(value, dict):
            value = value[segment]
        else:
            raise KeyError(f"{path}: {segment!r} under a {type(value).__name__}")
    return value


def leaf_paths(document: Any, prefix: tuple[str, ...] = ()) -> list[str]:
    """The path of every value in the document that is not itself an object or a list."""
    if isinstance(document, dict):
        return [path for key, value in document.items() for path in leaf_paths(value, (*prefix, str(key)))]
    if isinstance(document, list):
        return [path for index, value in enumerate(document) for path in leaf_paths(value, (*prefix, str(index)))]
    return [".".join(segment.replace("~", "~0").replace(".", "~1") for segment in prefix)]


def shown_number(figure: MarkedFigure) -> tuple[Decimal, Decimal]:
    """The number a figure's text shows, and the precision it is shown to (both in the document's units)."""
    text = figure.text.strip()
    sign = Decimal(1)
    if text[:1] in ("−", "-"):
        sign, text = Decimal(-1), text[1:]
    elif text[:1] == "+":
        text = text[1:]
    divisor = Decimal(1)
    if figure.format == "money":
        symbol, _, text = text.rpartition(" ")
        if not symbol:
            raise ValueError(f"{figure.path}: money without a currency: {figure.text!r}")
    elif figure.format == "percent":
        text, divisor = text.removesuffix("%"), Decimal(100)
    elif figure.format == "points":
        text, divisor = text.removesuffix(" pp"), Decimal(100)
    elif figure.format == "days":
        text = text.removesuffix(" days")
    match = _NUMBER.match(text)
    if match is None:
        raise ValueError(f"{figure.path}: not a {figure.format} figure: {figure.text!r}")
    scale = _SCALES[match["scale"] or ""] / divisor
    decimals = len(match["decimals"] or "")
    value = sign * Decimal(match["digits"].replace(",", "")) * scale
    precision = Decimal(1).scaleb(-decimals) * scale
    return (-value if figure.negated else value), precision


def figure_mismatch(figure: MarkedFigure, document: Any) -> str | None:
    """Why the figure does not show the document's value at its path; None when it does."""
    try:
        expected = resolve(document, figure.path)
    except (KeyError, IndexError, ValueError) as error:
        return f"{figure.path}: no such value in the document ({error})"
    if figure.format in ("text", "date"):
        return (
            None if expected == figure.text else f"{figure.path}: shows {figure.text!r}, the document has {expected!r}"
        )
    if figure.format == "empty":
        return None if expected is None else f"{figure.path}: shown as absent, the document has {expected!r}"
    if figure.format not in ("money", "count", "percent", "points", "days"):
        return f"{figure.path}: unknown data-format {figure.format!r}"
    if isinstance(expected, bool) or not isinstance(expected, int | str):
        return f"{figure.path}: shows a number, the document has {expected!r}"
    try:
        value, precision = shown_number(figure)
        wanted = Decimal(str(expected))
    except (ValueError, ArithmeticError) as error:
        return str(error)
    if abs(wanted - value) * 2 > precision:  # rounded half up to the shown digits, at most half a step away
        return f"{figure.path}: shows {figure.text!r} = {value}, the document has {expected!r}"
    return None

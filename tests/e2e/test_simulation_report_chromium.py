"""The simulation report in a real browser: headless Chromium opens it from a file, offline, and draws it.

summary.json is written as the simulation writes it and the report rendered from that file; Chromium
takes a screenshot of a 1280 × 4000 window and dumps the DOM it built. The screenshot must be a real
picture (a PNG of that size with the page's colours in it, decoded here with zlib); in the DOM, every
figure marked ``data-summary`` must equal the value at its path in summary.json, and the charts must be
there as SVG. Without Chromium this test fails (it never skips), saying how to install it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from api.service.reports.html import BASELINE_COLOUR, CANDIDATE_COLOUR
from api.service.reports.simulation import render_simulation
from engine.simulation.summary import Summary
from tests.e2e.png import read_png
from tests.factories import simulation_summary
from tests.report_figures import figure_mismatch, marked_figures

INSTALL = "apt-get install -y chromium"
WINDOW = (1280, 4000)
# Headless, offline and quiet: no sandbox (the tests may run as root), no GPU, no network of its own.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]
CHARTS = {"grouped-bar": 7, "heatmap": 1, "bar-line": 1, "waterfall": 1}


@dataclass(frozen=True)
class Rendered:
    """What the browser made of the report."""

    summary_json: Any
    report: str
    screenshot: bytes
    dom: str


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.fail(
            "Chromium is not installed; the report's browser test needs it and does not skip without it. "
            f"On Debian or Ubuntu, as root: `{INSTALL}`.",
            pytrace=False,
        )
    return found


def run_chromium(binary: str, profile: Path, *arguments: str) -> subprocess.CompletedProcess[bytes]:
    command = [binary, *FLAGS, f"--user-data-dir={profile}", *arguments]
    result = subprocess.run(command, capture_output=True, timeout=180, check=False)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited {result.returncode}:\n{result.stderr.decode(errors='replace')}")
    return result


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    binary = chromium()
    directory = tmp_path_factory.mktemp("simulation-report")
    summary_file = directory / "summary.json"
    summary_file.write_text(simulation_summary().to_json(), encoding="utf-8")
    report = render_simulation(Summary.model_validate_json(summary_file.read_text(encoding="utf-8")))
    page = directory / "report.html"
    page.write_text(report, encoding="utf-8")
    screenshot = directory / "report.png"
    width, height = WINDOW
    shot = run_chromium(
        binary,
        directory / "profile-screenshot",
        f"--screenshot={screenshot}",
        f"--window-size={width},{height}",
        page.as_uri(),
    )
    if not screenshot.exists():
        pytest.fail(f"Chromium wrote no screenshot:\n{shot.stderr.decode(errors='replace')}")
    dom = run_chromium(binary, directory / "profile-dom", "--dump-dom", page.as_uri()).stdout.decode("utf-8")
    return Rendered(json.loads(summary_file.read_text(encoding="utf-8")), report, screenshot.read_bytes(), dom)


def _rgb(colour: str) -> bytes:
    return bytes.fromhex(colour.removeprefix("#"))


def test_the_screenshot_is_a_picture_of_the_page_at_the_window_size(rendered: Rendered) -> None:
    image = read_png(rendered.screenshot)
    assert (image.width, image.height) == WINDOW
    pixels = Counter(
        row[start : start + 3] for row in image.rows[::2] for start in range(0, len(row), image.channels * 2)
    )
    assert len(pixels) > 50  # text, cards and charts, anti-aliased: many colours; a blank page has one
    white = pixels[b"\xff\xff\xff"] / sum(pixels.values())
    assert 0.4 < white < 0.97, white
    # The bars of both versions are drawn (solid fills come out exactly), and the cards' green and red.
    for colour in (CANDIDATE_COLOUR, BASELINE_COLOUR, "#e7f4ea", "#fbeae8"):
        assert pixels[_rgb(colour)] > 500, colour


def test_every_figure_the_browser_shows_equals_summary_json(rendered: Rendered) -> None:
    figures = marked_figures(rendered.dom)
    assert len(figures) == len(marked_figures(rendered.report)) > 400  # the browser kept every one
    problems = [problem for figure in figures if (problem := figure_mismatch(figure, rendered.summary_json))]
    assert problems == []
    paths = {figure.path for figure in figures}
    assert {
        "headline.0.change",
        "marginal.net_benefit",
        "migration.counts.3.3",
        "baseline.limits.by_grade.AAA",
    } <= paths


class _Charts(HTMLParser):
    """The charts in the DOM: each figure's kind and what its SVG holds."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.charts: list[tuple[str, Counter[str]]] = []
        self.tags: Counter[str] = Counter()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        kind = dict(attrs).get("data-chart")
        if tag == "figure" and kind:
            self.charts.append((kind, Counter()))
        elif self.charts:
            self.charts[-1][1][tag] += 1


def test_the_charts_are_in_the_dom_as_svg_and_nothing_runs(rendered: Rendered) -> None:
    parser = _Charts()
    parser.feed(rendered.dom)
    assert Counter(kind for kind, _ in parser.charts) == CHARTS
    for kind, inside in parser.charts:
        assert inside["svg"] >= 1 and inside["text"] > 3, kind
        assert inside["rect"] + inside["polyline"] > 2, kind
    assert parser.tags["script"] == 0 and parser.tags["img"] == 0 and parser.tags["link"] == 0
    assert parser.tags["section"] == 10

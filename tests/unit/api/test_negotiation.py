"""Accept headers: the most specific matching range gives a form its quality; ties and nothing go to the first form."""

from __future__ import annotations

import pytest

from api.entrypoints.http.negotiation import best_media_type

FORMS = ("application/json", "text/html", "text/plain")


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("", "application/json"),
        ("*/*", "application/json"),
        ("text/html", "text/html"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html"),
        ("text/plain", "text/plain"),
        ("text/*", "text/html"),
        ("text/*;q=0.5, text/plain", "text/plain"),
        ("application/json;q=0.2, text/html;q=0.1", "application/json"),
        ("text/html;q=0, */*", "application/json"),
        ("TEXT/HTML", "text/html"),
        ("image/png", "application/json"),
        ("text/html;q=nan, text/plain;q=x", "application/json"),
        ("garbage, ;;, /", "application/json"),
    ],
)
def test_best_media_type(accept: str | None, expected: str) -> None:
    assert best_media_type(accept, FORMS) == expected

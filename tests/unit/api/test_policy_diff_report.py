"""The diff page an auditor files: every change of the JSON on it, nothing fetched, the same bytes every time."""

from __future__ import annotations

import re

from api.service import policy_diff
from api.service.reports.policy_diff import render_policy_diff
from tests.diff_factories import candidate_yaml, edited, loaded, shipped_yaml
from tests.report_figures import figure_mismatch, marked_figures


def document_for(old: str, new: str) -> dict[str, object]:
    old_side = policy_diff.VersionSide(loaded(old, "rules/standard.yaml"))
    new_side = policy_diff.VersionSide(loaded(new, "var/candidate.yaml"))
    return policy_diff.diff_document(policy_diff.compare(old_side, new_side))


def test_every_change_is_on_the_page_as_the_document_has_it() -> None:
    document = document_for(shipped_yaml(), candidate_yaml())
    page = render_policy_diff(document)
    figures = marked_figures(page)
    assert [f"{f.path}: {problem}" for f in figures if (problem := figure_mismatch(f, document))] == []
    shown = {f.path for f in figures}
    sections = document["sections"]
    assert isinstance(sections, list) and len(sections) == 6
    for index, section in enumerate(sections):
        assert f'<section id="{section["section"]}">' in page
        for number, _ in enumerate(section["changes"]):
            for key in ("element", "old", "new"):
                assert f"sections.{index}.changes.{number}.{key}" in shown
    assert {"from.version", "to.version", "from.sha256", "to.sha256", "metadata.0.new", "counts.changes"} <= shown
    assert ">12</span> changes in 6 sections: " in page and "terms BBB" in page and "2/10, n/20" in page


def test_the_page_fetches_nothing_and_is_the_same_every_time() -> None:
    document = document_for(shipped_yaml(), candidate_yaml())
    page = render_policy_diff(document)
    assert page == render_policy_diff(document)
    assert page.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<script" not in page


def test_text_from_the_policy_is_escaped() -> None:
    hostile = edited(shipped_yaml(), ('note: "The industry norm: the standard terms."', 'note: "<b>bold</b> & co"'))
    page = render_policy_diff(document_for(shipped_yaml(), hostile))
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in page and "<b>bold" not in page


def test_identical_versions_say_so() -> None:
    page = render_policy_diff(document_for(shipped_yaml(), shipped_yaml()))
    assert "No changes: the two versions say the same thing" in page and "<h2>Scorecard" not in page

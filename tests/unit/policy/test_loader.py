"""The YAML loader: exact numbers, YAML 1.2 booleans, located errors, bounded size, marks for every path."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from policy import loader
from policy.errors import Issue, PolicyInvalid
from policy.loader import MAX_DEPTH, MAX_NODES, MAX_TEXT_CHARS, load_document
from tests.factories import minimal_policy_yaml
from tests.unit.policy.support import position

SHIPPED = Path(__file__).parents[3] / "rules" / "standard.yaml"


def issues(text: str) -> list[Issue]:
    with pytest.raises(PolicyInvalid) as caught:
        load_document(text, "p.yaml")
    return caught.value.issues


def only(text: str) -> Issue:
    found = issues(text)
    assert len(found) == 1, found
    return found[0]


# --- values -------------------------------------------------------------------------------


def test_numbers_with_a_fraction_are_exact_decimals_from_the_written_digits() -> None:
    data = load_document("a: 0.1\nb: 1.50\nc: 0.123456789012345678\nd: 1e3\ne: -.5\n", "p.yaml").data
    assert data == {
        "a": Decimal("0.1"),
        "b": Decimal("1.50"),
        "c": Decimal("0.123456789012345678"),
        "d": Decimal("1E+3"),
        "e": Decimal("-0.5"),
    }
    assert all(type(v) is Decimal for v in data.values())
    assert str(data["b"]) == "1.50"  # the digits as written, never via float


def test_whole_numbers_are_ints() -> None:
    assert load_document("a: 7\nb: +3\nc: -12\n", "p.yaml").data == {"a": 7, "b": 3, "c": -12}
    assert type(load_document("a: 7\n", "p.yaml").data["a"]) is int


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "y", "n", "NO", "Yes", "OFF"])
def test_yaml_1_1_booleans_stay_text(word: str) -> None:
    assert load_document(f"a: {word}\n", "p.yaml").data == {"a": word}


def test_only_true_and_false_are_booleans() -> None:
    assert load_document("a: true\nb: False\nc: TRUE\n", "p.yaml").data == {"a": True, "b": False, "c": True}


def test_nulls() -> None:
    assert load_document("a: ~\nb: null\nc:\n", "p.yaml").data == {"a": None, "b": None, "c": None}


def test_octal_hex_and_underscored_numbers_are_text() -> None:
    assert load_document("a: 0x1F\nb: 0o17\nc: 1_000\n", "p.yaml").data == {"a": "0x1F", "b": "0o17", "c": "1_000"}


def test_dates_become_dates_and_impossible_dates_stay_text() -> None:
    data = load_document("a: 2026-01-01\nb: 2026-02-30\nc: '2026-01-01'\n", "p.yaml").data
    assert data == {"a": dt.date(2026, 1, 1), "b": "2026-02-30", "c": "2026-01-01"}


def test_quoted_numbers_are_text() -> None:
    assert load_document("a: '0.1'\nb: \"7\"\n", "p.yaml").data == {"a": "0.1", "b": "7"}


def test_explicit_standard_tags() -> None:
    data = load_document("a: !!str 12\nb: !!int '12'\nc: !!float '1.5'\n", "p.yaml").data
    assert data == {"a": "12", "b": 12, "c": Decimal("1.5")}


@pytest.mark.parametrize(
    "value",
    ["1e30", "-1e18", ".inf", "-.inf", ".nan", "1" * 41, "0.0000000000000000001"],
)
def test_numbers_the_engine_cannot_hold_exactly_are_errors(value: str) -> None:
    issue = only(f"policy:\n  amount: {value}\n")
    assert (issue.code, issue.path, issue.line, issue.column) == ("number_range", ("policy", "amount"), 2, 11)


# --- malformed YAML -----------------------------------------------------------------------


def test_a_tab_in_the_indentation_is_located_with_a_plain_message() -> None:
    issue = only("policy:\n  id: x\n\tversion: '1'\n")
    assert (issue.code, issue.line, issue.column) == ("yaml_syntax", 3, 1)
    assert "tab" in issue.message and "spaces" in issue.message
    assert "Traceback" not in issue.message


def test_tabs_inside_values_are_fine() -> None:
    assert load_document("a: 'x\ty'\n", "p.yaml").data == {"a": "x\ty"}


def test_duplicate_key_points_at_the_second_occurrence() -> None:
    text = "policy:\n  id: a\n  version: '1'\n  id: b\n"
    issue = only(text)
    assert (issue.code, issue.path, issue.line, issue.column) == ("yaml_duplicate_key", ("policy", "id"), 4, 3)
    assert "'id' appears twice" in issue.message


def test_every_duplicate_key_is_reported() -> None:
    found = issues("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n")
    assert [(i.code, i.line) for i in found] == [("yaml_duplicate_key", 4), ("yaml_duplicate_key", 5)]


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("policy:\n  id: x\n version: '1'\n", 3, 2),  # dedented into no parent
        ("policy:\n    id: x\n  version: '1'\n", 3, 3),  # less than its siblings
        ("policy:\n  id: x\n    version: '1'\n", 3, 12),  # more than its siblings: read as "x version"
    ],
)
def test_bad_indentation_is_a_located_syntax_error(text: str, line: int, column: int) -> None:
    issue = only(text)
    assert (issue.code, issue.line, issue.column) == ("yaml_syntax", line, column)
    assert "indent" in issue.message


def test_an_unclosed_quote_points_at_the_opening_quote() -> None:
    issue = only('policy:\n  id: "abc\n  version: 1\n')
    assert (issue.code, issue.line, issue.column) == ("yaml_syntax", 2, 7)
    assert "quote" in issue.message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("a: b: c\n", "':'"),
        ("a: [1, 2\n", "]"),
        ("a: *nowhere\n", "alias"),
        ("a: @x\n", "quotes"),
        ('a: "\\q"\n', "escape"),
        ("a: &x 1\nb: &x 2\n", "anchor"),
    ],
)
def test_syntax_errors_get_plain_english(text: str, words: str) -> None:
    issue = only(text)
    assert issue.code == "yaml_syntax"
    assert words in issue.message
    assert issue.message[0].islower() and "\n" not in issue.message


def test_control_characters_are_located() -> None:
    issue = only("a: b\x00c\n")
    assert (issue.code, issue.line, issue.column) == ("yaml_syntax", 1, 5)
    assert "U+0000" in issue.message


@pytest.mark.parametrize(
    ("text", "code", "line"),
    [
        ("", "yaml_not_mapping", 1),
        ("# only a comment\n", "yaml_not_mapping", 1),
        ("- a\n- b\n", "yaml_not_mapping", 1),
        ("just text\n", "yaml_not_mapping", 1),
        ("a: 1\n---\nb: 2\n", "yaml_multiple_documents", 2),
    ],
)
def test_exactly_one_mapping_document(text: str, code: str, line: int) -> None:
    issue = only(text)
    assert (issue.code, issue.line) == (code, line)


@pytest.mark.parametrize("key", ["1", "true", "~", "2026-01-01", "1.5"])
def test_keys_must_be_text(key: str) -> None:
    issue = only(f"a:\n  {key}: x\n")
    assert (issue.code, issue.path, issue.line, issue.column) == ("yaml_key_type", ("a",), 2, 3)
    assert "quote" in issue.message


def test_a_collection_key_is_an_error() -> None:
    assert only("? [a, b]\n: 1\n").code == "yaml_key_type"


@pytest.mark.parametrize("tag", ["!!python/object:os.system", "!!binary", "!custom", "!!set"])
def test_unsupported_tags(tag: str) -> None:
    issue = only(f"a: {tag} x\n" if tag != "!!set" else "a: !!set {x}\n")
    assert (issue.code, issue.path) == ("yaml_unsupported_tag", ("a",))


# --- size bounds --------------------------------------------------------------------------


def test_input_size_is_capped() -> None:
    issue = only("a: " + "x" * MAX_TEXT_CHARS + "\n")
    assert (issue.code, issue.line, issue.column) == ("yaml_too_large", 1, 1)


def test_billion_laughs_is_bounded() -> None:
    rows = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        rows.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 10)}]")
    issue = only("\n".join(rows) + "\n")
    assert issue.code == "yaml_too_large"
    assert str(MAX_NODES) in issue.message


def test_deep_nesting_is_bounded() -> None:
    issue = only("a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert issue.code == "yaml_too_large"
    assert str(MAX_DEPTH) in issue.message


def test_merge_chains_and_merge_fan_out_are_bounded() -> None:
    chain = ["a0: &a0 {x: 1}"] + [f"a{i}: &a{i} {{<<: *a{i - 1}, y{i}: 1}}" for i in range(1, 200)]
    assert only("\n".join(chain) + "\n").code == "yaml_too_large"
    fan = ["a0: &a0 {x0: 1, x1: 2, x2: 3}"]
    fan += [f"a{i}: &a{i} {{<<: [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}], y{i}: 1}}" for i in range(1, 40)]
    assert only("\n".join(fan) + "\n").code == "yaml_too_large"


def test_a_mistake_reached_through_many_aliases_is_reported_once() -> None:
    found = issues("a: &a [1e30, x]\nb: [*a, *a, *a]\n")
    assert [(i.code, i.line, i.column) for i in found] == [("number_range", 1, 8)]


def test_recursive_aliases_are_errors() -> None:
    assert only("a: &a [1, *a]\n").code == "yaml_recursive_alias"
    assert only("a: &a\n  b: 1\n  <<: *a\n").code == "yaml_recursive_alias"


# --- anchors and merges -------------------------------------------------------------------


def test_anchors_aliases_and_merge_keys() -> None:
    text = "defaults: &d\n  letter: 5\n  visit: 20\nordinary:\n  <<: *d\n  visit: 25\ncopy: *d\n"
    document = load_document(text, "p.yaml")
    assert document.data == {
        "defaults": {"letter": 5, "visit": 20},
        "ordinary": {"letter": 5, "visit": 25},
        "copy": {"letter": 5, "visit": 20},
    }
    assert document.marks[("ordinary", "visit")] == (6, 3)  # the explicit key wins and is located
    assert document.marks[("ordinary", "letter")] == (2, 3)  # merged: located at its source


def test_earlier_merge_sources_take_precedence() -> None:
    text = "x: &x {a: 1}\ny: &y {a: 2, b: 2}\nz:\n  <<: [*x, *y]\n"
    assert load_document(text, "p.yaml").data["z"] == {"a": 1, "b": 2}


def test_a_merged_key_is_not_a_duplicate_but_two_explicit_ones_are() -> None:
    assert load_document("x: &x {a: 1}\nz:\n  <<: *x\n  a: 2\n", "p.yaml").data["z"] == {"a": 2}
    assert only("x: &x {a: 1}\nz:\n  <<: *x\n  a: 2\n  a: 3\n").code == "yaml_duplicate_key"


# --- marks --------------------------------------------------------------------------------


def test_every_path_is_marked_at_its_key_or_item() -> None:
    text = minimal_policy_yaml()
    document = load_document(text, "p.yaml")

    def paths(value: object, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
        if isinstance(value, dict):
            return [path, *(p for k, v in value.items() for p in paths(v, (*path, k)))]
        if isinstance(value, list):
            return [path, *(p for i, v in enumerate(value) for p in paths(v, (*path, i)))]
        return [path]

    assert set(paths(document.data)) == set(document.marks)
    assert document.marks[("limits", "per_grade", "A", "of", 0, "pct")] == position(text, "pct: 0.3")
    assert document.marks[("scorecard", "factors", 1)] == position(text, "id: current_ratio")
    assert document.marks[()] == (1, 1)


def test_location_falls_back_to_the_nearest_marked_ancestor() -> None:
    document = load_document("a:\n  b:\n    c: 1\n", "p.yaml")
    assert document.location(("a", "b", "missing", "deeper")) == (2, 3)
    assert document.location(("nothing",)) == (1, 1)


@pytest.mark.parametrize(
    ("line", "column_of_x"),
    [
        ("k: ab x\n", (1, 7)),
        ('k: "ab x"\n', (1, 8)),  # a quoted text starts one column after the quote
        ("k: 'ab x'\n", (1, 8)),
        ("k: {v: ab x}\n", (1, 11)),
        ("k: |\n  ab x\n", (2, 6)),
        ("k: >-\n  ab\n  x\n", (3, 3)),
        ("k: ab\n  x\n", (2, 3)),
    ],
)
def test_text_location_maps_a_column_inside_a_value_to_the_file(line: str, column_of_x: tuple[int, int]) -> None:
    document = load_document(line, "p.yaml")
    path: tuple[str | int, ...] = ("k", "v") if "{" in line else ("k",)
    value = document.data["k"]
    text = value["v"] if isinstance(value, dict) else value
    assert isinstance(text, str)
    assert document.text_location(path, text.index("x") + 1) == column_of_x


def test_a_byte_order_mark_is_not_content() -> None:
    document = load_document("\ufeffk: ab x\n", "p.yaml")
    assert document.data == {"k": "ab x"}
    assert document.text_location(("k",), 4) == (1, 7)


# --- the two composition paths ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        minimal_policy_yaml(),
        SHIPPED.read_text(encoding="utf-8") if SHIPPED.exists() else minimal_policy_yaml(),
        "a: &x {b: 1}\nc: *x\nd:\n  <<: *x\n  e: '中文'\nf: |\n  中文\n  x\n",
    ],
    ids=["minimal", "shipped", "anchors_unicode"],
)
def test_libyaml_and_pure_python_paths_agree(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = load_document(text, "p.yaml")
    monkeypatch.setattr(loader, "_CParser", None)
    slow = load_document(text, "p.yaml")
    assert (fast.data, fast.marks, fast.spans) == (slow.data, slow.marks, slow.spans)


@pytest.mark.parametrize(
    "text",
    ["a:\n\tb: 1\n", "a: 1\na: 2\n", "a: 1\n---\nb: 2\n", "- a\n", "a: [[[[1]]]\n", "a: &x 1\nb: &x 2\n"],
)
def test_errors_read_the_same_with_or_without_libyaml(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = issues(text)
    monkeypatch.setattr(loader, "_CParser", None)
    assert issues(text) == fast
    assert [i.message for i in issues(text)] == [i.message for i in fast]

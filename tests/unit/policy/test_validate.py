"""Loading a whole policy: pydantic errors in the document's terms, every issue at once, the exact line format."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from policy.checks import CheckContext, run_checks
from policy.errors import PolicyInvalid
from policy.validate import load_policy, load_policy_file, validate_file
from policy.versioning import content_hash
from tests.factories import minimal_policy_yaml
from tests.unit.policy.support import FILE, edit, issues_of, policy_with, position

SHIPPED = Path(__file__).parents[3] / "rules" / "standard.yaml"


def test_the_minimal_policy_is_valid() -> None:
    loaded = load_policy(minimal_policy_yaml(), FILE)
    assert loaded.policy.policy.id == "minimal"
    assert loaded.file == FILE and loaded.text == minimal_policy_yaml()
    assert loaded.content_hash == content_hash(loaded.policy)
    assert re.fullmatch(r"[0-9a-f]{64}", loaded.content_hash)


def test_the_shipped_policy_is_valid() -> None:
    loaded = load_policy_file(SHIPPED)
    assert len(loaded.policy.grades) == 10


def test_location_finds_paths_and_their_nearest_ancestor() -> None:
    text = minimal_policy_yaml()
    loaded = load_policy(text, FILE)
    assert loaded.location(("limits", "per_grade", "B", "pct")) == position(text, "pct: 0.1")
    # A default the file does not write is located at the section that would hold it.
    assert loaded.location(("limits", "rounding", "mode")) == position(text, "rounding:")


def test_the_error_line_format_is_exact() -> None:
    text = policy_with("          pct: 0.3\n", "          pct: 1.5\n")
    line, col = position(text, "pct: 1.5")
    (issue,) = issues_of(text)
    assert str(issue) == (
        f"rules/minimal.yaml:{line}:{col} limits.per_grade.A.of[0].pct: "
        "must be between 0 and 1 (0.3 is 30 %), above 0 [limit_pct_range]"
    )


def test_every_shape_error_is_reported_at_once_in_file_order() -> None:
    text = minimal_policy_yaml()
    text = edit(text, "      alpha: 200\n", "      alpha: -1\n")
    text = edit(text, "    step: 1000\n", "    step: lots\n")
    text = edit(text, "        outcome: hold\n", "        outcome: maybe\n")
    found = issues_of(text)
    assert [i.code for i in found] == ["greater_than", "decimal_parsing", "invalid_choice"]
    assert [i.line for i in found] == sorted(i.line for i in found)


def test_every_semantic_error_is_reported_at_once() -> None:
    text = minimal_policy_yaml()
    text = edit(text, "      weight: 25\n", "      weight: 24\n")
    text = edit(text, "      group: capital\n", "      group: capitol\n")
    text = edit(text, "        letter: 1\n", "        letterr: 1\n")
    assert sorted(i.code for i in issues_of(text)) == ["unknown_group", "unknown_step", "weights_sum"]


def test_a_check_needing_a_whole_list_waits_for_its_items_shape() -> None:
    # The factor with the bad alpha is left out, so the weights cannot be summed: no weights_sum
    # guessed from the other factors.
    text = policy_with("      weight: 25\n", "      weight: 24\n")
    text = edit(text, "      alpha: 200\n", "      alpha: 0\n")
    assert [i.code for i in issues_of(text)] == ["greater_than"]


MISTAKES = [  # (old, new, code): shape and meaning errors in every section, each independent
    ("  currency: EUR\n", "  currency: euro\n", "string_pattern_mismatch"),
    ("      alpha: 200\n", "      alpha: 0\n", "greater_than"),
    ("      group: capital\n", "      group: capitol\n", "unknown_group"),
    ("      pct: 0.1\n", "      pct: 1.5\n", "limit_pct_range"),
    ("      amount: 50000\n", "      amount: 50500\n", "limit_rounding_step"),
    ("      text: 2/10, n/30\n", "      text: 2/10, m/30\n", "terms_syntax"),
    ("    A: 90\n", "    A: 120\n", "review_interval_too_long"),
    ("    B: 60\n", "    B: 100\n", "review_interval_too_long"),
    ("      when: customer.blacklisted\n", "      when: customer.blacklistd\n", "unknown_field"),
    ("        reason: OVER_LIMIT\n", "        reason: over_limit\n", "bad_reason_code"),
    ("      when: exposure.oldest_overdue_days > 30", "      when: exposure.oldest_overdue_day > 30", "unknown_field"),
    ("        letter: 10\n", "        letterr: 10\n", "unknown_step"),
    ("      skip_steps: true\n", "      skip_steps: sometimes\n", "bool_parsing"),
]


def test_every_mistake_in_every_section_is_reported_in_one_pass() -> None:
    # Issue 10: shape errors used to hide every meaning error (seven mistakes took two runs).
    text = minimal_policy_yaml()
    for old, new, _ in MISTAKES:
        text = edit(text, old, new)
    found = issues_of(text)
    assert sorted(i.code for i in found) == sorted(code for _, _, code in MISTAKES)
    lines = {(i.code, i.line) for i in found}
    assert lines == {(code, text[: text.index(new)].count("\n") + 1) for _, new, code in MISTAKES}
    # The rule left out for its reason code does not shift the rule after it: rules[2] stays rules[2].
    conditions = [i for i in found if i.code == "unknown_field"]
    assert [i.path_text for i in conditions] == ["order_rules.rules[0].when", "order_rules.rules[2].when"]
    assert (conditions[1].line, conditions[1].column) == position(text, "exposure.oldest_overdue_day ")


def test_loader_problems_do_not_hide_the_other_mistakes() -> None:
    text = policy_with("    - id: blacklisted\n", "    - id: blacklisted\n      id: blacklisted\n")  # duplicate key
    text = edit(text, "      standard: 0.95\n", "      standard: 1e30\n")  # out of range: the factor is left out
    text = edit(text, "      group: capital\n", "      group: capitol\n")
    found = issues_of(text)
    assert sorted(i.code for i in found) == ["number_range", "unknown_group", "yaml_duplicate_key"]


def test_a_quoted_number_out_of_range_after_a_left_out_item_is_located_where_written() -> None:
    text = policy_with("      alpha: 200\n", "      alpha: high\n")  # factors[0] is left out
    text = edit(text, "        - min: 2\n", '        - min: "1e30"\n')  # factors[1], checked as the first
    found = {i.code: i for i in issues_of(text)}
    assert set(found) == {"decimal_parsing", "number_range"}
    assert found["number_range"].path_text == "scorecard.factors[1].bands[2].min"
    assert (found["number_range"].line, found["number_range"].column) == position(text, 'min: "1e30"')


def test_yaml_errors_come_through_load_policy() -> None:
    text = policy_with("  id: minimal\n", "\tid: minimal\n")
    (issue,) = issues_of(text)
    assert (issue.code, issue.line, issue.column) == ("yaml_syntax", 2, 1)


def test_unknown_key_suggests_the_closest_key_and_lists_the_expected_ones() -> None:
    text = policy_with("  portfolio_total: 10000000\n", "  portfolio_totl: 10000000\n")
    found = {i.code: i for i in issues_of(text)}
    assert set(found) == {"unknown_key", "missing"}
    assert found["unknown_key"].message == (
        "unknown key 'portfolio_totl' (did you mean 'portfolio_total'? "
        "expected one of portfolio_total, rounding, caps, per_grade)"
    )
    assert found["unknown_key"].path_text == "limits.portfolio_totl"
    assert found["missing"].message == "the required key 'portfolio_total' is missing"


def test_unknown_key_inside_a_tagged_union_names_that_kind_s_keys() -> None:
    text = policy_with("      alpha: 200\n", "      alpha: 200\n      bands: []\n")
    (issue,) = issues_of(text)
    assert issue.code == "unknown_key"
    assert issue.path_text == "scorecard.factors[0].bands"
    assert "direction, standard, alpha" in issue.message


def test_a_missing_kind_is_a_missing_key_at_the_item() -> None:
    text = policy_with("      kind: rating\n", "")
    (issue,) = issues_of(text)
    assert (issue.code, issue.path_text) == ("missing", "scorecard.factors[2].kind")
    assert (issue.line, issue.column) == position(text, "id: visit")


def test_an_unknown_kind_lists_the_kinds() -> None:
    (issue,) = issues_of(policy_with("      kind: rating\n", "      kind: stars\n"))
    assert "'standard_value', 'bands', 'rating'" in issue.message


def test_a_number_where_text_is_expected_suggests_quotes() -> None:
    (issue,) = issues_of(policy_with('  version: "1"\n', "  version: 1.0\n"))
    assert issue.message == "expected a text, got 1.0; put it in quotes: '1.0'"


def test_a_scalar_where_a_section_is_expected() -> None:
    text = policy_with("review:\n  per_grade:\n    A: 90\n    B: 60\n    C: 30\n    D: 30\n", "review: 30\n")
    (issue,) = issues_of(text)
    assert (issue.code, issue.path_text) == ("model_type", "review")
    assert "mapping" in issue.message


def test_every_review_interval_over_three_months_is_reported_at_its_grade() -> None:
    text = policy_with("    A: 90\n", "    A: 120\n")
    text = edit(text, "    B: 60\n", "    B: 100\n")
    found = issues_of(text)
    assert [(i.code, i.path_text) for i in found] == [
        ("review_interval_too_long", "review.per_grade.A"),
        ("review_interval_too_long", "review.per_grade.B"),
    ]
    assert [(i.line, i.column) for i in found] == [position(text, "A: 120"), position(text, "B: 100")]


def test_too_many_order_rules_is_policy_too_large() -> None:
    rules = "".join(
        f"    - id: r{i}\n      when: order.amount > {i}\n      then:\n        outcome: hold\n        reason: BIG\n"
        for i in range(401)
    )
    text = policy_with("  rules:\n    - id: blacklisted\n", f"  rules:\n{rules}    - id: blacklisted\n")
    found = issues_of(text)
    assert [(i.code, i.path_text) for i in found] == [("policy_too_large", "order_rules.rules")]
    assert "at most 400" in found[0].message


def test_too_many_standards_rules_is_policy_too_large() -> None:
    rules = "".join(
        f"    - id: s{i}\n      when: payment.defaults_3y > {i}\n      reason: DEFAULTS\n" for i in range(100)
    )
    text = policy_with("  rules:\n    - id: defaults\n", f"  rules:\n{rules}    - id: defaults\n")
    found = issues_of(text)
    assert [(i.code, i.path_text) for i in found] == [("policy_too_large", "standards.rules")]


def test_load_policy_file_reads_utf8(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(minimal_policy_yaml(), encoding="utf-8")
    assert load_policy_file(path).file == str(path)


def test_a_file_that_is_not_utf8_is_an_issue(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(b"policy:\n  id: caf\xe9\n")
    with pytest.raises(PolicyInvalid) as caught:
        load_policy_file(path)
    (issue,) = caught.value.issues
    assert (issue.code, issue.line, issue.column) == ("yaml_encoding", 2, 10)


def test_an_unreadable_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        load_policy_file(tmp_path / "absent.yaml")


def test_validate_file_reports(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(minimal_policy_yaml(), encoding="utf-8")
    bad.write_text(policy_with("      weight: 25\n", "      weight: 20\n"), encoding="utf-8")
    ok, invalid = validate_file(good), validate_file(bad)
    assert ok.ok and not invalid.ok
    assert ok.loaded is not None
    assert ok.lines() == [f"{good}: ok (policy minimal version 1, sha256 {content_hash(ok.loaded.policy)})"]
    assert len(invalid.lines()) == 1 and invalid.lines()[0].startswith(f"{bad}:")
    assert invalid.lines()[0].endswith("[weights_sum]")


def test_checks_run_without_a_document() -> None:
    policy = load_policy(policy_with("      weight: 25\n", "      weight: 25\n"), FILE).policy
    assert run_checks(policy, CheckContext("api")) == []
    broken = policy.model_copy(update={"grades": list(reversed(policy.grades))})
    found = run_checks(broken, CheckContext("api"))
    assert found and all((i.file, i.line, i.column) == ("api", 1, 1) for i in found)

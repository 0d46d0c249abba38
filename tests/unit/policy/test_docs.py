"""docs/policy-errors.md documents every code the tests produce."""

from __future__ import annotations

from pathlib import Path

from tests.unit.policy.test_error_codes import CASES

DOC = (Path(__file__).parents[3] / "docs" / "policy-errors.md").read_text(encoding="utf-8")

# Produced by the loader and file reading (tested in test_loader.py and test_validate.py).
YAML_CODES = {
    "yaml_syntax",
    "yaml_duplicate_key",
    "yaml_key_type",
    "yaml_unsupported_tag",
    "yaml_recursive_alias",
    "yaml_too_large",
    "yaml_not_mapping",
    "yaml_multiple_documents",
    "yaml_encoding",
    "number_range",
    "policy_too_large",
    "missing",
    "model_type",
    "fraction_range",
    "finite_number",
    "too_short",
    "list_type",
}


def test_every_code_is_documented() -> None:
    codes = {case.code for case in CASES} | YAML_CODES
    undocumented = sorted(code for code in codes if f"`{code}`" not in DOC)
    assert undocumented == []

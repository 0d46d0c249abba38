"""The JSON Schema editors read (docs/policy.schema.json) is the one the code exports."""

from __future__ import annotations

import json
from pathlib import Path

from policy.jsonschema import policy_json_schema

SCHEMA_FILE = Path(__file__).resolve().parents[3] / "docs" / "policy.schema.json"


def test_the_committed_schema_file_is_current() -> None:
    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert committed == policy_json_schema(), "regenerate: creditpolicy schema --output docs/policy.schema.json"


def test_the_shipped_policy_points_editors_at_it() -> None:
    first_line = (SCHEMA_FILE.parents[1] / "rules" / "standard.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=../docs/policy.schema.json"

"""The JSON Schema export: draft 2020-12, descriptions, and it accepts valid policies and flags bad ones."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from policy.jsonschema import _MODELS, _PROPERTIES, SCHEMA_ID, policy_json_schema
from policy.loader import load_document
from tests.factories import minimal_policy_yaml
from tests.unit.policy.support import policy_with

SHIPPED = Path(__file__).parents[3] / "rules" / "standard.yaml"
SCHEMA = policy_json_schema()


def errors(instance: object, schema: dict[str, Any], path: str = "") -> list[str]:
    """A tiny JSON Schema checker covering the keywords the policy schema uses."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        found = errors(instance, SCHEMA["$defs"][name], path)
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        return found + errors(instance, rest, path)
    out: list[str] = []
    for key in ("anyOf", "oneOf"):
        if key in schema:
            passing = sum(not errors(instance, branch, path) for branch in schema[key])
            if passing == 0 or (key == "oneOf" and passing > 1):
                out.append(f"{path}: {key} matched {passing}")
    kind = schema.get("type")
    checks = {
        "object": isinstance(instance, dict),
        "array": isinstance(instance, list),
        "string": isinstance(instance, str),
        "boolean": isinstance(instance, bool),
        "null": instance is None,
        "integer": isinstance(instance, int) and not isinstance(instance, bool),
        "number": isinstance(instance, int | float | Decimal) and not isinstance(instance, bool),
    }
    if kind is not None and not checks[kind]:
        return [*out, f"{path}: not {kind}"]
    if "const" in schema and instance != schema["const"]:
        out.append(f"{path}: not {schema['const']}")
    if "enum" in schema and instance not in schema["enum"]:
        out.append(f"{path}: not in enum")
    if isinstance(instance, str):
        if "pattern" in schema and not re.search(schema["pattern"], instance):
            out.append(f"{path}: pattern")
        if len(instance) < schema.get("minLength", 0) or len(instance) > schema.get("maxLength", 10**9):
            out.append(f"{path}: length")
    if checks["number"]:
        value = Decimal(str(instance))
        if "minimum" in schema and value < Decimal(str(schema["minimum"])):
            out.append(f"{path}: minimum")
        if "maximum" in schema and value > Decimal(str(schema["maximum"])):
            out.append(f"{path}: maximum")
        if "exclusiveMinimum" in schema and value <= Decimal(str(schema["exclusiveMinimum"])):
            out.append(f"{path}: exclusiveMinimum")
    if isinstance(instance, list):
        if not schema.get("minItems", 0) <= len(instance) <= schema.get("maxItems", 10**9):
            out.append(f"{path}: items count")
        for index, item in enumerate(instance):
            out += errors(item, schema.get("items", {}), f"{path}[{index}]")
    if isinstance(instance, dict):
        if len(instance) < schema.get("minProperties", 0):
            out.append(f"{path}: minProperties")
        out += [f"{path}.{k}: required" for k in schema.get("required", []) if k not in instance]
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, value in instance.items():
            out += errors(key, schema.get("propertyNames", {}), f"{path}.{key} (name)")
            if key in props:
                out += errors(value, props[key], f"{path}.{key}")
            elif extra is False:
                out.append(f"{path}.{key}: additional")
            elif isinstance(extra, dict):
                out += errors(value, extra, f"{path}.{key}")
    return out


def as_json(text: str) -> object:
    """YAML data as an editor's YAML server sees it: dates are strings."""

    def convert(value: object) -> object:
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value.isoformat() if isinstance(value, dt.date) else value

    return convert(load_document(text, "p.yaml").data)


def test_the_schema_declares_its_draft_id_title_and_description() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"] == SCHEMA_ID
    assert SCHEMA["title"] == "Credit policy" and SCHEMA["description"]
    assert json.loads(json.dumps(SCHEMA)) == SCHEMA


def test_every_model_and_section_is_described() -> None:
    assert all(model.get("description") for model in SCHEMA["$defs"].values())
    assert all(prop.get("description") for prop in SCHEMA["properties"].values())


def test_the_annotation_tables_name_only_things_that_exist() -> None:
    models = {"Policy": SCHEMA, **SCHEMA["$defs"]}
    assert set(_MODELS) <= set(models)
    for model, prop in _PROPERTIES:
        assert prop in models[model]["properties"], (model, prop)


def test_decimal_fields_accept_a_number_or_a_numeric_text() -> None:
    pct = SCHEMA["$defs"]["PctLimit"]["properties"]["pct"]
    assert errors(Decimal("0.3"), pct) == []
    assert errors("0.3", pct) == []
    assert errors("thirty", pct) != []
    assert errors(Decimal("1.5"), pct) != []


@pytest.mark.parametrize(
    "text", [minimal_policy_yaml(), SHIPPED.read_text(encoding="utf-8")], ids=["minimal", "shipped"]
)
def test_valid_policies_pass(text: str) -> None:
    assert errors(as_json(text), SCHEMA) == []


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("  author: Credit team\n", "  author: Credit team\n  colour: red\n", ".policy.colour: additional"),
        # Inside a oneOf (limit methods, factor kinds) the tiny checker reports the oneOf.
        ("          pct: 0.3\n", "          pct: 1.5\n", ".limits.per_grade.A: oneOf matched 0"),
        ("        visit: 20\n", "        phone: 20\n", ".phone (name): not in enum"),
        ("    core:\n", "    vip:\n", ".vip (name): not in enum"),
        ("    A: 90\n", "    A: 120\n", ".A: maximum"),
        ("        good: 100\n", "        good: 101\n", ".scorecard.factors[2]: oneOf matched 0"),
        ("        reason: OVERDUE\n", "        reason: overdue\n", "pattern"),
        ("      kind: rating\n", "      kind: stars\n", "oneOf matched 0"),
    ],
)
def test_editors_flag_mistakes(old: str, new: str, where: str) -> None:
    found = errors(as_json(policy_with(old, new)), SCHEMA)
    assert any(where in e for e in found), found

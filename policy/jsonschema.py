"""The JSON Schema (draft 2020-12) of the policy format, for editors that autocomplete and check YAML.

It starts from pydantic's schema of :class:`~policy.schema.Policy`, whose every key carries its
description (the one text the language reference prints too), and reshapes it so that a YAML
language server gives one precise message per mistake and useful completions:

* **one kind at a time**: a factor (by ``kind``) or a limit method (by ``method``) is an object
  whose discriminator is an ``enum``, with one ``if``/``then`` per kind pointing at that kind's
  keys, instead of a ``oneOf`` that answers "valid under none of the given schemas";
* **one schema per value**: a number that may also be written as quoted text is one schema with
  two types (``pattern`` applies to the text, ``minimum`` to the number), an optional section is
  checked only when it is there;
* **names the engine knows**: grades (``enum``, per-grade keys by ``propertyNames``), the
  credit-file fields a factor may read (``enum`` with a description of each field), segments,
  ladder steps and auxiliary actions;
* **what validator functions check**: identifier, reason-code and terms-text patterns, the ranges
  of amounts, fractions and points, unique blacklist entries, a ladder for every segment.

Grades are declared by each policy (``grades``), so the schema cannot know them; it carries the
standard ten-tier scale (AAA … D), which covers the shipped policy and any scale using those
names (such as A, B, C, D). ``policy_json_schema(grades=…)`` (``creditpolicy schema --grades``)
writes a schema for another scale. Rules that span several places (weights summing to 100, grade
bands covering 0..100, each per-grade section naming exactly the declared grades, conditions)
are for ``creditpolicy validate``.

It declares draft 2020-12 but uses only keywords that draft-07 tools understand the same way
(``$defs`` is reached through ``$ref`` pointers, ``exclusiveMinimum`` is a number, ``if``/``then``),
because the Red Hat YAML language server validates loaded schemas against the draft-07
meta-schema. Wire it into VS Code's YAML extension with a first line in the policy file::

    # yaml-language-server: $schema=../docs/policy.schema.json
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from policy.fields import ASSESS_FIELDS, RATING_NAME_PATTERN, SEGMENTS, FieldType
from policy.schema import (
    AUXILIARY_ACTIONS,
    IDENTIFIER_PATTERN,
    LADDER_STEPS,
    MAX_REVIEW_DAYS,
    REASON_CODE_PATTERN,
    Policy,
)

__all__ = ["SCHEMA_ID", "STANDARD_GRADES", "TERMS_PATTERN", "policy_json_schema"]

SCHEMA_ID = "https://creditpolicy.example/schemas/policy.schema.json"
_DRAFT = "https://json-schema.org/draft/2020-12/schema"
# The shipped policy's scale: ten tiers in four levels. The language does not fix the grades.
STANDARD_GRADES: tuple[str, ...] = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C", "D")

_NUMBER_TEXT = r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$"


def _any_case(word: str) -> str:
    """A regex for ``word`` in any case, without inline flags (JSON Schema regexes have none)."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word)


# policy.terms.parse_terms as one regex: "cash in advance" | "CIA" | { rate "/" days "," } net.
TERMS_PATTERN = (
    rf"^(\s*({_any_case('cash')}\s+{_any_case('in')}\s+{_any_case('advance')}|{_any_case('cia')})\s*"
    rf"|(\s*\d+(\.\d+)?\s*/\s*\d+\s*,)*\s*([nN]\s*/\s*|{_any_case('net')}\s+)\d+\s*)$"
)


def _pattern(pattern: str, message: str) -> dict[str, str]:
    """A pattern, and the message VS Code's and Red Hat's YAML servers show instead of the regex."""
    return {"pattern": pattern, "patternErrorMessage": message}


_IDENTIFIER = _pattern(IDENTIFIER_PATTERN, "an identifier: a letter, then letters, digits, _ or -; at most 64")
_REASON_CODE = _pattern(REASON_CODE_PATTERN, "reason codes are UPPER_SNAKE_CASE, like OVER_LIMIT")
_NUMBER = _pattern(_NUMBER_TEXT, "expected a number")
_MONEY = {"minimum": 0}
_FRACTION = {"minimum": 0, "maximum": 1}
_POINTS = {"minimum": 0, "maximum": 100}
_NUMERIC_KEYWORDS = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}
_STRING_KEYWORDS = {"pattern", "patternErrorMessage", "minLength", "maxLength", "format"}
_FACTORS = ("StandardValueFactor", "BandedFactor", "RatingFactor")


def _numeric_inputs() -> dict[str, Any]:
    """The fields a standard-value or bands factor may read, each with what it is."""
    fields = [f for f in ASSESS_FIELDS.values() if f.type.numeric and f.path != "score"]
    return {
        "enum": [f.path for f in fields],
        "enumDescriptions": [f"{f.type.value}: {f.doc}" + (" (may be missing)" if f.optional else "") for f in fields],
    }


def _rating_inputs() -> dict[str, Any]:
    """The fields a rating factor may read: the fixed rating and yes/no fields, and any ``ratings.<name>``."""
    fixed = [f.path for f in ASSESS_FIELDS.values() if f.type in (FieldType.RATING, FieldType.BOOL)]
    names = "|".join(path.replace(".", r"\.") for path in fixed)
    rating = RATING_NAME_PATTERN.removeprefix("^").removesuffix("$")
    examples = [*fixed, "ratings.character", "ratings.visit_impression", "ratings.industry_prospects"]
    message = "a rating factor reads a rating (ratings.<name>, records.bank_record) or a yes/no fact"
    return {**_pattern(rf"^({names}|ratings\.{rating})$", message), "examples": examples}


def _extras(grades: Sequence[str]) -> dict[tuple[str, str], dict[str, Any]]:
    """(model, key) → the keywords the models' validator functions and the engine's catalogues add."""
    grade_keys = {"propertyNames": {"enum": list(grades), "description": "a grade of the scale"}}
    extras: dict[tuple[str, str], dict[str, Any]] = {
        ("PolicyMeta", "id"): _IDENTIFIER,
        ("PolicyMeta", "min_coverage"): _FRACTION,
        ("Scorecard", "groups"): {"propertyNames": _IDENTIFIER},
        ("Band", "points"): _POINTS,
        ("BandedFactor", "outside"): _POINTS,
        ("RatingFactor", "unknown_rating"): _POINTS,
        ("RatingFactor", "ratings"): {"additionalProperties": _POINTS},
        ("StandardValueFactor", "input"): _numeric_inputs(),
        ("BandedFactor", "input"): _numeric_inputs(),
        ("RatingFactor", "input"): _rating_inputs(),
        ("GradeBand", "grade"): {"enum": list(grades)},
        ("Standards", "min_grade"): {"enum": [*grades, None]},
        ("Standards", "max_expected_bad_debt_rate"): _FRACTION,
        ("Standards", "blacklist"): {"uniqueItems": True},
        ("StandardsRule", "id"): _IDENTIFIER,
        ("StandardsRule", "reason"): _REASON_CODE,
        ("LimitsPolicy", "portfolio_total"): _MONEY,
        ("LimitsPolicy", "per_grade"): grade_keys,
        ("LimitCaps", "absolute"): _MONEY,
        ("TermsPolicy", "per_grade"): grade_keys,
        ("GradeTerms", "text"): _pattern(
            TERMS_PATTERN,
            "terms are written like 3/10, 2/20, n/30 (rate/days discounts, then n/days) or cash in advance",
        ),
        ("ReviewPolicy", "per_grade"): {**grade_keys, "additionalProperties": {"maximum": MAX_REVIEW_DAYS}},
        ("OrderRule", "id"): _IDENTIFIER,
        ("OrderDecision", "reason"): _REASON_CODE,
        ("ReleaseTolerance", "amount_pct"): _FRACTION,
        ("CollectionPolicy", "segments"): {
            "propertyNames": {"enum": list(SEGMENTS), "description": "a customer segment"},
            "required": list(SEGMENTS),
        },
        ("SegmentLadder", "steps"): {
            "propertyNames": {"enum": list(LADDER_STEPS), "description": "a step of the ladder, soft to hard"}
        },
        ("SegmentLadder", "auxiliary"): {
            "propertyNames": {"enum": list(AUXILIARY_ACTIONS), "description": "an auxiliary collection action"}
        },
    }
    for model in _FACTORS:
        extras[(model, "id")] = _IDENTIFIER
        extras[(model, "group")] = _IDENTIFIER
        extras[(model, "missing")] = _POINTS
    for model in ("FixedLimit", "FixedGradeLimit"):
        extras[(model, "amount")] = _MONEY
    for model in ("PctLimit", "PctGradeLimit"):
        extras[(model, "pct")] = {"exclusiveMinimum": 0, "maximum": 1}
    return extras


def _walk(node: object, visit: Any) -> None:
    """Call ``visit`` on every schema object, children first."""
    if isinstance(node, dict):
        for value in node.values():
            _walk(value, visit)
        visit(node)
    elif isinstance(node, list):
        for value in node:
            _walk(value, visit)


def _decimal_text(node: dict[str, Any]) -> None:
    """Give the text branch of every number-or-text a number pattern, so 'abc' is flagged."""
    branches = node.get("anyOf")
    if isinstance(branches, list) and any(isinstance(b, dict) and b.get("type") == "number" for b in branches):
        for branch in branches:
            if branch == {"type": "string"}:
                branch.update(_NUMBER)


def _one_schema_per_value(node: dict[str, Any]) -> None:
    """``anyOf`` of plain scalar types → one schema with a list of types; an optional object → checked if there.

    ``{"anyOf": [{"type": "number", "maximum": 1}, {"type": "string", "pattern": …}]}`` becomes
    ``{"type": ["number", "string"], "maximum": 1, "pattern": …}``: each keyword applies to its own
    type only, so a mistake gets the message of the keyword it breaks, not "valid under none".
    """
    branches = node.get("anyOf")
    if not isinstance(branches, list) or not all(isinstance(b, dict) for b in branches):
        return
    refs = [b for b in branches if "$ref" in b]
    if len(refs) == 1 and len(branches) == 2 and {"type": "null"} in branches:
        node.pop("anyOf")
        node.update({"type": ["object", "null"], "if": {"type": "object"}, "then": refs[0]})
        return
    types = [b.get("type") for b in branches]
    keywords = [set(b) - {"type"} for b in branches]
    if not all(isinstance(t, str) for t in types) or len(set(types)) != len(types):
        return
    if not all(k <= _NUMERIC_KEYWORDS | _STRING_KEYWORDS for k in keywords):
        return
    if sum(len(k) for k in keywords) != len(set().union(*keywords)):
        return  # two branches constrain the same keyword
    node.pop("anyOf")
    node["type"] = types
    for branch in branches:
        node.update({k: v for k, v in branch.items() if k != "type"})


def _tags(model: dict[str, Any], key: str) -> list[Any]:
    spec = model["properties"][key]
    return [spec["const"]] if "const" in spec else list(spec["enum"])


def _kind_by_kind(defs: dict[str, Any]) -> Any:
    """A discriminated union (``oneOf`` + ``discriminator``) → an enum of kinds and one ``if``/``then`` per kind."""

    def visit(node: dict[str, Any]) -> None:
        discriminator, members = node.get("discriminator"), node.get("oneOf")
        if not isinstance(discriminator, dict) or not isinstance(members, list):
            return
        key = discriminator["propertyName"]
        branches, kinds = [], []
        for member in members:
            model = defs[member["$ref"].removeprefix("#/$defs/")]
            tags = _tags(model, key)
            kinds += tags
            condition = {"const": tags[0]} if len(tags) == 1 else {"enum": tags}
            branches.append({"if": {"properties": {key: condition}, "required": [key]}, "then": member})
        first = defs[members[0]["$ref"].removeprefix("#/$defs/")]["properties"][key]
        described = {k: first[k] for k in ("description", "markdownDescription") if k in first}
        node.pop("oneOf")
        node.update(
            {
                "type": "object",
                "required": [key],
                "properties": {key: {"enum": kinds, **described}},
                "allOf": branches,
            }
        )

    return visit


def _annotate(model: dict[str, Any], name: str, extras: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Add the extra keywords of a model's keys (nested ones, such as a map's values, merged in)."""
    for key, schema in model.get("properties", {}).items():
        for keyword, value in extras.get((name, key), {}).items():
            if keyword == "additionalProperties":
                schema[keyword].update(value)
            else:
                schema[keyword] = value


def _whole_numbers(node: dict[str, Any]) -> None:
    """Bounds as pydantic writes them (``100.0``) read better as ``100`` in editors' messages."""
    for key in _NUMERIC_KEYWORDS:
        value = node.get(key)
        if isinstance(value, float) and value.is_integer():
            node[key] = int(value)


def _markdown(node: dict[str, Any]) -> None:
    """Editors render ``markdownDescription`` (the descriptions quote keys and values in backticks)."""
    node.pop("title", None)  # pydantic's titles ("Max Expected Dso Days") only reword the key
    description = node.get("description")
    if isinstance(description, str) and "`" in description:
        node["markdownDescription"] = description


def _titled_by_key(node: dict[str, Any]) -> None:
    """An editor heads a key's hover with its title: the key as written in the file."""
    properties = node.get("properties")
    if node.get("type") == "object" and isinstance(properties, dict):
        for key, schema in properties.items():
            if isinstance(schema, dict):
                schema["title"] = key


def policy_json_schema(grades: Sequence[str] = STANDARD_GRADES) -> dict[str, Any]:
    """The JSON Schema of a policy file, for a grade scale (by default the standard one, AAA … D)."""
    schema = Policy.model_json_schema(mode="validation")
    defs: dict[str, Any] = schema["$defs"]
    _walk(schema, _decimal_text)
    _walk(schema, _one_schema_per_value)
    _walk(schema, _whole_numbers)
    extras = _extras(grades)
    for name, model in defs.items():
        _annotate(model, name, extras)
    _walk(schema, _markdown)
    _walk(schema, _kind_by_kind(defs))
    _walk(schema, _titled_by_key)
    # A fresh copy: the keyword tables above are shared by every key that uses them.
    return copy.deepcopy({"$schema": _DRAFT, "$id": SCHEMA_ID, **schema, "title": "Credit policy"})

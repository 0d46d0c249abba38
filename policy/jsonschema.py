"""The JSON Schema (draft 2020-12) of the policy format, for editors that autocomplete YAML.

It starts from pydantic's schema of :class:`~policy.schema.Policy` and adds what pydantic cannot
see: the ranges enforced by validator functions (amounts ≥ 0, fractions 0..1, points 0..100),
the names a ladder may use, identifier and reason-code patterns, and a description for every
section a credit manager edits, so hovering a key in the editor explains it. Numbers may be
written as numbers or as quoted text (``pct: "0.30"``), as the loader accepts both. The schema
cannot express rules that span several places (weights summing to 100, grade bands covering
0..100); ``creditpolicy validate`` checks those.

It declares draft 2020-12 but uses only keywords that draft-07 tools understand the same way
(``$defs`` is reached through ``$ref`` pointers, ``exclusiveMinimum`` is a number), because the
Red Hat YAML language server validates loaded schemas against the draft-07 meta-schema. Wire it
into VS Code's YAML extension with a first line in the policy file::

    # yaml-language-server: $schema=./policy.schema.json
"""

from __future__ import annotations

import copy
from typing import Any

from policy.fields import SEGMENTS
from policy.schema import AUXILIARY_ACTIONS, LADDER_STEPS, MAX_REVIEW_DAYS, Policy

__all__ = ["SCHEMA_ID", "policy_json_schema"]

SCHEMA_ID = "https://creditpolicy.example/schemas/policy.schema.json"
_DRAFT = "https://json-schema.org/draft/2020-12/schema"
_NUMBER_TEXT = r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$"
_ID = r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$"
_REASON = r"^[A-Z][A-Z0-9_]{0,63}$"

_MONEY = {"minimum": 0}
_FRACTION = {"minimum": 0, "maximum": 1}
_POINTS = {"minimum": 0, "maximum": 100}

# Models whose class has no docstring (or a technical one) get this description.
_MODELS: dict[str, str] = {
    "BandedFactor": "A banded factor: the value's band gives the points; 'outside' scores a value in no band.",
    "RatingFactor": "A rating factor: a qualitative rating (excellent, good, …) maps to points.",
    "StandardValueFactor": "Standard-value formula: Y = 100 − (P − X) × α (higher is better) or "
    "100 − (X − P) × α (lower is better), clamped to 0..100.",
    "ScoreGroup": "A group of factors, such as one of the 5 Cs (character, capacity, capital, collateral, conditions).",
    "StandardsRule": "A condition over the credit file; when it is true the customer gets no credit.",
    "FixedLimit": "A fixed amount.",
    "FixedGradeLimit": "A fixed credit limit for this grade.",
    "PctLimit": "A share of the customer's working capital, liquidation value or net assets.",
    "PctGradeLimit": "A share of the customer's working capital, liquidation value or net assets.",
    "MinGradeLimit": "The smallest of several limit methods.",
    "LimitRounding": "How computed limits are rounded (down to the step is the prudent default).",
    "LimitsPolicy": "Credit limits: a portfolio-wide total and a limit per grade, capped.",
    "PenaltyInterest": "Penalty interest on overdue amounts.",
    "GradeTerms": "Credit terms of a grade, written like '3/10, 2/20, n/30' or 'cash in advance'.",
    "TermsPolicy": "Credit terms per grade: credit period, cash discounts and penalty interest.",
    "ReviewPolicy": f"How often each grade is reviewed, in days (at most {MAX_REVIEW_DAYS}: never more than 3 months).",
    "OrderDecision": "The outcome of an order check and its reason code.",
    "OrderRule": "A condition over the customer, the order and the exposure, and what to do when it is true.",
    "OrderRules": "Order checks: ordered rules, how they combine, and the decision when none matches.",
    "CollectionPolicy": "The collection ladder for each customer segment: core, ordinary, high_risk.",
    "SegmentLadder": "Collection steps (letter → visit → agency → arbitration → litigation) with days overdue.",
}

# (model, property) → description and extra keywords; "number" applies to the numeric branch,
# "values" to the values of a mapping.
_PROPERTIES: dict[tuple[str, str], dict[str, Any]] = {
    ("Policy", "policy"): {"description": "Metadata: id, version, effective dates, currency, author, change note."},
    ("Policy", "scorecard"): {"description": "The weighted risk model: factor groups and factors."},
    ("Policy", "grades"): {"description": "The grade scale, best grade first; the score bands cover 0..100."},
    ("Policy", "standards"): {"description": "The minimum to get credit at all; below it: cash in advance only."},
    ("Policy", "limits"): {"description": "Credit limits per grade and for the whole portfolio."},
    ("Policy", "terms"): {"description": "Credit terms per grade."},
    ("Policy", "review"): {"description": "Review interval per grade."},
    ("Policy", "order_rules"): {"description": "Checks run on every order: approve, hold or reject."},
    ("Policy", "collection"): {"description": "The collection ladder per customer segment."},
    ("PolicyMeta", "id"): {"description": "Policy identifier; the same for every version.", "pattern": _ID},
    ("PolicyMeta", "version"): {"description": 'Version label, such as 2026.1 (quote it: "2026.1").'},
    ("PolicyMeta", "effective_from"): {"description": "First day this version applies (YYYY-MM-DD)."},
    ("PolicyMeta", "effective_to"): {"description": "Last day this version applies, if known."},
    ("PolicyMeta", "currency"): {"description": "ISO 4217 code of all amounts, such as EUR or CNY."},
    ("PolicyMeta", "change_note"): {"description": "What changed in this version and why (shown to auditors)."},
    ("Scorecard", "groups"): {"description": "Factor groups by id.", "propertyNames": {"pattern": _ID}},
    ("Scorecard", "factors"): {"description": "Scoring factors; their weights sum to exactly 100."},
    ("GradeBand", "grade"): {"description": "Grade name, such as AAA or BBB.", "pattern": _ID},
    ("GradeBand", "min_score"): {"description": "Lowest score of the band (included)."},
    ("GradeBand", "max_score"): {"description": "Score where the band ends (excluded; the top band includes 100)."},
    ("Band", "points"): {"description": "Points for a value in this band.", "number": _POINTS},
    ("Band", "min"): {"description": "Lower end, included; leave out for no lower end."},
    ("Band", "max"): {"description": "Upper end, excluded; leave out for no upper end."},
    ("Standards", "min_grade"): {"description": "The weakest grade that still gets credit."},
    ("Standards", "max_expected_bad_debt_rate"): {"description": "Fraction, 0.05 is 5 %.", "number": _FRACTION},
    ("Standards", "blacklist"): {"description": "Customer ids that never get credit."},
    ("StandardsRule", "when"): {"description": "Condition over the credit file, e.g. payment.defaults_3y > 0."},
    ("StandardsRule", "reason"): {"description": "Reason code, UPPER_SNAKE_CASE.", "pattern": _REASON},
    ("LimitsPolicy", "portfolio_total"): {"description": "Total credit for all customers together.", "number": _MONEY},
    ("LimitsPolicy", "per_grade"): {"description": "The limit method of each grade."},
    ("LimitCaps", "absolute"): {"description": "A limit never exceeds this amount.", "number": _MONEY},
    ("LimitCaps", "net_assets"): {"description": "A limit never exceeds the customer's net assets."},
    ("LimitCaps", "working_capital"): {"description": "A limit never exceeds the customer's working capital."},
    ("FixedGradeLimit", "amount"): {"description": "The limit amount.", "number": _MONEY},
    ("FixedLimit", "amount"): {"description": "The limit amount.", "number": _MONEY},
    ("PctGradeLimit", "pct"): {"description": "Share, 0.3 is 30 %.", "number": {"exclusiveMinimum": 0, "maximum": 1}},
    ("PctLimit", "pct"): {"description": "Share, 0.3 is 30 %.", "number": {"exclusiveMinimum": 0, "maximum": 1}},
    ("GradeTerms", "text"): {"description": "Terms like '2/10, n/30': 2 % off within 10 days, else due in 30."},
    ("PenaltyInterest", "rate"): {"description": "Interest on overdue amounts, 0.0005 is 0.05 %."},
    ("ReviewPolicy", "per_grade"): {
        "description": "Days between reviews per grade.",
        "additionalProperties": {"type": "integer", "minimum": 1, "maximum": MAX_REVIEW_DAYS},
    },
    ("OrderRule", "when"): {"description": "Condition, e.g. credit.available_after < 0 and not customer.blacklisted."},
    ("OrderDecision", "reason"): {"description": "Reason code, UPPER_SNAKE_CASE.", "pattern": _REASON},
    ("ReleaseTolerance", "amount_pct"): {"description": "Fraction, 0.1 is 10 %.", "number": _FRACTION},
    ("CollectionPolicy", "segments"): {
        "description": "One ladder per segment.",
        "propertyNames": {"enum": list(SEGMENTS)},
    },
    ("SegmentLadder", "steps"): {
        "description": "Days overdue at which each step starts, soft to hard.",
        "propertyNames": {"enum": list(LADDER_STEPS)},
    },
    ("SegmentLadder", "auxiliary"): {
        "description": "Days overdue at which each auxiliary action starts.",
        "propertyNames": {"enum": list(AUXILIARY_ACTIONS)},
    },
    ("SegmentLadder", "skip_steps"): {"description": "May jump past several steps at once (e.g. high_risk)."},
    ("RatingFactor", "ratings"): {"description": "Rating → points.", "values": _POINTS},
}
for _kind in ("StandardValueFactor", "BandedFactor", "RatingFactor"):
    _PROPERTIES[(_kind, "input")] = {
        "description": "The credit-file field the factor reads, e.g. ratios.current_ratio."
    }
    _PROPERTIES[(_kind, "weight")] = {"description": "Weight of the factor; all weights sum to 100."}
    _PROPERTIES[(_kind, "missing")] = {"description": "Points when the value is unknown.", "number": _POINTS}
    _PROPERTIES[(_kind, "group")] = {"description": "Id of a group under scorecard.groups.", "pattern": _ID}
    _PROPERTIES[(_kind, "id")] = {"description": "Factor id, unique in the scorecard.", "pattern": _ID}
_PROPERTIES[("BandedFactor", "outside")] = {"description": "Points for a value in no band.", "number": _POINTS}
_PROPERTIES[("RatingFactor", "unknown_rating")] = {"description": "Points for a rating not listed.", "number": _POINTS}


def _annotate(model: dict[str, Any], name: str) -> None:
    """Add the description and extra keywords of a model and its properties."""
    if name in _MODELS:
        model["description"] = _MODELS[name]
    for prop, schema in model.get("properties", {}).items():
        extra = dict(_PROPERTIES.get((name, prop), {}))
        number, values = extra.pop("number", None), extra.pop("values", None)
        if number is not None:
            for branch in schema.get("anyOf", []):
                if branch.get("type") == "number":
                    branch.update(number)
        if values is not None and isinstance(schema.get("additionalProperties"), dict):
            for branch in schema["additionalProperties"].get("anyOf", []):
                if branch.get("type") == "number":
                    branch.update(values)
        schema.update(extra)


def _decimal_text(node: object) -> None:
    """Give the string branch of every number-or-string a number pattern, so 'abc' is flagged."""
    if isinstance(node, dict):
        branches = node.get("anyOf")
        if isinstance(branches, list) and any(b.get("type") == "number" for b in branches if isinstance(b, dict)):
            for branch in branches:
                if isinstance(branch, dict) and branch == {"type": "string"}:
                    branch["pattern"] = _NUMBER_TEXT
        for value in node.values():
            _decimal_text(value)
    elif isinstance(node, list):
        for value in node:
            _decimal_text(value)


def policy_json_schema() -> dict[str, Any]:
    """The JSON Schema of a policy file, with ``$schema``, ``$id``, titles and descriptions."""
    schema = copy.deepcopy(Policy.model_json_schema(mode="validation"))
    for name, model in schema.get("$defs", {}).items():
        _annotate(model, name)
    _annotate(schema, "Policy")
    _decimal_text(schema)
    return {
        "$schema": _DRAFT,
        "$id": SCHEMA_ID,
        **schema,
        "title": "Credit policy",
        "description": "One version of a trade-credit policy: scorecard, grades, standards, limits, terms, "
        "review, order checks and collection. Validate with: creditpolicy validate FILE",
    }

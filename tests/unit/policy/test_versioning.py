"""Canonical form and content hash: layout never changes the hash, content always does."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from policy.loader import load_document
from policy.schema import LADDER_STEPS, Policy
from policy.validate import load_policy
from policy.versioning import canonical_form, canonical_json, content_hash
from tests.factories import minimal_policy_yaml
from tests.unit.policy.support import FILE, edit, policy_with

BASE = minimal_policy_yaml()


def hash_of(text: str) -> str:
    return load_policy(text, FILE).content_hash


def model(text: str) -> Policy:
    """The shape-valid model without the semantic checks: hashing must not depend on them."""
    return Policy.model_validate(load_document(text, FILE).data)


def test_the_hash_is_sha256_of_the_compact_sorted_canonical_json() -> None:
    policy = load_policy(BASE, FILE).policy
    text = canonical_json(policy)
    assert text == json.dumps(canonical_form(policy), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert content_hash(policy) == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_the_canonical_form_is_json_with_sorted_keys_exact_numbers_and_defaults() -> None:
    form: Any = canonical_form(load_policy(BASE, FILE).policy)
    assert json.loads(json.dumps(form)) == form

    def keys_sorted(value: object) -> bool:
        if isinstance(value, dict):
            own = list(value) == sorted(value)
            return own and all(k == "steps" or keys_sorted(v) for k, v in value.items())
        if isinstance(value, list):
            return all(keys_sorted(v) for v in value)
        return True

    assert keys_sorted(form)
    # Ladder steps keep the ladder's order, which the format requires, so a dump stays valid.
    assert list(form["collection"]["segments"]["ordinary"]["steps"]) == list(LADDER_STEPS)
    assert form["policy"]["effective_from"] == "2026-01-01"
    assert form["scorecard"]["factors"][0]["standard"] == "0.95"
    assert form["limits"]["portfolio_total"] == "10000000"
    assert form["limits"]["rounding"]["mode"] == "down"  # a default, filled in
    assert form["order_rules"]["combine"] == "most_severe"
    assert form["scorecard"]["factors"][0]["note"] is None


def test_terms_and_conditions_are_in_their_canonical_spelling() -> None:
    text = edit(BASE, "      text: 2/10, n/30\n", "      text: 2/10,net 30\n")
    text = edit(text, "      when: credit.available_after < 0\n", "      when: (credit.available_after<0)\n")
    form: Any = canonical_form(load_policy(text, FILE).policy)
    assert form["terms"]["per_grade"]["B"]["text"] == "2/10, n/30"
    assert form["order_rules"]["rules"][1]["when"] == "credit.available_after < 0"


REFORMATTINGS = {
    "reordered_top_level_sections": (
        "review:\n  per_grade:\n    A: 90\n    B: 60\n    C: 30\n    D: 30\n",
        "",
        "prepend:review:\n  per_grade:\n    D: 30\n    C: 30\n    B: 60\n    A: 90\n",
    ),
    "reordered_keys_in_an_item": (
        "      direction: higher_is_better\n      standard: 0.95\n",
        "      standard: 0.95\n      direction: higher_is_better\n",
        None,
    ),
    "flow_style": ("  rounding:\n    step: 1000\n", "  rounding: {step: 1000}\n", None),
    "trailing_zeros": ("          pct: 0.3\n", "          pct: 0.30\n", None),
    "exponent": ("  portfolio_total: 10000000\n", "  portfolio_total: 1e7\n", None),
    "quoted_number": ("      alpha: 200\n", '      alpha: "200"\n', None),
    "quotes_and_comments": ("  author: Credit team\n", "  author: 'Credit team'   # who signs\n", None),
    "terms_spacing": ('"3/10, 2/20, n/60"', '"3/10,2/20,  n/60"', None),
    "condition_spacing": ("payment.defaults_3y >= 2", "payment.defaults_3y>=2", None),
    "condition_parentheses": ('> 30 and customer.grade in ["C", "D"]', "> 30 and (customer.grade in ['C','D'])", None),
    "blacklist_order": ("    - CUST-1\n", "    - CUST-2\n    - CUST-1\n", "swap:    - CUST-1\n    - CUST-2\n"),
    "explicit_default": ("  rounding:\n    step: 1000\n", "  rounding:\n    step: 1000\n    mode: down\n", None),
}


@pytest.mark.parametrize("name", list(REFORMATTINGS))
def test_reformatting_keeps_the_hash(name: str) -> None:
    old, new, variant = REFORMATTINGS[name]
    if variant is not None and variant.startswith("prepend:"):
        text = variant.removeprefix("prepend:") + edit(BASE, old, new)
        assert hash_of(text) == hash_of(BASE)
    elif variant is not None and variant.startswith("swap:"):
        assert hash_of(edit(BASE, old, new)) == hash_of(edit(BASE, old, variant.removeprefix("swap:")))
    else:
        assert hash_of(edit(BASE, old, new)) == hash_of(BASE)


CHANGES = {
    "factor_alpha": ("      alpha: 200\n", "      alpha: 201\n"),
    "tiny_fraction": ("      standard: 0.95\n", "      standard: 0.9500001\n"),
    "portfolio_total": ("  portfolio_total: 10000000\n", "  portfolio_total: 10000001\n"),
    "pct": ("          pct: 0.3\n", "          pct: 0.31\n"),
    "review_days": ("    A: 90\n", "    A: 89\n"),
    "ladder_days": ("        agency: 90\n", "        agency: 91\n"),
    "terms_period": ('"3/10, 2/20, n/60"', '"3/10, 2/20, n/61"'),
    "terms_discount": ('"3/10, 2/20, n/60"', '"3/10, 1.5/20, n/60"'),
    "condition_constant": ("payment.defaults_3y >= 2", "payment.defaults_3y >= 3"),
    "note_added": ("      weight: 40\n", "      weight: 40\n      note: Paid on time.\n"),
    "author": ("  author: Credit team\n", "  author: Credit team 2\n"),
    "rule_order": (
        "    - id: blacklisted\n      when: customer.blacklisted\n      then:\n        outcome: reject\n"
        "        reason: BLACKLISTED\n    - id: over_limit\n      when: credit.available_after < 0\n"
        "      then:\n        outcome: hold\n        reason: OVER_LIMIT\n",
        "    - id: over_limit\n      when: credit.available_after < 0\n      then:\n        outcome: hold\n"
        "        reason: OVER_LIMIT\n    - id: blacklisted\n      when: customer.blacklisted\n      then:\n"
        "        outcome: reject\n        reason: BLACKLISTED\n",
    ),
}


@pytest.mark.parametrize("name", list(CHANGES))
def test_changing_content_changes_the_hash(name: str) -> None:
    old, new = CHANGES[name]
    assert hash_of(policy_with(old, new)) != hash_of(BASE)


def test_hashing_does_not_need_semantic_validity() -> None:
    policy = model(policy_with("      weight: 25\n", "      weight: 5\n"))  # weights sum to 80
    assert len(content_hash(policy)) == 64


def test_min_coverage_is_left_out_while_unset_so_stored_versions_keep_their_hash() -> None:
    # The shipped policy's hash before policy.min_coverage existed (README, stored databases).
    shipped = (Path(__file__).parents[3] / "rules" / "standard.yaml").read_text(encoding="utf-8")
    assert hash_of(shipped) == "b1cd7e11dad07cf85306cf2737b36407e55a59608c6af972febbd7b50f21ee37"
    assert "min_coverage" not in canonical_form(model(BASE))["policy"]  # type: ignore[operator]
    strict = edit(BASE, "  currency: EUR\n", "  currency: EUR\n  min_coverage: 0.9\n")
    assert canonical_form(model(strict))["policy"]["min_coverage"] == "0.9"  # type: ignore[call-overload,index]
    assert hash_of(strict) != hash_of(BASE)

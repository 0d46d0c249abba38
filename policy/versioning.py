"""The canonical form of a policy and its content hash: the identity of a policy version.

Two files that say the same thing have the same hash, whatever their layout: key order, quoting,
comments, ``0.30`` versus ``0.3``, ``"2/10,n/30"`` versus ``"2/10, n/30"``, the spacing of a
condition and the order of the blacklist do not matter. Anything that changes what the policy
says (a number, a note, a rule's position in an ordered list) changes the hash. Notes are
content: an auditor reading why a number was chosen must see the note that was in force.

The hash is the sha256 of the canonical form serialised as JSON with sorted keys, ``,``/``:``
separators and UTF-8 (non-ASCII characters kept as they are), so any language can recompute it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal

from policy.errors import ExpressionError
from policy.expressions import parse_condition, render
from policy.schema import LADDER_STEPS, Policy
from policy.terms import parse_terms, render_terms

__all__ = ["Canonical", "canonical_form", "canonical_json", "content_hash"]

# JSON values: the canonical form holds only these.
Canonical = dict[str, "Canonical"] | list["Canonical"] | str | int | bool | None


def _number(value: Decimal) -> str:
    """A decimal as its shortest exact text: 0.30 → "0.3", 1E+3 → "1000"."""
    if value == 0:
        return "0"  # also -0 and 0E-5
    return f"{value.normalize():f}"


def _plain(value: object) -> Canonical:
    """Model-dump values as JSON values, with sorted keys."""
    if isinstance(value, dict):
        return {str(k): _plain(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is None or isinstance(value, str | int | bool):
        return value
    raise TypeError(f"unexpected value in a policy: {value!r}")  # pragma: no cover - the schema admits none


def _condition(text: str, context: str, grades: list[str]) -> str:
    """A condition in its canonical text, or as written when it does not parse."""
    try:
        return render(parse_condition(text, context, grades))
    except ExpressionError:
        return text  # only a policy that failed validation gets here; keep what was written


def _terms(text: str) -> str:
    """Terms in their canonical text, or as written when they do not parse."""
    try:
        return render_terms(parse_terms(text))
    except ExpressionError:
        return text


def canonical_form(policy: Policy) -> dict[str, Canonical]:
    """The policy as JSON data: defaults filled in, one spelling per value, keys sorted (ladder steps soft to hard)."""
    data = policy.model_dump(mode="python")
    # A key added to the language after versions were stored: left out while unset, so the
    # versions written before it keep their hash.
    if data["policy"]["min_coverage"] is None:
        del data["policy"]["min_coverage"]
    grades = [band.grade for band in policy.grades]
    for rule in data["standards"]["rules"]:
        rule["when"] = _condition(rule["when"], "assess", grades)
    for rule in data["order_rules"]["rules"]:
        rule["when"] = _condition(rule["when"], "order", grades)
    # The blacklist is a set of customers: its order carries no meaning.
    data["standards"]["blacklist"] = sorted(set(data["standards"]["blacklist"]))
    for terms in data["terms"]["per_grade"].values():
        terms["text"] = _terms(terms["text"])
    form = _plain(data)
    assert isinstance(form, dict)
    collection = form.get("collection")
    if isinstance(collection, dict) and isinstance(segments := collection.get("segments"), dict):
        for ladder in segments.values():
            if isinstance(ladder, dict) and isinstance(steps := ladder.get("steps"), dict):
                ladder["steps"] = _ladder_order(steps)
    return form


def _ladder_order(steps: dict[str, Canonical]) -> dict[str, Canonical]:
    """Steps soft to hard: the format requires that order, so a dump of the canonical form stays valid."""
    rank = {step: index for index, step in enumerate(LADDER_STEPS)}
    return {key: steps[key] for key in sorted(steps, key=lambda k: (rank.get(k, len(rank)), k))}


def canonical_json(policy: Policy) -> str:
    """The canonical form as the exact JSON text that is hashed."""
    return json.dumps(canonical_form(policy), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(policy: Policy) -> str:
    """sha256 hex of the canonical JSON: equal for equal content, different for any change of content."""
    return hashlib.sha256(canonical_json(policy).encode("utf-8")).hexdigest()

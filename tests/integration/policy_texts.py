"""Policy YAML texts for the store and lifecycle tests: the factory's minimal policy, varied by its metadata."""

from __future__ import annotations

import datetime as dt
import re

import yaml

from tests.factories import minimal_policy_yaml

__all__ = ["broken", "policy_text", "reformatted"]


def _set_meta(text: str, key: str, value: str | None) -> str:
    """Replace (or add, or with None remove) one key of the ``policy:`` metadata block."""
    pattern = re.compile(rf"^(  {key}:).*$\n?", re.MULTILINE)
    if value is None:
        return pattern.sub("", text, count=1)
    if pattern.search(text):
        return pattern.sub(lambda m: f"{m.group(1)} {value}\n", text, count=1)
    return text.replace("policy:\n", f"policy:\n  {key}: {value}\n", 1)


def policy_text(
    version: str = "1",
    *,
    effective_from: dt.date = dt.date(2026, 1, 1),
    effective_to: dt.date | None = None,
    author: str = "Credit Department",
    note: str | None = None,
    policy_id: str = "standard",
    min_coverage: str | None = None,
) -> str:
    """The minimal policy as policy ``policy_id`` with its metadata replaced; ``note`` only changes the content."""
    text = minimal_policy_yaml()
    text = _set_meta(text, "version", f'"{version}"')
    text = _set_meta(text, "effective_from", effective_from.isoformat())
    text = _set_meta(text, "effective_to", effective_to.isoformat() if effective_to else None)
    text = _set_meta(text, "author", f'"{author}"')
    text = _set_meta(text, "change_note", f'"{note or f"version {version}"}"')
    text = _set_meta(text, "min_coverage", min_coverage)
    return _set_meta(text, "id", policy_id)


def reformatted(text: str) -> str:
    """The same policy written differently: sections in reverse order, other indentation, a comment added."""
    data = yaml.safe_load(text)
    flipped = dict(reversed(data.items()))  # order inside sections can matter (ladder steps), between them not
    return "# reformatted: same content\n" + yaml.safe_dump(flipped, sort_keys=False, allow_unicode=True, indent=4)


def broken(text: str) -> str:
    """The policy with two independent mistakes: a bad currency and an unknown key."""
    return _set_meta(_set_meta(text, "currency", "yuan"), "colour", "blue")

"""Helpers for policy tests: edit the minimal policy one line at a time and read back the issues."""

from __future__ import annotations

import pytest

from policy.errors import Issue, PolicyInvalid
from policy.validate import load_policy
from tests.factories import MINIMAL_POLICY_FILE, minimal_policy_yaml

__all__ = ["FILE", "edit", "issues_of", "position", "policy_with"]

FILE = MINIMAL_POLICY_FILE


def edit(text: str, old: str, new: str) -> str:
    """``text`` with the one occurrence of ``old`` replaced by ``new``."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def policy_with(old: str, new: str) -> str:
    """The minimal policy with one snippet replaced."""
    return edit(minimal_policy_yaml(), old, new)


def issues_of(text: str) -> list[Issue]:
    """The issues of an invalid policy text (fails the test if it is valid)."""
    with pytest.raises(PolicyInvalid) as caught:
        load_policy(text, FILE)
    return caught.value.issues


def position(text: str, needle: str, offset: int = 0) -> tuple[int, int]:
    """1-based (line, column) of the first character of the one occurrence of ``needle``, plus ``offset``."""
    assert text.count(needle) == 1, f"{needle!r} occurs {text.count(needle)} times"
    index = text.index(needle) + offset
    before = text[:index]
    return before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1

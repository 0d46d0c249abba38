"""What changed between two policy versions, in the terms an auditor reads.

The diff compares canonical forms (:mod:`policy.versioning`), so reformatting shows no change
and ``0.30`` → ``0.3`` is no change. Lists of things with a name — factors and rules by ``id``,
grade bands by ``grade`` — are matched by that name, so inserting a rule shows one addition, not
a change to every rule after it; when the order of such a list changes (it matters for
``first_match`` order rules), that shows as one change of the list's order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from policy.schema import Policy
from policy.versioning import Canonical, canonical_form

__all__ = ["Change", "ChangeKind", "diff_canonical", "diff_policies", "render_diff"]

ChangeKind = Literal["added", "removed", "changed"]
_KEYS = ("id", "grade")  # the names that identify items of a list


@dataclass(frozen=True)
class Change:
    """One difference: ``path`` like ``order_rules.rules[over_limit].then.outcome``."""

    path: str
    kind: ChangeKind
    old: Canonical
    new: Canonical


def diff_policies(old: Policy, new: Policy) -> list[Change]:
    """Every difference between two policies; mapping keys in sorted order, list items in list order."""
    return diff_canonical(canonical_form(old), canonical_form(new))


def diff_canonical(old: Canonical, new: Canonical, path: str = "") -> list[Change]:
    """Every difference between two canonical values below ``path``."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[Change] = []
        for key in sorted(old.keys() | new.keys()):
            sub = f"{path}.{key}" if path else key
            if key not in new:
                changes.append(Change(sub, "removed", old[key], None))
            elif key not in old:
                changes.append(Change(sub, "added", None, new[key]))
            else:
                changes += diff_canonical(old[key], new[key], sub)
        return changes
    if isinstance(old, list) and isinstance(new, list):
        name_key = _list_key(old, new)
        if name_key is not None:
            return _diff_keyed(old, new, name_key, path)
        if all(not isinstance(v, dict | list) for v in old + new):
            return _diff_values(old, new, path)
        return _diff_indexed(old, new, path)
    if old != new:
        return [Change(path, "changed", old, new)]
    return []


def _list_key(old: list[Canonical], new: list[Canonical]) -> str | None:
    """The name field that identifies every item of both lists uniquely, if there is one."""
    items = old + new
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in _KEYS:
        names_old = [i.get(key) for i in old if isinstance(i, dict)]
        names_new = [i.get(key) for i in new if isinstance(i, dict)]
        names = names_old + names_new
        if (
            all(isinstance(n, str) for n in names)
            and len(set(names_old)) == len(old)
            and len(set(names_new)) == len(new)
        ):
            return key
    return None


def _diff_keyed(old: list[Canonical], new: list[Canonical], key: str, path: str) -> list[Change]:
    """Differences of two lists whose items are named by ``key`` (id or grade)."""
    by_old = {i[key]: i for i in old if isinstance(i, dict) and isinstance(i[key], str)}
    by_new = {i[key]: i for i in new if isinstance(i, dict) and isinstance(i[key], str)}
    changes: list[Change] = []
    common_old = [name for name in by_old if name in by_new]
    common_new = [name for name in by_new if name in by_old]
    if common_old != common_new:
        changes.append(Change(f"{path} (order)", "changed", list(common_old), list(common_new)))
    for name, item in by_old.items():
        if name not in by_new:
            changes.append(Change(f"{path}[{name}]", "removed", item, None))
        else:
            changes += diff_canonical(item, by_new[name], f"{path}[{name}]")
    changes += [Change(f"{path}[{name}]", "added", None, item) for name, item in by_new.items() if name not in by_old]
    return changes


def _diff_values(old: list[Canonical], new: list[Canonical], path: str) -> list[Change]:
    """Lists of plain values (a blacklist): what left and what joined."""
    removed = [v for v in old if v not in new]
    added = [v for v in new if v not in old]
    changes = [Change(path, "removed", v, None) for v in removed] + [Change(path, "added", None, v) for v in added]
    if not changes and old != new:
        changes.append(Change(f"{path} (order)", "changed", list(old), list(new)))
    return changes


def _diff_indexed(old: list[Canonical], new: list[Canonical], path: str) -> list[Change]:
    """Differences of two lists compared position by position."""
    changes: list[Change] = []
    for index in range(max(len(old), len(new))):
        sub = f"{path}[{index}]"
        if index >= len(new):
            changes.append(Change(sub, "removed", old[index], None))
        elif index >= len(old):
            changes.append(Change(sub, "added", None, new[index]))
        else:
            changes += diff_canonical(old[index], new[index], sub)
    return changes


def _show(value: Canonical) -> str:
    """A canonical value as compact JSON."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def render_diff(changes: list[Change]) -> str:
    """One line per change: ``+ added``, ``- removed``, ``~ path: old → new``."""
    if not changes:
        return "no changes"
    lines: list[str] = []
    for change in changes:
        if change.kind == "added":
            lines.append(f"+ {change.path}: {_show(change.new)}")
        elif change.kind == "removed":
            lines.append(f"- {change.path}: {_show(change.old)}")
        else:
            lines.append(f"~ {change.path}: {_show(change.old)} → {_show(change.new)}")
    return "\n".join(lines)

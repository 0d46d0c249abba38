"""Two decisions of one kind compared part by part: list items by what they are, not where they stand.

A decision's lists hold things with a name — a scorecard factor (``id``), a reason (the ``rule``
that gave it), a discount tier (its ``days``), a payment (its ``date``), an auxiliary collection
measure (its ``action``), a rule fired (its ``id``) — or are sets of names (the actions due now,
the collection steps skipped). :data:`IDENTITIES` declares, per kind, what names the items of each
list; items are paired by that name, so the same items in another order are no difference, and
a difference reads as what changed::

    factors[current_ratio].points: 100.00 → 86.67
    reasons[order_rules.over_limit] added
    auxiliary[stop_supply].due_now: false → true

Items sharing a name (two payments on one day) are paired identical ones first, then the rest in
a fixed order (their canonical JSON), so their order does not matter either.

Against another version, two things are no difference: the ``policy`` member (it names the
version) and a ``source`` (the ``file:line`` a rule is written at: rewriting the policy text moves
it, and where a rule is written is not what it decides). A list no entry of :data:`IDENTITIES`
covers is compared by position; ``tests/unit/api/test_replay_compare.py`` proves every list of
every result model is covered.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

__all__ = ["IDENTITIES", "TRACE_IDENTITIES", "Difference", "compare"]

Path = tuple[str, ...]  # member names from the root of the document, list items left out
Identity = tuple[str, ...]  # the members naming an item; () for a list of names (the item names itself)

_REASONS: Mapping[Path, Identity] = {("reasons",): ("rule",)}
_DISCOUNTS: Mapping[Path, Identity] = {("terms", "discounts"): ("days",)}

IDENTITIES: Mapping[str, Mapping[Path, Identity]] = MappingProxyType(
    {
        "assess": {**_REASONS, **_DISCOUNTS, ("factors",): ("id",)},
        "order": {**_REASONS},
        "settlement": {**_DISCOUNTS, ("payments",): ("date",), ("penalty_periods",): ("start",)},
        "collection": {
            **_REASONS,
            ("auxiliary",): ("action",),
            ("actions_due_now",): (),
            ("next_step", "skipped"): (),
        },
    }
)
# The part of a trace a replay compares: which rules fired (the rest explains the decision compared).
TRACE_IDENTITIES: Mapping[Path, Identity] = MappingProxyType({("rules_fired",): ("id",)})

Change = Literal["changed", "added", "removed"]


@dataclass(frozen=True)
class Difference:
    """One part that differs: ``path`` names it (``factors[current_ratio].points``), ``old`` and ``new``
    are its values (None on the side it is missing from)."""

    path: str
    change: Change
    old: Any
    new: Any

    def text(self) -> str:
        """The difference as a line an auditor reads: ``path: old → new``, ``path added``, ``path removed``."""
        if self.change == "changed":
            return f"{self.path}: {_shown(self.old)} → {_shown(self.new)}"
        return f"{self.path} {self.change}"

    def content(self) -> dict[str, Any]:
        return {"path": self.path, "change": self.change, "old": self.old, "new": self.new}


def compare(
    old: Any, new: Any, identities: Mapping[Path, Identity], *, other_version: bool, prefix: str = ""
) -> list[Difference]:
    """Every difference between two JSON documents, lists paired by ``identities`` (see the module doc)."""
    return list(_walk(old, new, (), prefix, _Rules(identities, other_version)))


@dataclass(frozen=True)
class _Rules:
    identities: Mapping[Path, Identity]
    other_version: bool

    def ignored(self, schema: Path) -> bool:
        """Members that are no difference against another version: the version's name, rule sources."""
        return self.other_version and (schema == ("policy",) or schema[-1:] == ("source",))


def _walk(old: Any, new: Any, schema: Path, path: str, rules: _Rules) -> Iterator[Difference]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys()):
            where = (*schema, key)
            if rules.ignored(where):
                continue
            member = f"{path}.{key}" if path else key
            if key not in new:
                yield Difference(member, "removed", old[key], None)
            elif key not in old:
                yield Difference(member, "added", None, new[key])
            else:
                yield from _walk(old[key], new[key], where, member, rules)
    elif isinstance(old, list) and isinstance(new, list):
        identity = rules.identities.get(schema)
        if identity is None:
            for index in range(max(len(old), len(new))):
                item = f"{path}[{index}]"
                if index >= len(new):
                    yield Difference(item, "removed", old[index], None)
                elif index >= len(old):
                    yield Difference(item, "added", None, new[index])
                else:
                    yield from _walk(old[index], new[index], schema, item, rules)
            return
        yield from _walk_named(old, new, identity, schema, path, rules)
    elif old != new or type(old) is not type(new):
        yield Difference(path, "changed", old, new)


def _walk_named(
    old: list[Any], new: list[Any], identity: Identity, schema: Path, path: str, rules: _Rules
) -> Iterator[Difference]:
    """Items paired by name; within one name, identical items first, then the rest in canonical order."""
    olds, news = _by_name(old, identity), _by_name(new, identity)
    for name in sorted(olds.keys() | news.keys()):
        left, right = _unmatched(olds.get(name, []), news.get(name, []), rules, schema)
        if not left and not right:
            continue
        several = len(olds.get(name, [])) > 1 or len(news.get(name, [])) > 1
        for index in range(max(len(left), len(right))):
            item = f"{path}[{name}#{index + 1}]" if several else f"{path}[{name}]"
            if index >= len(right):
                yield Difference(item, "removed", left[index], None)
            elif index >= len(left):
                yield Difference(item, "added", None, right[index])
            else:
                yield from _walk(left[index], right[index], schema, item, rules)


def _by_name(items: list[Any], identity: Identity) -> dict[str, list[Any]]:
    named: dict[str, list[Any]] = {}
    for item in items:
        named.setdefault(_name(item, identity), []).append(item)
    return named


def _name(item: Any, identity: Identity) -> str:
    if not identity or not isinstance(item, dict):
        return _shown(item)
    return ",".join(_shown(item.get(member)) for member in identity)


def _unmatched(left: list[Any], right: list[Any], rules: _Rules, schema: Path) -> tuple[list[Any], list[Any]]:
    """The items of one name left once those equal on both sides (as compared: sources aside) are paired."""
    if len(left) == 1 and len(right) == 1:
        return left, right
    keyed = sorted(left, key=lambda item: _key(item, rules, schema))
    waiting = sorted(right, key=lambda item: _key(item, rules, schema))
    rest: list[Any] = []
    for item in keyed:
        twin = next((i for i, other in enumerate(waiting) if not any(_walk(item, other, schema, "", rules))), None)
        if twin is None:
            rest.append(item)
        else:
            del waiting[twin]
    return rest, waiting


def _key(item: Any, rules: _Rules, schema: Path) -> str:
    return json.dumps(_compared_part(item, rules, schema), sort_keys=True, ensure_ascii=False, default=str)


def _compared_part(value: Any, rules: _Rules, schema: Path) -> Any:
    """The part of a value the comparison reads (ignored members dropped), for ordering items of one name."""
    if isinstance(value, dict):
        return {k: _compared_part(v, rules, (*schema, k)) for k, v in value.items() if not rules.ignored((*schema, k))}
    if isinstance(value, list):
        return sorted((_compared_part(v, rules, schema) for v in value), key=lambda v: json.dumps(v, default=str))
    return value


def _shown(value: Any) -> str:
    """A value as the difference text shows it: text as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)

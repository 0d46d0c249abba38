"""What changed between two policy versions, one line per change, in the policy's own terms.

The diff compares the :mod:`policy.elements` of two versions: the same element (by name: factors
and rules by id, grades by name, per-grade entries by grade, ladders by segment) in both is
compared aspect by aspect, by canonical value, so reformatting (indentation, key order, quoting,
``0.30`` for ``0.3``, ``2/10,n/30`` for ``2/10, n/30``) shows no change; an element in only one
is one addition or removal. The order of a keyed list (order rules, standards rules, factors,
grades) is compared over the names both versions have, so inserting a rule is one addition and
not also a change of order. Changes come in the policy's order: sections as the language orders
them, elements as the newer file writes them, an element that left where the older file had it.

The metadata (``policy:``: version, effective dates, author, change note) is kept apart from the
rules: it says which versions are compared, not what they decide.

Each change knows where it is written on each side (:class:`~policy.elements.Source`), and
:meth:`Change.reversed` is the same change seen from the other version: ``diff(b, a)`` is
``diff(a, b)`` with every change reversed (a property test holds it to that).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Literal, TypeVar

from policy.elements import SECTIONS, Aspect, Element, Source, matches_query, names_whole, policy_elements
from policy.validate import LoadedPolicy
from policy.versioning import Canonical

__all__ = ["Change", "ChangeKind", "PolicyDiff", "diff_policies", "introduce"]

ChangeKind = Literal["added", "removed", "changed"]
_REVERSED: dict[ChangeKind, ChangeKind] = {"added": "removed", "removed": "added", "changed": "changed"}
_T = TypeVar("_T")


@dataclass(frozen=True)
class Change:
    """One difference: an element added or removed (``aspect`` None), or one of its aspects added, removed, changed."""

    section: str
    element: str  # "terms BBB"
    aspect: str | None  # "penalty", "" for the element's own value, None for the whole element
    kind: ChangeKind
    paths: tuple[str, ...]  # id-paths of what changed: "terms.per_grade.BBB.text"
    old: str | None  # how the old value reads; None when there was none
    new: str | None
    old_value: Canonical  # the canonical values (None when absent)
    new_value: Canonical
    old_source: Source | None  # where each side writes it (the element, when the aspect is absent)
    new_source: Source | None
    parts: tuple[Aspect, ...] = ()  # a whole element's aspects: "collection ordinary visit" finds its addition

    @property
    def path(self) -> str:
        return self.paths[0]

    @property
    def text(self) -> str:
        """The change as one line: ``terms BBB: 2/10, n/30 → 2/10, n/20``."""
        if self.aspect is None:
            summary = self.new if self.kind == "added" else self.old
            return f"{self.element} {self.kind}" + (f": {summary}" if summary else "")
        label = f"{self.aspect} " if self.aspect else ""
        if self.kind == "changed":
            return f"{self.element}: {label}{self.old} → {self.new}"
        if self.kind == "added":
            return f"{self.element}: {label}added" + (f": {self.new}" if self.new else "")
        return f"{self.element}: {label}removed" + (f" (was {self.old})" if self.old else "")

    def reversed(self) -> Change:
        """The same change seen from the other version: added ↔ removed, old ↔ new."""
        return replace(
            self,
            kind=_REVERSED[self.kind],
            old=self.new,
            new=self.old,
            old_value=self.new_value,
            new_value=self.old_value,
            old_source=self.new_source,
            new_source=self.old_source,
        )

    def narrowed(self, query: str) -> tuple[Change, ...]:
        """This change, or when it adds or removes a whole element and ``query`` names only parts of it, the
        addition or removal of those parts (``collection ordinary visit added: from day 20``)."""
        if self.aspect is not None or names_whole(query, self.element, self.path):
            return (self,)
        parts = [
            part
            for part in self.parts
            if matches_query(query, [f"{self.element} {part.name}".strip()], part.paths(self.path))
        ]
        added = self.kind == "added"
        return tuple(
            replace(
                self,
                aspect=part.name,
                paths=part.paths(self.path),
                old=None if added else part.text,
                new=part.text if added else None,
                old_value=None if added else part.value,
                new_value=part.value if added else None,
                old_source=None if added else part.source,
                new_source=part.source if added else None,
                parts=(),
            )
            for part in parts
        ) or (self,)

    def concerns(self, query: str) -> bool:
        """True when ``query`` names the changed element or aspect (``terms BBB``, ``collection ordinary visit``,
        ``limits.per_grade.BB``)."""
        if self.aspect is None:
            names = [self.element, *(f"{self.element} {part.name}" for part in self.parts if part.name)]
        else:
            names = [self.element, f"{self.element} {self.aspect}".strip()]
        return matches_query(query, names, self.paths)


@dataclass(frozen=True)
class PolicyDiff:
    """The changes from one version to another: the metadata apart, the rest in the policy's order."""

    metadata: tuple[Change, ...]
    changes: tuple[Change, ...]

    @property
    def identical(self) -> bool:
        """True when the two versions say the same thing (the same content hash)."""
        return not self.metadata and not self.changes

    def sections(self) -> list[tuple[str, str, list[Change]]]:
        """(section, title, changes) for each section with a change, in the language's order."""
        return [
            (key, title, found)
            for key, title in SECTIONS[1:]
            if (found := [c for c in self.changes if c.section == key])
        ]

    def reversed(self) -> PolicyDiff:
        """The diff from the newer version back to the older one."""
        return PolicyDiff(tuple(c.reversed() for c in self.metadata), tuple(c.reversed() for c in self.changes))


def diff_policies(old: LoadedPolicy, new: LoadedPolicy) -> PolicyDiff:
    """Every change from ``old`` to ``new``."""
    return _diff(policy_elements(old), policy_elements(new))


def introduce(new: LoadedPolicy) -> PolicyDiff:
    """A first version as a diff from nothing: every element added (where blame starts)."""
    return _diff([], policy_elements(new))


def _diff(old: list[Element], new: list[Element]) -> PolicyDiff:
    by_old = {(e.section, e.name): e for e in old}
    by_new = {(e.section, e.name): e for e in new}
    changes: list[Change] = []
    for key in _merged([(e.section, e.name) for e in old], [(e.section, e.name) for e in new]):
        before, after = by_old.get(key), by_new.get(key)
        if before is None and after is not None:
            changes.append(_whole(after, "added"))
        elif after is None and before is not None:
            changes.append(_whole(before, "removed"))
        elif before is not None and after is not None:
            changes += _element_changes(before, after)
    metadata = tuple(c for c in changes if c.section == "policy")
    # Sections in the language's order: the merge may put an element that left after a later section's.
    rank = {key: index for index, (key, _) in enumerate(SECTIONS)}
    ordered = sorted((c for c in changes if c.section != "policy"), key=lambda c: rank[c.section])
    return PolicyDiff(metadata, tuple(ordered))


def _whole(element: Element, kind: ChangeKind) -> Change:
    added = kind == "added"
    return Change(
        element.section,
        element.name,
        None,
        kind,
        (element.path,),
        None if added else element.summary,
        element.summary if added else None,
        None if added else element.value,
        element.value if added else None,
        None if added else element.source,
        element.source if added else None,
        element.aspects,
    )


def _element_changes(old: Element, new: Element) -> Iterator[Change]:
    by_old = {a.name: a for a in old.aspects}
    by_new = {a.name: a for a in new.aspects}
    for name in _merged([a.name for a in old.aspects], [a.name for a in new.aspects]):
        before, after = by_old.get(name), by_new.get(name)
        if before is not None and after is not None and before.ordering:
            change = _order_change(new, before, after)
            if change is not None:
                yield change
        elif before is None or after is None or before.value != after.value:
            yield _aspect_change(old, new, before, after)


def _aspect_change(old: Element, new: Element, before: Aspect | None, after: Aspect | None) -> Change:
    some = after if after is not None else before
    assert some is not None
    kind: ChangeKind = "added" if before is None else "removed" if after is None else "changed"
    return Change(
        new.section,
        new.name,
        some.name,
        kind,
        some.paths(new.path),
        None if before is None else before.text,
        None if after is None else after.text,
        None if before is None else before.value,
        None if after is None else after.value,
        old.source if before is None else before.source,
        new.source if after is None else after.source,
    )


def _order_change(element: Element, before: Aspect, after: Aspect) -> Change | None:
    """The order of the names both versions have, when it changed."""
    old_names = [n for n in before.value if isinstance(n, str)] if isinstance(before.value, list) else []
    new_names = [n for n in after.value if isinstance(n, str)] if isinstance(after.value, list) else []
    common = set(old_names) & set(new_names)
    old_order = [n for n in old_names if n in common]
    new_order = [n for n in new_names if n in common]
    if old_order == new_order:
        return None
    old_text, new_text = _trimmed(old_order, new_order)
    return Change(
        element.section,
        element.name,
        after.name,
        "changed",
        after.paths(element.path),
        old_text,
        new_text,
        list[Canonical](old_order),
        list[Canonical](new_order),
        before.source,
        after.source,
    )


def _trimmed(old: Sequence[str], new: Sequence[str]) -> tuple[str, str]:
    """Both orders without the names they start and end with alike (an ellipsis says where some were left out)."""
    start = 0
    while old[start] == new[start]:
        start += 1
    end = 0
    while old[-1 - end] == new[-1 - end]:
        end += 1

    def show(names: Sequence[str]) -> str:
        middle = list(names[start : len(names) - end])
        return ", ".join((["…"] if start else []) + middle + (["…"] if end else []))

    return show(old), show(new)


def _merged(old: Iterable[_T], new: Iterable[_T]) -> list[_T]:
    """Every item of both, in the new order, each item only in ``old`` placed after the item it followed there."""
    old_list, new_list = list(old), list(new)
    in_new = set(new_list)
    result: list[_T] = []
    placed: set[_T] = set()
    pending = iter(old_list)

    def flush_until(stop: _T | None) -> None:
        for item in pending:
            if item == stop:
                return
            if item not in in_new and item not in placed:
                result.append(item)
                placed.add(item)

    old_set = set(old_list)
    for item in new_list:
        if item in old_set and item not in placed:
            flush_until(item)
        result.append(item)
        placed.add(item)
    flush_until(None)
    return result

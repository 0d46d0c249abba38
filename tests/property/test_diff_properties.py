"""Properties of the policy diff over generated policies (the differential tests' generator).

* a version compared with itself has no change;
* the same policy written differently (key order, indentation, flow or block style, quoting) has
  no change;
* the diff from B to A is the diff from A to B with every change reversed (added ↔ removed);
* the diff is empty exactly when the two versions have the same content hash: nothing the policy
  says escapes it;
* a change reads differently on its two sides: what changed is visible in the text.
"""

from __future__ import annotations

import random
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy.diff import Change, PolicyDiff, diff_policies
from policy.validate import LoadedPolicy, load_policy
from policy.versioning import content_hash
from tests.vectorised_strategies import GeneratedPolicy, policies

DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def load(text: str, file: str = "policy.yaml") -> LoadedPolicy:
    return load_policy(text, file)


def shuffled(value: object, rng: random.Random) -> object:
    """The same data with mapping keys in another order (ladder steps keep theirs: the format orders them)."""
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {k: value[k] if k == "steps" else shuffled(value[k], rng) for k in keys}
    if isinstance(value, list):
        return [shuffled(v, rng) for v in value]
    return value


def as_multiset(diff: PolicyDiff) -> list[str]:
    return sorted(repr(c) for c in (*diff.metadata, *diff.changes))


@SETTINGS
@given(policies())
def test_a_version_compared_with_itself_has_no_change(policy: GeneratedPolicy) -> None:
    first, again = load(policy.text, "a.yaml"), load(policy.text, "b.yaml")
    assert diff_policies(first, again) == PolicyDiff((), ())


@SETTINGS
@given(
    policy=policies(),
    rng=st.randoms(use_true_random=False),
    flow=st.sampled_from([False, True, None]),
    indent=st.integers(2, 8),
    style=st.sampled_from([None, "'", '"']),
)
def test_reformatting_changes_nothing(
    policy: GeneratedPolicy, rng: random.Random, flow: bool | None, indent: int, style: str | None
) -> None:
    dumped = yaml.dump(
        shuffled(policy.data, rng),
        Dumper=DUMPER,
        sort_keys=False,
        default_flow_style=flow,
        default_style=style,
        indent=indent,
        width=rng.randint(40, 200),
        allow_unicode=True,
    )
    diff = diff_policies(load(policy.text), load(dumped, "reformatted.yaml"))
    assert diff.identical, [c.text for c in (*diff.metadata, *diff.changes)]


@st.composite
def edited_policies(draw: st.DrawFn, policy: GeneratedPolicy) -> GeneratedPolicy:
    """The policy after a few edits a credit manager makes, each keeping it valid."""
    data: dict[str, Any] = yaml.safe_load(policy.text)
    edits = draw(st.lists(st.sampled_from(EDITS), min_size=1, max_size=4))
    for edit in edits:
        edit(data, draw)
    return GeneratedPolicy(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), data)


def _drop_rule(data: dict[str, Any], draw: st.DrawFn) -> None:
    rules = data["order_rules"]["rules"]
    if rules:
        del rules[draw(st.integers(0, len(rules) - 1))]


def _reverse_rules(data: dict[str, Any], draw: st.DrawFn) -> None:
    data["order_rules"]["rules"].reverse()


def _add_rule(data: dict[str, Any], draw: st.DrawFn) -> None:
    rules = data["order_rules"]["rules"]
    if all(rule["id"] != "added_rule" for rule in rules):
        added = {"id": "added_rule", "when": "order.amount > 1000", "then": {"outcome": "hold", "reason": "ADDED"}}
        rules.insert(draw(st.integers(0, len(rules))), added)


def _same_review(data: dict[str, Any], draw: st.DrawFn) -> None:
    days = draw(st.integers(1, 92))
    data["review"]["per_grade"] = dict.fromkeys(data["review"]["per_grade"], days)


def _blacklist(data: dict[str, Any], draw: st.DrawFn) -> None:
    data["standards"]["blacklist"] = draw(st.lists(st.sampled_from(["C-1", "C-2", "C-9"]), max_size=3, unique=True))


def _metadata(data: dict[str, Any], draw: st.DrawFn) -> None:
    data["policy"]["version"] = draw(st.sampled_from(["2", "3"]))
    data["policy"]["change_note"] = draw(st.sampled_from(["a note", "another note"]))
    if draw(st.booleans()):
        data["policy"]["min_coverage"] = draw(st.sampled_from(["0.5", "0.9"]))


def _ladder(data: dict[str, Any], draw: st.DrawFn) -> None:
    ladder = data["collection"]["segments"][draw(st.sampled_from(["core", "ordinary", "high_risk"]))]
    ladder["skip_steps"] = not ladder["skip_steps"]
    ladder["min_days_between_steps"] = draw(st.integers(0, 30))
    if draw(st.booleans()):
        ladder["auxiliary"] = {}


def _combine(data: dict[str, Any], draw: st.DrawFn) -> None:
    data["order_rules"]["combine"] = draw(st.sampled_from(["most_severe", "first_match"]))
    data["order_rules"]["release_tolerance"] = {"amount_pct": draw(st.sampled_from(["0.05", "0.1"])), "days": 7}


EDITS = (_drop_rule, _reverse_rules, _add_rule, _same_review, _blacklist, _metadata, _ladder, _combine)


@st.composite
def pairs(draw: st.DrawFn) -> tuple[GeneratedPolicy, GeneratedPolicy]:
    """Two versions: one edited from the other, or two policies drawn apart (they differ in nearly everything)."""
    first = draw(policies())
    second = draw(st.one_of(edited_policies(first), policies()))
    return (first, second) if draw(st.booleans()) else (second, first)


def reads_changed(change: Change) -> bool:
    return change.kind != "changed" or change.old != change.new


@SETTINGS
@given(pairs())
def test_the_diff_back_is_the_diff_forth_reversed(pair: tuple[GeneratedPolicy, GeneratedPolicy]) -> None:
    a, b = load(pair[0].text, "a.yaml"), load(pair[1].text, "b.yaml")
    forth, back = diff_policies(a, b), diff_policies(b, a)
    assert as_multiset(back) == as_multiset(forth.reversed())
    assert forth.identical == back.identical == (content_hash(a.policy) == content_hash(b.policy))
    assert all(reads_changed(c) for c in (*forth.metadata, *forth.changes))
    assert all(c.section == "policy" for c in forth.metadata) and all(c.section != "policy" for c in forth.changes)

"""Hypothesis: the loader and validator answer any text with a policy or PolicyInvalid, nothing else;
the canonical form round-trips through YAML to the same hash.

Mutations start from the shipped policy (rules/standard.yaml), or from the minimal test policy
while the shipped one does not exist, so this test never silently stops running.
"""

from __future__ import annotations

import functools
import random
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy.errors import PolicyInvalid
from policy.schema import Policy
from policy.validate import load_policy
from policy.versioning import canonical_form, content_hash
from tests.factories import minimal_policy_yaml

SHIPPED = Path(__file__).parents[2] / "rules" / "standard.yaml"
SEED = SHIPPED.read_text(encoding="utf-8") if SHIPPED.exists() else minimal_policy_yaml()
SEED_LINES = SEED.splitlines(keepends=True)
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's emitter when present: much faster
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Values that poke at the loader, the schema and the checks when dropped into a valid policy.
TOKENS = [
    "",
    "0",
    "-1",
    "1.5",
    "100",
    "1e30",
    "'1e30'",
    '"1e999999999"',
    "0.0000000000000000000001",
    "9" * 60,
    ".inf",
    ".nan",
    "yes",
    "no",
    "~",
    "null",
    "true",
    "[]",
    "{}",
    "[",
    "{",
    '"',
    "'",
    "&a",
    "*a",
    "&a x",
    "<<: *a",
    "!!python/object:os.system",
    "!!set {a}",
    "!custom x",
    "2026-02-30",
    "2020-01-01",
    "x: y",
    "- z",
    "\t",
    ": ",
    "AAA",
    "D",
    "ZZZ",
    "letter",
    "litigation",
    "core",
    "vip",
    "n/30",
    "3/10, n/5",
    "2/10, 3/20, n/30",
    "cash in advance",
    'customer.grade in ["ZZ"]',
    "((((",
    "order.amount >",
    "min",
    "bands",
    "rating",
    "fixed",
    "pct_net_assets",
    "payment.on_time_ratio",
    "score",
    "customer.segment",
    "中文",
    "\x00",
    "\ufeff",
    "\r\n",
    "#",
    "|",
    ">-",
]


def outcome(text: str) -> None:
    """Load and validate; only a valid policy or PolicyInvalid with well-formed issues is acceptable."""
    try:
        load_policy(text, "fuzz.yaml")
    except PolicyInvalid as invalid:
        assert invalid.issues
        for issue in invalid.issues:
            assert issue.line >= 1 and issue.column >= 1
            assert issue.code and issue.code == issue.code.strip().lower()
            assert str(issue).startswith("fuzz.yaml:")
            assert "Traceback" not in issue.message


@FUZZ
@given(st.text())
def test_arbitrary_text(text: str) -> None:
    outcome(text)


@FUZZ
@given(st.text(alphabet=" \n\t:-[]{}\"'&*!#|>,.~0123456789abcAD_<"))
def test_yaml_like_text(text: str) -> None:
    outcome(text)


@st.composite
def mutated_policy(draw: st.DrawFn) -> str:
    """The seed policy after one to three random edits of lines, indentation, values or characters."""
    lines = list(SEED_LINES)
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.integers(0, len(lines) - 1))
        line = lines[index]
        action = draw(st.sampled_from(["delete", "duplicate", "swap", "indent", "value", "insert", "truncate"]))
        if action == "delete":
            del lines[index]
        elif action == "duplicate":
            lines.insert(index, line)
        elif action == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
        elif action == "indent":
            lines[index] = draw(st.sampled_from(["", " ", "  ", "   ", "\t"])) + line.lstrip(" ")
        elif action == "value" and ": " in line:
            key = line.split(": ", 1)[0]
            lines[index] = f"{key}: {draw(st.sampled_from(TOKENS))}\n"
        elif action == "insert":
            at = draw(st.integers(0, len(line)))
            piece = draw(st.one_of(st.sampled_from(TOKENS), st.text(max_size=5)))
            lines[index] = line[:at] + piece + line[at:]
        elif action == "truncate":
            lines[index] = line[: draw(st.integers(0, len(line)))]
        if not lines:
            lines = [""]
    return "".join(lines)


@FUZZ
@given(mutated_policy())
def test_mutations_of_the_shipped_policy(text: str) -> None:
    outcome(text)


@functools.cache
def _loaded(text: str) -> Policy:
    return load_policy(text, "seed.yaml").policy


def _shuffled(value: object, rng: random.Random) -> object:
    """The same data with mapping keys in a random order (ladder steps keep theirs: it is part of the format)."""
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {k: value[k] if k == "steps" else _shuffled(value[k], rng) for k in keys}
    if isinstance(value, list):
        return [_shuffled(v, rng) for v in value]
    return value


@settings(max_examples=50, deadline=None)
@given(
    seed=st.sampled_from([SEED, minimal_policy_yaml()]),
    rng=st.randoms(use_true_random=False),
    flow=st.sampled_from([False, True, None]),
    indent=st.integers(2, 6),
    width=st.integers(40, 200),
)
def test_canonical_form_round_trips_through_yaml(
    seed: str, rng: random.Random, flow: bool | None, indent: int, width: int
) -> None:
    first = _loaded(seed)
    form = canonical_form(first)
    dumped = yaml.dump(
        _shuffled(form, rng),
        Dumper=DUMPER,
        sort_keys=False,
        default_flow_style=flow,
        indent=indent,
        width=width,
        allow_unicode=True,
    )
    second = load_policy(dumped, "dumped.yaml").policy
    assert canonical_form(second) == form
    assert content_hash(second) == content_hash(first)

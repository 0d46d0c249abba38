"""durable-rules and its plain-Python twin decide identically on whole generated policies.

Drafts, replays, policy test cases, ``creditpolicy decide --policy`` and the versions a worker holds
past its live budget decide on the twin (``engine.matchers.twin_matcher``) instead of registering
durable rulesets, which are never freed. That is only sound if the twin answers as durable-rules
would: here hypothesis draws whole policies (``tests.vectorised_strategies.policies``: scorecards,
grade scales, every limit method, standards and order rules in the full condition language,
terms, ladders) and requests of every kind aimed at the policy's own numbers (huge amounts
included), and each request must get the same output on every field, the same trace, or the
same refusal (class, code and message), on the durable-rules compile and on the twin compile.
A policy durable-rules refuses at compile is refused by the twin with the same issues.

The shipped policy has its own such tests (``test_assess_properties``); the rule tables alone are
compared on random conditions and facts in ``test_conditions_differential``.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.compiler import compile_policy
from engine.decide import decide
from engine.errors import CapacityError, EngineError
from engine.ir import CompiledPolicy
from engine.matchers import durable_matcher, twin_matcher
from engine.rules_adapter import engine_ruleset_count
from engine.vectorised import requests_of
from engine.vectorised.frames import SPECS, Kind
from policy.validate import load_policy
from tests.vectorised_strategies import (
    RATING_NAMES,
    GeneratedPolicy,
    arrears_rows,
    customer_rows,
    invoice_rows,
    order_rows,
    policies,
)

# Each example registers its policy's durable rulesets for the life of the test process: a few dozen small ones.
EXAMPLES = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
AS_OF = dt.date(2026, 6, 30)


def payloads(kind: Kind, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    schema: dict[str, pl.DataType] = {name: spec.dtype for name, spec in SPECS[kind].items()}
    if kind == "assess":
        schema |= {f"ratings.{name}": pl.String() for name in RATING_NAMES}
    frame = pl.DataFrame([{name: row.get(name) for name in schema} for row in rows], schema=schema)
    return requests_of(kind, frame, as_of=AS_OF if kind == "assess" else None)


def outcome(compiled: CompiledPolicy, kind: str, payload: dict[str, Any]) -> tuple[Any, ...]:
    try:
        decision = decide(compiled, kind, payload)
    except EngineError as error:
        return ("refused", type(error).__name__, error.code, error.message)
    return ("decided", decision.output(), decision.trace)


@EXAMPLES
@given(policy=policies(), seed=st.integers(0, 2**32 - 1))
def test_the_twin_decides_every_kind_as_durable_rules_does(policy: GeneratedPolicy, seed: int) -> None:
    loaded = load_policy(policy.text, "generated.yaml")
    try:
        durable = compile_policy(loaded, factory=durable_matcher)
    except CapacityError as refused:
        before = engine_ruleset_count()
        try:
            compile_policy(loaded, factory=twin_matcher)
        except CapacityError as also:
            assert also.issues == refused.issues
        else:
            raise AssertionError("the twin compiled a policy durable-rules refuses") from None
        assert engine_ruleset_count() == before
        return
    before = engine_ruleset_count()
    twin = compile_policy(loaded, factory=twin_matcher)
    assert engine_ruleset_count() == before  # the twin registers nothing
    rng = random.Random(seed)
    requests: dict[Kind, list[dict[str, Any]]] = {
        "assess": payloads("assess", customer_rows(rng, policy, 25)),
        "order": payloads("order", order_rows(rng, policy, 40, huge=True)),
        "collection": payloads("collection", arrears_rows(rng, policy, 25)),
        "settlement": payloads("settlement", invoice_rows(rng, policy, 25)),
    }
    for kind, items in requests.items():
        for index, payload in enumerate(items):
            expected = outcome(durable, kind, payload)
            assert outcome(twin, kind, payload) == expected, f"{kind} request {index}: {payload}"

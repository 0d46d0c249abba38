"""The vectorised evaluator gives exactly what the per-decision engine gives, on every output field.

For each decision kind, hypothesis draws a whole policy (``tests.vectorised_strategies.policies``:
grade scales, scorecards of the three factor kinds, every limit method, cap and rounding,
standards and order rules written in the full condition language, terms, penalties, ladders),
validates it with ``policy.validate.load_policy`` and compiles it, then draws a frame of requests
aimed at the policy's own numbers. Every row of ``VectorisedPolicy(compiled)`` must equal
``engine.decide.decide(compiled, kind, request).output()`` for that row's request, or fail with
the same error code.

Most examples compile the policy with the plain-Python matchers (``engine.compiler``'s
``python_matcher``, the batch twin); one in five compiles it onto durable-rules itself, whose
rulesets are never freed, so a run registers a few dozen of them at most. The vectorised
evaluator follows the compiled policy it is given: on durable-rules it also refuses the numbers
durable-rules cannot hold (``value_out_of_range``), which the twin accepts.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from engine.compiler import compile_policy
from engine.decide import decide
from engine.errors import CapacityError, EngineError
from engine.ir import CompiledPolicy
from engine.matchers import durable_matcher, python_matcher
from engine.vectorised import VectorisedPolicy, requests_of
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

EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
AS_OF = dt.date(2026, 6, 30)
seeds = st.integers(0, 2**32 - 1)
on_durable = st.integers(0, 4).map(lambda n: n == 0)


def compiled_from(policy: GeneratedPolicy, durable: bool) -> CompiledPolicy:
    loaded = load_policy(policy.text, "generated.yaml")
    try:
        return compile_policy(loaded, factory=durable_matcher if durable else python_matcher)
    except CapacityError:
        reject()  # a condition nested beyond what durable-rules holds: refused at compile, nothing to compare
        raise


def frame_from_rows(kind: Kind, rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {name: spec.dtype for name, spec in SPECS[kind].items()}
    if kind == "assess":
        schema |= {f"ratings.{name}": pl.String() for name in RATING_NAMES}
    return pl.DataFrame([{name: row.get(name) for name in schema} for row in rows], schema=schema)


def reference(compiled: CompiledPolicy, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    try:
        return decide(compiled, kind, payload).output()
    except EngineError as exc:
        return {"error": exc.code}


def comparable(output: dict[str, Any]) -> dict[str, Any]:
    """An output, or just the error code of a refused row (messages are worded differently)."""
    return {"error": output["error"]["code"]} if "error" in output else output


def first_difference(expected: Any, got: Any, path: str = "") -> str:
    if isinstance(expected, dict) and isinstance(got, dict):
        for key in sorted(set(expected) | set(got)):
            if expected.get(key) != got.get(key):
                return first_difference(expected.get(key), got.get(key), f"{path}.{key}")
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            if e != g:
                return first_difference(e, g, f"{path}[{i}]")
    return f"{path or '/'}: per-decision {expected!r}, vectorised {got!r}"


def assert_equal_rows(
    compiled: CompiledPolicy, kind: str, result: pl.DataFrame, payloads: list[dict[str, Any]], vp: VectorisedPolicy
) -> None:
    outputs = vp.outputs(kind, result)
    assert len(outputs) == len(payloads) == result.height
    for index, (payload, output) in enumerate(zip(payloads, outputs, strict=True)):
        expected = reference(compiled, kind, payload)
        got = comparable(output)
        assert got == expected, f"row {index} ({compiled!r}): {first_difference(expected, got)}\nrequest: {payload}"


@EXAMPLES
@given(policy=policies(), seed=seeds, durable=on_durable, allocation=st.sampled_from(["rows", "rows", "portfolio"]))
def test_assess_equals_the_per_decision_engine(
    policy: GeneratedPolicy, seed: int, durable: bool, allocation: str
) -> None:
    compiled = compiled_from(policy, durable)
    rng = random.Random(seed)
    rows = customer_rows(rng, policy, 50)
    frame = frame_from_rows("assess", rows)
    if allocation == "rows":
        cents = int(compiled.portfolio_total * 100)
        given_allocations = [
            None if rng.random() < 0.3 else Decimal(rng.choice([0, rng.randrange(0, cents + 1), cents])) / 100
            for _ in rows
        ]
        frame = frame.with_columns(pl.Series("portfolio.allocated", given_allocations, dtype=pl.Decimal(38, 2)))
    else:
        frame = frame.drop("portfolio.allocated")
    vp = VectorisedPolicy(compiled)
    result = vp.assess(frame, as_of=AS_OF, allocation="portfolio" if allocation == "portfolio" else "rows")
    assert_equal_rows(compiled, "assess", result, requests_of("assess", result, as_of=AS_OF), vp)


@EXAMPLES
@given(policy=policies(), seed=seeds, durable=on_durable)
def test_order_checks_equal_the_per_decision_engine(policy: GeneratedPolicy, seed: int, durable: bool) -> None:
    compiled = compiled_from(policy, durable)
    frame = frame_from_rows("order", order_rows(random.Random(seed), policy, 80, huge=True))
    vp = VectorisedPolicy(compiled)
    result = vp.check_orders(frame)
    assert_equal_rows(compiled, "order", result, requests_of("order", frame), vp)


@EXAMPLES
@given(policy=policies(), seed=seeds, durable=on_durable)
def test_collection_plans_equal_the_per_decision_engine(policy: GeneratedPolicy, seed: int, durable: bool) -> None:
    compiled = compiled_from(policy, durable)
    frame = frame_from_rows("collection", arrears_rows(random.Random(seed), policy, 60))
    vp = VectorisedPolicy(compiled)
    result = vp.plan_collection(frame)
    assert_equal_rows(compiled, "collection", result, requests_of("collection", frame), vp)


@EXAMPLES
@given(policy=policies(), seed=seeds, durable=on_durable)
def test_settlements_equal_the_per_decision_engine(policy: GeneratedPolicy, seed: int, durable: bool) -> None:
    compiled = compiled_from(policy, durable)
    frame = frame_from_rows("settlement", invoice_rows(random.Random(seed), policy, 60))
    vp = VectorisedPolicy(compiled)
    result = vp.settle(frame)
    assert_equal_rows(compiled, "settlement", result, requests_of("settlement", frame), vp)

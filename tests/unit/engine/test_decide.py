"""The decision entry point: input errors with pointers, purity, threads, rulesets registered once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from engine.compiler import compile_policy
from engine.decide import canonical_json, decide, parse_request
from engine.errors import InputError, InputInvalid
from engine.ir import CompiledPolicy
from policy.validate import LoadedPolicy, load_policy
from tests.conftest import SHIPPED
from tests.decision_factories import assess_input, order_input


def test_invalid_input_names_every_bad_field_with_a_json_pointer() -> None:
    payload = order_input(amount="12.345")
    payload["order"]["currency"] = "yuan"
    del payload["as_of"]
    with pytest.raises(InputInvalid) as exc:
        parse_request("order", payload)
    pointers = {e["pointer"]: e["code"] for e in exc.value.errors}
    assert pointers == {
        "/order/amount": "money_precision",
        "/order/currency": "string_pattern_mismatch",
        "/as_of": "missing",
    }
    assert exc.value.code == "invalid_request"


def test_unknown_kind_is_a_coded_error(shipped: CompiledPolicy) -> None:
    with pytest.raises(InputError) as exc:
        decide(shipped, "loan", {})
    assert exc.value.code == "unknown_decision_kind"


def test_numbers_and_strings_are_both_accepted_for_money_and_returned_as_strings(shipped: CompiledPolicy) -> None:
    as_text = decide(shipped, "order", order_input(amount="100000.00")).output()
    payload = order_input()
    payload["order"]["amount"] = 100000
    payload["customer"]["limit"] = 1000000.0
    assert decide(shipped, "order", payload).output() == as_text
    assert as_text["credit_limit"] == "1000000.00"


def test_compiling_a_source_again_reuses_its_durable_rulesets(
    shipped_loaded: LoadedPolicy, shipped: CompiledPolicy
) -> None:
    reformatted = load_policy(SHIPPED.read_text(encoding="utf-8") + "\n# a trailing comment\n", "other.yaml")
    again = compile_policy(shipped_loaded)
    assert again.rulesets.order is shipped.rulesets.order  # registered once per process, never replaced
    copy = compile_policy(reformatted)
    assert copy.meta.sha256 == shipped.meta.sha256
    assert copy.rulesets.order is not shipped.rulesets.order  # its own rulesets: its traces cite other.yaml
    assert copy.order_rules.rules[0].source.file == "other.yaml"


def test_decisions_from_many_threads_are_all_correct(shipped: CompiledPolicy) -> None:
    amounts = [Decimal(100000 + 1000 * i) for i in range(40)]
    payloads = [order_input(amount=f"{a}.00", open_receivables="880000.00") for a in amounts]
    expected = [canonical_json(decide(shipped, "order", p).output()) for p in payloads]
    barrier = threading.Barrier(8)

    def work(worker: int) -> list[bool]:
        barrier.wait()
        return [
            canonical_json(decide(shipped, "order", p).output()) == e
            for _ in range(10)
            for p, e in zip(payloads, expected, strict=True)
        ]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = [ok for batch in pool.map(work, range(8)) for ok in batch]
    assert len(results) == 8 * 10 * 40 and all(results)
    assert {decide(shipped, "order", p).output()["outcome"] for p in payloads} == {"approve", "hold"}


def test_assess_twice_is_byte_identical(shipped: CompiledPolicy) -> None:
    a, b = decide(shipped, "assess", assess_input()), decide(shipped, "assess", assess_input())
    assert canonical_json({"o": a.output(), "t": a.trace}) == canonical_json({"o": b.output(), "t": b.trace})

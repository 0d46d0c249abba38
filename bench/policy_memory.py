"""What a policy costs durable-rules: compile time and memory (never returned) per engine rule and condition.

Run by hand (`.venv/bin/python bench/policy_memory.py`); prints figures, asserts nothing. Each
row compiles one policy in a fresh process (so RSS growth is the policy's alone): the shipped
policy, then the shipped policy with generated order rules of two shapes that expand differently,

- ``lists``: rules ``customer.id in [v1, …, vN]``: one engine rule of 2 conditions per value (the
  discriminator and the equality), the most engine rules a character of policy text can buy;
- ``chains``: rules ``order.amount > a1 and … and order.amount > aK``: one engine rule of K + 1
  distinct conditions, the most conditions an engine rule can hold;

and the policy of issue 12 (392 rules, each ``customer.id in [190 values]``: 74,480 engine rules),
compiled past the budget with durable-rules, then with the plain-Python twin, then refused under
the budget (``engine.compiler.MAX_ENGINE_CONDITIONS``). The budget was chosen from these figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.compiler import MAX_ENGINE_CONDITIONS, compile_policy, engine_size  # noqa: E402
from engine.decide import decide  # noqa: E402
from engine.errors import CompileError  # noqa: E402
from engine.matchers import durable_matcher, twin_matcher  # noqa: E402
from engine.rules_adapter import engine_ruleset_count  # noqa: E402
from policy.validate import load_policy  # noqa: E402

SHIPPED = ROOT / "rules" / "standard.yaml"
ORDER = {
    "customer": {"id": "C-1001", "segment": "ordinary", "grade": "A", "limit": "1500000.00"},
    "order": {"id": "SO-1", "amount": "120000.00", "currency": "CNY"},
    "exposure": {"open_receivables": "600000.00", "open_orders": "100000.00", "overdue_amount": "0.00"},
    "as_of": "2026-06-30",
}
# (shape, rules, values or tests per rule): lists grow the engine rules, chains the conditions per rule.
SIZES = [
    ("lists", 10, 50),
    ("lists", 20, 100),
    ("lists", 50, 100),
    ("lists", 100, 100),
    ("lists", 200, 100),
    ("chains", 40, 25),
    ("chains", 100, 50),
    ("chains", 200, 50),
]


def policy_text(shape: str, rules: int, width: int) -> str:
    """The shipped policy with ``rules`` generated order rules of ``shape`` in front of its own."""
    text = SHIPPED.read_text(encoding="utf-8")
    generated = []
    for r in range(rules):
        if shape == "lists":
            values = ", ".join(f'"C{r * width + i:05d}"' for i in range(width))
            when = f"customer.id in [{values}]"
        else:
            when = " and ".join(f"order.amount > {r * width + i}" for i in range(width))
        generated.append(
            f"    - id: generated_{r}\n      when: '{when}'\n      then: {{outcome: hold, reason: WATCHED}}\n"
        )
    marker = "  rules:\n    - id: blacklisted\n"
    return text.replace(marker, "  rules:\n" + "".join(generated) + "    - id: blacklisted\n", 1)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def child(shape: str, rules: int, width: int, matcher: str) -> dict[str, Any]:
    """Compile one policy in this (fresh) process: the figures of one row."""
    text = SHIPPED.read_text(encoding="utf-8") if shape == "shipped" else policy_text(shape, rules, width)
    loaded = load_policy(text, f"{shape}.yaml")
    factory = durable_matcher if matcher == "durable" else twin_matcher
    before, t0 = rss_mb(), time.perf_counter()
    try:
        compiled = compile_policy(
            loaded, factory=factory, max_conditions=10**9 if matcher != "budget" else MAX_ENGINE_CONDITIONS
        )
    except CompileError as error:
        return {"refused": f"{time.perf_counter() - t0:.3f} s", "issue": str(error.issues[0])[:160]}
    seconds, grown = time.perf_counter() - t0, rss_mb() - before
    size = engine_size(compiled.tables)
    decide(compiled, "order", ORDER)
    samples = []
    for _ in range(30):
        t1 = time.perf_counter()
        decide(compiled, "order", ORDER)
        samples.append((time.perf_counter() - t1) * 1e6)
    return {
        "engine_rules": size.engine_rules,
        "conditions": size.conditions,
        "rulesets": engine_ruleset_count(),
        "seconds": seconds,
        "mb": grown,
        "order_us": statistics.median(samples),
    }


def run(shape: str, rules: int, width: int, matcher: str = "durable") -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", shape, str(rules), str(width), matcher]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=4, metavar=("SHAPE", "RULES", "WIDTH", "MATCHER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        shape, rules, width, matcher = args.child
        print(json.dumps(child(shape, int(rules), int(width), matcher)))
        return
    print(f"python {sys.version.split()[0]}; each row compiles one policy in a fresh process")
    print("durable-rules (what a live version costs) | plain-Python twin (drafts, replays, cases; registers nothing)")
    header = (
        "policy                      engine rules  conditions  rulesets  compile s   RSS MB   order µs"
        " | twin s  twin MB  twin µs"
    )
    print(header)
    per_condition: list[tuple[float, float]] = []
    per_rule: list[tuple[float, float]] = []
    rows = [("shipped", 0, 0), *SIZES]
    for shape, rules, width in rows:
        r = run(shape, rules, width)
        t = run(shape, rules, width, "twin")
        label = "shipped (rules/standard.yaml)" if shape == "shipped" else f"{shape} {rules} x {width}"
        print(
            f"{label:<28}{r['engine_rules']:>12,}{r['conditions']:>12,}{r['rulesets']:>10,}"
            f"{r['seconds']:>11.3f}{r['mb']:>9.1f}{r['order_us']:>11.0f}"
            f" | {t['seconds']:>6.3f}{t['mb']:>9.1f}{t['order_us']:>9.0f}"
        )
        if shape != "shipped":
            per_condition.append((1000 * r["seconds"] / r["conditions"], 1000 * r["mb"] / r["conditions"]))
            if shape == "lists":
                per_rule.append((1000 * r["seconds"] / r["engine_rules"], 1000 * r["mb"] / r["engine_rules"]))
    ms = statistics.median(1000 * s for s, _ in per_condition)
    mb = statistics.median(m for _, m in per_condition)
    print(f"per 1,000 conditions (median of the generated rows): {ms:.0f} ms to compile, {mb:.1f} MB kept for good")
    ms_rule = statistics.median(1000 * s for s, _ in per_rule)
    mb_rule = statistics.median(m for _, m in per_rule)
    print(
        f"per 1,000 engine rules of 2 conditions (lists): {ms_rule:.0f} ms to compile, {mb_rule:.1f} MB kept for good"
    )
    print(
        f"budget: {MAX_ENGINE_CONDITIONS:,} conditions per policy: at most ~{MAX_ENGINE_CONDITIONS * ms / 1e6:.2f} s "
        f"and ~{MAX_ENGINE_CONDITIONS * mb / 1000:.0f} MB per live version at these rates"
    )
    print()
    print("issue 12's policy: 392 order rules, each customer.id in [190 values]")
    hostile = run("lists", 392, 190)
    print(
        f"  durable-rules, past the budget: {hostile['engine_rules']:,} engine rules, {hostile['conditions']:,} "
        f"conditions, {hostile['rulesets']} rulesets, {hostile['seconds']:.2f} s, +{hostile['mb']:.0f} MB, "
        f"order {hostile['order_us'] / 1000:.1f} ms"
    )
    twin = run("lists", 392, 190, "twin")
    print(
        f"  plain-Python twin (drafts, replays, cases): {twin['seconds']:.2f} s, +{twin['mb']:.0f} MB, "
        f"{twin['rulesets']} rulesets, order {twin['order_us'] / 1000:.1f} ms"
    )
    refused = run("lists", 392, 190, "budget")
    print(f"  under the budget: refused in {refused['refused']}: {refused['issue']}")


if __name__ == "__main__":
    main()

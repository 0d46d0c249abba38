"""Policy versions for the diff and blame tests: the shipped policy, edited one snippet at a time."""

from __future__ import annotations

import functools
from pathlib import Path

from policy.validate import LoadedPolicy, load_policy

__all__ = ["SHIPPED", "candidate_yaml", "edited", "loaded", "shipped_yaml"]

SHIPPED = Path(__file__).resolve().parents[1] / "rules" / "standard.yaml"

# The auditor's example: one change of each kind the README shows, the weights still summing to 100.
CANDIDATE_EDITS: tuple[tuple[str, str], ...] = (
    ('version: "2026.1"', 'version: "2026.2"'),
    ("effective_from: 2026-01-01", "effective_from: 2026-07-01"),
    (
        "  change_note: >-\n"
        "    First issue of the standard policy for 2026: 5C scorecard of 16 factors, ten-tier grade\n"
        "    scale AAA..D, credit standards (minimum grade CCC), limits by working capital, liquidation\n"
        "    value and net assets with the net-assets and working-capital caps, terms from\n"
        '    "3/10, 2/20, n/60" down to cash in advance, reviews every 30 to 90 days, order checks and\n'
        "    a collection ladder for core, ordinary and high-risk customers.\n",
        '  change_note: "BB tightened (terms, limit, band), large orders below A held, expected DSO scored."\n',
    ),
    ('    BBB:\n      text: "2/10, n/30"', '    BBB:\n      text: "2/10, n/20"'),
    (
        "        - {method: pct_working_capital, pct: 0.10}\n        - {method: pct_liquidation_value, pct: 0.10}",
        "        - {method: pct_working_capital, pct: 0.05}\n        - {method: pct_liquidation_value, pct: 0.05}",
    ),
    ("{grade: BB,  min_score: 65,", "{grade: BB,  min_score: 66,"),
    ("{grade: B,   min_score: 58, max_score: 65,", "{grade: B,   min_score: 58, max_score: 66,"),
    (
        "    - id: high_risk_utilisation\n",
        "    - id: large_order_below_a\n"
        '      when: order.amount > 500000 and customer.grade not in ["AAA", "AA", "A"]\n'
        "      then: {outcome: hold, reason: LARGE_ORDER_BELOW_A}\n\n"
        "    - id: high_risk_utilisation\n",
    ),
    (
        "      weight: 10\n      missing: 40          # no history",
        "      weight: 9\n      missing: 40          # no history",
    ),
    (
        '      weight: 7\n      missing: 40\n      note: "Products',
        '      weight: 5\n      missing: 40\n      note: "Products',
    ),
    (
        '      unknown_rating: 0\n      weight: 5\n      missing: 40\n      note: "The analyst',
        '      unknown_rating: 0\n      weight: 4\n      missing: 40\n      note: "The analyst',
    ),
    (
        '      weight: 4\n      missing: 40\n      note: "What our',
        '      weight: 3\n      missing: 40\n      note: "What our',
    ),
    (
        '      weight: 5\n      missing: 0\n      note: "Equity',
        '      weight: 4\n      missing: 0\n      note: "Equity',
    ),
    (
        "    - id: economic_conditions\n",
        "    - id: expected_dso\n      group: conditions\n      input: outlook.expected_dso_days\n"
        "      kind: standard_value\n      direction: lower_is_better\n      standard: 45\n      alpha: 2\n"
        "      weight: 6\n      missing: 0\n\n    - id: economic_conditions\n",
    ),
    ("        letter: 5\n        visit: 20", "        letter: 5\n        visit: 15"),
)


def shipped_yaml() -> str:
    return SHIPPED.read_text(encoding="utf-8")


def edited(text: str, *edits: tuple[str, str]) -> str:
    """``text`` with each snippet (which must occur exactly once) replaced."""
    for old, new in edits:
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
        text = text.replace(old, new)
    return text


def candidate_yaml() -> str:
    """The shipped policy as 2026.2: terms BBB, limit BB, grade bands, an order rule, a factor, a ladder step."""
    return edited(shipped_yaml(), *CANDIDATE_EDITS)


@functools.cache
def loaded(text: str, file: str = "rules/standard.yaml") -> LoadedPolicy:
    """The policy loaded (once per text and file: loaded policies are immutable)."""
    return load_policy(text, file)

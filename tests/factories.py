"""Test data shared across the suite: small, complete, valid inputs to edit one thing at a time."""

from __future__ import annotations

from typing import Any

from policy.loader import load_document

__all__ = ["MINIMAL_POLICY_FILE", "minimal_policy_dict", "minimal_policy_yaml"]

# --- policies -------------------------------------------------------------------------------

MINIMAL_POLICY_FILE = "rules/minimal.yaml"

# Every section used, four grades A..D. Tests replace one line and assert the error's line:col,
# so the layout is deliberate: block style, one key per line, each value written once.
_MINIMAL_POLICY_YAML = """\
policy:
  id: minimal
  version: "1"
  effective_from: 2026-01-01
  currency: EUR
  author: Credit team
  change_note: Minimal policy for tests.
scorecard:
  groups:
    character:
      label: Character
    capital:
      label: Capital
  factors:
    - id: on_time
      group: character
      input: payment.on_time_ratio
      kind: standard_value
      direction: higher_is_better
      standard: 0.95
      alpha: 200
      weight: 40
    - id: current_ratio
      group: capital
      input: ratios.current_ratio
      kind: bands
      bands:
        - max: 1
          points: 20
        - min: 1
          max: 2
          points: 60
        - min: 2
          points: 100
      weight: 35
    - id: visit
      group: character
      input: ratings.visit_impression
      kind: rating
      ratings:
        good: 100
        fair: 60
        poor: 20
      weight: 25
grades:
  - grade: A
    min_score: 80
    max_score: 100
  - grade: B
    min_score: 60
    max_score: 80
  - grade: C
    min_score: 40
    max_score: 60
  - grade: D
    min_score: 0
    max_score: 40
standards:
  min_grade: C
  blacklist:
    - CUST-1
  rules:
    - id: defaults
      when: payment.defaults_3y >= 2
      reason: REPEATED_DEFAULTS
limits:
  portfolio_total: 10000000
  rounding:
    step: 1000
  caps:
    absolute: 2000000
  per_grade:
    A:
      method: min
      of:
        - method: pct_working_capital
          pct: 0.3
        - method: pct_net_assets
          pct: 0.2
    B:
      method: pct_liquidation_value
      pct: 0.1
      caps:
        absolute: 500000
    C:
      method: fixed
      amount: 50000
    D:
      method: fixed
      amount: 0
terms:
  penalty:
    rate: 0.0005
    per: day
  per_grade:
    A:
      text: "3/10, 2/20, n/60"
    B:
      text: 2/10, n/30
    C:
      text: n/15
    D:
      text: cash in advance
review:
  per_grade:
    A: 90
    B: 60
    C: 30
    D: 30
order_rules:
  default:
    outcome: approve
    reason: WITHIN_POLICY
  rules:
    - id: blacklisted
      when: customer.blacklisted
      then:
        outcome: reject
        reason: BLACKLISTED
    - id: over_limit
      when: credit.available_after < 0
      then:
        outcome: hold
        reason: OVER_LIMIT
    - id: overdue
      when: exposure.oldest_overdue_days > 30 and customer.grade in ["C", "D"]
      then:
        outcome: reject
        reason: OVERDUE
collection:
  segments:
    core:
      steps:
        letter: 10
        visit: 30
        agency: 90
        litigation: 180
    ordinary:
      steps:
        letter: 5
        visit: 20
        agency: 60
        arbitration: 90
        litigation: 120
      auxiliary:
        penalty_interest: 1
        stop_supply: 30
    high_risk:
      steps:
        letter: 1
        agency: 15
        litigation: 45
      skip_steps: true
"""


def minimal_policy_yaml() -> str:
    """A complete, valid policy with four grades A..D, as a credit manager would write it."""
    return _MINIMAL_POLICY_YAML


def minimal_policy_dict() -> dict[str, Any]:
    """The minimal policy as plain data (a fresh copy each call: edit it freely)."""
    return load_document(_MINIMAL_POLICY_YAML, MINIMAL_POLICY_FILE).data

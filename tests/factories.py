"""Test data shared across the suite: small, complete, valid inputs to edit one thing at a time."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from api.adapters.webhook_sender import HttpxSender
from api.adapters.webhook_targets import AllowList, IPAddress, WebhookTargets
from engine.simulation.summary import (
    Assumptions,
    CollectionSummary,
    CoreSummary,
    CountAmount,
    CreditChanges,
    Headline,
    LimitsSummary,
    MarginalAnalysis,
    Migration,
    OrdersSummary,
    PolicyVersionRef,
    PortfolioFacts,
    RiskSummary,
    Summary,
    TermsSummary,
    Transition,
    VersionSummary,
)
from policy.loader import load_document

__all__ = [
    "MINIMAL_POLICY_FILE",
    "expanding_policy_yaml",
    "FakeResolver",
    "minimal_policy_dict",
    "minimal_policy_yaml",
    "PUBLIC_ADDRESS",
    "recording_sender",
    "simulation_summary",
    "webhook_targets",
]

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


def expanding_policy_yaml(rules: int = 392, values: int = 190, *, version: str = "1") -> str:
    """The minimal policy with ``rules`` more order rules, each ``customer.id in [<values> ids]``.

    The defaults are the policy of issue 12: within every validation limit (392 + 3 order rules of
    400, conditions of 1,917 characters of 2,000; 808 kB of text), it expands to 74,480 engine
    rules (one per listed id), which took 8-9 s and kept +570 MB for good on durable-rules.
    """
    generated = []
    for rule in range(rules):
        ids = ", ".join(f'"C{rule * values + index:05d}"' for index in range(values))
        generated.append(
            f"    - id: watched_{rule}\n      when: 'customer.id in [{ids}]'\n"
            "      then:\n        outcome: hold\n        reason: WATCHED\n"
        )
    marker = "  rules:\n    - id: blacklisted\n"
    text = _MINIMAL_POLICY_YAML.replace(marker, "  rules:\n" + "".join(generated) + "    - id: blacklisted\n", 1)
    return text.replace('  version: "1"\n', f'  version: "{version}"\n', 1)


# --- simulations ----------------------------------------------------------------------------

# A candidate that weighs payment history more and lends more to the good grades, simulated
# against the shipped policy on 240 customers. The figures hang together as a real run's would:
# the migration's rows add up to the baseline's grades and its columns to the candidate's, the
# order transitions turn one version's outcomes into the other's, limits by grade and by segment
# add up to the total granted, and the marginal analysis adds up to its net benefit.
_SIMULATION_GRADES = ["AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C", "D"]
_SIMULATION_MIGRATION = [
    [11, 1, 0, 0, 0, 0, 0, 0, 0, 0],
    [2, 20, 3, 0, 0, 0, 0, 0, 0, 0],
    [0, 3, 31, 4, 0, 0, 0, 0, 0, 0],
    [0, 0, 5, 42, 5, 0, 0, 0, 0, 0],
    [0, 0, 0, 6, 33, 5, 0, 0, 0, 0],
    [0, 0, 0, 0, 4, 22, 4, 0, 0, 0],
    [0, 0, 0, 0, 0, 3, 12, 3, 0, 0],
    [0, 0, 0, 0, 0, 0, 2, 5, 2, 0],
    [0, 0, 0, 0, 0, 0, 0, 1, 5, 1],
    [0, 0, 0, 0, 0, 0, 0, 0, 1, 4],
]
_CENT = Decimal("0.01")
_BASIS_POINT = Decimal("0.0001")


def _simulated_version(
    policy: PolicyVersionRef,
    *,
    grades: list[int],
    limits_by_grade: list[str],
    limits_by_segment: dict[str, str],
    portfolio_total: str,
    capped: int,
    outcomes: dict[str, tuple[int, str]],
    terms: tuple[str, int, str, str],
    pd: list[str],
    write_offs: str,
    by_step: dict[str, tuple[int, str]],
    auxiliary_due: dict[str, int],
    penalty_interest: str,
    core: tuple[str, tuple[int, str]],
) -> VersionSummary:
    by_grade = {grade: Decimal(amount) for grade, amount in zip(_SIMULATION_GRADES, limits_by_grade, strict=True)}
    total_granted = sum(by_grade.values(), Decimal(0))
    open_receivables = Decimal("96420517.38")
    pd_by_grade = {grade: Decimal(rate) for grade, rate in zip(_SIMULATION_GRADES, pd, strict=True)}
    expected_loss = sum(
        (pd_by_grade[grade] * Decimal("0.45") * amount for grade, amount in by_grade.items()), Decimal(0)
    ).quantize(_CENT)
    eligible = sum(grades[:7])  # AAA..CCC meet the minimum grade
    return VersionSummary(
        policy=policy,
        grades=dict(zip(_SIMULATION_GRADES, grades, strict=True)),
        eligible=eligible,
        ineligible=sum(grades) - eligible,
        limits=LimitsSummary(
            total_granted=total_granted,
            portfolio_total=Decimal(portfolio_total),
            allocation_order="grade, best first; within a grade, largest sales first",
            customers_capped_by_total=capped,
            by_grade=by_grade,
            by_segment={segment: Decimal(amount) for segment, amount in limits_by_segment.items()},
            open_receivables=open_receivables,
            utilisation=(open_receivables / total_granted).quantize(_BASIS_POINT),
        ),
        orders=OrdersSummary(
            by_outcome={
                outcome: CountAmount(count=count, amount=Decimal(amount))
                for outcome, (count, amount) in outcomes.items()
            }
        ),
        terms=TermsSummary(
            discount_cost=Decimal(terms[0]),
            discounted_invoices=terms[1],
            average_credit_days=Decimal(terms[2]),
            dso_days=Decimal(terms[3]),
        ),
        risk=RiskSummary(
            pd_source="history",
            pd_by_grade=pd_by_grade,
            exposure_at_default=total_granted,
            expected_loss=expected_loss,
            write_offs=Decimal(write_offs),
        ),
        collection=CollectionSummary(
            by_step={
                step: CountAmount(count=count, amount=Decimal(amount)) for step, (count, amount) in by_step.items()
            },
            auxiliary_due=auxiliary_due,
            penalty_interest=Decimal(penalty_interest),
            aging={
                "0-30": Decimal("9870200.00"),
                "31-60": Decimal("5640500.00"),
                "61-90": Decimal("3150500.00"),
                "90+": Decimal("3780000.00"),
            },
        ),
        core=CoreSummary(
            customers=46,
            eligible=46,
            limits_total=Decimal(core[0]),
            orders_not_approved=CountAmount(count=core[1][0], amount=Decimal(core[1][1])),
        ),
    )


def simulation_summary() -> Summary:
    """A complete ``summary.json`` of a realistic simulation; baseline and candidate differ in every section."""
    baseline = _simulated_version(
        PolicyVersionRef(id="standard", version="2026.1", sha256="3f1c9a0e" * 8, source="stored:active"),
        grades=[sum(row) for row in _SIMULATION_MIGRATION],
        limits_by_grade=[
            "38400000",
            "41250000",
            "36100000",
            "27300000",
            "14520000",
            "5850000",
            "2160000",
            "0",
            "0",
            "0",
        ],
        limits_by_segment={"core": "112400000", "ordinary": "49930000", "high_risk": "3250000"},
        portfolio_total="200000000",
        capped=0,
        outcomes={"approve": (4812, "1046233400.00"), "hold": (402, "118902500.00"), "reject": (86, "12640000.00")},
        terms=("2146380.50", 3105, "41.3250", "52.8413"),
        pd=["0.0010", "0.0025", "0.0050", "0.0120", "0.0250", "0.0480", "0.1100", "0.2200", "0.3500", "0.6000"],
        write_offs="1240600.00",
        by_step={
            "none": (61, "4120300.00"),
            "letter": (38, "6250400.00"),
            "visit": (17, "5880000.00"),
            "agency": (6, "3410500.00"),
            "arbitration": (1, "820000.00"),
            "litigation": (2, "1960000.00"),
        },
        auxiliary_due={"penalty_interest": 64, "stop_supply": 21, "cancel_limit": 6},
        penalty_interest="318420.66",
        core=("112400000", (31, "14260000.00")),
    )
    candidate = _simulated_version(
        PolicyVersionRef(
            id="standard", version="2026.2", sha256="a7d4e21b" * 8, source="file:rules/standard-2026.2.yaml"
        ),
        grades=[sum(column) for column in zip(*_SIMULATION_MIGRATION, strict=True)],
        limits_by_grade=[
            "44200000",
            "46080000",
            "43290000",
            "31200000",
            "13860000",
            "5400000",
            "1350000",
            "0",
            "0",
            "0",
        ],
        limits_by_segment={"core": "128900000", "ordinary": "54130000", "high_risk": "2350000"},
        portfolio_total="186000000",
        capped=2,
        outcomes={"approve": (4951, "1089460900.00"), "hold": (287, "80115000.00"), "reject": (62, "8200000.00")},
        terms=("2487912.75", 3390, "44.1180", "49.6027"),
        pd=["0.0008", "0.0022", "0.0047", "0.0115", "0.0260", "0.0510", "0.1240", "0.2300", "0.3800", "0.6500"],
        write_offs="1105300.00",
        by_step={
            "none": (57, "3610300.00"),
            "letter": (40, "6480400.00"),
            "visit": (18, "6100000.00"),
            "agency": (7, "3690500.00"),
            "arbitration": (1, "820000.00"),
            "litigation": (2, "1740000.00"),
        },
        auxiliary_due={"penalty_interest": 71, "stop_supply": 26, "cancel_limit": 9},
        penalty_interest="356903.10",
        core=("128900000", (12, "5310000.00")),
    )
    assumptions = Assumptions(
        gross_margin=Decimal("0.1800"),
        cost_of_capital=Decimal("0.0650"),
        collection_cost={
            "letter": Decimal("50.00"),
            "visit": Decimal("800.00"),
            "agency": Decimal("3500.00"),
            "arbitration": Decimal("12000.00"),
            "litigation": Decimal("25000.00"),
        },
        pd_by_grade=None,
        loss_given_default=Decimal("0.4500"),
    )
    approved = (baseline.orders.by_outcome["approve"].amount, candidate.orders.by_outcome["approve"].amount)
    sales_change = approved[1] - approved[0]
    margin_change = (sales_change * assumptions.gross_margin).quantize(_CENT)
    costs = {
        "carrying_cost_change": Decimal("612480.35"),
        "collection_cost_change": Decimal("-84250.00"),
        "bad_debt_change": candidate.risk.expected_loss - baseline.risk.expected_loss,
        "discount_cost_change": candidate.terms.discount_cost - baseline.terms.discount_cost,
    }
    marginal_cost = sum(costs.values(), Decimal(0))
    net_benefit = margin_change - marginal_cost
    loss_rates = [
        (version.risk.expected_loss / version.limits.total_granted).quantize(_BASIS_POINT)
        for version in (baseline, candidate)
    ]
    headline_rows: list[tuple[str, str, Any, Decimal, Decimal, Any]] = [
        ("approved_sales", "Approved sales", "money", approved[0], approved[1], "higher"),
        (
            "orders_held",
            "Orders held for review",
            "count",
            Decimal(baseline.orders.by_outcome["hold"].count),
            Decimal(candidate.orders.by_outcome["hold"].count),
            "lower",
        ),
        (
            "expected_loss",
            "Expected loss (bad debt)",
            "money",
            baseline.risk.expected_loss,
            candidate.risk.expected_loss,
            "lower",
        ),
        ("loss_rate", "Expected loss per unit of credit", "rate", loss_rates[0], loss_rates[1], "lower"),
        ("dso", "DSO", "days", baseline.terms.dso_days, candidate.terms.dso_days, "lower"),
        (
            "eligible",
            "Customers eligible for credit",
            "count",
            Decimal(baseline.eligible),
            Decimal(candidate.eligible),
            "higher",
        ),
    ]
    return Summary(
        as_of=dt.date(2026, 6, 30),
        portfolio=PortfolioFacts(
            path="portfolios/2026-06",
            customers=240,
            customers_not_assessed=3,
            orders=5300,
            invoices=5012,
            currency="CNY",
            first_order=dt.date(2023, 7, 1),
            last_order=dt.date(2026, 6, 28),
            segments="derived",
        ),
        assumptions=assumptions,
        baseline=baseline,
        candidate=candidate,
        migration=Migration(
            baseline_grades=list(_SIMULATION_GRADES),
            candidate_grades=list(_SIMULATION_GRADES),
            counts=[list(row) for row in _SIMULATION_MIGRATION],
        ),
        credit_changes=CreditChanges(
            gaining=118,
            losing=47,
            newly_eligible=2,
            newly_ineligible=3,
            limit_change=candidate.limits.total_granted - baseline.limits.total_granted,
        ),
        order_transitions=[
            Transition(from_="approve", to="hold", count=41, amount=Decimal("9870000.00")),
            Transition(from_="approve", to="reject", count=3, amount=Decimal("450000.00")),
            Transition(from_="hold", to="approve", count=165, amount=Decimal("48310000.00")),
            Transition(from_="hold", to="reject", count=5, amount=Decimal("1100000.00")),
            Transition(from_="reject", to="approve", count=18, amount=Decimal("5237500.00")),
            Transition(from_="reject", to="hold", count=14, amount=Decimal("752500.00")),
        ],
        sales_stopped=CountAmount(count=44, amount=Decimal("10320000.00")),
        sales_released=CountAmount(count=183, amount=Decimal("53547500.00")),
        marginal=MarginalAnalysis(
            sales_change=sales_change,
            margin_change=margin_change,
            marginal_cost=marginal_cost,
            net_benefit=net_benefit,
            verdict="adopt" if net_benefit > 0 else "keep the baseline" if net_benefit < 0 else "neutral",
            **costs,
        ),
        headline=[
            Headline(key=key, label=label, unit=unit, baseline=old, candidate=new, change=new - old, better=better)
            for key, label, unit, old, new, better in headline_rows
        ],
    )


# --- webhook targets --------------------------------------------------------------------------

PUBLIC_ADDRESS = "93.184.215.14"  # a globally routable address; tests never connect to it


@dataclass
class FakeResolver:
    """DNS from a table, never from the network: a name not in ``answers`` does not resolve."""

    answers: Mapping[str, Sequence[str]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def resolve(self, host: str, port: int) -> tuple[IPAddress, ...]:
        self.asked.append(host)
        return tuple(ipaddress.ip_address(address) for address in self.answers.get(host, ()))


def webhook_targets(answers: Mapping[str, Sequence[str]] | None = None, allowed: Sequence[str] = ()) -> WebhookTargets:
    """The targets policy over a fake resolver; ``erp.example`` resolves to a public address by default."""
    resolver = FakeResolver({"erp.example": [PUBLIC_ADDRESS]} if answers is None else answers)
    return WebhookTargets(AllowList.from_entries(allowed), resolver)


def recording_sender(
    targets: WebhookTargets, answer: httpx.Response | None = None
) -> tuple[HttpxSender, list[httpx.Request]]:
    """The real sender over a transport that records each request (what would have gone on the wire)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer or httpx.Response(204)

    return HttpxSender(targets, transport=httpx.MockTransport(handler)), seen

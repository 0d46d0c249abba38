"""The simulation: figures that add up, the same version changes nothing, reproducible, and the orders
re-decided equal to the per-decision engine on durable-rules."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from engine.compiler import compile_policy
from engine.decide import decide
from engine.ir import CompiledPolicy
from engine.matchers import python_matcher
from engine.portfolio import Portfolio, generate_portfolio, read_portfolio
from engine.simulation.assumptions import DEFAULT_ASSUMPTIONS
from engine.simulation.simulate import SimulatedPolicy, Simulation, simulate
from engine.simulation.summary import PolicyVersionRef, Summary
from policy.validate import load_policy
from tests.conftest import SHIPPED

AS_OF = dt.date(2026, 6, 30)


def policy(text: str, file: str) -> SimulatedPolicy:
    compiled = compile_policy(load_policy(text, file), factory=python_matcher)
    meta = compiled.meta
    return SimulatedPolicy(
        compiled, PolicyVersionRef(id=meta.policy_id, version=meta.version, sha256=meta.sha256, source=f"file:{file}")
    )


def candidate_text() -> str:
    """The shipped policy with a minimum grade of B and a portfolio total raised to 2 billion."""
    text = SHIPPED.read_text(encoding="utf-8")
    return (
        text.replace("min_grade: CCC", "min_grade: B", 1)
        .replace("portfolio_total: 200000000", "portfolio_total: 2000000000", 1)
        .replace('version: "2026.1"', 'version: "2026.2"', 1)
    )


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Portfolio:
    folder = tmp_path_factory.mktemp("book")
    generate_portfolio(customers=600, invoices=6000, years=3, seed=21, out=folder)
    return read_portfolio(folder)


@pytest.fixture(scope="module")
def versions() -> tuple[SimulatedPolicy, SimulatedPolicy]:
    return policy(SHIPPED.read_text(encoding="utf-8"), "rules/standard.yaml"), policy(
        candidate_text(), "candidate.yaml"
    )


@pytest.fixture(scope="module")
def simulation(book: Portfolio, versions: tuple[SimulatedPolicy, SimulatedPolicy]) -> Simulation:
    return simulate(book, *versions, as_of=AS_OF, assumptions=DEFAULT_ASSUMPTIONS, path="book")


def test_every_figure_adds_up(book: Portfolio, simulation: Simulation) -> None:
    s = simulation.summary
    assessed = book.customers.height - s.portfolio.customers_not_assessed
    for version in (s.baseline, s.candidate):
        assert sum(version.grades.values()) == assessed == version.eligible + version.ineligible
        limits = version.limits
        assert limits.total_granted <= limits.portfolio_total
        assert sum(limits.by_grade.values()) == limits.total_granted == sum(limits.by_segment.values())
        assert sum(o.count for o in version.orders.by_outcome.values()) <= book.orders.height
        assert sum(version.collection.aging.values()) == limits.open_receivables  # every open invoice, by days past due
        assert sum(a.amount for a in version.collection.by_step.values()) <= limits.open_receivables
    counts = s.migration.counts
    assert sum(map(sum, counts)) == assessed
    assert [sum(row) for row in counts] == list(s.baseline.grades.values())
    assert [sum(column) for column in zip(*counts, strict=True)] == list(s.candidate.grades.values())
    stopped = [t for t in s.order_transitions if t.from_ == "approve"]
    assert s.sales_stopped.count == sum(t.count for t in stopped)
    assert s.sales_stopped.amount == sum((t.amount for t in stopped), Decimal(0))
    m = s.marginal
    parts = (m.carrying_cost_change, m.collection_cost_change, m.bad_debt_change, m.discount_cost_change)
    assert m.marginal_cost == sum(parts, Decimal(0)) and m.net_benefit == m.margin_change - m.marginal_cost
    approved = (s.baseline.orders.by_outcome["approve"].amount, s.candidate.orders.by_outcome["approve"].amount)
    assert m.sales_change == approved[1] - approved[0]
    assert s.credit_changes.limit_change == s.candidate.limits.total_granted - s.baseline.limits.total_granted
    assert s.candidate.ineligible > s.baseline.ineligible  # the candidate's minimum grade is stricter


def test_the_same_version_changes_nothing(book: Portfolio, versions: tuple[SimulatedPolicy, SimulatedPolicy]) -> None:
    baseline = versions[0]
    s = simulate(book, baseline, baseline, as_of=AS_OF, assumptions=DEFAULT_ASSUMPTIONS, path="book").summary
    assert s.order_transitions == [] and s.sales_stopped.count == s.sales_released.count == 0
    assert s.marginal.net_benefit == 0 and s.marginal.verdict == "neutral"
    assert all(h.change == 0 for h in s.headline)
    assert all(c == 0 for i, row in enumerate(s.migration.counts) for j, c in enumerate(row) if i != j)
    assert (s.credit_changes.gaining, s.credit_changes.losing, s.credit_changes.newly_ineligible) == (0, 0, 0)


def test_a_simulation_is_reproducible_byte_for_byte(
    book: Portfolio, versions: tuple[SimulatedPolicy, SimulatedPolicy], simulation: Simulation
) -> None:
    again = simulate(book, *versions, as_of=AS_OF, assumptions=DEFAULT_ASSUMPTIONS, path="book")
    assert again.summary.to_json() == simulation.summary.to_json()
    assert Summary.model_validate_json(simulation.summary.to_json()) == simulation.summary
    for name, table in simulation.tables.items():
        assert again.tables[name].equals(table), name


def durable(text: str, file: str) -> CompiledPolicy:
    return compile_policy(load_policy(text, file))


@pytest.mark.parametrize("side", ["baseline", "candidate"])
def test_the_orders_re_decided_equal_the_engine_of_record_on_a_sample(simulation: Simulation, side: str) -> None:
    """Each sampled order, sent through durable-rules with the grade, limit and exposure the tables
    give, gets the outcome the simulation counted."""
    texts = {
        "baseline": (SHIPPED.read_text(encoding="utf-8"), "rules/standard.yaml"),
        "candidate": (candidate_text(), "candidate.yaml"),
    }
    compiled = durable(*texts[side])
    customers = simulation.tables["customers"].select("id", "segment", f"{side}_grade", f"{side}_credit_limit")
    orders = (
        simulation.tables["orders"]
        .filter(pl.col(side).is_not_null())
        .join(customers, left_on="customer", right_on="id")
    )
    sample = orders.sample(n=min(120, orders.height), seed=5, shuffle=True)
    assert sample.height >= 100 and set(sample[side]) >= {"hold", "reject"}
    for row in sample.iter_rows(named=True):
        payload = {
            "customer": {
                "id": row["customer"],
                "segment": row["segment"],
                "grade": row[f"{side}_grade"],
                "limit": str(row[f"{side}_credit_limit"]),
            },
            "order": {"id": row["id"], "amount": str(row["amount"]), "currency": "CNY"},
            "exposure": {
                "open_receivables": str(row["exposure.open_receivables"]),
                "open_orders": str(row["exposure.open_orders"]),
                "overdue_amount": str(row["exposure.overdue_amount"]),
                "oldest_overdue_days": row["exposure.oldest_overdue_days"],
            },
            "as_of": row["date"].isoformat(),
        }
        assert decide(compiled, "order", payload).outcome == row[side], row


def test_segments_are_derived_where_the_portfolio_gives_none(
    book: Portfolio, versions: tuple[SimulatedPolicy, SimulatedPolicy]
) -> None:
    silent = dataclasses.replace(
        book, customers=book.customers.with_columns(pl.lit(None, dtype=pl.String).alias("segment"))
    )
    result = simulate(silent, *versions, as_of=AS_OF, assumptions=DEFAULT_ASSUMPTIONS, path="book")
    assert result.summary.portfolio.segments == "derived"
    table = result.tables["customers"]
    start = dt.date(2023, 6, 30)
    sales = (
        book.orders.filter((pl.col("date") > start) & (pl.col("date") <= AS_OF))
        .group_by("customer")
        .agg(pl.col("amount").sum().alias("sales"))
    )
    ranked = (
        table.join(sales, left_on="id", right_on="customer", how="left")
        .with_columns(pl.col("sales").fill_null(0))
        .sort(["sales", "id"], descending=[True, False])
    )
    total = Decimal(str(ranked["sales"].sum()))
    before, expected = Decimal(0), []
    for row in ranked.iter_rows(named=True):
        sale = Decimal(str(row["sales"]))
        weak = row["baseline_grade"] in ("CC", "C", "D")  # below the shipped policy's minimum grade, CCC
        core = before < total * Decimal("0.70") and sale > 0
        expected.append("high_risk" if weak else "core" if core else "ordinary")
        before += sale
    assert ranked["segment"].to_list() == expected
    assert set(expected) == {"core", "ordinary", "high_risk"}

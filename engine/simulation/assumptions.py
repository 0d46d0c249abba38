"""The economics a simulation's marginal analysis rests on, from a small YAML file with sensible defaults.

An assumptions file (every key optional; ``docs/simulation.md`` documents each)::

    gross_margin: 0.20          # margin on a sale, share of its amount
    cost_of_capital: 0.08       # yearly cost of the money tied up in receivables
    loss_given_default: 0.60    # share of the exposure lost when a customer defaults
    days_per_year: 365
    collection_cost:            # cost of one collection step, in the policy's currency
      letter: 50
      visit: 800
      agency: 3000
      arbitration: 8000
      litigation: 20000
    pd_by_grade:                # optional: otherwise estimated from the portfolio's own history
      AAA: 0.002

A mistake in the file is reported like a policy's: every problem at once, each with
``file:line:col`` and its path (``collection_cost.visit``).
"""

from __future__ import annotations

import difflib
from decimal import Decimal
from types import MappingProxyType
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.errors import AssumptionsInvalid
from engine.simulation.summary import Assumptions
from policy.errors import Issue, PolicyInvalid
from policy.loader import load_document
from policy.schema import LADDER_STEPS

__all__ = ["DEFAULT_ASSUMPTIONS", "load_assumptions"]

DEFAULT_COLLECTION_COST = MappingProxyType(
    {
        "letter": Decimal(50),
        "visit": Decimal(800),
        "agency": Decimal(3000),
        "arbitration": Decimal(8000),
        "litigation": Decimal(20000),
    }
)

Share = Annotated[Decimal, Field(ge=0, le=1)]
Cost = Annotated[Decimal, Field(ge=0, lt=Decimal("1e12"))]


class _AssumptionsFile(BaseModel):
    """The file as written: each key optional, nothing else allowed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    gross_margin: Share = Decimal("0.20")
    cost_of_capital: Share = Decimal("0.08")
    loss_given_default: Share = Decimal("0.60")
    days_per_year: Annotated[int, Field(ge=360, le=366)] = 365
    collection_cost: dict[str, Cost] = Field(default_factory=dict)
    pd_by_grade: dict[Annotated[str, Field(min_length=1, max_length=16)], Share] | None = None


def _assumptions(parsed: _AssumptionsFile) -> Assumptions:
    costs = {**DEFAULT_COLLECTION_COST, **parsed.collection_cost}
    return Assumptions(
        gross_margin=parsed.gross_margin,
        cost_of_capital=parsed.cost_of_capital,
        collection_cost={step: costs[step] for step in LADDER_STEPS},
        days_per_year=parsed.days_per_year,
        pd_by_grade=None if parsed.pd_by_grade is None else dict(parsed.pd_by_grade),
        loss_given_default=parsed.loss_given_default,
    )


DEFAULT_ASSUMPTIONS = _assumptions(_AssumptionsFile())


def load_assumptions(text: str, file: str) -> Assumptions:
    """The assumptions a file states, the defaults for what it leaves out; every problem located at once."""
    try:
        document = load_document(text, file)
    except PolicyInvalid as invalid:
        raise AssumptionsInvalid(invalid.issues) from None
    issues: list[Issue] = []
    costs = document.data.get("collection_cost")
    unknown_steps = sorted(set(costs) - set(LADDER_STEPS)) if isinstance(costs, dict) else []
    for step in unknown_steps:
        path: tuple[str | int, ...] = ("collection_cost", step)
        line, column = document.location(path)
        close = difflib.get_close_matches(step, LADDER_STEPS, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        message = f"unknown collection step '{step}' ({hint}the steps are {', '.join(LADDER_STEPS)})"
        issues.append(Issue(file, line, column, path, message, "unknown_key"))
    try:
        parsed = _AssumptionsFile.model_validate(document.data)
    except ValidationError as error:
        for detail in error.errors(include_url=False):
            path = tuple(detail["loc"])
            if path[:1] == ("collection_cost",) and len(path) == 2 and path[1] in unknown_steps:
                continue
            line, column = document.location(path)
            code = "unknown_key" if detail["type"] == "extra_forbidden" else detail["type"]
            issues.append(Issue(file, line, column, path, detail["msg"], code))
        raise AssumptionsInvalid(sorted(issues)) from None
    if issues:
        raise AssumptionsInvalid(sorted(issues))
    return _assumptions(parsed)

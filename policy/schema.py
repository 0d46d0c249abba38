"""Pydantic models of a policy file: the shape of the YAML a credit manager writes.

These models check the shape and single values (types, ranges) and reject unknown keys. Rules
that span several places (grade bands covering 0..100, weights summing to 100, ladders that
climb, references to grades/fields/steps) live in :mod:`policy.checks`, which runs on a model
that passed here. Single-value errors raised here carry their stable code as the pydantic
error type (``PydanticCustomError(code, ...)``).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

__all__ = [
    "AuxiliaryAction",
    "BandedFactor",
    "Band",
    "CollectionPolicy",
    "Factor",
    "FixedGradeLimit",
    "FixedLimit",
    "GradeBand",
    "LimitCaps",
    "LimitMethod",
    "LimitRounding",
    "LimitRule",
    "LimitsPolicy",
    "MinGradeLimit",
    "MinOfLimits",
    "GradeTerms",
    "OrderDecision",
    "OrderOutcome",
    "OrderRule",
    "OrderRules",
    "PctGradeLimit",
    "PctLimit",
    "PenaltyInterest",
    "Policy",
    "PolicyMeta",
    "RatingFactor",
    "ReleaseTolerance",
    "ReviewPolicy",
    "Scorecard",
    "ScoreGroup",
    "SegmentLadder",
    "StandardValueFactor",
    "Standards",
    "StandardsRule",
    "TermsPolicy",
    "LADDER_STEPS",
    "AUXILIARY_ACTIONS",
    "MAX_REVIEW_DAYS",
]

# The collection ladder, soft to hard; a policy may leave steps out but never reorder them.
LADDER_STEPS: tuple[str, ...] = ("letter", "visit", "agency", "arbitration", "litigation")
AUXILIARY_ACTIONS: tuple[str, ...] = ("penalty_interest", "stop_supply", "cancel_limit")
# "Never more than 3 months apart": the longest three calendar months span 92 days.
MAX_REVIEW_DAYS = 92

_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")
_REASON = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")


def _identifier(value: str) -> str:
    if not _ID.match(value):
        raise PydanticCustomError(
            "bad_identifier",
            "'{value}' is not a valid identifier (a letter, then letters, digits, _ or -; at most 64)",
            {"value": value},
        )
    return value


def _reason_code(value: str) -> str:
    if not _REASON.match(value):
        raise PydanticCustomError(
            "bad_reason_code",
            "reason codes are UPPER_SNAKE_CASE, like OVER_LIMIT; got '{value}'",
            {"value": value},
        )
    return value


def _money(value: Decimal) -> Decimal:
    if not value.is_finite() or value < 0:
        raise PydanticCustomError("money_range", "an amount must be a finite number, zero or more")
    if value.adjusted() >= 18:  # quantize below would raise InvalidOperation beyond the context's 28 digits
        raise PydanticCustomError("money_range", "an amount must be below 10^18")
    if value != value.quantize(Decimal("0.01")):
        raise PydanticCustomError("money_precision", "an amount has at most 2 decimal places")
    return value


def _fraction(value: Decimal) -> Decimal:
    if not value.is_finite() or not (0 <= value <= 1):
        raise PydanticCustomError("fraction_range", "must be a fraction between 0 and 1 (0.5 is 50 %)")
    return value


def _points(value: Decimal) -> Decimal:
    if not value.is_finite() or not (0 <= value <= 100):
        raise PydanticCustomError("points_range", "points must be between 0 and 100")
    return value


Identifier = Annotated[str, AfterValidator(_identifier)]
ReasonCode = Annotated[str, AfterValidator(_reason_code)]
Money = Annotated[Decimal, AfterValidator(_money)]
Fraction = Annotated[Decimal, AfterValidator(_fraction)]
Points = Annotated[Decimal, AfterValidator(_points)]
Days = Annotated[int, Field(ge=0, le=3650)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, str_strip_whitespace=False)


# --- metadata -------------------------------------------------------------------------------
class PolicyMeta(_Model):
    """Who wrote which version of which policy, and when it takes effect."""

    id: Identifier
    version: Annotated[str, Field(min_length=1, max_length=64)]
    effective_from: dt.date
    effective_to: dt.date | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    author: Annotated[str, Field(min_length=1, max_length=200)]
    change_note: Annotated[str, Field(min_length=1, max_length=4000)]
    description: str | None = None


# --- scorecard ------------------------------------------------------------------------------
class _FactorBase(_Model):
    id: Identifier
    group: Identifier
    input: str  # a field path; checked against the assess context in policy.checks
    weight: Annotated[Decimal, Field(gt=0, le=100)]
    missing: Points = Decimal(0)  # prudence: an unknown fact scores as the worst unless stated
    note: str | None = None


class StandardValueFactor(_FactorBase):
    """``Y = 100 - (P - X) * alpha`` (higher is better) or ``100 - (X - P) * alpha``, clamped 0..100."""

    kind: Literal["standard_value"]
    direction: Literal["higher_is_better", "lower_is_better"]
    standard: Decimal  # P
    alpha: Annotated[Decimal, Field(gt=0)]  # points lost per unit of deviation


class Band(_Model):
    """Values in ``[min, max)`` score ``points``; an open end is unbounded."""

    min: Decimal | None = None
    max: Decimal | None = None
    points: Points


class BandedFactor(_FactorBase):
    kind: Literal["bands"]
    bands: Annotated[list[Band], Field(min_length=1, max_length=50)]
    outside: Points = Decimal(0)  # a value in no band


class RatingFactor(_FactorBase):
    kind: Literal["rating"]
    ratings: Annotated[dict[str, Points], Field(min_length=1, max_length=50)]
    unknown_rating: Points = Decimal(0)  # a rating not listed


Factor = Annotated[StandardValueFactor | BandedFactor | RatingFactor, Field(discriminator="kind")]


class ScoreGroup(_Model):
    label: str
    note: str | None = None


class Scorecard(_Model):
    """Weighted factors; the weights sum to 100 and each factor scores 0..100, so the total is 0..100."""

    groups: Annotated[dict[Identifier, ScoreGroup], Field(min_length=1)]
    factors: Annotated[list[Factor], Field(min_length=1, max_length=200)]


class GradeBand(_Model):
    """Scores in ``[min_score, max_score)`` get ``grade``; the top band includes 100."""

    grade: Identifier
    min_score: Annotated[Decimal, Field(ge=0, le=100)]
    max_score: Annotated[Decimal, Field(ge=0, le=100)]
    label: str | None = None


# --- standards ------------------------------------------------------------------------------
class StandardsRule(_Model):
    id: Identifier
    when: str  # a condition over the assess context; true means NOT eligible
    reason: ReasonCode
    note: str | None = None


class Standards(_Model):
    """The minimum to get credit at all; a customer below it is cash-in-advance only."""

    min_grade: str | None = None
    max_expected_dso_days: Annotated[Decimal, Field(gt=0)] | None = None
    max_expected_bad_debt_rate: Fraction | None = None
    blacklist: list[Annotated[str, Field(min_length=1, max_length=64)]] = []
    rules: list[StandardsRule] = []


# --- limits ---------------------------------------------------------------------------------
class FixedLimit(_Model):
    method: Literal["fixed"]
    amount: Money


class PctLimit(_Model):
    method: Literal["pct_working_capital", "pct_liquidation_value", "pct_net_assets"]
    pct: Decimal

    @field_validator("pct")
    @classmethod
    def _pct_range(cls, value: Decimal) -> Decimal:
        if not value.is_finite() or not (0 < value <= 1):
            raise PydanticCustomError("limit_pct_range", "must be between 0 and 1 (0.3 is 30 %), above 0")
        return value


LimitMethod = Annotated[FixedLimit | PctLimit, Field(discriminator="method")]


class MinOfLimits(_Model):
    method: Literal["min"]
    of: Annotated[list[LimitMethod], Field(min_length=2, max_length=10)]


class LimitCaps(_Model):
    """A limit never exceeds these; each can be switched off per grade."""

    net_assets: bool = True
    working_capital: bool = True
    absolute: Money | None = None


class _GradeLimitExtras(_Model):
    caps: LimitCaps | None = None  # replaces limits.caps for this grade
    note: str | None = None


class FixedGradeLimit(FixedLimit, _GradeLimitExtras):
    pass


class PctGradeLimit(PctLimit, _GradeLimitExtras):
    pass


class MinGradeLimit(MinOfLimits, _GradeLimitExtras):
    pass


# The limit of one grade: a method (or the minimum of several), optionally with its own caps.
LimitRule = Annotated[FixedGradeLimit | PctGradeLimit | MinGradeLimit, Field(discriminator="method")]


class LimitRounding(_Model):
    step: Annotated[Decimal, Field(gt=0)] = Decimal("1")
    mode: Literal["down", "nearest"] = "down"  # down is the prudent default


class LimitsPolicy(_Model):
    portfolio_total: Money
    rounding: LimitRounding = LimitRounding()
    caps: LimitCaps = LimitCaps()
    per_grade: Annotated[dict[str, LimitRule], Field(min_length=1)]


# --- terms ----------------------------------------------------------------------------------
class PenaltyInterest(_Model):
    rate: Annotated[Decimal, Field(ge=0, le=1)]
    per: Literal["day", "year"]
    basis: Literal[360, 365] = 365  # days in a year when per: year
    grace_days: Days = 0


class GradeTerms(_Model):
    text: Annotated[str, Field(min_length=1, max_length=200)]
    penalty: PenaltyInterest | None = None  # overrides terms_defaults.penalty
    note: str | None = None


class TermsPolicy(_Model):
    penalty: PenaltyInterest
    per_grade: Annotated[dict[str, GradeTerms], Field(min_length=1)]


# --- review ---------------------------------------------------------------------------------
class ReviewPolicy(_Model):
    # At most MAX_REVIEW_DAYS: a check (policy.checks), so every grade over it is reported at once.
    per_grade: Annotated[dict[str, Annotated[int, Field(ge=1)]], Field(min_length=1)]


# --- order checks ---------------------------------------------------------------------------
OrderOutcome = Literal["approve", "hold", "reject"]


class OrderDecision(_Model):
    outcome: OrderOutcome
    reason: ReasonCode


class OrderRule(_Model):
    id: Identifier
    when: str  # a condition over the order context
    then: OrderDecision
    note: str | None = None


class ReleaseTolerance(_Model):
    """A released hold covers re-checks of the same order up to +amount_pct for this many days."""

    amount_pct: Fraction = Decimal("0")
    days: Days = 0


class OrderRules(_Model):
    combine: Literal["most_severe", "first_match"] = "most_severe"
    default: OrderDecision
    rules: Annotated[list[OrderRule], Field(max_length=400)]
    release_tolerance: ReleaseTolerance = ReleaseTolerance()


# --- collection -----------------------------------------------------------------------------
class AuxiliaryAction(_Model):
    after_days: Days


class SegmentLadder(_Model):
    steps: Annotated[dict[str, Days], Field(min_length=1)]  # step -> days overdue
    auxiliary: dict[str, Days] = {}  # action -> days overdue
    skip_steps: bool = False  # may jump past several thresholds at once
    min_days_between_steps: Days = 0
    pause_when_disputed: bool = True  # solve the dispute first, then escalate
    note: str | None = None


class CollectionPolicy(_Model):
    segments: Annotated[dict[str, SegmentLadder], Field(min_length=1)]


# --- the whole document ---------------------------------------------------------------------
class Policy(_Model):
    """One version of a credit policy."""

    policy: PolicyMeta
    scorecard: Scorecard
    grades: Annotated[list[GradeBand], Field(min_length=1, max_length=50)]
    standards: Standards = Standards()
    limits: LimitsPolicy
    terms: TermsPolicy
    review: ReviewPolicy
    order_rules: OrderRules
    collection: CollectionPolicy

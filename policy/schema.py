"""Pydantic models of a policy file: the shape of the YAML a credit manager writes.

These models check the shape and single values (types, ranges) and reject unknown keys. Rules
that span several places (grade bands covering 0..100, weights summing to 100, ladders that
climb, references to grades/fields/steps) live in :mod:`policy.checks`, which runs on a model
that passed here. Single-value errors raised here carry their stable code as the pydantic
error type (``PydanticCustomError(code, ...)``).

Every key carries its ``description``: the one text the JSON Schema (editors' hover) shows and
the language reference (``docs/policy-language.md``) prints in its key tables; a test holds the
reference to these descriptions. Each model's docstring is its description in the schema.
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
    "IDENTIFIER_PATTERN",
    "REASON_CODE_PATTERN",
    "LADDER_STEPS",
    "AUXILIARY_ACTIONS",
    "MAX_REVIEW_DAYS",
]

# The collection ladder, soft to hard; a policy may leave steps out but never reorder them.
LADDER_STEPS: tuple[str, ...] = ("letter", "visit", "agency", "arbitration", "litigation")
AUXILIARY_ACTIONS: tuple[str, ...] = ("penalty_interest", "stop_supply", "cancel_limit")
# "Never more than 3 months apart": the longest three calendar months span 92 days.
MAX_REVIEW_DAYS = 92

IDENTIFIER_PATTERN = r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$"
REASON_CODE_PATTERN = r"^[A-Z][A-Z0-9_]{0,63}$"
_ID = re.compile(IDENTIFIER_PATTERN)
_REASON = re.compile(REASON_CODE_PATTERN)


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
    """Which policy, which version, from when, in what currency, by whom and why."""

    id: Identifier = Field(description="the policy's name; stays the same across versions")
    version: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        description="the version label; change it with every change"
    )
    effective_from: dt.date = Field(description="first day the version decides")
    effective_to: dt.date | None = Field(None, description="last day, if the version is known to end")
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = Field(
        description="currency of every amount in the file (`CNY`, `USD`)"
    )
    author: Annotated[str, Field(min_length=1, max_length=200)] = Field(description="who wrote this version")
    change_note: Annotated[str, Field(min_length=1, max_length=4000)] = Field(
        description="what changed and why; auditors read it"
    )
    description: str | None = Field(None, description="what the policy is for")
    # Absent from the canonical form when not set (policy.versioning), so it changes no hash.
    min_coverage: Fraction | None = Field(
        None,
        description="the share of the policy its test cases must exercise before it may be published (`0.95` is 95 %)",
    )


# --- scorecard ------------------------------------------------------------------------------
_KIND = "how the value becomes points: `standard_value`, `bands` or `rating`"


class _FactorBase(_Model):
    id: Identifier = Field(description="the factor's name, unique in the scorecard")
    group: Identifier = Field(description="one of `scorecard.groups`")
    input: str = Field(  # a field path; checked against the assess context in policy.checks
        description="the field of the credit file it reads: one of the fields of context `assess`"
    )
    weight: Annotated[Decimal, Field(gt=0, le=100)] = Field(description="its share of the total score")
    # Prudence: an unknown fact scores as the worst unless stated.
    missing: Points = Field(Decimal(0), description="points when the field is absent from the credit file")
    note: str | None = Field(None, description="why the factor is there")


class StandardValueFactor(_FactorBase):
    """The standard-value formula: 100 − (P − X) × α when higher is better and X < P, 100 − (X − P) × α when
    lower is better and X > P, otherwise 100; clamped to 0..100."""

    kind: Literal["standard_value"] = Field(description=_KIND)
    direction: Literal["higher_is_better", "lower_is_better"] = Field(description="which side of the standard is good")
    standard: Decimal = Field(description="P, the standard value")
    alpha: Annotated[Decimal, Field(gt=0)] = Field(description="α, points lost per unit below/above P")


class Band(_Model):
    """A value range [min, max) and its points; an open end is unbounded."""

    min: Decimal | None = Field(None, description="lowest value of the band (included); leave out for no lower end")
    max: Decimal | None = Field(None, description="end of the band (excluded); leave out for no upper end")
    points: Points = Field(description="points for a value in the band")


class BandedFactor(_FactorBase):
    """Value ranges: the band the value falls in gives the points."""

    kind: Literal["bands"] = Field(description=_KIND)
    bands: Annotated[list[Band], Field(min_length=1, max_length=50)] = Field(
        description="the value ranges, each `{min, max, points}`, in ascending order"
    )
    outside: Points = Field(Decimal(0), description="points for a value that falls in no band")


class RatingFactor(_FactorBase):
    """A qualitative rating an analyst writes in the credit file (`good`, `fair`, …) mapped to points."""

    kind: Literal["rating"] = Field(description=_KIND)
    ratings: Annotated[dict[str, Points], Field(min_length=1, max_length=50)] = Field(
        description="each rating word and its points"
    )
    unknown_rating: Points = Field(Decimal(0), description="points for a word that is in the file but not in `ratings`")


Factor = Annotated[StandardValueFactor | BandedFactor | RatingFactor, Field(discriminator="kind")]


class ScoreGroup(_Model):
    """A group of factors, such as one of the 5 Cs (character, capacity, capital, collateral, conditions)."""

    label: str = Field(description="the name shown in traces")
    note: str | None = Field(None, description="what the group is about")


class Scorecard(_Model):
    """Weighted factors; the weights sum to 100 and each factor scores 0..100, so the total is 0..100."""

    groups: Annotated[dict[Identifier, ScoreGroup], Field(min_length=1)] = Field(
        description="the groups of factors, by id (usually the 5 Cs)"
    )
    factors: Annotated[list[Factor], Field(min_length=1, max_length=200)] = Field(
        description="the factors; their weights sum to exactly 100"
    )


class GradeBand(_Model):
    """A grade and its score band: scores in [min_score, max_score) get it; the top band includes 100."""

    grade: Identifier = Field(description="the grade's name (`AAA`)")
    min_score: Annotated[Decimal, Field(ge=0, le=100)] = Field(description="lowest score of the band (included)")
    max_score: Annotated[Decimal, Field(ge=0, le=100)] = Field(
        description="end of the band (excluded; the top band includes 100)"
    )
    label: str | None = Field(None, description="what the grade means")


# --- standards ------------------------------------------------------------------------------
class StandardsRule(_Model):
    """A condition over the credit file; when it is true the customer gets no credit."""

    id: Identifier = Field(description="the rule's name in the trace")
    when: str = Field(description="a condition over the `assess` context; true means NOT eligible")
    reason: ReasonCode = Field(description="why the customer is not eligible: a reason code")
    note: str | None = Field(None, description="why the rule exists")


class Standards(_Model):
    """The minimum to get credit at all; a customer below it is cash-in-advance only."""

    min_grade: str | None = Field(None, description="the weakest grade that still gets credit; a worse grade fails")
    max_expected_dso_days: Annotated[Decimal, Field(gt=0)] | None = Field(
        None, description="a customer whose `outlook.expected_dso_days` is above this fails"
    )
    max_expected_bad_debt_rate: Fraction | None = Field(
        None, description="a customer whose `outlook.expected_bad_debt_rate` is above this fails"
    )
    blacklist: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        [], description="customer ids that never get credit"
    )
    rules: list[StandardsRule] = Field([], description="conditions; a customer for whom one is true fails")


# --- limits ---------------------------------------------------------------------------------
_METHOD = (
    "how the limit is computed: `fixed`, `pct_working_capital`, `pct_liquidation_value`, `pct_net_assets` or `min`"
)


class FixedLimit(_Model):
    """A fixed amount."""

    method: Literal["fixed"] = Field(description=_METHOD)
    amount: Money = Field(description="the amount, for `fixed`")


class PctLimit(_Model):
    """A share of the customer's working capital, liquidation value or net assets."""

    method: Literal["pct_working_capital", "pct_liquidation_value", "pct_net_assets"] = Field(description=_METHOD)
    pct: Decimal = Field(description="the share of the figure, for the `pct_*` methods (`0.3` is 30 %)")

    @field_validator("pct")
    @classmethod
    def _pct_range(cls, value: Decimal) -> Decimal:
        if not value.is_finite() or not (0 < value <= 1):
            raise PydanticCustomError("limit_pct_range", "must be between 0 and 1 (0.3 is 30 %), above 0")
        return value


LimitMethod = Annotated[FixedLimit | PctLimit, Field(discriminator="method")]


class MinOfLimits(_Model):
    """The smallest of several limit methods."""

    method: Literal["min"] = Field(description=_METHOD)
    of: Annotated[list[LimitMethod], Field(min_length=2, max_length=10)] = Field(
        description="the methods whose smallest result is the limit, for `min` (none of them a `min`)"
    )


class LimitCaps(_Model):
    """A limit never exceeds these; each can be switched off per grade."""

    net_assets: bool = Field(True, description="never above the customer's net assets")
    working_capital: bool = Field(True, description="never above the customer's working capital")
    absolute: Money | None = Field(None, description="never above this amount")


class _GradeLimitExtras(_Model):
    caps: LimitCaps | None = Field(None, description="caps of this grade; they replace `limits.caps` as a whole")
    note: str | None = Field(None, description="why this limit")


class FixedGradeLimit(FixedLimit, _GradeLimitExtras):
    """A fixed credit limit for this grade."""


class PctGradeLimit(PctLimit, _GradeLimitExtras):
    """This grade's limit: a share of the customer's working capital, liquidation value or net assets."""


class MinGradeLimit(MinOfLimits, _GradeLimitExtras):
    """This grade's limit: the smallest of several limit methods."""


# The limit of one grade: a method (or the minimum of several), optionally with its own caps.
LimitRule = Annotated[FixedGradeLimit | PctGradeLimit | MinGradeLimit, Field(discriminator="method")]


class LimitRounding(_Model):
    """How computed limits are rounded (down to the step is the prudent default)."""

    step: Annotated[Decimal, Field(gt=0)] = Field(Decimal("1"), description="limits are multiples of this amount")
    # down is the prudent default
    mode: Literal["down", "nearest"] = Field(
        "down", description="`down` to the multiple at or below, or `nearest` (never above the cap that bound)"
    )


class LimitsPolicy(_Model):
    """Credit limits: a limit per grade, capped, and a total for the whole portfolio."""

    portfolio_total: Money = Field(description="credit extended to all customers together")
    rounding: LimitRounding = Field(LimitRounding(), description="how a limit is rounded")
    caps: LimitCaps = Field(LimitCaps(), description="caps for every grade without its own")
    per_grade: Annotated[dict[str, LimitRule], Field(min_length=1)] = Field(
        description="how each grade's limit is computed"
    )


# --- terms ----------------------------------------------------------------------------------
class PenaltyInterest(_Model):
    """Penalty interest on overdue amounts: simple interest from the due date plus the grace days."""

    rate: Annotated[Decimal, Field(ge=0, le=1)] = Field(description="the rate, as a fraction (`0.0005` = 0.05 %)")
    per: Literal["day", "year"] = Field(description="per day, or per year")
    basis: Literal[360, 365] = Field(365, description="days in a year, when `per: year` (a daily rate is rate / basis)")
    grace_days: Days = Field(0, description="interest-free days after the due date")


class GradeTerms(_Model):
    """Credit terms of a grade, written like '3/10, 2/20, n/30' or 'cash in advance'."""

    text: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        description="the terms as written, like `3/10, 2/20, n/30` or `cash in advance`"
    )
    penalty: PenaltyInterest | None = Field(None, description="replaces `terms.penalty` for this grade")
    note: str | None = Field(None, description="why these terms")


class TermsPolicy(_Model):
    """Credit terms per grade: credit period, cash discounts and penalty interest."""

    penalty: PenaltyInterest = Field(description="penalty interest for every grade without its own")
    per_grade: Annotated[dict[str, GradeTerms], Field(min_length=1)] = Field(description="the terms of each grade")


# --- review ---------------------------------------------------------------------------------
class ReviewPolicy(_Model):
    """How often each grade is reviewed, in days (never more than 3 months apart)."""

    # At most MAX_REVIEW_DAYS: a check (policy.checks), so every grade over it is reported at once.
    per_grade: Annotated[dict[str, Annotated[int, Field(ge=1)]], Field(min_length=1)] = Field(
        description=f"days between two reviews of a customer of each grade (1 to {MAX_REVIEW_DAYS})"
    )


# --- order checks ---------------------------------------------------------------------------
OrderOutcome = Literal["approve", "hold", "reject"]


class OrderDecision(_Model):
    """The outcome of an order check and its reason code."""

    outcome: OrderOutcome = Field(description="`approve`, `hold` or `reject`")
    reason: ReasonCode = Field(description="why: a reason code, like `OVER_LIMIT`")


class OrderRule(_Model):
    """A condition over the customer, the order and the exposure, and what to do when it is true."""

    id: Identifier = Field(description="the rule's name in the trace")
    when: str = Field(description="a condition over the `order` context")
    then: OrderDecision = Field(description="the outcome and reason when the condition is true")
    note: str | None = Field(None, description="why the rule exists")


class ReleaseTolerance(_Model):
    """A released hold covers re-checks of the same order up to +amount_pct for this many days."""

    amount_pct: Fraction = Field(
        Decimal("0"), description="how much the order's amount may grow and still be covered (`0.05` is 5 %)"
    )
    days: Days = Field(0, description="for how many days after the release it covers re-checks")


class OrderRules(_Model):
    """Order checks: rules, how they combine, and the answer when none fires."""

    combine: Literal["most_severe", "first_match"] = Field("most_severe", description="how fired rules combine")
    default: OrderDecision = Field(description="the answer when no rule fires")
    rules: Annotated[list[OrderRule], Field(max_length=400)] = Field(description="the checks, in order")
    release_tolerance: ReleaseTolerance = Field(ReleaseTolerance(), description="what a released hold still covers")


# --- collection -----------------------------------------------------------------------------
class AuxiliaryAction(_Model):
    """An auxiliary collection action and the days overdue from which it is due."""

    after_days: Days


class SegmentLadder(_Model):
    """The collection ladder of a segment: the days overdue from which each step (letter → visit → agency →
    arbitration → litigation) and each auxiliary action is due."""

    steps: Annotated[dict[str, Days], Field(min_length=1)] = Field(
        description="days overdue from which each step is due"
    )
    auxiliary: dict[str, Days] = Field({}, description="days overdue from which each auxiliary action is due")
    skip_steps: bool = Field(False, description="may jump past several steps at once")
    min_days_between_steps: Days = Field(0, description="at least this many days between two steps")
    # Solve the dispute first, then escalate.
    pause_when_disputed: bool = Field(True, description="no escalation while the claim is disputed")
    note: str | None = Field(None, description="why this ladder")


class CollectionPolicy(_Model):
    """The collection ladder of each customer segment: core, ordinary, high_risk."""

    segments: Annotated[dict[str, SegmentLadder], Field(min_length=1)] = Field(
        description="the ladder of each customer segment: `core`, `ordinary` and `high_risk`"
    )


# --- the whole document ---------------------------------------------------------------------
class Policy(_Model):
    """One version of a trade-credit policy: scorecard, grades, standards, limits, terms, review, order checks
    and collection. Validate with: creditpolicy validate FILE"""

    policy: PolicyMeta = Field(description="which policy, which version, from when, by whom, why")
    scorecard: Scorecard = Field(description="the factors that turn a credit file into a score 0..100")
    grades: Annotated[list[GradeBand], Field(min_length=1, max_length=50)] = Field(
        description="score bands → grades, best grade first; the bands cover 0..100"
    )
    standards: Standards = Field(Standards(), description="the minimum to get credit at all")
    limits: LimitsPolicy = Field(description="credit limit per grade, caps, rounding, portfolio total")
    terms: TermsPolicy = Field(description="payment terms per grade, penalty interest")
    review: ReviewPolicy = Field(description="days between grade reviews, per grade")
    order_rules: OrderRules = Field(description="checks an order: approve, hold or reject, with reasons")
    collection: CollectionPolicy = Field(description="the collection ladder per customer segment")

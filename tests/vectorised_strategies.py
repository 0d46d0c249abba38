"""Generated policies and requests for the differential tests of the vectorised evaluator.

``policies()`` draws a policy as a credit manager would write it (a dict, dumped to YAML and run
through ``policy.validate.load_policy``, so every generated policy passes the whole validation):
grade scales, scorecards with the three factor kinds, limits with every method, caps and rounding,
credit standards and order rules whose conditions are random expressions of the condition
language, terms with discounts and penalties, collection ladders.

The requests are drawn from a seeded ``random.Random`` (many rows per example stay cheap) and aim
at the edges: absent values, zeros, values on and next to the policy's own numbers (band edges,
standard values, literals of conditions), exact and repeating ratios, amounts at the limits of
the request models, and a few invalid rows.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import yaml
from hypothesis import strategies as st

__all__ = [
    "CUSTOMER_IDS",
    "GeneratedPolicy",
    "RATINGS",
    "arrears_rows",
    "customer_rows",
    "invoice_rows",
    "order_rows",
    "policies",
]

GRADE_POOL = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C", "D")
SEGMENTS = ("core", "ordinary", "high_risk")
STEPS = ("letter", "visit", "agency", "arbitration", "litigation")
AUXILIARY = ("penalty_interest", "stop_supply", "cancel_limit")
CUSTOMER_IDS = ("C-1", "C-2", "C-3", "C-4", "CN-91310000-0457", "CN-X")
RATINGS = ("excellent", "good", "fair", "poor", "bad", "normal", "loss")
RATING_NAMES = ("character", "visit_impression")
CURRENCY = "CNY"

# Numeric facts of the credit file: (path, low, high, decimals) of their typical values.
NUMERIC_INPUTS: dict[str, tuple[Decimal, Decimal, int]] = {
    "payment.on_time_ratio": (Decimal(0), Decimal(1), 4),
    "outlook.expected_bad_debt_rate": (Decimal(0), Decimal("0.2"), 4),
    "ratios.debt_ratio": (Decimal(0), Decimal("1.2"), 3),
    "ratios.net_margin": (Decimal("-0.2"), Decimal("0.3"), 3),
    "ratios.current_ratio": (Decimal(0), Decimal(4), 3),
    "ratios.cash_flow_ratio": (Decimal("-0.5"), Decimal(2), 3),
    "payment.avg_days_late": (Decimal(0), Decimal(90), 2),
    "outlook.expected_dso_days": (Decimal(0), Decimal(150), 1),
    "records.years_in_business": (Decimal(0), Decimal(50), 1),
    "payment.max_days_late": (Decimal(0), Decimal(200), 0),
    "payment.defaults_3y": (Decimal(0), Decimal(5), 0),
    "payment.bounced_cheques": (Decimal(0), Decimal(4), 0),
    "records.litigation_count": (Decimal(0), Decimal(6), 0),
    "financials.net_assets": (Decimal(-1_000_000), Decimal(50_000_000), 2),
    "financials.working_capital": (Decimal(-1_000_000), Decimal(30_000_000), 2),
    "trade.collateral_value": (Decimal(0), Decimal(5_000_000), 2),
    "financials.revenue": (Decimal(0), Decimal(90_000_000), 2),
}
RATING_INPUTS = ("ratings.character", "ratings.visit_impression", "records.bank_record")
BOOL_INPUTS = ("records.owns_premises", "trade.has_guarantee")
# Facts of the assess context a condition may compare with numbers: (path, low, high).
ASSESS_NUMBERS = {p: (lo, hi) for p, (lo, hi, _) in NUMERIC_INPUTS.items()} | {"score": (Decimal(0), Decimal(100))}
ORDER_MONEY = (
    "customer.limit",
    "order.amount",
    "exposure.open_receivables",
    "exposure.open_orders",
    "exposure.overdue_amount",
    "exposure.total",
    "credit.available",
    "credit.available_after",
)


@dataclass
class GeneratedPolicy:
    """A generated policy: its YAML text and the numbers worth aiming requests at."""

    text: str
    data: dict[str, Any]
    edges: dict[str, list[Decimal]] = field(default_factory=dict)  # field path → numbers of the policy

    @property
    def grades(self) -> list[str]:
        return [g["grade"] for g in self.data["grades"]]


def _text(value: Decimal) -> str:
    return format(value, "f")


def _decimal(draw: st.DrawFn, low: Decimal, high: Decimal, places: int) -> Decimal:
    unit = Decimal(1).scaleb(-places)
    steps = int((high - low) / unit)
    return (low + unit * draw(st.integers(0, max(0, steps)))).quantize(unit)


def _note(edges: dict[str, list[Decimal]], path: str, value: Decimal) -> None:
    edges.setdefault(path, []).append(value)


# --- conditions -----------------------------------------------------------------------------
@st.composite
def _number_literal(draw: st.DrawFn, low: Decimal, high: Decimal) -> Decimal:
    return _decimal(draw, low, high, draw(st.integers(0, 4)))


@st.composite
def _assess_leaf(draw: st.DrawFn, grades: list[str], edges: dict[str, list[Decimal]]) -> str:
    kind = draw(st.sampled_from(["compare", "compare", "field", "arith", "in", "text", "bool", "missing"]))
    paths = list(ASSESS_NUMBERS)
    path = draw(st.sampled_from(paths))
    low, high = ASSESS_NUMBERS[path]
    op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
    if kind == "compare":
        number = draw(_number_literal(low, high))
        _note(edges, path, number)
        return f"{path} {op} {_text(number)}"
    if kind == "field":
        other = draw(st.sampled_from(paths))
        return f"{path} {op} {other}"
    if kind == "arith":
        other = draw(st.sampled_from(paths))
        arith = draw(st.sampled_from(["+", "-", "*", "/"]))
        number = draw(_number_literal(Decimal(-2), Decimal(200)))
        return f"({path} {arith} {other}) {op} {_text(number)}"
    if kind == "in":
        if draw(st.booleans()):
            chosen = draw(st.lists(st.sampled_from(grades), min_size=1, max_size=3))
            return f"grade {draw(st.sampled_from(['in', 'not in']))} [{', '.join(repr(g) for g in chosen)}]"
        # list items are constants: the language has no negative literal inside a list
        numbers = [abs(n) for n in draw(st.lists(_number_literal(low, high), min_size=1, max_size=3))]
        for n in numbers:
            _note(edges, path, n)
        return f"{path} {draw(st.sampled_from(['in', 'not in']))} [{', '.join(_text(n) for n in numbers)}]"
    if kind == "text":
        target = draw(st.sampled_from([*RATING_INPUTS, "customer.segment", "customer.id"]))
        if target == "customer.segment":
            word = draw(st.sampled_from(SEGMENTS))
        elif target == "customer.id":
            word = draw(st.sampled_from(CUSTOMER_IDS))
        else:
            word = draw(st.sampled_from(RATINGS))
        return f'{target} {draw(st.sampled_from(["==", "!="]))} "{word}"'
    if kind == "bool":
        flag = draw(st.sampled_from(BOOL_INPUTS))
        return flag if draw(st.booleans()) else f"{flag} == false"
    target = draw(st.sampled_from([*paths[:-1], *RATING_INPUTS, *BOOL_INPUTS]))
    return f"{target} is {draw(st.sampled_from(['', 'not ']))}missing"


@st.composite
def _order_leaf(draw: st.DrawFn, grades: list[str], edges: dict[str, list[Decimal]]) -> str:
    kind = draw(st.sampled_from(["compare", "compare", "field", "arith", "ratio", "in", "text", "bool", "missing"]))
    money = draw(st.sampled_from(ORDER_MONEY))
    op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
    if kind == "compare":
        if draw(st.booleans()):
            number = draw(_number_literal(Decimal(0), Decimal(120)))
            _note(edges, "exposure.oldest_overdue_days", number)
            return f"exposure.oldest_overdue_days {op} {_text(number)}"
        number = draw(_number_literal(Decimal(-200_000), Decimal(2_000_000)))
        _note(edges, money, number)
        return f"{money} {op} {_text(number)}"
    if kind == "field":
        return f"{money} {op} {draw(st.sampled_from(ORDER_MONEY))}"
    if kind == "arith":
        other = draw(st.sampled_from([*ORDER_MONEY, "exposure.oldest_overdue_days"]))
        arith = draw(st.sampled_from(["+", "-", "*", "/"]))
        factor = draw(_number_literal(Decimal(0), Decimal(3)))
        if arith in ("*", "/") and draw(st.booleans()):
            return f"{money} {arith} {_text(factor)} {op} {other}"
        return f"({money} {arith} {other}) {op} {_text(draw(_number_literal(Decimal(-10_000), Decimal(1_000_000))))}"
    if kind == "ratio":
        number = draw(_number_literal(Decimal(0), Decimal("1.5")))
        _note(edges, "credit.utilisation_after", number)
        if draw(st.booleans()):
            return f"credit.utilisation_after {op} {_text(number)}"
        return f"{_text(number)} {op} credit.utilisation_after"
    if kind == "in":
        if draw(st.booleans()):
            chosen = draw(st.lists(st.sampled_from(grades), min_size=1, max_size=3))
            return f"customer.grade {draw(st.sampled_from(['in', 'not in']))} [{', '.join(repr(g) for g in chosen)}]"
        days = draw(st.lists(st.integers(0, 90), min_size=1, max_size=3))
        return f"exposure.oldest_overdue_days {draw(st.sampled_from(['in', 'not in']))} [{', '.join(map(str, days))}]"
    if kind == "text":
        target = draw(st.sampled_from(["customer.segment", "customer.id", "order.id"]))
        word = draw(st.sampled_from(SEGMENTS if target == "customer.segment" else (*CUSTOMER_IDS, "O-1")))
        return f'{target} {draw(st.sampled_from(["==", "!="]))} "{word}"'
    if kind == "bool":
        flag = draw(st.sampled_from(["customer.blacklisted", "customer.eligible"]))
        return flag if draw(st.booleans()) else f"not {flag}"
    return f"credit.utilisation_after is {draw(st.sampled_from(['', 'not ']))}missing"


@st.composite
def _condition(draw: st.DrawFn, leaf: Any, depth: int = 0) -> str:
    if depth >= 2 or draw(st.integers(0, 2)) == 0:
        return str(draw(leaf))
    joiner = draw(st.sampled_from(["and", "or", "not"]))
    if joiner == "not":
        return f"not ({draw(_condition(leaf, depth + 1))})"
    items = draw(st.lists(_condition(leaf, depth + 1), min_size=2, max_size=2))
    return f"({f' {joiner} '.join(items)})"


# --- the policy -----------------------------------------------------------------------------
@st.composite
def _bands(draw: st.DrawFn, path: str, edges: dict[str, list[Decimal]]) -> list[dict[str, str]]:
    low, high, places = NUMERIC_INPUTS[path]
    cuts = sorted(set(draw(st.lists(_number_literal(low, high), min_size=1, max_size=4))))
    if draw(st.integers(0, 9)) == 0:  # an edge with 12 decimals: ratios compare it through the exact fallback
        cuts = sorted({c + Decimal("0.000000000001") for c in cuts})
    for cut in cuts:
        _note(edges, path, cut)
    bands = []
    for i, (a, b) in enumerate(zip([None, *cuts], [*cuts, None], strict=True)):
        if draw(st.integers(0, 4)) == 0 and 0 < i < len(cuts):
            continue  # a gap: values there score `outside`
        band: dict[str, str] = {"points": _text(_decimal(draw, Decimal(0), Decimal(100), draw(st.integers(0, 3))))}
        if a is not None:
            band["min"] = _text(a)
        if b is not None:
            band["max"] = _text(b)
        bands.append(band)
    return bands


@st.composite
def _factor(draw: st.DrawFn, index: int, weight: Decimal, edges: dict[str, list[Decimal]]) -> dict[str, Any]:
    kind = draw(st.sampled_from(["standard_value", "standard_value", "bands", "rating"]))
    factor: dict[str, Any] = {
        "id": f"f{index}",
        "group": "g",
        "weight": _text(weight),
        "missing": _text(_decimal(draw, Decimal(0), Decimal(100), draw(st.integers(0, 3)))),
        "kind": kind,
    }
    if kind == "rating":
        path = draw(st.sampled_from([*RATING_INPUTS, *BOOL_INPUTS]))
        keys = (
            ["true", "false"]
            if path in BOOL_INPUTS
            else draw(st.lists(st.sampled_from(RATINGS), min_size=1, max_size=4, unique=True))
        )
        factor["input"] = path
        factor["ratings"] = {k: _text(_decimal(draw, Decimal(0), Decimal(100), draw(st.integers(0, 3)))) for k in keys}
        factor["unknown_rating"] = _text(_decimal(draw, Decimal(0), Decimal(100), 1))
        return factor
    path = draw(st.sampled_from(list(NUMERIC_INPUTS)))
    factor["input"] = path
    if kind == "bands":
        factor["bands"] = draw(_bands(path, edges))
        factor["outside"] = _text(_decimal(draw, Decimal(0), Decimal(100), 2))
        return factor
    low, high, _ = NUMERIC_INPUTS[path]
    standard = draw(_number_literal(low, high))
    _note(edges, path, standard)
    span = max(high - low, Decimal(1))
    # alpha: losing all 100 points over 1/10 to 2 times the typical range of the fact
    alpha = (Decimal(100) / span * Decimal(draw(st.integers(5, 200))) / Decimal(10)).quantize(Decimal("0.000001"))
    if draw(st.integers(0, 9)) == 0:  # longer than the Int128 formula takes: scored by the exact fallback
        alpha = alpha + Decimal("0.000000000000000001")
    factor |= {
        "direction": draw(st.sampled_from(["higher_is_better", "lower_is_better"])),
        "standard": _text(standard),
        "alpha": _text(max(alpha, Decimal("0.000001"))),
    }
    return factor


@st.composite
def _weights(draw: st.DrawFn, count: int) -> list[Decimal]:
    if count == 3 and draw(st.integers(0, 4)) == 0:  # thirds to 18 decimals: the widest weights a policy takes
        third = Decimal("33.333333333333333333")
        return [third, third, Decimal(100) - 2 * third]
    cuts = sorted(draw(st.sets(st.integers(1, 9_999), min_size=count - 1, max_size=count - 1)))
    bounds = [0, *cuts, 10_000]
    return [Decimal(b - a) / 100 for a, b in zip(bounds, bounds[1:], strict=False)]


@st.composite
def _grade_scale(draw: st.DrawFn) -> list[dict[str, str]]:
    count = draw(st.integers(2, 6))
    names = sorted(draw(st.sets(st.sampled_from(GRADE_POOL), min_size=count, max_size=count)), key=GRADE_POOL.index)
    cuts = sorted(draw(st.sets(st.integers(1, 9_999), min_size=count - 1, max_size=count - 1)), reverse=True)
    edges = [Decimal(c) / 100 for c in cuts]
    if draw(st.integers(0, 3)) == 0:  # a boundary between two cents
        edges[0] = edges[0] + Decimal("0.005") if edges[0] < Decimal("99.99") else edges[0]
    uppers = [Decimal(100), *edges]
    lowers = [*edges, Decimal(0)]
    return [
        {"grade": g, "min_score": _text(lo), "max_score": _text(hi)}
        for g, lo, hi in zip(names, lowers, uppers, strict=True)
    ]


def _most_granted(rule: dict[str, Any], caps: dict[str, Any]) -> Decimal | None:
    methods = rule["of"] if rule["method"] == "min" else [rule]
    fixed = [Decimal(m["amount"]) for m in methods if m["method"] == "fixed"]
    bound = min(fixed) if fixed else None
    if caps.get("absolute") is not None:
        absolute = Decimal(caps["absolute"])
        bound = absolute if bound is None else min(bound, absolute)
    return bound


@st.composite
def _limit_method(draw: st.DrawFn, method: str, step: Decimal, total: Decimal) -> dict[str, str]:
    if method == "fixed":
        steps = int(total / step)
        return {"method": "fixed", "amount": _text(step * draw(st.integers(0, min(steps, 5_000))))}
    if draw(st.integers(0, 9)) == 0:  # a percentage too long for 28-digit products: the exact fallback
        pct = Decimal("0.1234567890123") * Decimal(draw(st.integers(1, 8)))
    else:
        pct = Decimal(draw(st.integers(1, 10_000))) / 10_000
    return {"method": method, "pct": _text(pct)}


@st.composite
def _limits(draw: st.DrawFn, grades: list[str], granting: list[str]) -> dict[str, Any]:
    total = Decimal(draw(st.sampled_from([50_000, 2_000_000, 100_000_000, 5_000_000_000])))
    step = Decimal(draw(st.sampled_from(["0.01", "1", "100", "1000", "250.50"])))
    per_grade: dict[str, Any] = {}
    flags = {name: draw(st.integers(0, len(grades))) for name in ("net_assets", "working_capital")}
    most: list[Decimal | None] = []
    for position in reversed(range(len(grades))):  # weakest first
        grade = grades[position]
        how = draw(st.sampled_from(["fixed", "pct_working_capital", "pct_liquidation_value", "pct_net_assets", "min"]))
        if how == "min":
            names = draw(
                st.lists(
                    st.sampled_from(["fixed", "pct_working_capital", "pct_liquidation_value", "pct_net_assets"]),
                    min_size=2,
                    max_size=3,
                    unique=True,
                )
            )
            rule: dict[str, Any] = {"method": "min", "of": [draw(_limit_method(n, step, total)) for n in names]}
        else:
            rule = dict(draw(_limit_method(how, step, total)))
        caps: dict[str, Any] = {name: position >= flags[name] for name in flags}
        if grade in granting:
            bounded = all(m is not None for m in most)
            floor = max([m for m in most if m is not None], default=Decimal(0))
            if bounded and draw(st.booleans()):
                caps["absolute"] = _text(min(total, floor + step * draw(st.integers(0, 1_000))))
        elif draw(st.booleans()):
            caps["absolute"] = _text(step * draw(st.integers(0, min(int(total / step), 10_000))))
        rule["caps"] = caps
        per_grade[grade] = rule
        if grade in granting:
            most.append(_most_granted(rule, caps))
    return {
        "portfolio_total": _text(total),
        "rounding": {"step": _text(step), "mode": draw(st.sampled_from(["down", "nearest"]))},
        "caps": {"net_assets": draw(st.booleans()), "working_capital": draw(st.booleans())},
        "per_grade": {g: per_grade[g] for g in grades},
    }


@st.composite
def _terms_text(draw: st.DrawFn, credit_days: int) -> str:
    if credit_days == 0:
        return "cash in advance" if draw(st.booleans()) else "n/0"
    count = draw(st.integers(0, min(2, credit_days)))
    days = sorted(draw(st.sets(st.integers(1, credit_days), min_size=count, max_size=count)))
    rates = sorted(draw(st.sets(st.integers(1, 40), min_size=count, max_size=count)), reverse=True)
    tiers = [f"{_text(Decimal(r) / 4)}/{d}" for r, d in zip(rates, days, strict=True)]
    return ", ".join([*tiers, f"n/{credit_days}"])


@st.composite
def _penalty(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):
        return {
            "rate": _text(Decimal(draw(st.integers(1, 20))) / 10_000),
            "per": "day",
            "grace_days": draw(st.integers(0, 5)),
        }
    return {
        "rate": _text(Decimal(draw(st.integers(1, 30))) / 100),
        "per": "year",
        "basis": draw(st.sampled_from([360, 365])),
        "grace_days": draw(st.integers(0, 5)),
    }


@st.composite
def _ladder(draw: st.DrawFn) -> dict[str, Any]:
    chosen = [s for s in STEPS if draw(st.booleans())] or [draw(st.sampled_from(STEPS))]
    thresholds = sorted(draw(st.sets(st.integers(0, 200), min_size=len(chosen), max_size=len(chosen))))
    aux = [a for a in AUXILIARY if draw(st.booleans())]
    return {
        "steps": dict(zip(chosen, thresholds, strict=True)),
        "auxiliary": {a: draw(st.integers(0, 120)) for a in aux},
        "skip_steps": draw(st.booleans()),
        "min_days_between_steps": draw(st.integers(0, 30)),
        "pause_when_disputed": draw(st.booleans()),
    }


@st.composite
def policies(draw: st.DrawFn) -> GeneratedPolicy:
    """A valid policy, every part drawn."""
    edges: dict[str, list[Decimal]] = {}
    scale = draw(_grade_scale())
    grades = [g["grade"] for g in scale]
    for band in scale:
        _note(edges, "score", Decimal(band["min_score"]))
    count = draw(st.integers(1, 6))
    weights = draw(_weights(count))
    factors = [draw(_factor(i, w, edges)) for i, w in enumerate(weights)]
    min_grade = draw(st.one_of(st.none(), st.sampled_from(grades)))
    granting = grades[: grades.index(min_grade) + 1] if min_grade is not None else grades
    standards: dict[str, Any] = {
        "blacklist": draw(st.lists(st.sampled_from(CUSTOMER_IDS), max_size=2, unique=True)),
        "rules": [
            {"id": f"s{i}", "when": draw(_condition(_assess_leaf(grades, edges))), "reason": f"STANDARD_{i}"}
            for i in range(draw(st.integers(0, 3)))
        ],
    }
    if min_grade is not None:
        standards["min_grade"] = min_grade
    if draw(st.booleans()):
        standards["max_expected_dso_days"] = _text(draw(_number_literal(Decimal(10), Decimal(120))) or Decimal(1))
        _note(edges, "outlook.expected_dso_days", Decimal(standards["max_expected_dso_days"]))
    if draw(st.booleans()):
        standards["max_expected_bad_debt_rate"] = _text(draw(_number_literal(Decimal(0), Decimal("0.2"))))
        _note(edges, "outlook.expected_bad_debt_rate", Decimal(standards["max_expected_bad_debt_rate"]))
    credit_days = sorted(draw(st.lists(st.integers(0, 90), min_size=len(grades), max_size=len(grades))), reverse=True)
    terms = {}
    for grade, days in zip(grades, credit_days, strict=True):
        entry: dict[str, Any] = {"text": draw(_terms_text(days))}
        if draw(st.booleans()):
            entry["penalty"] = draw(_penalty())
        terms[grade] = entry
    review = sorted(draw(st.lists(st.integers(1, 92), min_size=len(grades), max_size=len(grades))), reverse=True)
    outcomes = ["approve", "hold", "reject"]
    data: dict[str, Any] = {
        "policy": {
            "id": "generated",
            "version": "1",
            "effective_from": "2026-01-01",
            "currency": CURRENCY,
            "author": "hypothesis",
            "change_note": "generated for the differential test",
        },
        "scorecard": {"groups": {"g": {"label": "G"}}, "factors": factors},
        "grades": scale,
        "standards": standards,
        "limits": draw(_limits(grades, granting)),
        "terms": {"penalty": draw(_penalty()), "per_grade": terms},
        "review": {"per_grade": dict(zip(grades, review, strict=True))},
        "order_rules": {
            "combine": draw(st.sampled_from(["most_severe", "first_match"])),
            "default": {"outcome": draw(st.sampled_from(outcomes)), "reason": "DEFAULT"},
            "rules": [
                {
                    "id": f"r{i}",
                    "when": draw(_condition(_order_leaf(grades, edges))),
                    "then": {"outcome": draw(st.sampled_from(outcomes)), "reason": f"RULE_{i}"},
                }
                for i in range(draw(st.integers(0, 5)))
            ],
        },
        "collection": {"segments": {s: draw(_ladder()) for s in SEGMENTS}},
    }
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return GeneratedPolicy(text, data, edges)


# --- requests -------------------------------------------------------------------------------
def _cents(rng: random.Random, high: int) -> Decimal:
    return Decimal(rng.randrange(0, high * 100 + 1)) / 100


def _near(rng: random.Random, values: list[Decimal], places: int) -> Decimal | None:
    """A policy number, or one unit of the column beside it."""
    if not values:
        return None
    unit = Decimal(1).scaleb(-places)
    return rng.choice(values) + unit * rng.choice([-1, 0, 0, 1])


def _number(
    rng: random.Random, policy: GeneratedPolicy, path: str, low: Decimal, high: Decimal, places: int
) -> Decimal:
    aimed = _near(rng, policy.edges.get(path, []), places) if rng.random() < 0.3 else None
    if aimed is not None and low <= aimed <= high:
        return aimed.quantize(Decimal(1).scaleb(-places))
    unit = Decimal(1).scaleb(-places)
    return (low + unit * rng.randrange(0, int((high - low) / unit) + 1)).quantize(unit)


def _money_pair(rng: random.Random, low: int, high: int) -> tuple[Decimal, Decimal]:
    """Two amounts whose ratio is often exact or a short repeating decimal."""
    choice = rng.random()
    b = _cents(rng, high) or Decimal("0.01")
    if choice < 0.2:
        return b * rng.choice([1, 2, 3]) / rng.choice([1, 2, 4]), b
    if choice < 0.3:
        return b * 2 + Decimal("0.01"), b  # a ratio a hair above 2
    return Decimal(rng.randrange(low * 100, high * 100 + 1)) / 100, b


def customer_rows(rng: random.Random, policy: GeneratedPolicy, count: int) -> list[dict[str, Any]]:
    """Customers frame rows (column → value); about 3 % are invalid requests."""
    rows = []
    for i in range(count):
        row: dict[str, Any] = {"id": rng.choice([*CUSTOMER_IDS, f"C-{i}"]), "segment": rng.choice([*SEGMENTS, None])}
        assets, liabilities = _money_pair(rng, 0, 30_000_000)
        total = _cents(rng, 80_000_000)
        net = (total * Decimal(rng.randrange(-20, 101)) / 100).quantize(Decimal("0.01"))
        revenue = _cents(rng, 90_000_000)
        profit = (revenue * Decimal(rng.randrange(-20, 31)) / 100).quantize(Decimal("0.01"))
        values: dict[str, Any] = {
            "financials.current_assets": assets,
            "financials.current_liabilities": liabilities,
            "financials.total_assets": total,
            "financials.net_assets": net,
            "financials.revenue": revenue,
            "financials.net_profit": profit,
            "financials.operating_cash_flow": (liabilities * Decimal(rng.randrange(-50, 200)) / 100).quantize(
                Decimal("0.01")
            ),
            "financials.liquidation_value": _cents(rng, 30_000_000),
            "trade.collateral_value": _cents(rng, 5_000_000),
            "payment.on_time_ratio": _number(rng, policy, "payment.on_time_ratio", Decimal(0), Decimal(1), 4),
            "payment.avg_days_late": _number(rng, policy, "payment.avg_days_late", Decimal(0), Decimal(90), 4),
            "payment.max_days_late": rng.randrange(0, 200),
            "payment.defaults_3y": rng.randrange(0, 4),
            "payment.bounced_cheques": rng.randrange(0, 4),
            "records.years_in_business": _number(rng, policy, "records.years_in_business", Decimal(0), Decimal(50), 4),
            "records.litigation_count": rng.randrange(0, 6),
            "records.bank_record": rng.choice(RATINGS),
            "records.owns_premises": rng.choice([True, False]),
            "outlook.expected_dso_days": _number(rng, policy, "outlook.expected_dso_days", Decimal(0), Decimal(150), 4),
            "outlook.expected_bad_debt_rate": _number(
                rng, policy, "outlook.expected_bad_debt_rate", Decimal(0), Decimal("0.2"), 4
            ),
            "trade.has_guarantee": rng.choice([True, False]),
            "ratings.character": rng.choice([*RATINGS, "unheard-of"]),
            "ratings.visit_impression": rng.choice(RATINGS),
        }
        if rng.random() < 0.05:
            values["financials.current_assets"] = Decimal("99999999999999.99")
            values["financials.current_liabilities"] = Decimal("0.01")
        for name, item in values.items():
            row[name] = None if rng.random() < 0.12 else item
        if rng.random() < 0.03:
            row[rng.choice(["payment.on_time_ratio", "financials.revenue", "id"])] = (
                Decimal(-1) if rng.random() < 0.5 else None
            )
            if row["id"] is None or row.get("payment.on_time_ratio") == Decimal(-1):
                pass
            elif row.get("financials.revenue") == Decimal(-1):
                row["financials.revenue"] = Decimal("-1.00")
        rows.append(row)
    return rows


def order_rows(rng: random.Random, policy: GeneratedPolicy, count: int, *, huge: bool) -> list[dict[str, Any]]:
    """Orders frame rows; ``huge`` adds amounts near the models' bound (where durable-rules refuses sums)."""
    grades = policy.grades
    rows = []
    for i in range(count):
        limit = Decimal(0) if rng.random() < 0.1 else _cents(rng, 3_000_000)
        exposure = _cents(rng, 2_000_000)
        amount = _cents(rng, 2_000_000)
        aimed = policy.edges.get("credit.utilisation_after")
        if aimed and limit > 0 and rng.random() < 0.3:
            # an order that brings utilisation exactly onto (or a cent beside) a policy number
            target = (rng.choice(aimed) * limit).quantize(Decimal("0.01")) - exposure
            amount = max(Decimal(0), target + Decimal("0.01") * rng.choice([-1, 0, 1]))
        if huge and rng.random() < 0.2:
            amount = Decimal("99999999999999.99")
            exposure = Decimal("99999999999999.99")
        rows.append(
            {
                "customer.id": rng.choice(CUSTOMER_IDS),
                "customer.segment": rng.choice([*SEGMENTS, None]),
                "customer.grade": rng.choice([*grades, *grades, "ZZ"]),
                "customer.limit": limit,
                "customer.blacklisted": rng.choice([True, False, False, None]),
                "order.id": f"O-{i}",
                "order.amount": amount,
                "order.currency": CURRENCY if rng.random() < 0.95 else "USD",
                "exposure.open_receivables": exposure,
                "exposure.open_orders": None if rng.random() < 0.2 else _cents(rng, 500_000),
                "exposure.overdue_amount": _cents(rng, 100_000) if rng.random() < 0.5 else Decimal(0),
                "exposure.oldest_overdue_days": rng.choice([0, rng.randrange(0, 121), None]),
                "as_of": dt.date(2026, 6, 30),
            }
        )
    return rows


def arrears_rows(rng: random.Random, policy: GeneratedPolicy, count: int) -> list[dict[str, Any]]:
    """Arrears frame rows: days around every threshold, steps taken with and without dates."""
    grades = policy.grades
    thresholds = sorted(
        {
            d
            for ladder in policy.data["collection"]["segments"].values()
            for d in [*ladder["steps"].values(), *ladder["auxiliary"].values()]
        }
    )
    rows = []
    for _ in range(count):
        as_of = dt.date(2026, 6, 1) if rng.random() < 0.95 else dt.date(9999, 12, 20)
        days = rng.choice([0, 1, rng.randrange(0, 260), rng.choice(thresholds) + rng.choice([-1, 0, 1])])
        taken = [
            {"step": rng.choice(STEPS), "on": rng.choice([None, as_of - dt.timedelta(days=rng.randrange(0, 40))])}
            for _ in range(rng.choice([0, 0, 1, 2, 3]))
        ]
        rows.append(
            {
                "customer.id": rng.choice(CUSTOMER_IDS),
                "customer.segment": rng.choice(SEGMENTS),
                "customer.grade": rng.choice([*grades, *grades, "ZZ"]),
                "arrears.amount": rng.choice([_cents(rng, 2_000_000), Decimal("99999999999999.99"), Decimal(0)]),
                "arrears.days_overdue": max(0, days),
                "arrears.steps_taken": taken,
                "arrears.arbitration_agreement": rng.choice([True, False, None]),
                "arrears.disputed": rng.choice([True, False, False]),
                "as_of": as_of,
            }
        )
    return rows


def invoice_rows(rng: random.Random, policy: GeneratedPolicy, count: int) -> list[dict[str, Any]]:
    """Invoice frame rows: grade or written terms, no payment or one around each discount boundary."""
    grades = policy.grades
    texts = [
        "3/10, 2/20, n/30",
        "2.5/10, n/45",
        "n/15",
        "cash in advance",
        "2/10, n/5",
        "n/",
        "1.123456789012345/5, n/30",
    ]
    rows = []
    for i in range(count):
        invoice_date = dt.date(2026, 3, 1)
        amount = rng.choice(
            [_cents(rng, 1_000_000), Decimal("0.00"), Decimal("99999999999999.99"), Decimal("10000.00")]
        )
        as_of = invoice_date + dt.timedelta(days=rng.randrange(0, 200))
        row: dict[str, Any] = {
            "invoice.id": rng.choice([f"INV-{i}", None]),
            "invoice.amount": amount,
            "invoice.date": invoice_date,
            "invoice.currency": rng.choice([None, CURRENCY, CURRENCY, "USD"]),
            "terms.text": None,
            "terms.grade": None,
            "payment.date": None,
            "payment.amount": None,
            "as_of": as_of,
        }
        if rng.random() < 0.5:
            row["terms.grade"] = rng.choice([*grades, "ZZ"])
        else:
            row["terms.text"] = rng.choice(texts)
        if rng.random() < 0.75:
            day = rng.randrange(0, (as_of - invoice_date).days + 2)
            row["payment.date"] = invoice_date + dt.timedelta(days=day)
            rate = Decimal(rng.choice(["0", "1", "2", "3", "2.5"])) / 100
            share = rng.choice([Decimal(1), Decimal("0.5"), Decimal(rng.randrange(1, 150)) / 100])
            paid = (amount * (1 - rate) * share).quantize(Decimal("0.01")) + Decimal("0.01") * rng.choice([-1, 0, 1])
            row["payment.amount"] = max(Decimal("0.01"), paid) if rng.random() < 0.97 else Decimal("0.00")
        rows.append(row)
    return rows

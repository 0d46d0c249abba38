"""assess for a whole customers frame: scores, grades, standards, limits, terms and review dates at once.

Each row gets what ``engine.decisions.assess.assess_credit`` gives for the request of that row
(``engine.vectorised.frames.requests_of``), computed with Int128 fixed-point columns:

- facts: money in cents, numbers in 10^-4; working capital exactly; each derived ratio as its
  integer numerator and denominator (absent when either is absent or the denominator is 0);
- factor points: ratings and bands exactly; the standard-value formula exactly for numbers, and
  for ratios to 20 decimals with a proven error bound: the few rows whose points fall within that
  bound of a half-cent (where ``engine.facts.ratio``'s 28-digit rounding could tip the cent) are
  scored again row by row with ``engine.decisions.assess.score_factor`` itself, as is every factor
  whose policy numbers are too long for the Int128 bounds;
- weighted points, the total and the score exactly (weights have at most 18 decimals);
- grade bands, standards (the full condition language, see ``engine.vectorised.conditions``);
- limits: every method, the minimum of several, the caps (net assets, working capital, absolute,
  what remains of the portfolio total), rounding down or to nearest but never above the cap that
  binds, and the floor of ``graded_limit`` (a grade never grants less than a worse grade that still
  gets credit would);
- terms (cash in advance when the standards are not met), review interval and next review date.

**Portfolio allocation.** With ``allocation="rows"`` each row's ``portfolio.allocated`` column
(absent: 0) is what its request says has already been granted to others. With
``allocation="portfolio"`` the portfolio total is shared out across the frame in this order:
**best grade first, then higher score, then customer id** (rows equal on all three keep their
frame order). Each customer's ``portfolio.allocated`` is the sum of the limits granted to the
customers before it, and its result is exactly the per-decision result with that allocation.
It is computed in a few vectorised passes, not row by row: a limit ``g(R)`` under a remaining
budget ``R`` equals ``g(R0)`` whenever ``g(R0) ≤ R ≤ R0`` (rounding and caps cannot tell the two
budgets apart below the limit), so every customer whose limit under the current budget fits in
what the customers before it leave is final; the first one that does not fit is recomputed with
its exact remaining budget and the pass continues from there. Once the budget runs short, what is
left is below one rounding step, so every later customer gets 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any, Final, Literal

import polars as pl

from engine.decisions.assess import score_factor
from engine.facts import ratio
from engine.ir import (
    BandScoring,
    CompiledPolicy,
    FactorIR,
    GradeLimitIR,
    LimitMethodIR,
    RatingScoring,
    StandardValueScoring,
)
from engine.matchers import PythonMatcher
from engine.vectorised.conditions import (
    ComputedPlan,
    NumberField,
    PythonComputed,
    RatioField,
    condition_expr,
    evaluate_python_computed,
    out_of_rules_engine_range,
    plan_computed,
)
from engine.vectorised.fallback import patch_rows
from engine.vectorised.fixedpoint import (
    FACT_SCALE,
    I128,
    ceil_scaled,
    decimals,
    floor_scaled,
    from_cents,
    from_units,
    half_up_div,
    int_lit,
    largest,
    scaled,
    smallest,
)
from engine.vectorised.frames import FrameError, column, complete, normalise, rating_columns, row_problem
from engine.vectorised.lists import bit_words, list_by_key, set_bits
from policy.expressions import field_paths

__all__ = ["ALLOCATION_ORDER", "Allocation", "AssessEvaluator", "RESULT_COLUMNS", "factor_columns"]

Allocation = Literal["rows", "portfolio"]
ALLOCATION_ORDER: Final = ("grade rank ascending (best first)", "score descending", "customer id ascending")
CENT: Final = Decimal("0.01")
HUNDRED: Final = Decimal(100)
RESULT_COLUMNS: Final = (
    "error",
    "error_message",
    "score",
    "grade",
    "eligible",
    "reasons",
    "credit_limit",
    "terms",
    "review_interval_days",
    "next_review",
)

_MONEY: Final = (
    "financials.current_assets",
    "financials.current_liabilities",
    "financials.total_assets",
    "financials.net_assets",
    "financials.revenue",
    "financials.net_profit",
    "financials.operating_cash_flow",
    "financials.liquidation_value",
    "financials.fixed_assets",
    "financials.paid_in_capital",
    "trade.collateral_value",
)
_NUMBERS: Final = (
    "payment.on_time_ratio",
    "payment.avg_days_late",
    "records.years_in_business",
    "outlook.expected_dso_days",
    "outlook.expected_bad_debt_rate",
)
_COUNTS: Final = (
    "payment.max_days_late",
    "payment.defaults_3y",
    "payment.bounced_cheques",
    "records.litigation_count",
)
_PLAIN: Final = ("records.bank_record", "records.owns_premises", "trade.has_guarantee")
_WORKING_CAPITAL: Final = "financials.working_capital"
_DEBT: Final = "__debt"
# Derived ratios: (numerator, denominator) as money columns in cents (engine.facts.credit_file_fact).
_RATIOS: Final = {
    "ratios.current_ratio": ("financials.current_assets", "financials.current_liabilities"),
    "ratios.debt_ratio": (_DEBT, "financials.total_assets"),
    "ratios.net_margin": ("financials.net_profit", "financials.revenue"),
    "ratios.cash_flow_ratio": ("financials.operating_cash_flow", "financials.current_liabilities"),
}
_METHOD_BASIS: Final = {
    "pct_working_capital": _WORKING_CAPITAL,
    "pct_liquidation_value": "financials.liquidation_value",
    "pct_net_assets": "financials.net_assets",
}
_MONEY_BOUND: Final = Decimal(10) ** 14  # validated amounts are below it (engine.models.MAX_AMOUNT)
_CENTS_BOUND: Final = 10**16  # the same in cents
_X_SCALE: Final = 20  # decimals a ratio is computed to for the standard-value formula
_PYTHON_EPSILON: Final = Decimal("1e-27")  # ≥ the relative rounding error of one 28-digit Decimal operation


def factor_columns(factor_id: str) -> tuple[str, str]:
    """The result columns of one factor: its points (2 decimals) and its weighted points (4 decimals)."""
    return f"factors.{factor_id}.points", f"factors.{factor_id}.weighted"


def _cents(value: Decimal) -> int:
    """Policy points or amounts as the engine quantizes them: cents, half up."""
    return scaled(value.quantize(CENT, rounding=ROUND_HALF_UP), 2)


def _money(path: str) -> pl.Expr:
    return pl.col(f"__c:{path}")


def _units(path: str) -> pl.Expr:
    return pl.col(f"__u:{path}")


@dataclass(frozen=True)
class _Score:
    """One factor's points in cents (null for rows scored in Python) and the rows to score in Python."""

    points: pl.Expr
    python_rows: pl.Expr | None


class AssessEvaluator:
    """The assess decision of one compiled policy as Polars expressions, built once."""

    def __init__(self, compiled: CompiledPolicy) -> None:
        self.compiled = compiled
        self.durable = not isinstance(compiled.rulesets.standards, PythonMatcher)
        table = compiled.tables["standards"]
        self.standards = table.rules
        paths = {f.input for f in compiled.factors} | {p for r in table.rules for p in field_paths(r.condition)}
        paths |= {p for c in table.computed for p in field_paths(c.expression)}
        self.rating_paths = sorted(p for p in paths if p.startswith("ratings."))
        self.fields = self._fields()
        self.plans: dict[str, ComputedPlan] = plan_computed(table.computed, self.fields)
        self.weight_scale = max(decimals(f.weight) for f in compiled.factors)
        self.grade_names = [g.grade for g in compiled.grades]
        minimum = compiled.standards.min_grade
        self.last_granting = compiled.grade(minimum).rank if minimum is not None else len(compiled.grades) - 1
        # Every expression that depends on the policy alone, built once.
        self.fact_columns = self._fact_columns()
        self.scores = {f.id: self._score_factor(f) for f in compiled.factors}
        self.grade_expr = self._grade()
        self.hits = [condition_expr(rule.condition, self.fields, self.plans) for rule in self.standards]
        self.limit_expr = self._limit(pl.col("__allocated"))

    # --- facts ------------------------------------------------------------------------------
    def _fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "customer.id": pl.col("__id"),
            "customer.segment": pl.col("__segment"),
            "score": NumberField(pl.col("__score") * 100, HUNDRED),
            "grade": pl.col("__grade"),
        }
        for path in (*_MONEY, _WORKING_CAPITAL):
            fields[path] = NumberField(_money(path) * 100, _MONEY_BOUND)
        for path in _NUMBERS:
            fields[path] = NumberField(_units(path), _MONEY_BOUND)
        for path in _COUNTS:
            fields[path] = NumberField(_units(path), Decimal(1_000_000))
        for path in (*_PLAIN, *self.rating_paths):
            fields[path] = pl.col(f"__t:{path}")
        for path in _RATIOS:
            numerator_bound = 2 * _CENTS_BOUND if path == "ratios.debt_ratio" else _CENTS_BOUND
            fields[path] = RatioField(pl.col(f"__n:{path}"), pl.col(f"__d:{path}"), numerator_bound, _CENTS_BOUND)
        return fields

    def _fact_columns(self) -> list[list[pl.Expr]]:
        """The fact columns, in three rounds: inputs (null on invalid rows), derived amounts, ratios."""
        valid = pl.col("__problem").is_null()
        inputs = [
            pl.when(valid).then(column("id")).alias("__id"),
            column("segment").fill_null("ordinary").alias("__segment"),
        ]
        inputs += [pl.when(valid).then(column(p).to_physical()).alias(f"__c:{p}") for p in _MONEY]
        inputs += [pl.when(valid).then(column(p).to_physical()).alias(f"__u:{p}") for p in _NUMBERS]
        inputs += [pl.when(valid).then(column(p).cast(I128) * 10**FACT_SCALE).alias(f"__u:{p}") for p in _COUNTS]
        inputs += [pl.when(valid).then(column(p)).alias(f"__t:{p}") for p in (*_PLAIN, *self.rating_paths)]
        assets, liabilities = _money("financials.current_assets"), _money("financials.current_liabilities")
        derived = [
            (assets - liabilities).alias(f"__c:{_WORKING_CAPITAL}"),
            (_money("financials.total_assets") - _money("financials.net_assets")).alias(f"__c:{_DEBT}"),
        ]
        ratios = []
        for path, (top, bottom) in _RATIOS.items():
            # engine.facts.ratio: absent when either side is absent or the denominator is 0.
            defined = _money(top).is_not_null() & (_money(bottom) != 0)
            ratios += [
                pl.when(defined).then(_money(top)).alias(f"__n:{path}"),
                pl.when(defined).then(_money(bottom)).alias(f"__d:{path}"),
            ]
        return [inputs, derived, ratios]

    def _facts(self, frame: pl.DataFrame) -> pl.DataFrame:
        work = complete("assess", frame, self.rating_paths)
        work = work.with_columns(row_problem("assess", rating_columns(frame)).alias("__problem"))
        for columns in self.fact_columns:
            work = work.with_columns(columns)
        return work

    # --- scorecard --------------------------------------------------------------------------
    def _score_factor(self, factor: FactorIR) -> _Score:
        source = self.fields.get(factor.input)
        sc = factor.scoring
        missing = int_lit(_cents(factor.missing))
        python = _Score(pl.lit(None, dtype=I128), pl.col("__problem").is_null())
        if isinstance(sc, RatingScoring):
            if not isinstance(source, pl.Expr) or factor.input not in (*_PLAIN, *self.rating_paths):
                return python
            table = dict(sc.ratings)
            unknown = _cents(sc.unknown)
            if factor.input in ("records.owns_premises", "trade.has_guarantee"):
                yes = _cents(table.get("true", sc.unknown))
                no = _cents(table.get("false", sc.unknown))
                points = pl.when(source.is_null()).then(missing).when(source).then(int_lit(yes)).otherwise(int_lit(no))
                return _Score(points, None)
            keys = list(table)
            mapped = source.replace_strict(
                keys, [_cents(table[k]) for k in keys], default=int_lit(unknown), return_dtype=I128
            )
            return _Score(pl.when(source.is_null()).then(missing).otherwise(mapped), None)
        if isinstance(sc, BandScoring):
            if isinstance(source, NumberField):
                return _Score(self._bands_on_number(sc, source, missing), None)
            if isinstance(source, RatioField):
                banded = self._bands_on_ratio(sc, source, missing)
                return python if banded is None else _Score(banded, None)
            return python
        assert isinstance(sc, StandardValueScoring)
        if isinstance(source, NumberField | RatioField):
            scored = self._standard_value(sc, source, missing)
            return python if scored is None else scored
        return python

    @staticmethod
    def _bands_on_number(sc: BandScoring, source: NumberField, missing: pl.Expr) -> pl.Expr:
        x = source.units
        chain: Any = pl.when(x.is_null()).then(missing)
        for band in sc.bands:
            test = pl.lit(True)
            if band.min is not None:
                test = test & (x >= int_lit(ceil_scaled(band.min, FACT_SCALE)))
            if band.max is not None:
                test = test & (x < int_lit(ceil_scaled(band.max, FACT_SCALE)))
            chain = chain.when(test).then(int_lit(_cents(band.points)))
        result: pl.Expr = chain.otherwise(int_lit(_cents(sc.outside)))
        return result

    @staticmethod
    def _bands_on_ratio(sc: BandScoring, source: RatioField, missing: pl.Expr) -> pl.Expr | None:
        """Bands on ``n/d``: ``X ≥ B ⟺ n·10^k ≥ b·d`` exactly (and 28-digit rounding never collapses it)."""
        n, d = source.numerator, source.denominator
        tests = []
        for band in sc.bands:
            parts = []
            for edge, op in ((band.min, ">="), (band.max, "<")):
                if edge is None:
                    continue
                k = decimals(edge)
                b = scaled(edge, k)
                if k > 10 or abs(b) >= 10**21 or source.numerator_bound * 10**k >= 10**27:
                    return None
                left, right = n * int_lit(10**k), d * int_lit(b)
                parts.append(left >= right if op == ">=" else left < right)
            tests.append((pl.all_horizontal(parts) if parts else pl.lit(True), band.points))
        chain: Any = pl.when(n.is_null()).then(missing)
        for test, points in tests:
            chain = chain.when(test).then(int_lit(_cents(points)))
        result: pl.Expr = chain.otherwise(int_lit(_cents(sc.outside)))
        return result

    def _standard_value(
        self, sc: StandardValueScoring, source: NumberField | RatioField, missing: pl.Expr
    ) -> _Score | None:
        """``100 - max(shortfall, 0)·α`` clamped to 0..100, in cents half up, from X to 20 decimals.

        X is exact for numbers and the floor of ``n/d`` to 20 decimals for ratios. The Decimal
        engine rounds each step to 28 digits; in the only region that matters (0 ≤ points ≤ 100)
        its points differ from the exact ones by less than ``α·10^-20 + (α·|P| + 400)·10^-27``.
        Rows within that margin of a half-cent are scored in Python.
        """
        p, alpha = sc.standard, sc.alpha
        kp, ka = decimals(p), decimals(alpha)
        if abs(p) >= Decimal(10) ** 12 or kp > _X_SCALE or ka > 15:
            return None
        if isinstance(source, RatioField):
            x = (source.numerator * int_lit(10**_X_SCALE)) // source.denominator
            present = source.numerator.is_not_null()
            exact_input = False
        else:
            x = source.units * int_lit(10 ** (_X_SCALE - FACT_SCALE))
            present = source.units.is_not_null()
            exact_input = True
        p_units = int_lit(scaled(p, _X_SCALE))
        shortfall = p_units - x if sc.higher_is_better else x - p_units
        a = scaled(alpha, ka)
        scale = _X_SCALE + ka
        full = 100 * 10**scale
        cap = -(-full // a)  # the smallest shortfall that loses every point
        clamped = shortfall.clip(int_lit(0), int_lit(cap))
        y = int_lit(full) - clamped * int_lit(a)
        y = pl.when(y < 0).then(int_lit(0)).otherwise(y)
        per_cent = 10 ** (scale - 2)
        cents = (y * 2 + int_lit(per_cent)) // int_lit(2 * per_cent)
        points = pl.when(present).then(cents).otherwise(missing)
        kx = max(kp, FACT_SCALE)
        python_exact = (abs(p) + _MONEY_BOUND) * Decimal(10) ** kx < Decimal(10) ** 28 and kx + ka + 3 <= 28
        if exact_input and python_exact:
            return _Score(points, None)
        margin = alpha * abs(p) * _PYTHON_EPSILON + 400 * _PYTHON_EPSILON
        if not exact_input:
            margin += alpha * Decimal(10) ** -_X_SCALE
        margin_units = ceil_scaled(margin, scale) + 1
        remainder = y % int_lit(per_cent)
        doubtful = present & ((remainder * 2 - int_lit(per_cent)).abs() <= int_lit(2 * margin_units))
        return _Score(points, doubtful)

    def _python_value(self, path: str, row: Mapping[str, Any]) -> Any:
        """The fact value of ``path`` as ``engine.facts.credit_file_fact`` holds it (value-equal)."""
        source = self.fields[path]
        if isinstance(source, RatioField):
            n, d = row[f"{path}:n"], row[f"{path}:d"]
            return None if n is None or d is None else ratio(Decimal(n), Decimal(d))
        if isinstance(source, NumberField):
            units = row[path]
            return None if units is None else Decimal(units).scaleb(-FACT_SCALE)
        return row[path]

    def _python_inputs(self, path: str) -> dict[str, pl.Expr]:
        source = self.fields.get(path)
        if isinstance(source, RatioField):
            return {f"{path}:n": source.numerator, f"{path}:d": source.denominator}
        if isinstance(source, NumberField):
            return {path: source.units}
        if isinstance(source, pl.Expr):
            return {path: source}
        return {path: pl.lit(None)}  # a field the assess context does not have: always missing

    def _scores(self, work: pl.DataFrame) -> pl.DataFrame:
        compiled = self.compiled
        scores = self.scores
        work = work.with_columns(s.points.alias(f"__pts:{fid}") for fid, s in scores.items())
        for factor in compiled.factors:
            score = scores[factor.id]
            if score.python_rows is None:
                continue
            rows = pl.col("__problem").is_null() & score.python_rows

            def compute(row: Mapping[str, Any], factor: FactorIR = factor) -> list[int]:
                value = self._python_value(factor.input, row) if factor.input in self.fields else None
                return [scaled(score_factor(factor, value), 2)]

            work = patch_rows(work, rows, self._python_inputs(factor.input), {f"__pts:{factor.id}": I128}, compute)
        w = self.weight_scale
        weighted = {f.id: pl.col(f"__pts:{f.id}") * int_lit(scaled(f.weight, w)) for f in compiled.factors}
        total = pl.sum_horizontal(list(weighted.values()))
        rounded = half_up_div(total, 10 ** (2 + w))
        work = work.with_columns(
            pl.when(pl.col("__problem").is_null()).then(pl.min_horizontal(rounded, int_lit(10_000))).alias("__score"),
            *(half_up_div(e, 10**w).alias(f"__w4:{fid}") for fid, e in weighted.items()),
        )
        return work

    def _grade(self) -> pl.Expr:
        score = pl.col("__score")
        chain: Any = pl.when(score.is_null()).then(pl.lit(None, dtype=pl.String))
        for g in self.compiled.grades:
            upper = score <= floor_scaled(g.max_score, 2) if g.rank == 0 else score < ceil_scaled(g.max_score, 2)
            chain = chain.when((score >= ceil_scaled(g.min_score, 2)) & upper).then(pl.lit(g.grade))
        result: pl.Expr = chain.otherwise(pl.lit(None, dtype=pl.String))
        return result

    # --- limits -----------------------------------------------------------------------------
    def _method_cents(self, grade: str, index: int, m: LimitMethodIR) -> pl.Expr:
        if m.method == "fixed":
            assert m.amount is not None
            return int_lit(scaled(m.amount.quantize(CENT), 2))
        assert m.pct is not None
        k = decimals(m.pct)
        if k > 11:  # basis·pct would need more than 28 digits: computed in Python
            return pl.col(f"__lm:{grade}:{index}")
        basis = _money(_METHOD_BASIS[m.method])
        product = (basis * int_lit(scaled(m.pct, k))) // int_lit(10**k)
        return pl.when(basis > 0).then(product).otherwise(int_lit(0))

    def _python_methods(self, work: pl.DataFrame) -> pl.DataFrame:
        for rule in self.compiled.limits.values():
            for index, m in enumerate(rule.methods):
                if m.method == "fixed" or m.pct is None or decimals(m.pct) <= 11:
                    continue
                pct = m.pct

                def compute(row: Mapping[str, Any], pct: Decimal = pct) -> list[int]:
                    basis = row["basis"]
                    amount = Decimal(0) if basis is None else max(Decimal(0), Decimal(basis).scaleb(-2) * pct)
                    return [scaled(amount.quantize(CENT, ROUND_DOWN), 2)]

                inputs = {"basis": _money(_METHOD_BASIS[m.method])}
                work = patch_rows(
                    work, pl.col("__problem").is_null(), inputs, {f"__lm:{rule.grade}:{index}": I128}, compute
                )
        return work

    def _limit_of(self, rule: GradeLimitIR, allocated: pl.Expr) -> pl.Expr:
        """``engine.decisions.assess.calculate_limit`` in cents."""
        compiled = self.compiled
        base = smallest([self._method_cents(rule.grade, i, m) for i, m in enumerate(rule.methods)])
        caps: list[pl.Expr] = []
        for enabled, path in (
            (rule.caps.net_assets, "financials.net_assets"),
            (rule.caps.working_capital, _WORKING_CAPITAL),
        ):
            if enabled:
                value = _money(path)
                caps.append(pl.when(value > 0).then(value).otherwise(int_lit(0)))
        if rule.caps.absolute is not None:
            caps.append(int_lit(scaled(rule.caps.absolute.quantize(CENT), 2)))
        remaining = int_lit(scaled(compiled.portfolio_total.quantize(CENT), 2)) - allocated
        caps.append(pl.when(remaining > 0).then(remaining).otherwise(int_lit(0)))
        ceiling = smallest(caps)
        capped = smallest([base, ceiling])
        step = scaled(compiled.rounding_step, 2)
        down = (capped // int_lit(step)) * int_lit(step)
        if compiled.rounding_mode == "down":
            return down
        nearest = ((capped * 2 + step) // int_lit(2 * step)) * int_lit(step)
        return pl.when(nearest <= ceiling).then(nearest).otherwise(down)

    def _limit(self, allocated: pl.Expr) -> pl.Expr:
        """``graded_limit`` in cents for the row's grade (0 when the standards are not met)."""
        grades = self.compiled.grades
        own = {g.grade: self._limit_of(self.compiled.limits[g.grade], allocated) for g in grades}
        floors: dict[str, pl.Expr] = {}
        running: pl.Expr | None = None
        for g in reversed(grades):
            if g.rank > self.last_granting:
                floors[g.grade] = own[g.grade]
                continue
            running = own[g.grade] if running is None else largest([own[g.grade], running])
            floors[g.grade] = running
        grade = pl.col("__grade")
        chain: Any = pl.when(~pl.col("__eligible")).then(int_lit(0))
        for g in grades:
            chain = chain.when(grade == g.grade).then(floors[g.grade])
        result: pl.Expr = chain.otherwise(pl.lit(None, dtype=I128))
        return result

    def _allocate(self, work: pl.DataFrame) -> pl.DataFrame:
        """Share the portfolio total out in the documented order (see the module docstring)."""
        total = scaled(self.compiled.portfolio_total.quantize(CENT), 2)
        rank = pl.col("__grade").replace_strict(
            self.grade_names, list(range(len(self.grade_names))), return_dtype=pl.Int32
        )
        decided = work.with_row_index("__index").filter(pl.col("__decided"))
        ordered = decided.with_columns(rank.alias("__rank")).sort(
            ["__rank", "__score", "__id"], descending=[False, True, False], maintain_order=True
        )
        limits: list[pl.Series] = []
        allocated: list[pl.Series] = []
        spent, start = 0, 0
        while start < ordered.height:
            rest = ordered.slice(start)
            granted = rest.with_columns(int_lit(spent).alias("__allocated")).select(self.limit_expr.alias("limit"))
            granted = granted.with_columns(
                (pl.col("limit").cum_sum() - pl.col("limit") + int_lit(spent)).alias("before")
            )
            fits = granted.select((pl.col("before") + pl.col("limit") <= int_lit(total)).alias("fits"))["fits"]
            misfits = (~fits).arg_true()
            stop = rest.height if misfits.len() == 0 else int(misfits[0])
            limits.append(granted["limit"].slice(0, stop))
            allocated.append(granted["before"].slice(0, stop))
            if stop == rest.height:
                break
            spent = int(granted["before"][stop])
            start += stop
            # The row at `stop` is recomputed next pass under its exact remaining budget; it always fits then.
        index = ordered["__index"]
        placed = pl.DataFrame(
            {
                "__index": index,
                "__limit": pl.concat(limits) if limits else pl.Series([], dtype=I128),
                "__allocated": pl.concat(allocated) if allocated else pl.Series([], dtype=I128),
                "__position": pl.Series(range(ordered.height), dtype=pl.UInt32),
            },
            schema={"__index": pl.UInt32, "__limit": I128, "__allocated": I128, "__position": pl.UInt32},
        )
        joined = work.with_row_index("__index").join(placed, on="__index", how="left", maintain_order="left")
        return joined.drop("__index")

    # --- the decision -----------------------------------------------------------------------
    def evaluate(self, customers: pl.DataFrame, *, as_of: dt.date, allocation: Allocation = "rows") -> pl.DataFrame:
        """One result row per customer, appended to the customers' own columns."""
        frame = normalise("assess", customers)
        clashes = [c for c in frame.columns if c in RESULT_COLUMNS or c.startswith(("factors.", "__"))]
        if clashes:
            raise FrameError(f"the customers frame has columns the result uses: {', '.join(clashes)}")
        if allocation not in ("rows", "portfolio"):
            raise FrameError(f"unknown allocation {allocation!r} (rows or portfolio)")
        if allocation == "portfolio" and "portfolio.allocated" in frame.columns:
            if frame["portfolio.allocated"].null_count() < frame.height:
                raise FrameError("allocation='portfolio' computes portfolio.allocated; the frame must not give it")
            frame = frame.drop("portfolio.allocated")
        if allocation == "portfolio" and "allocation.position" in frame.columns:
            raise FrameError("the customers frame has columns the result uses: allocation.position")
        work = self._facts(frame)
        work = self._scores(work)
        work = work.with_columns(self.grade_expr.alias("__grade"))
        valid = pl.col("__problem").is_null()
        graded = valid & pl.col("__grade").is_not_null()
        python_plans = [p for p in self.plans.values() if isinstance(p, PythonComputed)]
        work = evaluate_python_computed(python_plans, self.fields, work, graded)
        hits = self.hits
        work = work.with_columns([h.alias(f"__std:{i}") for i, h in enumerate(hits)])
        out_of_range = (
            pl.any_horizontal([pl.col(p.error_column) for p in python_plans]) if python_plans else pl.lit(False)
        )
        if self.durable:
            out_of_range = out_of_range | out_of_rules_engine_range(self.standards, self.fields, self.plans)
        work = work.with_columns(
            pl.when(~valid)
            .then(pl.lit("invalid_request"))
            .when(pl.col("__grade").is_null())
            .then(pl.lit("grade_band_defect"))
            .when(out_of_range)
            .then(pl.lit("value_out_of_range"))
            .otherwise(pl.lit(None, dtype=pl.String))
            .alias("error")
        )
        decided = pl.col("error").is_null()
        failed_any = pl.any_horizontal([pl.col(f"__std:{i}") for i in range(len(hits))]) if hits else pl.lit(False)
        work = work.with_columns(decided.alias("__decided"), (~failed_any).alias("__eligible"))
        # A review date beyond the calendar refuses the row before any limit is shared out to it.
        work = self._review(work, as_of)
        work = self._python_methods(work)
        if allocation == "portfolio":
            work = self._allocate(work)
        else:
            given = column("portfolio.allocated").to_physical().fill_null(int_lit(0))
            work = work.with_columns(given.alias("__allocated"))
            work = work.with_columns(pl.when(pl.col("__decided")).then(self.limit_expr).alias("__limit"))
        return self._results(frame, work, allocation)

    def _review(self, work: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
        grades = self.grade_names
        days = [self.compiled.review_days[g] for g in grades]
        reachable = [g for g, n in zip(grades, days, strict=True) if n <= (dt.date.max - as_of).days]
        dates = [as_of + dt.timedelta(days=self.compiled.review_days[g]) for g in reachable]
        grade = pl.col("__grade")
        beyond = pl.col("__decided") & ~grade.is_in(reachable)
        return work.with_columns(
            grade.replace_strict(grades, days, default=None, return_dtype=pl.Int64).alias("__review_days"),
            grade.replace_strict(reachable, dates, default=None, return_dtype=pl.Date).alias("__next_review"),
            pl.when(beyond).then(pl.lit("date_out_of_range")).otherwise(pl.col("error")).alias("error"),
        ).with_columns((pl.col("__decided") & ~beyond).alias("__decided"))

    def _results(self, frame: pl.DataFrame, work: pl.DataFrame, allocation: Allocation) -> pl.DataFrame:
        decided = pl.col("__decided")
        ids = [r.id for r in self.standards]

        def reasons_of(key: tuple[Any, ...]) -> list[str]:
            return [ids[i] for i in set_bits(key)]

        work = list_by_key(
            work,
            bit_words([pl.col(f"__std:{i}") for i in range(len(ids))]),
            reasons_of,
            pl.List(pl.String),
            "__reasons",
        )
        terms = {g: self.compiled.terms[g].text for g in self.grade_names}
        grade = pl.col("__grade")
        message = (
            pl.when(pl.col("error") == "invalid_request")
            .then(pl.col("__problem"))
            .when(pl.col("error") == "grade_band_defect")
            .then(pl.lit("the score matched no grade band"))
            .when(pl.col("error") == "value_out_of_range")
            .then(pl.lit("a value is out of range"))
            .when(pl.col("error") == "date_out_of_range")
            .then(pl.lit("the next review date is beyond the calendar"))
            .otherwise(pl.lit(None, dtype=pl.String))
        )
        out = [
            pl.col("error"),
            message.alias("error_message"),
            pl.when(decided).then(from_cents(pl.col("__score"))).alias("score"),
            pl.when(decided).then(grade).alias("grade"),
            pl.when(decided).then(pl.col("__eligible")).alias("eligible"),
            pl.when(decided).then(pl.col("__reasons")).alias("reasons"),
            pl.when(decided).then(from_cents(pl.col("__limit"))).alias("credit_limit"),
            pl.when(decided)
            .then(
                pl.when(pl.col("__eligible"))
                .then(grade.replace_strict(terms, default=None))
                .otherwise(pl.lit("cash in advance"))
            )
            .alias("terms"),
            pl.when(decided).then(pl.col("__review_days")).alias("review_interval_days"),
            pl.when(decided).then(pl.col("__next_review")).alias("next_review"),
        ]
        if allocation == "portfolio":
            out += [
                pl.when(decided).then(from_cents(pl.col("__allocated"))).alias("portfolio.allocated"),
                pl.when(decided).then(pl.col("__position")).alias("allocation.position"),
            ]
        for factor in self.compiled.factors:
            points, weighted = factor_columns(factor.id)
            out += [
                pl.when(decided).then(from_cents(pl.col(f"__pts:{factor.id}"))).alias(points),
                pl.when(decided).then(from_units(pl.col(f"__w4:{factor.id}"), 4)).alias(weighted),
            ]
        results = work.select(out)
        return pl.concat([frame, results], how="horizontal")

"""plan_collection for a whole arrears frame: the next ladder step and the auxiliary measures at once.

Each row gets what ``engine.decisions.collection.plan_collection`` gives for its request: the
segment's ladder (arbitration only with an agreement), never a step back, one step at a time
unless the segment may skip, the spacing after the latest step taken, disputes pausing the ladder
and the measures that wait with it, the penalty interest amount, and the reasons in rule order.

Dates are computed as days since 1970 (Int32) and refused beyond the year 9999, like
``engine.decisions.settlement.add_days``. The penalty interest ``amount × daily rate × days`` is
exact in Int128 when the Decimal engine's two products fit in its 28 digits (it then rounds
nothing); otherwise that amount is computed row by row with the engine's own expression.

The result columns are flat: ``next_step.*``, and for each auxiliary action of the policy
language ``auxiliary.<action>.*`` (null where the segment's ladder does not use it); the list
columns (reasons, skipped steps, actions due now) are built once per distinct pattern.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

import polars as pl

from engine.decisions.collection import PAUSED_BY_DISPUTE
from engine.ir import CompiledPolicy, LadderIR
from engine.models import MAX_AMOUNT
from engine.vectorised.fallback import patch_rows
from engine.vectorised.fixedpoint import I128, from_cents, half_up_div, int_lit
from engine.vectorised.frames import LAST_DAY, FrameError, complete, normalise, row_problem, value
from engine.vectorised.lists import list_by_key
from policy.schema import AUXILIARY_ACTIONS, LADDER_STEPS

__all__ = ["CollectionEvaluator", "RESULT_COLUMNS", "STEP_REASONS", "auxiliary_columns"]

CENT: Final = Decimal("0.01")
# Reason codes of a step or auxiliary rule, by their index in the key (0: the rule did not hold).
STEP_REASONS: Final = (
    None,
    "STEP_TAKEN",
    "STEP_PASSED_OVER",
    "STEP_PAUSED",
    "STEP_DUE",
    "STEP_WAITING",
    "STEP_SKIPPED",
    "STEP_AFTER_NEXT",
    "AUXILIARY_DUE",
    "AUXILIARY_PAUSED",
)
_CODE: Final = {code: i for i, code in enumerate(STEP_REASONS) if code is not None}
RESULT_COLUMNS: Final = (
    "error",
    "error_message",
    "current_step",
    "paused",
    "next_step.step",
    "next_step.threshold_days",
    "next_step.due_on",
    "next_step.due_now",
    "next_step.skipped",
    "reasons",
    "actions_due_now",
)
_REASON: Final = pl.List(pl.Struct({"rule": pl.String, "reason": pl.String}))
_EPOCH: Final = dt.date(1970, 1, 1)


def auxiliary_columns(action: str) -> tuple[str, str, str, str]:
    """The result columns of one auxiliary action: threshold_days, due_now, due_on, amount."""
    base = f"auxiliary.{action}"
    return f"{base}.threshold_days", f"{base}.due_now", f"{base}.due_on", f"{base}.amount"


def _pick(index: pl.Expr, values: list[pl.Expr]) -> pl.Expr:
    """``values[index]`` per row (null when the index is null)."""
    return pl.coalesce([pl.when(index == j).then(v) for j, v in enumerate(values)])


def _day(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Int32)


def _date(days: pl.Expr) -> pl.Expr:
    return days.cast(pl.Date)


class CollectionEvaluator:
    """The collection decision of one compiled policy as Polars expressions."""

    def __init__(self, compiled: CompiledPolicy) -> None:
        self.compiled = compiled
        self.sources = {r.id: r.source for r in compiled.tables["collection"].rules}
        self.stages = [self._by_segment(stage) for stage in (self._stage_steps, self._stage_dates, self._stage_reasons)]

    # --- per ladder: three stages, each reading the columns the one before wrote -------------
    # (one expression tree per stage keeps Polars' planning time small; nested trees that repeat
    # the chosen step in every reason code take seconds to plan even for one row)
    @staticmethod
    def _stage_steps(ladder: LadderIR) -> dict[str, pl.Expr]:
        """Which steps' thresholds are reached, which steps may come next, and the one that does."""
        days, agreement, current = pl.col("__days"), pl.col("__agreement"), pl.col("__current")
        overdue = days > 0
        out: dict[str, pl.Expr] = {}
        for j, (name, threshold) in enumerate(ladder.steps):
            allowed = agreement if name == "arbitration" else pl.lit(True)
            out[f"__passed:{j}"] = (days >= threshold) & overdue & allowed
            out[f"__cand:{j}"] = (pl.lit(LADDER_STEPS.index(name)) > current) & allowed
        candidate = [out[f"__cand:{j}"] for j in range(len(ladder.steps))]
        passed = [out[f"__passed:{j}"] for j in range(len(ladder.steps))]
        first = pl.coalesce([pl.when(c).then(pl.lit(j, dtype=pl.Int32)) for j, c in enumerate(candidate)])
        chosen = first
        if ladder.skip_steps:
            pairs = enumerate(zip(candidate, passed, strict=True))
            hardest = [pl.when(c & p).then(pl.lit(j, dtype=pl.Int32)) for j, (c, p) in pairs]
            chosen = pl.coalesce([*reversed(hardest), first])
        out["__chosen"] = chosen
        out["__exhausted"] = first.is_null()
        out["__paused"] = pl.col("__disputed") & pl.lit(ladder.pause_when_disputed)
        out["__candidates"] = pl.concat_str([pl.when(c).then(pl.lit("1")).otherwise(pl.lit("0")) for c in candidate])
        for action, threshold in ladder.auxiliary:
            out[f"__held:{action}"] = (days >= threshold) & overdue
            out[f"__aux_threshold:{action}"] = pl.lit(threshold, dtype=pl.Int64)
        return out

    @staticmethod
    def _stage_dates(ladder: LadderIR) -> dict[str, pl.Expr]:
        """When the chosen step falls due (threshold reached, spaced from the latest step taken)."""
        days, as_of, chosen = pl.col("__days"), pl.col("__as_of"), pl.col("__chosen")
        threshold = _pick(chosen, [pl.lit(thr, dtype=pl.Int64) for _, thr in ladder.steps])
        chosen_passed = _pick(chosen, [pl.col(f"__passed:{j}") for j in range(len(ladder.steps))])
        effective = pl.when(threshold < 1).then(pl.lit(1, dtype=pl.Int64)).otherwise(threshold)
        reached = pl.when(days >= effective).then(as_of).otherwise(as_of + (effective - days).cast(pl.Int32))
        spacing = pl.col("__last_on") + pl.lit(ladder.min_days_between_steps, dtype=pl.Int32)
        due_on = pl.when(spacing.is_not_null() & (spacing > reached)).then(spacing).otherwise(reached)
        has_next = chosen.is_not_null() & ~pl.col("__paused")
        out: dict[str, pl.Expr] = {
            "__threshold": threshold,
            "__due_on": due_on,
            "__has_next": has_next,
            "__date_error": has_next & ((reached > LAST_DAY) | (spacing.is_not_null() & (spacing > LAST_DAY))),
            "__due_now": chosen_passed.fill_null(False) & (due_on <= as_of),
        }
        for action, threshold_days in ladder.auxiliary:
            effective_aux = max(threshold_days, 1)
            later = as_of + (effective_aux - days).cast(pl.Int32)
            out[f"__aux_on:{action}"] = pl.when(days >= effective_aux).then(as_of).otherwise(later)
            waits = pl.col("__paused") & pl.lit(action in PAUSED_BY_DISPUTE)
            held = pl.col(f"__held:{action}")
            out[f"__aux_due_now:{action}"] = held & ~waits
            code = pl.when(~held).then(0).when(waits).then(_CODE["AUXILIARY_PAUSED"]).otherwise(_CODE["AUXILIARY_DUE"])
            out[f"__aux_code:{action}"] = code.cast(pl.Int8)
        return out

    @staticmethod
    def _stage_reasons(ladder: LadderIR) -> dict[str, pl.Expr]:
        """The reason code of each step rule that held (engine.decisions.collection._step_reason)."""
        chosen, current, paused = pl.col("__chosen"), pl.col("__current"), pl.col("__paused")
        step_due_now = pl.col("__has_next") & pl.col("__due_now")
        out: dict[str, pl.Expr] = {"__step_due_now": step_due_now}
        for j, (name, _) in enumerate(ladder.steps):
            taken = pl.when(pl.col(f"__taken:{name}")).then(_CODE["STEP_TAKEN"]).otherwise(_CODE["STEP_PASSED_OVER"])
            code = (
                pl.when(~pl.col(f"__passed:{j}"))
                .then(0)
                .when(pl.lit(LADDER_STEPS.index(name)) <= current)
                .then(taken)
                .when(paused)
                .then(_CODE["STEP_PAUSED"])
                .when(chosen == j)
                .then(pl.when(step_due_now).then(_CODE["STEP_DUE"]).otherwise(_CODE["STEP_WAITING"]))
                .when(pl.col(f"__cand:{j}") & (chosen > j))
                .then(_CODE["STEP_SKIPPED"])
                .otherwise(_CODE["STEP_AFTER_NEXT"])
            )
            out[f"__code:{j}"] = code.cast(pl.Int8)
        return out

    def _by_segment(self, stage: Callable[[LadderIR], dict[str, pl.Expr]]) -> list[pl.Expr]:
        """One stage for every ladder: each row keeps its own segment's values."""
        per_ladder = {seg: stage(ladder) for seg, ladder in self.compiled.ladders.items()}
        names = sorted({n for quantities in per_ladder.values() for n in quantities})
        chosen: list[pl.Expr] = []
        for name in names:
            chain: Any = None
            for seg, quantities in per_ladder.items():
                if name not in quantities:
                    continue
                test, quantity = pl.col("__segment") == seg, quantities[name]
                chain = pl.when(test).then(quantity) if chain is None else chain.when(test).then(quantity)
            chosen.append(chain.otherwise(None).alias(name))
        return chosen

    # --- penalty interest -------------------------------------------------------------------
    def _penalty(self, work: pl.DataFrame) -> pl.DataFrame:
        """``(amount × daily_rate × days).quantize(0.01, HALF_UP)`` (engine.decisions.collection), in cents."""
        grades = list(self.compiled.terms)
        penalties = {g: self.compiled.terms[g].penalty for g in grades}
        mantissa: dict[str, int] = {}
        exponent: dict[str, int] = {}
        for g, p in penalties.items():
            sign, digits, exp = p.daily_rate.as_tuple()
            assert isinstance(exp, int) and sign == 0
            mantissa[g] = int("".join(map(str, digits)))
            exponent[g] = exp
        grade = pl.col("__grade")

        def by_grade(values: list[int], dtype: pl.DataType) -> pl.Expr:
            return grade.replace_strict(grades, pl.Series(values, dtype=dtype), default=None, return_dtype=dtype)

        m = by_grade([mantissa[g] for g in grades], I128)
        down = by_grade([10 ** max(0, -exponent[g]) for g in grades], I128)
        up = by_grade([10 ** max(0, exponent[g]) for g in grades], I128)
        grace = by_grade([penalties[g].grace_days for g in grades], pl.Int64())
        interest_days = pl.col("__days") - grace
        interest_days = pl.when(interest_days < 0).then(0).otherwise(interest_days)
        amount = pl.col("__amount")
        # A mantissa of 12 digits or more goes to the fallback; zeroing it first keeps the products in Int128.
        short = m < int_lit(10**12)
        first = amount * pl.when(short).then(m).otherwise(int_lit(0))
        product = first * interest_days.cast(I128)
        limit = int_lit(10**28)
        exact = short & (first < limit) & (product < limit)
        # value = amount_cents · m · days · 10^(exponent - 2); in cents: · 10^exponent
        cents = half_up_div(product * up, down)
        work = work.with_columns(
            pl.when(pl.col("__decided") & exact).then(cents).alias("__penalty"),
            interest_days.alias("__interest_days"),
        )

        def compute(row: Mapping[str, Any]) -> list[int]:
            rate = penalties[row["grade"]].daily_rate
            value = (Decimal(row["amount"]).scaleb(-2) * rate * row["days"]).quantize(CENT, rounding=ROUND_HALF_UP)
            return [int(value.scaleb(2))]

        needs = pl.col("__decided") & ~exact.fill_null(False)
        inputs = {"grade": grade, "amount": amount, "days": pl.col("__interest_days")}
        return patch_rows(work, needs, inputs, {"__penalty": I128}, compute)

    # --- the decision -----------------------------------------------------------------------
    def evaluate(self, arrears: pl.DataFrame) -> pl.DataFrame:
        """One result row per arrears item, appended to the frame's own columns."""
        frame = normalise("collection", arrears)
        clashes = [c for c in frame.columns if c in RESULT_COLUMNS or c.startswith(("auxiliary.", "__"))]
        if clashes:
            raise FrameError(f"the arrears frame has columns the result uses: {', '.join(clashes)}")
        compiled = self.compiled
        segment = value("collection", "customer.segment")
        grade = value("collection", "customer.grade")
        valid = pl.col("__problem").is_null()
        work = complete("collection", frame).with_columns(row_problem("collection").alias("__problem"))
        refused = (
            pl.when(~valid)
            .then(pl.lit("invalid_request"))
            .when(~segment.is_in(list(compiled.ladders)))
            .then(pl.lit("unknown_segment"))
            .when(~grade.is_in(list(compiled.terms)))
            .then(pl.lit("unknown_grade"))
            .otherwise(pl.lit(None, dtype=pl.String))
        )
        work = work.with_columns(refused.alias("__refused"))
        usable = pl.col("__refused").is_null()
        steps = value("collection", "arrears.steps_taken")
        names = steps.list.eval(pl.element().struct.field("step"))
        taken = [pl.when(usable).then(names.list.contains(s)).alias(f"__taken:{s}") for s in LADDER_STEPS]
        work = work.with_columns(
            pl.when(usable).then(segment).alias("__segment"),
            pl.when(usable).then(grade).alias("__grade"),
            pl.when(usable).then(value("collection", "arrears.days_overdue")).alias("__days"),
            pl.when(usable).then(value("collection", "arrears.amount").to_physical()).alias("__amount"),
            pl.when(usable).then(value("collection", "arrears.arbitration_agreement")).alias("__agreement"),
            pl.when(usable).then(value("collection", "arrears.disputed")).alias("__disputed"),
            _day(value("collection", "as_of")).alias("__as_of"),
            _day(steps.list.eval(pl.element().struct.field("on")).list.max()).alias("__last_on"),
            *taken,
        )
        ranks = [pl.when(pl.col(f"__taken:{s}")).then(pl.lit(i, dtype=pl.Int32)) for i, s in enumerate(LADDER_STEPS)]
        work = work.with_columns(pl.max_horizontal(ranks).fill_null(-1).alias("__current"))
        for stage in self.stages:
            work = work.with_columns(stage)
        work = work.with_columns(usable.alias("__decided"))
        work = self._penalty(work)
        aux_date_errors = [
            pl.col(f"__aux_on:{a}") > LAST_DAY for a in AUXILIARY_ACTIONS if f"__aux_on:{a}" in work.columns
        ]
        amount_error = pl.col("__penalty").fill_null(0) >= int_lit(int(MAX_AMOUNT) * 100)
        if "__aux_code:penalty_interest" not in work.columns:
            amount_error = pl.lit(False)
        else:
            amount_error = amount_error & pl.col("__aux_code:penalty_interest").is_not_null()
        error = (
            pl.when(~usable)
            .then(pl.col("__refused"))
            .when(pl.col("__date_error").fill_null(False))
            .then(pl.lit("date_out_of_range"))
            .when(amount_error)
            .then(pl.lit("amount_out_of_range"))
            .when(pl.any_horizontal(aux_date_errors).fill_null(False) if aux_date_errors else pl.lit(False))
            .then(pl.lit("date_out_of_range"))
            .otherwise(pl.lit(None, dtype=pl.String))
        )
        work = work.with_columns(error.alias("error"))
        return self._results(frame, work)

    def _results(self, frame: pl.DataFrame, work: pl.DataFrame) -> pl.DataFrame:
        decided = pl.col("error").is_null()
        ladders = self.compiled.ladders
        step_slots = max(len(lad.steps) for lad in ladders.values())
        reason_keys = [pl.col("__segment")]
        reason_keys += [
            pl.col(f"__code:{j}") if f"__code:{j}" in work.columns else pl.lit(None) for j in range(step_slots)
        ]
        reason_keys += [
            pl.col(f"__aux_code:{a}") if f"__aux_code:{a}" in work.columns else pl.lit(None, dtype=pl.Int8)
            for a in AUXILIARY_ACTIONS
        ]
        reason_keys += [pl.col("__paused"), pl.col("__exhausted")]

        def reasons_of(key: tuple[Any, ...]) -> list[dict[str, str | None]]:
            segment, rest = key[0], key[1:]
            if segment is None:
                return []
            ladder = ladders[segment]
            codes, aux_codes, paused, exhausted = (
                rest[:step_slots],
                rest[step_slots : step_slots + 3],
                rest[-2],
                rest[-1],
            )
            out = []
            for (name, _), code in zip(ladder.steps, codes, strict=False):
                if code:
                    out.append({"rule": f"collection.{segment}.step.{name}", "reason": STEP_REASONS[code]})
            for action, code in zip(AUXILIARY_ACTIONS, aux_codes, strict=True):
                if code:
                    out.append({"rule": f"collection.{segment}.aux.{action}", "reason": STEP_REASONS[code]})
            for flag, why in ((paused, "DISPUTE_PENDING"), (exhausted, "LADDER_EXHAUSTED")):
                if flag:
                    out.append({"rule": f"collection.{segment}", "reason": why})
            return out

        work = list_by_key(work, [pl.when(decided).then(k) for k in reason_keys], reasons_of, _REASON, "__reasons")

        def skipped_of(key: tuple[Any, ...]) -> list[str]:
            segment, chosen, candidates = key
            if segment is None or chosen is None:
                return []
            steps = ladders[segment].steps
            return [steps[j][0] for j in range(chosen) if candidates[j] == "1"]

        skipped_keys = [pl.col("__segment"), pl.col("__chosen"), pl.col("__candidates")]
        work = list_by_key(
            work, [pl.when(decided).then(k) for k in skipped_keys], skipped_of, pl.List(pl.String), "__skipped"
        )
        aux_present = [a for a in AUXILIARY_ACTIONS if f"__aux_due_now:{a}" in work.columns]
        next_name = self._step_name()
        due_keys = [pl.col("__step_due_now") & pl.col("__has_next"), next_name]
        due_keys += [pl.col(f"__aux_due_now:{a}") for a in aux_present]

        def due_of(key: tuple[Any, ...]) -> list[str]:
            step_due, step, *aux = key
            return [*([step] if step_due else []), *(a for a, due in zip(aux_present, aux, strict=True) if due)]

        work = list_by_key(work, [pl.when(decided).then(k) for k in due_keys], due_of, pl.List(pl.String), "__due")
        has_next = decided & pl.col("__has_next")
        current = pl.col("__current").replace_strict(
            list(range(len(LADDER_STEPS))), list(LADDER_STEPS), default=None, return_dtype=pl.String
        )
        out = [
            pl.col("error"),
            pl.when(pl.col("error") == "invalid_request").then(pl.col("__problem")).alias("error_message"),
            pl.when(decided).then(current).alias("current_step"),
            pl.when(decided).then(pl.col("__paused")).alias("paused"),
            pl.when(has_next).then(next_name).alias("next_step.step"),
            pl.when(has_next).then(pl.col("__threshold")).alias("next_step.threshold_days"),
            pl.when(has_next).then(_date(pl.col("__due_on"))).alias("next_step.due_on"),
            pl.when(has_next).then(pl.col("__due_now")).alias("next_step.due_now"),
            pl.when(has_next).then(pl.col("__skipped")).alias("next_step.skipped"),
            pl.when(decided).then(pl.col("__reasons")).alias("reasons"),
            pl.when(decided).then(pl.col("__due")).alias("actions_due_now"),
        ]
        for action in AUXILIARY_ACTIONS:
            threshold, due_now, due_on, amount = auxiliary_columns(action)
            if action not in aux_present:
                continue
            used = decided & pl.col(f"__aux_code:{action}").is_not_null()
            out += [
                pl.when(used).then(pl.col(f"__aux_threshold:{action}")).alias(threshold),
                pl.when(used).then(pl.col(f"__aux_due_now:{action}")).alias(due_now),
                pl.when(used).then(_date(pl.col(f"__aux_on:{action}"))).alias(due_on),
            ]
            if action == "penalty_interest":
                out.append(pl.when(used).then(from_cents(pl.col("__penalty"))).alias(amount))
        results = work.select(out)
        return pl.concat([frame, results], how="horizontal")

    def _step_name(self) -> pl.Expr:
        chain: Any = None
        for seg, ladder in self.compiled.ladders.items():
            for j, (name, _) in enumerate(ladder.steps):
                test = (pl.col("__segment") == seg) & (pl.col("__chosen") == j)
                chain = pl.when(test).then(pl.lit(name)) if chain is None else chain.when(test).then(pl.lit(name))
        result: pl.Expr = chain.otherwise(pl.lit(None, dtype=pl.String))
        return result

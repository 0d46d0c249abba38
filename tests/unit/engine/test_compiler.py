"""The compiler: named stages in order, each a typed product; every problem located, all at once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine import compiler
from engine.errors import CompileError
from engine.ir import RuleSpec, SourceRef
from engine.matchers import python_matcher
from policy.expressions import Arith, Compare, FieldRef, Literal
from policy.fields import FieldType
from policy.validate import LoadedPolicy


def test_the_stages_run_in_their_order_and_the_tables_come_after_every_condition() -> None:
    names = [stage.__name__ for stage in compiler.STAGES]
    assert names == [
        "stage_meta",
        "stage_scorecard",
        "stage_grades",
        "stage_standards",
        "stage_limits",
        "stage_terms",
        "stage_order_rules",
        "stage_ladders",
        "stage_rule_tables",
        "stage_engine_budget",
        "stage_matchers",
    ]


def test_each_stage_returns_its_product_which_later_stages_read_by_type(shipped_loaded: LoadedPolicy) -> None:
    compilation = compiler._Compilation(shipped_loaded, python_matcher)
    with pytest.raises(KeyError):
        compiler.stage_rule_tables(compilation)  # run too early: the products it reads are not there
    for stage in compiler.STAGES:
        compilation.put(stage(compilation))
    grades = compilation.get(compiler.GradeScale).grades
    assert [g.grade for g in grades][:3] == ["AAA", "AA", "A"]
    assert set(compilation.get(compiler.RuleTables).tables) == {
        "grades",
        "standards",
        "order",
        "collection",
        "settlement",
    }


def test_a_rule_a_matcher_cannot_compile_is_a_located_issue_and_all_are_reported() -> None:
    amount = FieldRef("order.amount", FieldType.MONEY, False)
    unhoisted = Compare(
        ">", Arith("*", amount, Literal(Decimal(2), FieldType.NUMBER)), Literal(Decimal(1), FieldType.NUMBER)
    )
    rules = [
        RuleSpec("order_rules.a", unhoisted, SourceRef("p.yaml", 12, 7)),
        RuleSpec("order_rules.b", unhoisted, SourceRef("p.yaml", 20, 7)),
    ]
    with pytest.raises(CompileError) as caught:
        python_matcher("test", rules)
    assert [(i.file, i.line, i.column, i.path, i.code) for i in caught.value.issues] == [
        ("p.yaml", 12, 7, ("order_rules.a",), "arith_not_hoisted"),
        ("p.yaml", 20, 7, ("order_rules.b",), "arith_not_hoisted"),
    ]
    assert caught.value.code == "arith_not_hoisted" and "p.yaml:20:7" in caught.value.message


def test_problems_of_the_content_stages_stop_before_the_tables_with_every_location(
    shipped_loaded: LoadedPolicy,
) -> None:
    compilation = compiler._Compilation(shipped_loaded, python_matcher)
    compilation.problem(("order_rules", "rules", 0, "when"), "column 3: no such field", "unknown_field")
    compilation.problem(("terms", "per_grade", "A"), "column 1: not terms", "terms_syntax")
    for stage in compiler.STAGES[:8]:
        compilation.put(stage(compilation))
    with pytest.raises(CompileError) as caught:
        compiler.stage_rule_tables(compilation)
    assert [(i.path[0], i.code) for i in caught.value.issues] == [
        ("order_rules", "unknown_field"),
        ("terms", "terms_syntax"),
    ]
    assert all(i.file == "rules/standard.yaml" and i.line > 1 for i in caught.value.issues)

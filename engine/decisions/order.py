"""order: may this order ship on credit? → approve / hold / reject, with every reason and its rule."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from engine.decisions.assess import run_assessment
from engine.decisions.kind import DecisionKind
from engine.errors import InputError
from engine.facts import ratio, with_computed
from engine.ir import CompiledPolicy, FactValue
from engine.models import AssessRequest, CustomerRef, OrderRequest, OrderResult, Reason
from engine.results import policy_ref
from engine.trace import Trace

__all__ = ["ORDER", "SEVERITY", "check_order"]

Outcome = Literal["approve", "hold", "reject"]
SEVERITY: dict[Outcome, int] = {"approve": 0, "hold": 1, "reject": 2}


def _meets_min_grade(compiled: CompiledPolicy, grade: str) -> bool:
    minimum = compiled.standards.min_grade
    return minimum is None or compiled.grade(grade).rank <= compiled.grade(minimum).rank


def check_order(compiled: CompiledPolicy, request: OrderRequest, trace: Trace) -> OrderResult:
    """Evaluate the order rules on the customer, the order and the exposure."""
    c, o, e = request.customer, request.order, request.exposure
    if o.currency != compiled.meta.currency:
        raise InputError(
            f"the policy decides in {compiled.meta.currency}, the order is in {o.currency}",
            field="order.currency",
            code="currency_mismatch",
        )
    blacklisted = c.blacklisted or c.id in compiled.standards.blacklist
    if c.credit_file is not None:
        inline = run_assessment(
            compiled,
            AssessRequest(
                customer=CustomerRef(id=c.id, segment=c.segment), credit_file=c.credit_file, as_of=request.as_of
            ),
            trace,
        ).result
        grade, limit, eligible = inline.grade, inline.credit_limit, inline.eligible and not blacklisted
        trace.set_plain("inline_assessment", inline.model_dump(mode="json"))
    else:
        assert c.grade is not None and c.limit is not None
        if c.grade not in compiled.limits:
            known = ", ".join(g.grade for g in compiled.grades)
            raise InputError(
                f"unknown grade {c.grade!r} (the policy's grades are {known})",
                field="customer.grade",
                code="unknown_grade",
            )
        grade, limit = c.grade, c.limit
        eligible = not blacklisted and _meets_min_grade(compiled, grade)
    total = e.open_receivables + e.open_orders
    available = limit - total
    after = available - o.amount
    fact: dict[str, FactValue] = {
        "customer.id": c.id,
        "customer.segment": c.segment,
        "customer.grade": grade,
        "customer.limit": limit,
        "customer.blacklisted": blacklisted,
        "customer.eligible": eligible,
        "order.id": o.id,
        "order.amount": o.amount,
        "exposure.open_receivables": e.open_receivables,
        "exposure.open_orders": e.open_orders,
        "exposure.overdue_amount": e.overdue_amount,
        "exposure.oldest_overdue_days": Decimal(e.oldest_overdue_days),
        "exposure.total": total,
        "credit.available": available,
        "credit.available_after": after,
        "credit.utilisation_after": ratio(total + o.amount, limit),
    }
    with_computed(fact, compiled.tables["order"].computed)
    hits = compiled.rulesets.order.match([fact])[0]
    spec = compiled.order_rules
    rules = spec.by_id
    if spec.combine == "first_match":
        hits = hits[:1]
    trace.fired("order", hits)
    reasons = [
        Reason(rule=rid, reason=rules[rid].reason, outcome=rules[rid].outcome, source=str(rules[rid].source))
        for rid in hits
    ]
    outcome: Outcome
    if reasons:
        outcome = max((rules[rid].outcome for rid in hits), key=SEVERITY.__getitem__)
    else:
        outcome = spec.default_outcome
        reasons = [
            Reason(
                rule="order_rules.default", reason=spec.default_reason, outcome=outcome, source=str(spec.default_source)
            )
        ]
        trace.fired_default("order_rules.default", str(spec.default_source))
    trace.set_later("fact", lambda: {k: v for k, v in sorted(fact.items()) if not k.startswith("_")})
    trace.set("combine", spec.combine)
    return OrderResult(
        order_id=o.id,
        customer_id=c.id,
        outcome=outcome,
        reasons=reasons,
        grade=grade,
        eligible=eligible,
        credit_limit=limit,
        exposure_total=total,
        available_before=available,
        available_after=after,
        policy=policy_ref(compiled),
    )


ORDER = DecisionKind(
    name="order",
    request=OrderRequest,
    result=OrderResult,
    evaluate=check_order,
    outcome=lambda result: result.outcome,
    as_of=lambda request: request.as_of,
    customer_id=lambda request: request.customer.id,
    order_id=lambda request: request.order.id,
)

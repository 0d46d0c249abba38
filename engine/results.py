"""Small builders of the output pieces every decision shares."""

from __future__ import annotations

from functools import cache

from engine.ir import CompiledPolicy, PolicyMetaIR, TermsIR
from engine.models import Discount, PenaltyTerms, PolicyRef, TermsOut

__all__ = ["policy_ref", "terms_out"]


def policy_ref(compiled: CompiledPolicy) -> PolicyRef:
    """Which policy version decided (one immutable object per compiled version)."""
    return _policy_ref(compiled.meta)


@cache
def _policy_ref(meta: PolicyMetaIR) -> PolicyRef:
    return PolicyRef(id=meta.policy_id, version=meta.version, sha256=meta.sha256)


def terms_out(terms: TermsIR) -> TermsOut:
    """Terms as returned to callers: the canonical text and its parsed structure."""
    p = terms.penalty
    return TermsOut(
        text=terms.text,
        credit_days=terms.credit_days,
        cash_in_advance=terms.cash_in_advance,
        discounts=[Discount(rate=t.rate, days=t.days) for t in terms.tiers],
        penalty=PenaltyTerms(rate=p.rate, per=p.per, basis=p.basis, grace_days=p.grace_days, daily_rate=p.daily_rate),
    )

"""The shadow report: how the challengers decided beside the live decisions, per decision kind.

Per kind: how many live decisions were shadowed, how many the challenger agreed with (whole
outputs equal, compared as a replay compares them: :mod:`api.service.decisions.compare`), the
**transitions** champion → challenger with their counts and what they weigh — for orders the
order amounts per currency (``approve → hold: 40, CNY 4,800,000.00``), for assessments the change
of the credit limits (each transition's, and the total limit under each version) — the
challenger's errors by code, and a few **samples** (the newest rows that differ, with what
differed).

The rows are read once, oldest first, as a stream (:meth:`ShadowRepository.scan`), and only
counters are kept, so a report over millions of shadowed log rows holds a few dictionaries; the samples
are one bounded query per kind. Sums are exact (``Decimal``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from api.adapters.db.records import ShadowRecord
from api.adapters.db.repository import ShadowQuery
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.errors import RefusedField
from api.service.jsontext import iso, utc
from engine.decide import DECISION_KINDS, kind_named

__all__ = ["SAMPLES", "ShadowReport", "report_lines", "shadow_report"]

SAMPLES = 5  # per kind


@dataclass
class _Transition:
    count: int = 0
    amounts: dict[str, Decimal] = field(default_factory=dict)  # orders: currency -> sum of the order amounts
    limit_delta: Decimal = Decimal(0)  # assessments: sum of (challenger limit - champion limit)


@dataclass
class _Tally:
    shadowed: int = 0
    agreed: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    transitions: dict[tuple[str, str], _Transition] = field(default_factory=dict)
    same_outcome_differ: int = 0  # the outcome is the same, something else differs
    champion_limits: Decimal = Decimal(0)
    challenger_limits: Decimal = Decimal(0)
    challengers: set[tuple[str, str]] = field(default_factory=set)  # (label, sha256)

    def add(self, row: ShadowRecord) -> None:
        self.shadowed += 1
        self.challengers.add((row.challenger_label, row.challenger_sha256))
        if row.error_code is not None:
            self.errors[row.error_code] += 1
            return
        if row.agree:
            self.agreed += 1
        champion_limit = _decimal(row.champion_limit)
        challenger_limit = _decimal(row.challenger_limit)
        self.champion_limits += champion_limit
        self.challenger_limits += challenger_limit
        if row.challenger_outcome == row.champion_outcome:
            self.same_outcome_differ += not row.agree
            return
        key = (row.champion_outcome, row.challenger_outcome or "")
        moved = self.transitions.setdefault(key, _Transition())
        moved.count += 1
        if row.currency is not None:
            moved.amounts[row.currency] = moved.amounts.get(row.currency, Decimal(0)) + _decimal(row.order_amount)
        moved.limit_delta += challenger_limit - champion_limit


def _decimal(text: str | None) -> Decimal:
    return Decimal(text) if text else Decimal(0)


def _money(value: Decimal) -> str:
    return f"{value:f}"


@dataclass(frozen=True)
class ShadowReport:
    """The report as data: :meth:`content` is what the API returns and ``--format json`` prints."""

    policy_id: str | None
    kind: str | None
    since: dt.datetime | None
    until: dt.datetime | None
    tallies: dict[str, _Tally]
    samples: dict[str, list[ShadowRecord]]

    def content(self) -> dict[str, Any]:
        return {
            "policy_id": self.policy_id,
            "kind": self.kind,
            "since": iso(self.since) if self.since else None,
            "until": iso(self.until) if self.until else None,
            "kinds": [self._kind(kind, tally) for kind, tally in self.tallies.items()],
        }

    def _kind(self, kind: str, tally: _Tally) -> dict[str, Any]:
        evaluated = tally.shadowed - sum(tally.errors.values())
        rate = None if evaluated == 0 else f"{Decimal(tally.agreed) / evaluated:.4f}"
        document: dict[str, Any] = {
            "kind": kind,
            "challengers": [{"version": label, "sha256": sha} for label, sha in sorted(tally.challengers)],
            "shadowed": tally.shadowed,
            "evaluated": evaluated,
            "agreed": tally.agreed,
            "agreement_rate": rate,
            "same_outcome_other_output": tally.same_outcome_differ,
            "transitions": [
                {
                    "champion": champion,
                    "challenger": challenger,
                    "count": moved.count,
                    **(
                        {"amounts": [{"currency": c, "amount": _money(a)} for c, a in sorted(moved.amounts.items())]}
                        if kind == "order"
                        else {}
                    ),
                    **({"limit_delta": _money(moved.limit_delta)} if kind == "assess" else {}),
                }
                for (champion, challenger), moved in sorted(
                    tally.transitions.items(), key=lambda item: (-item[1].count, item[0])
                )
            ],
            "errors": [{"code": code, "count": count} for code, count in sorted(tally.errors.items())],
            "samples": [_sample(row) for row in self.samples.get(kind, [])],
        }
        if kind == "assess":
            document["limits"] = {
                "champion_total": _money(tally.champion_limits),
                "challenger_total": _money(tally.challenger_limits),
                "delta": _money(tally.challenger_limits - tally.champion_limits),
            }
        return document


def _sample(row: ShadowRecord) -> dict[str, Any]:
    return {
        "decision_id": row.decision_id,
        "customer_id": row.customer_id,
        "created_at": iso(row.created_at),
        "champion_outcome": row.champion_outcome,
        "challenger_outcome": row.challenger_outcome,
        "error_code": row.error_code,
        "differences": json.loads(row.differences_json) if row.differences_json else [],
    }


def shadow_report(
    uow: AbstractUnitOfWork,
    *,
    policy_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    kind: str | None = None,
    samples: int = SAMPLES,
) -> ShadowReport:
    """Aggregate the shadows in the log matching every filter given (``since`` inclusive, ``until`` exclusive)."""
    since, until = utc(since), utc(until)
    if since is not None and until is not None and until <= since:
        raise RefusedField(f"until ({until}) must fall after since ({since})", code="inverted_range", parameter="until")
    if kind is not None:
        kind_named(kind)  # an unknown kind is refused, naming the known ones
    query = ShadowQuery(policy_id=policy_id, kind=kind, since=since, until=until)
    tallies: dict[str, _Tally] = {}
    for row in uow.shadows.scan(query):
        tally = tallies.get(row.kind)
        if tally is None:
            tally = tallies[row.kind] = _Tally()
        tally.add(row)
    ordered = {k: tallies[k] for k in DECISION_KINDS if k in tallies}
    found = {
        k: uow.shadows.samples(ShadowQuery(policy_id=policy_id, kind=k, since=since, until=until), samples)
        for k in ordered
    }
    return ShadowReport(policy_id, kind, since, until, ordered, found)


def report_lines(report: ShadowReport) -> list[str]:
    """The report as text (the CLI's, and the API's ``Accept: text/plain``)."""
    document = report.content()
    scope = f"policy {document['policy_id']}" if document["policy_id"] else "every policy"
    period = f"from {document['since'] or 'the start'} until {document['until'] or 'now'}"
    lines = [f"shadow report: {scope}, {period}"]
    if not document["kinds"]:
        return [*lines, "  no shadowed decisions"]
    for entry in document["kinds"]:
        names = ", ".join(f"{c['version']} ({c['sha256'][:12]})" for c in entry["challengers"])
        rate = "n/a" if entry["agreement_rate"] is None else f"{Decimal(entry['agreement_rate']) * 100:.2f} %"
        errors = sum(e["count"] for e in entry["errors"])
        lines.append(
            f"{entry['kind']}: {entry['shadowed']} shadowed (challenger {names}), {entry['agreed']} agree ({rate}), "
            f"{errors} challenger error{'s' * (errors != 1)}"
        )
        for moved in entry["transitions"]:
            weight = ""
            if "amounts" in moved:
                weight = " (" + ", ".join(f"{a['currency']} {_grouped(a['amount'])}" for a in moved["amounts"]) + ")"
            elif "limit_delta" in moved:
                weight = f" (limits {_signed(moved['limit_delta'])})"
            lines.append(f"  {moved['champion']} → {moved['challenger']}: {moved['count']}{weight}")
        if entry["same_outcome_other_output"]:
            lines.append(f"  same outcome, other output: {entry['same_outcome_other_output']}")
        if "limits" in entry:
            limits = entry["limits"]
            champion, challenger = Decimal(limits["champion_total"]), Decimal(limits["challenger_total"])
            share = f" ({(challenger - champion) / champion * 100:+.2f} %)" if champion else ""
            lines.append(
                f"  total limits: {_grouped(limits['champion_total'])} → {_grouped(limits['challenger_total'])}{share}"
            )
        for error in entry["errors"]:
            lines.append(f"  error {error['code']}: {error['count']}")
        for sample in entry["samples"]:
            what = sample["error_code"] or "; ".join(_difference(d) for d in sample["differences"][:3])
            moved = f"{sample['champion_outcome']} → {sample['challenger_outcome'] or 'error'}"
            lines.append(f"  sample {sample['decision_id']} ({sample['customer_id']}) {moved}: {what}")
    return lines


def _grouped(text: str) -> str:
    return f"{Decimal(text):,f}"


def _signed(text: str) -> str:
    value = Decimal(text)
    return f"{'+' if value > 0 else ''}{value:,f}"


def _difference(content: dict[str, Any]) -> str:
    if content["change"] == "changed":
        return f"{content['path']}: {_shown(content['old'])} → {_shown(content['new'])}"
    return f"{content['path']} {content['change']}"


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)

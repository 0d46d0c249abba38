"""An impact report as the documented JSON (schema ``creditpolicy.impact/1``, docs/impact.md) and as text.

Money is decimal text, dates ISO 8601, as everywhere in the service. The text form is what the
CLI prints and ``Accept: text/plain`` gets: a header, the determinism verdict, one block per kind
(``order: 312 approve → hold (CNY 41.2 m)``), then the sampled decisions explained.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from api.service.impact.measure import ImpactReport, Sample
from api.service.jsontext import dumps, iso
from api.service.policy_diff import Line

__all__ = ["IMPACT_SCHEMA", "compact_money", "impact_document", "impact_json", "impact_lines", "lines_text"]

IMPACT_SCHEMA = "creditpolicy.impact/1"


def _plain(value: Any) -> Any:
    """JSON-ready: Decimals as text, dates as ISO text, containers walked."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return iso(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _sample(sample: Sample) -> dict[str, Any]:
    return {
        "kind": sample.kind,
        "from": sample.transition[0],
        "to": sample.transition[1],
        "decision_id": sample.decision_id,
        "customer_id": sample.customer_id,
        "as_of": sample.as_of,
        "differences": list(sample.differences),
        "rules_fired_only_under_from": list(sample.fired_only_under_from),
        "rules_fired_only_under_to": list(sample.fired_only_under_to),
        "refused": sample.refused,
    }


def impact_document(report: ImpactReport) -> dict[str, Any]:
    """The documented JSON of an impact run (schema ``creditpolicy.impact/1``)."""
    request = report.request
    other = sum(int(v["decisions"]) for v in report.not_decided_by_from)
    document: dict[str, Any] = _plain(
        {
            "schema": IMPACT_SCHEMA,
            "measured_at": report.measured_at,
            "seconds": round(report.seconds, 3),
            "from": report.from_side.content(),
            "to": report.to_side.content(),
            "period": {"by": "as_of", "since": request.since, "until": request.until},
            "kind": request.kind,
            "records": {
                "in_period": report.decided_by_from + other,
                "decided_by_from": report.decided_by_from,
                "not_decided_by_from": other,
                "reproduced": report.reproduced,
                "not_reproduced": len(report.findings),
                "evaluated_per_decision": report.per_decision,
                "other_versions": report.not_decided_by_from,
            },
            "determinism": {
                "verdict": "reproduced" if not report.findings else "not_reproduced",
                "findings": [f.content() for f in report.findings],
            },
            "kinds": report.kinds,
            "samples": [_sample(s) for s in report.samples],
        }
    )
    return document


def impact_json(document: Mapping[str, Any]) -> bytes:
    """The document as ``POST /v1/impact`` answers it and an impact job stores it: compact UTF-8 JSON, in order."""
    return dumps(document).encode("utf-8")


# --- text -----------------------------------------------------------------------------------
def compact_money(amount: str | Decimal, currency: str) -> str:
    """``CNY 41.2 m``: an amount as a headline says it (exact figures are in the JSON)."""
    value = Decimal(amount)
    size = abs(value)
    for limit, suffix in ((Decimal(10) ** 9, "bn"), (Decimal(10) ** 6, "m"), (Decimal(10) ** 3, "k")):
        if size >= limit:
            return f"{currency} {value / limit:,.1f} {suffix}"
    return f"{currency} {value:,.2f}"


def _amounts(amounts: Mapping[str, str]) -> str:
    return ", ".join(compact_money(v, c) for c, v in amounts.items())


def _side(letter: str, side: Mapping[str, Any]) -> str:
    state = side["status"] or side["source"]
    return f"{letter}  {side['policy_id']} {side['version']} ({side['sha256'][:12]})  {state}"


def _period(period: Mapping[str, Any]) -> str:
    since, until = period["since"], period["until"]
    if since is None and until is None:
        return "every day logged"
    return f"decisions about {since or 'the first day'} … {until or 'the last day'} (as_of)"


def _transition_lines(summary: Mapping[str, Any], kind: str) -> list[Line]:
    lines = []
    for t in summary["transitions"]:
        money = _amounts(t["amounts"])
        lines.append(
            Line("changed", f"  {kind}: {t['count']:,} {t['from']} → {t['to']}" + (f" ({money})" if money else ""))
        )
    if summary["changed_same_headline"]:
        lines.append(
            Line("changed", f"  {summary['changed_same_headline']:,} change other parts, same {kind} headline")
        )
    return lines


def _kind_lines(kind: str, summary: Mapping[str, Any]) -> list[Line]:
    lines = [
        Line("heading", ""),
        Line("heading", f"{kind}: {summary['compared']:,} compared, {summary['changed']:,} change"),
    ]
    lines += _transition_lines(summary, kind)
    if kind == "order":
        for name, label in (("newly_held", "newly held"), ("released", "released")):
            part = summary[name]
            money = _amounts(part["amounts"])
            lines.append(Line("summary", f"  {label}: {part['count']:,}" + (f" ({money})" if money else "")))
            for o in part["largest"]:
                lines.append(
                    Line(
                        "side",
                        f"    {o['order_id']}  customer {o['customer_id']}  {o['as_of']}  "
                        f"{o['currency']} {Decimal(o['amount']):,.2f}  {o['from']} → {o['to']}",
                    )
                )
    elif kind == "assess":
        total = summary["total_limits"]
        percent = "" if total["percent"] is None else f" ({Decimal(total['percent']):+.1f} %)"
        lines.append(
            Line(
                "summary",
                f"  {summary['customers']:,} customers: {summary['change_grade']:,} change grade, "
                f"{summary['lose_eligibility']:,} lose eligibility, {summary['gain_eligibility']:,} gain it; "
                f"total limits {Decimal(total['from']):,.2f} → {Decimal(total['to']):,.2f}{percent}",
            )
        )
        for m in summary["grade_matrix"]:
            lines.append(Line("side", f"    grade {m['from']} → {m['to']}: {m['customers']:,} customers"))
        if summary["largest_limit_changes"]:
            lines.append(Line("summary", "  largest limit changes:"))
        for c in summary["largest_limit_changes"]:
            lines.append(
                Line(
                    "side",
                    f"    {c['customer_id']}  {c['grade_from']} → {c['grade_to']}  "
                    f"{Decimal(c['limit_from']):,.2f} → {Decimal(c['limit_to']):,.2f} ({Decimal(c['change']):+,.2f})",
                )
            )
    elif kind == "settlement":
        for r in summary["discount_rate_changes"]:
            lines.append(Line("side", f"    discount rate {r['from']} → {r['to']}: {r['count']:,} invoices"))
        for name, total in summary["totals"].items():
            if Decimal(total["change"]):
                text = f"  {name.replace('_', ' ')} {Decimal(total['from']):,.2f} → {Decimal(total['to']):,.2f}"
                lines.append(Line("summary", text))
    else:
        for action, count in summary["actions_now_due"].items():
            lines.append(Line("side", f"    {action} now due: {count:,}"))
        for action, count in summary["actions_no_longer_due"].items():
            lines.append(Line("side", f"    {action} no longer due: {count:,}"))
    return lines


def impact_lines(document: Mapping[str, Any]) -> list[Line]:
    """The impact as text, from its JSON document."""
    records = document["records"]
    lines = [
        Line(
            "title",
            f"impact {document['from']['policy_id']} {document['from']['version']} → "
            f"{document['to']['policy_id']} {document['to']['version']}: {_period(document['period'])}"
            + (f", {document['kind']} only" if document["kind"] else ""),
        ),
        Line("side", _side("a", document["from"])),
        Line("side", _side("b", document["to"])),
        Line(
            "metadata",
            f"{records['in_period']:,} decisions in the period: {records['decided_by_from']:,} decided by a, "
            f"{records['not_decided_by_from']:,} by other versions (counted, not compared)",
        ),
    ]
    for other in records["other_versions"]:
        lines.append(
            Line("side", f"   {other['kind']} {other['version']} ({other['sha256'][:12]}): {other['decisions']:,}")
        )
    findings = document["determinism"]["findings"]
    if findings:
        lines.append(
            Line(
                "removed",
                f"determinism: {len(findings):,} of {records['decided_by_from']:,} logged decisions do not reproduce "
                "under a (audit finding; left out of the comparison)",
            )
        )
        for f in findings:
            lines.append(
                Line("removed", f"  {f['decision_id']}  {f['kind']}  {f['as_of']}: {'; '.join(f['differences'])}")
            )
    else:
        lines.append(
            Line("added", f"determinism: all {records['reproduced']:,} decisions reproduce under a, byte for byte")
        )
    for kind, summary in document["kinds"].items():
        lines += _kind_lines(kind, summary)
    if document["samples"]:
        lines += [Line("heading", ""), Line("heading", "samples (the rules that made the difference)")]
    for s in document["samples"]:
        lines.append(
            Line(
                "summary",
                f"  {s['kind']} {s['from']} → {s['to']}  {s['decision_id']}  {s['customer_id'] or ''}  {s['as_of']}",
            )
        )
        if s["refused"]:
            lines.append(Line("removed", f"    b refuses it: {s['refused']['code']}"))
        for rule in s["rules_fired_only_under_from"]:
            lines.append(Line("removed", f"    fired only under a: {rule}"))
        for rule in s["rules_fired_only_under_to"]:
            lines.append(Line("added", f"    fired only under b: {rule}"))
        lines += [Line("changed", f"    {d}") for d in s["differences"]]
    if not document["kinds"]:
        lines += [Line("heading", ""), Line("summary", "no decision of a to compare in the period")]
    else:
        changed = sum(s["changed"] for s in document["kinds"].values())
        compared = sum(s["compared"] for s in document["kinds"].values())
        lines += [Line("heading", ""), Line("summary", f"{changed:,} of {compared:,} decisions would change under b")]
    return lines


def lines_text(lines: list[Line]) -> str:
    """The text form: one line each, as ``Accept: text/plain`` gets it and an impact job stores it."""
    return "".join(f"{line.text}\n" for line in lines)

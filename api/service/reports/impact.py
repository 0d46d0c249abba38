"""The impact of a version over the decision log as a page an auditor files: self-contained, charts inline.

Drawn from the JSON document (schema ``creditpolicy.impact/1``, :mod:`api.service.impact`): the
two versions and the records read, the determinism verdict with every finding, then per decision
kind a chart of the transitions and their table, the kind's own lists (orders newly held or
released, the grade matrix and the largest limit changes, discount rates, collection actions),
and the sampled decisions with the rules that made the difference. Every figure taken from the
document is a :class:`~api.service.reports.html.Datum` carrying its path in the document.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from api.service.reports.html import (
    Column,
    Content,
    Datum,
    Markup,
    Series,
    chart_grid,
    facts_table,
    format_money,
    grouped_bar_chart,
    json_path,
    page,
    section,
    table,
    tag,
)

__all__ = ["render_impact"]

_FINDINGS_SHOWN = 500  # beyond, the JSON document holds them all
_COLOUR = "#3b6ea8"
# Hashes and ids are long words: they wrap inside their cell instead of widening the page.
_STYLE = """
table.data { table-layout: fixed; }
table.data td, table.data th { overflow-wrap: anywhere; }
"""


def _d(value: object, *path: str | int, format: str = "text") -> Datum:
    return Datum("" if value is None else str(value), json_path(*path), format)  # type: ignore[arg-type]


def _money(value: str, currency: str, *path: str | int, signed: bool = False) -> Datum:
    return Datum(format_money(Decimal(value), currency, signed=signed), json_path(*path), "money")


def _count(value: int, *path: str | int) -> Datum:
    return Datum(f"{value:,}", json_path(*path), "count")


def _amounts(amounts: Mapping[str, str], *path: str | int) -> list[Content]:
    parts: list[Content] = []
    for currency, amount in amounts.items():
        if parts:
            parts.append(", ")
        parts.append(_money(amount, currency, *path, currency))
    return parts


def _versions(document: Mapping[str, Any]) -> Markup:
    rows: list[list[Content]] = []
    for name in ("policy_id", "version", "sha256", "status", "source", "currency"):
        rows.append([name, _d(document["from"][name], "from", name), _d(document["to"][name], "to", name)])
    return table([Column("What"), Column("A: decided"), Column("B: candidate")], rows)


def _records(document: Mapping[str, Any]) -> Markup:
    records = document["records"]
    facts: list[tuple[Content, Content]] = [
        ("Decisions in the period", _count(records["in_period"], "records", "in_period")),
        ("Decided by A (compared)", _count(records["decided_by_from"], "records", "decided_by_from")),
        (
            "Decided by other versions (counted only)",
            _count(records["not_decided_by_from"], "records", "not_decided_by_from"),
        ),
        ("Reproduce under A", _count(records["reproduced"], "records", "reproduced")),
        ("Do not reproduce (findings)", _count(records["not_reproduced"], "records", "not_reproduced")),
        ("Evaluated one by one", _count(records["evaluated_per_decision"], "records", "evaluated_per_decision")),
    ]
    return facts_table(facts, numeric=True)


def _findings(document: Mapping[str, Any]) -> Markup:
    findings = document["determinism"]["findings"]
    rows: list[list[Content]] = [
        [
            _d(f["decision_id"], "determinism", "findings", i, "decision_id"),
            _d(f["kind"], "determinism", "findings", i, "kind"),
            _d(f["as_of"], "determinism", "findings", i, "as_of"),
            "; ".join(f["differences"]),
        ]
        for i, f in enumerate(findings[:_FINDINGS_SHOWN])
    ]
    shown = table(
        [Column("Decision"), Column("Kind"), Column("About"), Column("What differs")],
        rows,
        empty="Every logged decision reproduces under A, byte for byte.",
    )
    more = len(findings) - _FINDINGS_SHOWN
    return tag("div", [shown, tag("p", f"… and {more:,} more in the JSON document.") if more > 0 else ""])


def _transitions(kind: str, summary: Mapping[str, Any]) -> list[Content]:
    transitions = summary["transitions"]
    labels = [f"{t['from']} → {t['to']}" for t in transitions]
    chart = grouped_bar_chart(
        title=f"{kind}: decisions changing headline",
        categories=labels,
        series=[Series("decisions", [t["count"] for t in transitions], _COLOUR)],
        description="How many decisions move from A's headline to B's.",
    )
    rows: list[list[Content]] = [
        [
            f"{t['from']} → {t['to']}",
            _count(t["count"], "kinds", kind, "transitions", i, "count"),
            _amounts(t["amounts"], "kinds", kind, "transitions", i, "amounts"),
        ]
        for i, t in enumerate(transitions)
    ]
    listing = table([Column("Transition"), Column("Decisions", numeric=True), Column("Amounts")], rows, empty="None.")
    return [chart_grid(chart), listing]


def _orders(summary: Mapping[str, Any], currency: str) -> list[Content]:
    parts: list[Content] = []
    for name, title in (("newly_held", "Orders newly held"), ("released", "Orders released")):
        part = summary[name]
        rows: list[list[Content]] = [
            [
                _d(o["order_id"], "kinds", "order", name, "largest", i, "order_id"),
                _d(o["customer_id"], "kinds", "order", name, "largest", i, "customer_id"),
                _d(o["as_of"], "kinds", "order", name, "largest", i, "as_of"),
                _money(o["amount"], o["currency"], "kinds", "order", name, "largest", i, "amount"),
                f"{o['from']} → {o['to']}",
            ]
            for i, o in enumerate(part["largest"])
        ]
        caption: list[Content] = [f"{title}: ", _count(part["count"], "kinds", "order", name, "count")]
        if part["amounts"]:
            caption += [" (", *_amounts(part["amounts"], "kinds", "order", name, "amounts"), "); the largest:"]
        parts.append(
            table(
                [
                    Column("Order"),
                    Column("Customer"),
                    Column("About"),
                    Column("Amount", numeric=True),
                    Column("Change"),
                ],
                rows,
                caption=caption,
            )
        )
    return parts


def _customers(summary: Mapping[str, Any], currency: str) -> list[Content]:
    total = summary["total_limits"]
    base = ("kinds", "assess")
    facts: list[tuple[Content, Content]] = [
        ("Customers (latest assessment in the period)", _count(summary["customers"], *base, "customers")),
        ("Change grade", _count(summary["change_grade"], *base, "change_grade")),
        ("Lose eligibility", _count(summary["lose_eligibility"], *base, "lose_eligibility")),
        ("Gain eligibility", _count(summary["gain_eligibility"], *base, "gain_eligibility")),
        ("Total limits under A", _money(total["from"], currency, *base, "total_limits", "from")),
        ("Total limits under B", _money(total["to"], currency, *base, "total_limits", "to")),
        ("Change", _money(total["change"], currency, *base, "total_limits", "change", signed=True)),
        ("Change %", _d(total["percent"], *base, "total_limits", "percent")),
    ]
    matrix: list[list[Content]] = [
        [f"{m['from']} → {m['to']}", _count(m["customers"], *base, "grade_matrix", i, "customers")]
        for i, m in enumerate(summary["grade_matrix"])
    ]
    largest: list[list[Content]] = [
        [
            _d(c["customer_id"], *base, "largest_limit_changes", i, "customer_id"),
            f"{c['grade_from']} → {c['grade_to']}",
            _money(c["limit_from"], currency, *base, "largest_limit_changes", i, "limit_from"),
            _money(c["limit_to"], currency, *base, "largest_limit_changes", i, "limit_to"),
            _money(c["change"], currency, *base, "largest_limit_changes", i, "change", signed=True),
        ]
        for i, c in enumerate(summary["largest_limit_changes"])
    ]
    return [
        facts_table(facts, numeric=True),
        table([Column("Grade A → B"), Column("Customers", numeric=True)], matrix, caption="Grade matrix"),
        table(
            [
                Column("Customer"),
                Column("Grade"),
                Column("Limit A", numeric=True),
                Column("Limit B", numeric=True),
                Column("Change", numeric=True),
            ],
            largest,
            caption="The largest limit changes",
        ),
    ]


def _settlements(summary: Mapping[str, Any], currency: str) -> list[Content]:
    rates: list[list[Content]] = [
        [f"{r['from']} → {r['to']}", _count(r["count"], "kinds", "settlement", "discount_rate_changes", i, "count")]
        for i, r in enumerate(summary["discount_rate_changes"])
    ]
    totals: list[list[Content]] = [
        [
            name.replace("_", " "),
            _money(t["from"], currency, "kinds", "settlement", "totals", name, "from"),
            _money(t["to"], currency, "kinds", "settlement", "totals", name, "to"),
        ]
        for name, t in summary["totals"].items()
    ]
    return [
        table([Column("Discount rate A → B"), Column("Invoices", numeric=True)], rates, caption="Discount rates"),
        table([Column("Total"), Column("A", numeric=True), Column("B", numeric=True)], totals, caption="Totals"),
    ]


def _collections(summary: Mapping[str, Any], currency: str) -> list[Content]:
    rows: list[list[Content]] = [
        [f"{action} now due", _count(n, "kinds", "collection", "actions_now_due", action)]
        for action, n in summary["actions_now_due"].items()
    ]
    rows += [
        [f"{action} no longer due", _count(n, "kinds", "collection", "actions_no_longer_due", action)]
        for action, n in summary["actions_no_longer_due"].items()
    ]
    return [table([Column("Action"), Column("Decisions", numeric=True)], rows, caption="Collection actions due")]


_EXTRAS = {"order": _orders, "assess": _customers, "settlement": _settlements, "collection": _collections}


def _samples(samples: Sequence[Mapping[str, Any]]) -> Markup:
    rows: list[list[Content]] = [
        [
            _d(s["decision_id"], "samples", i, "decision_id"),
            f"{s['kind']}: {s['from']} → {s['to']}",
            tag(
                "ul",
                [tag("li", f"fired only under A: {r}") for r in s["rules_fired_only_under_from"]]
                + [tag("li", f"fired only under B: {r}") for r in s["rules_fired_only_under_to"]],
            ),
            tag("ul", [tag("li", d) for d in s["differences"]]),
        ]
        for i, s in enumerate(samples)
    ]
    return table([Column("Decision"), Column("Transition"), Column("Rules"), Column("What differs")], rows)


def render_impact(document: Mapping[str, Any]) -> str:
    """The page for an impact document (schema ``creditpolicy.impact/1``)."""
    a, b = document["from"], document["to"]
    title = f"Impact: {a['policy_id']} {a['version']} → {b['policy_id']} {b['version']}"
    period = document["period"]
    body: list[Content] = [
        tag("h1", title),
        tag(
            "p",
            [
                "Decisions about ",
                _d(period["since"] or "the first day", "period", "since"),
                " … ",
                _d(period["until"] or "the last day", "period", "until"),
                " (by as_of), re-run under B.",
            ],
            class_="subtitle",
        ),
        section("The versions", _versions(document), section_id="versions"),
        section("The records", _records(document), section_id="records"),
        section(
            "Determinism",
            _findings(document),
            section_id="determinism",
            intro="Each logged decision evaluated again under A must give the logged decision byte for byte; "
            "one that does not is an audit finding and is left out of the comparison.",
        ),
    ]
    for kind, summary in document["kinds"].items():
        lead: list[Content] = [
            _count(summary["compared"], "kinds", kind, "compared"),
            " compared, ",
            _count(summary["changed"], "kinds", kind, "changed"),
            " change.",
        ]
        extras = _EXTRAS[kind](summary, a["currency"])
        body.append(section(kind, *_transitions(kind, summary), *extras, section_id=kind, intro=lead))
    body.append(
        section(
            "Samples",
            _samples(document["samples"]),
            section_id="samples",
            intro="Decisions of each transition (the smallest ids), decided again under both versions and compared "
            "by identity: the rules that fired under one version only, and what differs.",
        )
    )
    body.append(tag("footer", ["Built from the impact's JSON document (", _d(document["schema"], "schema"), ")."]))
    return page(title=title, body=body, style=_STYLE)

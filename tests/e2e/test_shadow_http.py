"""Live champion–challenger over HTTP, on SQLite and PostgreSQL: naming, shadows in the log, isolation, report."""

from __future__ import annotations

import contextlib
import io
import re
import time
import warnings
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from api.adapters.db import tables as t
from api.adapters.db.records import LoggedShadow, ShadowRecord
from api.entrypoints.http.app import create_app
from api.settings import Settings
from tests.e2e.conftest import SHIPPED, Service, unique
from tests.e2e.inputs import body, second_version_yaml
from tests.factories import FakeResolver

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

REASON = {"reason": "compare with the committee's proposal"}
CHALLENGER = "/v1/policies/standard/challenger"


SHADOWED = "shadow_agree IS NOT NULL"  # the log rows a challenger shadowed


def shadows(service: Service) -> dict[str, ShadowRecord]:
    """Every shadow kept in the log, in full, by decision id."""
    columns = [t.decisions.c[name] for name in LoggedShadow._fields]
    statement = select(*columns).where(t.decisions.c.shadow_json.is_not(None))
    with service.app.state.db_engine.connect() as connection:
        return {r.decision_id: ShadowRecord.logged(LoggedShadow(*r)) for r in connection.execute(statement)}


def publish(service: Service, yaml: str) -> str:
    published = service.post("/v1/policies", {"yaml": yaml, "file": "rules/standard.yaml"}, who="author")
    assert published.status_code == 201, published.text
    return str(published.json()["sha256"])


def name(service: Service, version: str, share: str = "100", who: str = "approve") -> Any:
    return service.client.put(
        CHALLENGER, json={"version": version, "share": share, **REASON}, headers=service.headers(who)
    )


def end(service: Service, who: str = "approve") -> Any:
    return service.client.request("DELETE", CHALLENGER, json=REASON, headers=service.headers(who))


def order(customer: str, *, overdue_days: int = 0, amount: str = "120000.00") -> dict[str, Any]:
    data = body("order", customer, request_id=unique("rq"))
    data["order"] = {"id": unique("SO"), "amount": amount, "currency": "CNY"}
    data["exposure"]["oldest_overdue_days"] = overdue_days
    if overdue_days:
        data["exposure"]["overdue_amount"] = "1000.00"
    return data


def usd_challenger() -> str:
    """The shipped policy deciding in USD: every CNY order raises ``currency_mismatch`` under it."""
    shipped = SHIPPED.read_text(encoding="utf-8")
    text = shipped.replace('version: "2026.1"', 'version: "2026.9-usd"', 1).replace("currency: CNY", "currency: USD", 1)
    assert "USD" in text
    return text


def masked(content: bytes) -> str:
    """A response without what differs between two decisions of one body: its id, time and request id."""
    text = content.decode()
    text = re.sub(r'"decision_id":"[^"]+"', '"decision_id":"-"', text)
    text = re.sub(r'"created_at":"[^"]+"', '"created_at":"-"', text)
    return re.sub(r'"request_id":"[^"]+"', '"request_id":"-"', text)


def test_a_challenger_holding_more_orders_is_reported_with_its_transitions(fresh_service: Service) -> None:
    service = fresh_service
    challenger = publish(service, second_version_yaml(SHIPPED.read_text(encoding="utf-8")))
    named = name(service, challenger[:12], "100")
    assert named.status_code == 200, named.text
    assert named.json()["share"] == "100" and named.json()["challenger"]["status"] == "draft"
    assert service.get(CHALLENGER).json()["challenger"]["sha256"] == challenger

    # Overdue 25 days: the champion (holds after 30) approves, the challenger (after 20) holds.
    held_by_challenger = [order(unique("C"), overdue_days=25, amount=f"{1000 * (i + 1)}.00") for i in range(3)]
    both_approve = [order(unique("C")) for _ in range(4)]
    for data in held_by_challenger + both_approve:
        answered = service.post("/v1/decisions/order", data)
        assert answered.status_code == 200, answered.text
        assert answered.json()["outcome"] == "approve"  # the champion's answer, never the challenger's
        assert "2026.2" not in answered.text
    assert service.count("credit_cases") == 0  # the challenger's holds open no case
    assessed = service.post("/v1/decisions/assess", body("assess", unique("C")))
    assert assessed.status_code == 200
    assert service.count("grade_history") == 1  # the champion's assessment only

    report = service.get("/v1/shadow/report", params={"policy": "standard"}, who="audit")
    assert report.status_code == 200, report.text
    kinds = {entry["kind"]: entry for entry in report.json()["kinds"]}
    orders = kinds["order"]
    assert (orders["shadowed"], orders["agreed"], orders["agreement_rate"]) == (7, 4, "0.5714")
    assert orders["transitions"] == [
        {"champion": "approve", "challenger": "hold", "count": 3, "amounts": [{"currency": "CNY", "amount": "6000.00"}]}
    ]
    assert orders["errors"] == []
    assert {s["decision_id"] for s in orders["samples"]} <= {r["decision_id"] for r in _decisions(service)}
    assert any(d["path"] == "outcome" for d in orders["samples"][0]["differences"])
    assert kinds["assess"]["shadowed"] == 1 and kinds["assess"]["agreed"] == 1
    assert kinds["assess"]["limits"]["delta"] == "0.00"

    plain = {**service.headers("approve"), "Accept": "text/plain"}
    text = service.client.get("/v1/shadow/report", headers=plain).text
    assert "order: 7 shadowed" in text and "approve → hold: 3 (CNY 6,000.00)" in text

    events = service.get(f"/v1/policies/versions/{challenger}/events").json()["events"]
    assert events[-1]["event"] == "challenger_named" and "share 100 %" in events[-1]["reason"]
    ended = end(service)
    assert ended.status_code == 200, ended.text
    assert service.get(f"/v1/policies/versions/{challenger}/events").json()["events"][-1]["event"] == "challenger_ended"
    assert service.get(CHALLENGER).status_code == 404
    before = service.count("decisions", SHADOWED)
    assert service.post("/v1/decisions/order", order(unique("C"), overdue_days=25)).status_code == 200
    assert service.count("decisions", SHADOWED) == before  # ended: nothing is shadowed any more


def _decisions(service: Service) -> list[dict[str, Any]]:
    return list(service.get("/v1/decisions", params={"limit": 500}).json()["items"])


def test_a_failing_challenger_changes_nothing_live(fresh_service: Service) -> None:
    service = fresh_service
    approved_body = order("C-ISOLATED")
    plain = service.post("/v1/decisions/order", approved_body)
    held_plain = service.post("/v1/decisions/order", order("C-HOLD-1", overdue_days=45))
    assert plain.json()["outcome"] == "approve" and held_plain.json()["outcome"] == "hold"
    assert service.count("credit_cases") == 1

    assert name(service, publish(service, usd_challenger()), "100").status_code == 200
    shadowed = service.post("/v1/decisions/order", {**approved_body, "request_id": unique("rq")})
    held_shadowed = service.post("/v1/decisions/order", order("C-HOLD-2", overdue_days=45))

    assert shadowed.status_code == 200 and held_shadowed.status_code == 200
    assert masked(shadowed.content) == masked(plain.content)  # the same bytes but for id, time and request id
    assert held_shadowed.json()["case"]["effect"] == "opened"
    assert service.count("credit_cases") == 2  # the champion's hold opened its case; the challenger none
    kept = list(shadows(service).values())
    assert [(r.error_code, r.agree, r.challenger_output_json) for r in kept] == [("currency_mismatch", False, None)] * 2
    metrics = service.get("/metrics", who="audit").text
    assert 'creditpolicy_shadow_errors_total{code="currency_mismatch",kind="order"} 2.0' in metrics
    report = service.get("/v1/shadow/report").json()["kinds"][0]
    assert report["errors"] == [{"code": "currency_mismatch", "count": 2}]
    assert (report["shadowed"], report["evaluated"], report["agreement_rate"]) == (2, 0, None)


def test_naming_is_four_eyes_one_at_a_time_and_refuses_what_cannot_be_a_challenger(fresh_service: Service) -> None:
    service = fresh_service
    shipped = SHIPPED.read_text(encoding="utf-8")
    own = second_version_yaml(shipped, label="2026.3").replace(
        'author: "Credit Management Department (信用管理部)"', 'author: "e2e-approve"', 1
    )
    assert "e2e-approve" in own
    mine = publish(service, own)
    refused = name(service, mine, "50", who="approve")
    assert refused.status_code == 403 and refused.json()["code"] == "four_eyes"
    assert service.count("challengers") == 0
    assert name(service, mine, "50", who="decide").status_code == 403  # no name_challenger permission

    for share in ("0", "101", "12.345", "abc", "-5"):
        bad = name(service, mine, share, who="approve2")
        assert bad.status_code == 422 and bad.json()["code"] == "invalid_share", share
    active = service.get("/v1/policies/standard/versions").json()["versions"][0]["sha256"]
    not_eligible = name(service, active, "10", who="approve2")
    assert not_eligible.status_code == 409 and not_eligible.json()["code"] == "challenger_not_eligible"
    assert end(service).json()["code"] == "challenger_not_found"

    assert name(service, mine, "12.5", who="approve2").status_code == 200
    other = publish(service, second_version_yaml(shipped, label="2026.4"))
    twice = name(service, other, "10")
    assert twice.status_code == 409 and twice.json()["code"] == "challenger_exists"
    assert service.get(CHALLENGER, who="admin").json()["share"] == "12.5"


def test_activating_or_retiring_ends_the_shadow(fresh_service: Service) -> None:
    service = fresh_service
    shipped = SHIPPED.read_text(encoding="utf-8")
    challenger = publish(service, second_version_yaml(shipped))
    assert name(service, challenger, "40").status_code == 200
    assert service.post(f"/v1/policies/versions/{challenger}/approve", REASON, who="approve2").status_code == 200
    assert service.get(CHALLENGER).status_code == 200  # approving the challenger keeps it running
    assert service.post(f"/v1/policies/versions/{challenger}/activate", REASON, who="approve2").status_code == 200
    assert service.get(CHALLENGER).status_code == 404
    events = service.get(f"/v1/policies/versions/{challenger}/events").json()["events"]
    assert [e["event"] for e in events] == [
        "published",
        "challenger_named",
        "approved",
        "activated",
        "challenger_ended",
    ]

    retiring = publish(service, second_version_yaml(shipped, label="2026.5"))
    assert service.post(f"/v1/policies/versions/{retiring}/approve", REASON, who="approve").status_code == 200
    assert name(service, retiring, "40").status_code == 200
    assert service.post(f"/v1/policies/versions/{retiring}/retire", REASON, who="approve").status_code == 200
    assert service.get(CHALLENGER).status_code == 404
    ended = service.get(f"/v1/policies/versions/{retiring}/events").json()["events"][-1]
    assert ended["event"] == "challenger_ended" and "retired" in ended["reason"]


@contextlib.contextmanager
def second_instance(service: Service) -> Iterator[TestClient]:
    """Another app (another process's caches and change listener) on the same database."""
    settings = Settings(database_url=service.database_url, policy_file=SHIPPED, webhook_retry_seconds=0)
    app = create_app(settings, resolver=FakeResolver({}))
    with contextlib.redirect_stdout(io.StringIO()), TestClient(app) as client:
        yield client


def test_naming_reaches_a_second_instance_on_the_same_database(fresh_service: Service) -> None:
    service = fresh_service
    challenger = publish(service, second_version_yaml(SHIPPED.read_text(encoding="utf-8")))
    with second_instance(service) as other:
        headers = service.headers("decide")
        assert other.post("/v1/decisions/order", json=order(unique("C")), headers=headers).status_code == 200
        assert service.count("decisions", SHADOWED) == 0  # no challenger yet: none cached by the other instance
        assert name(service, challenger, "100").status_code == 200
        deadline = time.monotonic() + 5
        while service.count("decisions", SHADOWED) == 0 and time.monotonic() < deadline:
            assert other.post("/v1/decisions/order", json=order(unique("C")), headers=headers).status_code == 200
            time.sleep(0.05)
        assert service.count("decisions", SHADOWED) >= 1
        assert time.monotonic() < deadline
        assert end(service).status_code == 200
        time.sleep(1.5)  # heard within a second
        rows = service.count("decisions", SHADOWED)
        assert other.post("/v1/decisions/order", json=order(unique("C")), headers=headers).status_code == 200
        assert service.count("decisions", SHADOWED) == rows


def test_decimal_sums_in_the_report_are_exact(fresh_service: Service) -> None:
    service = fresh_service
    assert name(service, publish(service, second_version_yaml(SHIPPED.read_text(encoding="utf-8")))).status_code == 200
    amounts = ["0.10", "0.20", "100000.70"]
    for amount in amounts:
        assert (
            service.post("/v1/decisions/order", order(unique("C"), overdue_days=25, amount=amount)).status_code == 200
        )
    moved = service.get("/v1/shadow/report", params={"kind": "order"}).json()["kinds"][0]["transitions"][0]
    assert Decimal(moved["amounts"][0]["amount"]) == sum(Decimal(a) for a in amounts)


def test_the_orders_of_a_batch_are_shadowed_each_beside_its_log_row(fresh_service: Service) -> None:
    service = fresh_service
    assert name(service, publish(service, second_version_yaml(SHIPPED.read_text(encoding="utf-8")))).status_code == 200
    orders = [order(unique("C"), overdue_days=25), order(unique("C"))]
    for item in orders:
        item.pop("request_id")
    batch = service.post("/v1/decisions/order:batch", {"orders": orders})
    assert batch.status_code == 200 and batch.json()["decided"] == 2
    assert [r["decision"]["outcome"] for r in batch.json()["results"]] == ["approve", "approve"]
    ids = [r["decision"]["decision_id"] for r in batch.json()["results"]]
    kept = shadows(service)
    assert [kept[i].challenger_outcome for i in ids] == ["hold", "approve"]  # each in its own log row
    assert service.count("credit_cases") == 0
    metrics = service.get("/metrics", who="audit").text  # counted as single decisions' shadows are
    assert 'creditpolicy_shadow_decisions_total{kind="order",result="differ"} 1.0' in metrics
    assert 'creditpolicy_shadow_decisions_total{kind="order",result="agree"} 1.0' in metrics

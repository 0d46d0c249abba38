"""The four decisions over HTTP: responses, explain, validation, idempotency, the log, batches, replay."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from api.adapters.db.records import DecisionRecord, LoggedInput
from api.adapters.db.repository import DecisionQuery, DecisionRepository, LogScan
from api.adapters.db.unit_of_work import UnitOfWork
from api.service.decisions.response import RATE_KEYS
from tests.e2e.conftest import Service, unique
from tests.e2e.inputs import body
from tests.integration.conftest import FailingCommit

KINDS = ("assess", "order", "settlement", "collection")
HEADLINE = {"assess": "AAA", "order": "approve", "settlement": "paid_with_penalty_due", "collection": "visit"}


def money_fields(data: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every amount-like leaf of a response (money is never a JSON number)."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from money_fields(value, f"{path}/{key}")
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from money_fields(value, f"{path}/{index}")
    elif any(word in path for word in ("amount", "limit", "available", "exposure_total", "total_due", "overpaid")):
        yield path, data


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_decides_and_logs(service: Service, kind: str) -> None:
    customer = unique("C")
    response = service.post(f"/v1/decisions/{kind}", body(kind, customer, request_id=unique()))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    data = response.json()
    assert set(data) >= {"decision_id", "kind", "request_id", "created_at", "policy", "outcome", "reasons", "decision"}
    assert "trace" not in data
    assert data["kind"] == kind
    assert data["policy"]["id"] == "standard" and data["policy"]["version"] == "2026.1"
    assert len(data["policy"]["sha256"]) == 64
    assert data["outcome"] == HEADLINE[kind]
    assert data["reasons"] and all(r["rule"] for r in data["reasons"])
    for path, value in money_fields(data["decision"]):
        assert value is None or isinstance(value, str), path
        if isinstance(value, str) and value[:1].isdigit():
            assert Decimal(value) == Decimal(value).quantize(Decimal("0.01")), path
    logged = service.get(f"/v1/decisions/{data['decision_id']}")
    assert logged.status_code == 200
    assert logged.json()["response"] == data
    assert logged.json()["trace"]["kind"] == kind  # stored even though not returned
    assert logged.json()["caller"] == "e2e-decide"


@pytest.mark.parametrize("kind", KINDS)
def test_explain_returns_the_trace(service: Service, kind: str) -> None:
    response = service.post(f"/v1/decisions/{kind}?explain=true", body(kind, unique("C")))
    assert response.status_code == 200
    trace = response.json()["trace"]
    assert trace["kind"] == kind and trace["rules_fired"]
    assert all("standard.yaml:" in fired["source"] for fired in trace["rules_fired"])


def test_money_accepted_as_numbers_returned_as_strings(service: Service) -> None:
    order = body("order", unique("C"))
    order["order"]["amount"] = 120000.5
    order["customer"]["limit"] = 1500000
    data = service.post("/v1/decisions/order", order).json()
    assert data["decision"]["credit_limit"] == "1500000.00"
    assert data["decision"]["available_after"] == "679999.50"


def test_invalid_body_is_422_with_a_pointer_per_field_and_nothing_logged(service: Service) -> None:
    customer = unique("C")
    order = body("order", customer, request_id=unique())
    order["order"]["amount"] = "12.345"
    order["customer"]["segment"] = "vip"
    del order["as_of"]  # no error: it defaults to today
    response = service.post("/v1/decisions/order", order)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "invalid_request" and problem["status"] == 422
    assert problem["type"].endswith(":invalid_request") and problem["title"] and problem["detail"]
    pointers = {e["pointer"]: e["code"] for e in problem["errors"]}
    assert pointers == {"/order/amount": "money_precision", "/customer/segment": "literal_error"}
    assert service.count("decisions", "customer_id = :c", c=customer) == 0


@pytest.mark.parametrize(
    ("kind", "pointer", "raw_value", "code"),
    [
        ("collection", "/arrears/days_overdue", b"true", "int_type"),
        ("collection", "/arrears/days_overdue", b"75.0", "int_type"),
        ("collection", "/arrears/days_overdue", b'"75"', "int_type"),
        ("collection", "/arrears/disputed", b"1", "bool_type"),
        ("collection", "/as_of", b"0", "date_format"),
        ("order", "/exposure/oldest_overdue_days", b"false", "int_type"),
        ("order", "/customer/blacklisted", b'"yes"', "bool_type"),
        ("settlement", "/invoice/date", b'"2026-03-01T00:00:00"', "date_format"),
    ],
)
def test_counts_flags_and_dates_take_only_their_own_json_type(
    service: Service, kind: str, pointer: str, raw_value: bytes, code: str
) -> None:
    """`"days_overdue": true` was read as 1 day, `"as_of": 0` as 1970-01-01: both are refused now, located."""
    customer = unique("C")
    marker = b'"__value__"'
    data = body(kind, customer, request_id=unique())
    place = data
    *parents, last = pointer.strip("/").split("/")
    for part in parents:
        place = place.setdefault(part, {})
    place[last] = "__value__"
    raw = json.dumps(data).encode().replace(marker, raw_value)
    for path, content, prefix in (
        (f"/v1/decisions/{kind}", raw, ""),
        ("/v1/decisions/order:batch", b'{"orders": [' + raw + b"]}", "/orders/0"),
    ):
        if kind != "order" and path.endswith(":batch"):
            continue
        response = service.post(path, headers={"Content-Type": "application/json"}, content=content)
        problem = response.json() if not prefix else response.json()["results"][0]["problem"]
        assert (problem["status"], problem["code"]) == (422, "invalid_request"), response.text
        assert {"pointer": prefix + pointer, "code": code} in [
            {"pointer": e["pointer"], "code": e["code"]} for e in problem["errors"]
        ], problem
    assert service.count("decisions", "customer_id = :c", c=customer) == 0


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"{not json", 400, "malformed_json"),
        (b"[1, 2]", 422, "invalid_request"),
        (b'{"request_id": 7}', 422, "invalid_request"),
    ],
)
def test_bodies_that_are_no_request(service: Service, raw: bytes, status: int, code: str) -> None:
    response = service.post("/v1/decisions/order", headers={"Content-Type": "application/json"}, content=raw)
    assert (response.status_code, response.json()["code"]) == (status, code)


@pytest.mark.parametrize("path", ["/v1/decisions/order", "/v1/decisions/assess", "/v1/decisions/order:batch"])
def test_json_nested_past_what_a_parser_recurses_is_malformed_not_a_crash(service: Service, path: str) -> None:
    deep = b"[" * 5000 + b"]" * 5000
    response = service.post(path, headers={"Content-Type": "application/json"}, content=deep)
    assert (response.status_code, response.json()["code"]) == (400, "malformed_json")


def test_json_numbers_are_read_as_exact_decimals_like_their_text(service: Service) -> None:
    customer = unique("C")
    raw = (
        b'{"customer": {"id": "' + customer.encode() + b'", "grade": "A", "limit": 99999999999999.99},'
        b' "order": {"id": "SO-1", "amount": 1250.10, "currency": "CNY"}, "as_of": "2026-06-30"}'
    )
    decided = service.post("/v1/decisions/order", headers={"Content-Type": "application/json"}, content=raw)
    assert decided.status_code == 200, decided.text
    assert decided.json()["decision"]["credit_limit"] == "99999999999999.99"
    logged = service.get(f"/v1/decisions/{decided.json()['decision_id']}").json()
    assert logged["input"]["customer"]["limit"] == 99999999999999.99  # the log holds the number as sent
    assert b'"limit":99999999999999.99' in service.get(f"/v1/decisions/{decided.json()['decision_id']}").content
    for amount in ("1.000000000000000000000000000001", '"1.000000000000000000000000000001"'):
        body_text = raw.replace(b"1250.10", amount.encode())
        for path, prefix in (("/v1/decisions/order", ""), ("/v1/decisions/order:batch", "/orders/0")):
            content = body_text if not prefix else b'{"orders": [' + body_text + b"]}"
            refused = service.post(path, headers={"Content-Type": "application/json"}, content=content).json()
            problem = refused["results"][0]["problem"] if prefix else refused
            assert problem["errors"][0] == {
                "pointer": f"{prefix}/order/amount",
                "message": "an amount has at most 2 decimal places",
                "code": "money_precision",
            }


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("/v1/decisions/order", b"{broken"),
        ("/v1/decisions/order:batch", b"{broken"),
        ("/v1/webhooks", b"{broken"),
        ("/v1/policies/versions/2026.1/approve", b"{broken"),
        ("/v1/decisions/order?explain=1", b"{broken"),
    ],
)
def test_the_key_is_checked_before_the_body_is_read(service: Service, path: str, raw: bytes) -> None:
    anonymous = service.post(path, who=None, headers={"Content-Type": "application/json"}, content=raw)
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "not_authenticated")


def test_nul_characters_are_refused_alike_on_both_databases(service: Service) -> None:
    """PostgreSQL cannot store or compare a NUL; SQLite can: both must answer 422, never a 5xx."""
    order = body("order", "C-\u0000")
    problem = service.post("/v1/decisions/order", order).json()
    assert (problem["status"], problem["errors"][0]["pointer"]) == (422, "/customer/id")
    assert problem["errors"][0]["code"] == "nul_character"
    for path in ("/v1/decisions/a%00b", "/v1/decisions?customer_id=a%00b", "/v1/policies/versions/a%00b"):
        assert service.get(path).status_code == 422, path
    batch = service.post("/v1/decisions/order:batch", {"orders": [order], "request_id": "b\u0000"})
    assert batch.status_code == 422
    lone = service.post("/v1/decisions/order", body("order", "C-\ud800", request_id="r-\udfff")).json()
    assert (lone["status"], lone["errors"][0]["code"], lone["errors"][0]["pointer"]) == (
        422,
        "invalid_unicode",
        "/customer/id",
    )


def test_engine_refusals_are_422_with_their_code_and_field(service: Service) -> None:
    order = body("order", unique("C"))
    order["order"]["currency"] = "USD"
    problem = service.post("/v1/decisions/order", order).json()
    assert (problem["status"], problem["code"]) == (422, "currency_mismatch")
    assert problem["errors"][0]["pointer"] == "/order/currency"
    collection = body("collection", unique("C"))
    collection["customer"]["grade"] = "ZZZ"
    problem = service.post("/v1/decisions/collection", collection).json()
    assert (problem["status"], problem["code"], problem["errors"][0]["pointer"]) == (
        422,
        "unknown_grade",
        "/customer/grade",
    )


def test_a_date_without_a_version_in_force_or_an_unknown_pin_is_422(service: Service) -> None:
    problem = service.post("/v1/decisions/order", body("order", unique("C"), as_of="2025-06-30")).json()
    assert (problem["status"], problem["code"], problem["errors"][0]["pointer"]) == (422, "no_active_version", "/as_of")
    problem = service.post("/v1/decisions/order", body("order", unique("C"), policy_version="1999.9")).json()
    assert (problem["status"], problem["code"]) == (422, "unknown_policy_version")
    assert problem["errors"][0]["pointer"] == "/policy_version"


def test_bodies_not_sent_as_json(service: Service) -> None:
    raw = json.dumps(body("order", unique("C"))).encode()
    for headers in ({"Content-Type": "text/plain"}, {}):
        response = service.post("/v1/decisions/order", headers=headers, content=raw)
        assert (response.status_code, response.json()["code"]) == (415, "unsupported_media_type")
    huge = service.post("/v1/decisions/order", headers={"Content-Type": "application/json"}, content=b" " * (17 << 20))
    assert (huge.status_code, huge.json()["code"]) == (413, "body_too_large")
    assert huge.headers["content-type"] == "application/problem+json"


def test_same_request_id_same_body_replays_the_original_bytes(service: Service) -> None:
    customer, request_id = unique("C"), unique()
    first = service.post("/v1/decisions/order?explain=true", body("order", customer, request_id=request_id))
    again = service.post("/v1/decisions/order?explain=true", body("order", customer, request_id=request_id))
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers["Idempotent-Replay"] == "true" and "Idempotent-Replay" not in first.headers
    plain = service.post("/v1/decisions/order", body("order", customer, request_id=request_id))
    assert plain.json() == {k: v for k, v in first.json().items() if k != "trace"}
    assert service.count("decisions", "customer_id = :c", c=customer) == 1


def test_same_request_id_other_body_is_409(service: Service) -> None:
    customer, request_id = unique("C"), unique()
    assert service.post("/v1/decisions/order", body("order", customer, request_id=request_id)).status_code == 200
    other = body("order", customer, request_id=request_id)
    other["order"]["amount"] = "1.00"
    response = service.post("/v1/decisions/order", other)
    assert (response.status_code, response.json()["code"]) == (409, "request_id_reused")
    elsewhere = service.post("/v1/decisions/settlement", body("settlement", request_id=request_id))
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (409, "request_id_reused")
    assert service.count("decisions", "customer_id = :c", c=customer) == 1


def test_no_response_without_its_log_row_and_no_row_without_response(service: Service) -> None:
    """The log row is written in the decision's transaction: if it cannot commit, the caller gets no decision."""
    customer, request_id = unique("C"), unique()
    engine = service.app.state.db_engine

    real, service.app.state.new_uow = service.app.state.new_uow, lambda: FailingCommit(engine)
    try:
        for kind in ("order", "assess"):
            response = service.post(f"/v1/decisions/{kind}", body(kind, customer, request_id=f"{request_id}-{kind}"))
            assert response.status_code == 503, response.text
            assert response.json()["code"] == "database_unavailable"
            assert "decision_id" not in response.json()
    finally:
        service.app.state.new_uow = real
    assert service.count("decisions", "customer_id = :c", c=customer) == 0
    assert service.count("grade_history", "customer_id = :c", c=customer) == 0
    retried = service.post("/v1/decisions/order", body("order", customer, request_id=f"{request_id}-order"))
    assert retried.status_code == 200 and "Idempotent-Replay" not in retried.headers


class LateToTheRace(UnitOfWork):
    """A unit of work whose first look for a request_id misses: the concurrent winner's row is not
    visible yet, so the request decides, hits the unique key, and must retry and replay."""

    def __enter__(self) -> LateToTheRace:
        super().__enter__()
        self.decisions = BlindOnce(self.decisions)
        return self


class BlindOnce:
    """The decision log, except that its first look for a request_id finds nothing."""

    def __init__(self, log: DecisionRepository) -> None:
        self._log = log
        self._blind = True

    def get_by_request_id(self, request_id: str) -> DecisionRecord | None:
        if self._blind:
            self._blind = False
            return None  # the concurrent winner had not committed yet when we looked
        return self._log.get_by_request_id(request_id)

    def add(self, decision: DecisionRecord) -> None:
        self._log.add(decision)

    def get(self, decision_id: str) -> DecisionRecord | None:
        return self._log.get(decision_id)

    def query(self, query: DecisionQuery) -> list[DecisionRecord]:
        return self._log.query(query)

    def count_by_version(self, scan: LogScan) -> list[tuple[str, str, str, int]]:
        return self._log.count_by_version(scan)

    def scan(self, scan: LogScan, page_size: int) -> Iterator[list[LoggedInput]]:
        return self._log.scan(scan, page_size)


def test_a_concurrent_request_with_the_same_id_gets_the_stored_response(service: Service) -> None:
    customer, request_id = unique("C"), unique()
    winner = service.post("/v1/decisions/order", body("order", customer, request_id=request_id))
    engine = service.app.state.db_engine

    real, service.app.state.new_uow = service.app.state.new_uow, lambda: LateToTheRace(engine)
    try:
        loser = service.post("/v1/decisions/order", body("order", customer, request_id=request_id))
    finally:
        service.app.state.new_uow = real
    assert loser.status_code == 200 and loser.headers["Idempotent-Replay"] == "true"
    assert loser.content == winner.content
    assert service.count("decisions", "customer_id = :c", c=customer) == 1


def test_a_hold_opens_a_case_and_logs_the_final_outcome(service: Service) -> None:
    customer = unique("C")
    order = body("order", customer)
    order["order"]["amount"] = "5000000.00"
    data = service.post("/v1/decisions/order", order).json()
    assert data["outcome"] == "hold" and data["decision"]["outcome"] == "hold"
    assert data["case"]["effect"] == "opened" and data["case"]["status"] == "open"
    assert service.count("credit_cases", "customer_id = :c", c=customer) == 1
    again = service.post("/v1/decisions/order", {**order, "order": {**order["order"], "id": "SO-RESUBMIT"}}).json()
    assert again["case"] is None or again["outcome"] == "hold"


def test_log_query_filters_and_pages(service: Service) -> None:
    customer = unique("C")
    ids = []
    for amount in ("1000.00", "2000.00", "3000.00", "9000000.00"):
        order = body("order", customer)
        order["order"]["amount"] = amount
        ids.append(service.post("/v1/decisions/order", order).json()["decision_id"])
    service.post("/v1/decisions/assess", body("assess", customer))
    everything = service.get(f"/v1/decisions?customer_id={customer}").json()
    assert len(everything["items"]) == 5 and everything["next_cursor"] is None
    assert everything["items"][0]["kind"] == "assess"  # newest first
    orders = service.get(f"/v1/decisions?customer_id={customer}&kind=order&outcome=approve").json()["items"]
    assert [i["decision_id"] for i in orders] == ids[2::-1]
    seen, cursor = [], None
    while True:
        page = service.get(
            f"/v1/decisions?customer_id={customer}&kind=order&limit=2" + (f"&cursor={cursor}" if cursor else "")
        ).json()
        seen += [i["decision_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]
    first = everything["items"][-1]["created_at"]
    since = service.get(f"/v1/decisions?customer_id={customer}&since={first}&until=2999-01-01T00:00:00Z").json()
    assert len(since["items"]) == 5
    assert service.get(f"/v1/decisions?customer_id={customer}&until={first}").json()["items"] == []
    by_version = service.get(f"/v1/decisions?customer_id={customer}&policy_version=2026.1").json()
    assert len(by_version["items"]) == 5
    sha256 = everything["items"][0]["policy"]["sha256"]
    assert len(service.get(f"/v1/decisions?customer_id={customer}&policy_version={sha256}").json()["items"]) == 5


def test_log_query_finds_an_order_a_request_and_the_days_decided_about(service: Service) -> None:
    customer, request_id = unique("C"), unique()
    ids = {}
    for as_of, order_id in (("2026-05-31", "PO-1"), ("2026-06-15", "PO-2"), ("2026-06-30", "PO-1")):
        order = body("order", customer, as_of=as_of)
        order["order"]["id"] = order_id
        ids[as_of] = service.post("/v1/decisions/order", order).json()["decision_id"]
    assessed = service.post("/v1/decisions/assess", body("assess", customer, request_id=request_id)).json()

    def found(query: str) -> list[str]:
        return [i["decision_id"] for i in service.get(f"/v1/decisions?customer_id={customer}&{query}").json()["items"]]

    assert found("order_id=PO-1") == [ids["2026-06-30"], ids["2026-05-31"]]
    assert found(f"request_id={request_id}") == [assessed["decision_id"]]
    assert found("as_of_from=2026-06-01&as_of_to=2026-06-30&kind=order") == [ids["2026-06-30"], ids["2026-06-15"]]
    assert found("as_of_to=2026-05-31") == [ids["2026-05-31"]]
    [entry] = service.get(f"/v1/decisions?order_id=PO-2&customer_id={customer}").json()["items"]
    assert (entry["order_id"], entry["as_of"], entry["kind"]) == ("PO-2", "2026-06-15", "order")
    assert service.get(f"/v1/decisions?request_id={request_id}").json()["items"][0]["order_id"] is None


def test_log_query_refuses_bad_parameters(service: Service) -> None:
    for query, parameter, code in (
        ("limit=0", "limit", "greater_than_equal"),
        ("kind=loan", "kind", "literal_error"),
        ("cursor=zzz", "cursor", "invalid_cursor"),
        ("since=x", "since", "date_format"),
        # Read as Unix timestamps (1970-01-01, 2023-11-14) before: only ISO 8601 is a time here.
        ("since=0", "since", "date_format"),
        ("until=1700000000", "until", "date_format"),
        ("since=2026-06-30T10:00:00+02:00", "since", "date_format"),  # the + arrives as a space: said so
        ("since=2026-02-30", "since", "date_invalid"),
        ("as_of_from=2026-02-30", "as_of_from", "date_invalid"),
        ("as_of_to=0", "as_of_to", "date_format"),
        ("order_id=" + "x" * 65, "order_id", "string_too_long"),
        ("until=2026-06-01T00:00:00Z&since=2026-06-01T00:00:00Z", "until", "inverted_range"),
        ("as_of_from=2026-06-30&as_of_to=2026-06-29", "as_of_to", "inverted_range"),
        ("policy_version=9999.9", "policy_version", "unknown_policy_version"),
    ):
        problem = service.get(f"/v1/decisions?{query}").json()
        assert problem["status"] == 422, query
        assert (problem["errors"][0]["parameter"], problem["errors"][0]["code"]) == (parameter, code), query
    space = service.get("/v1/decisions?since=2026-06-30T10:00:00+02:00").json()["errors"][0]
    assert space["code"] == "date_format" and "%2B" in space["message"]
    for good in ("since=2026-06-30", "since=2026-06-30T10:00Z", "until=2026-06-30T10:00:00.5%2B02:00"):
        assert service.get(f"/v1/decisions?{good}").status_code == 200, good
    for edge in ("since=0001-01-01T00:00:00%2B05:00", "until=9999-12-31T23:59:59-05:00"):
        assert service.get(f"/v1/decisions?{edge}").status_code == 200, edge
    assert service.get(f"/v1/decisions/{unique()}").json()["code"] == "decision_not_found"


@pytest.mark.parametrize("kind", KINDS)
def test_replay_under_its_own_version_matches(service: Service, kind: str) -> None:
    decided = service.post(f"/v1/decisions/{kind}", body(kind, unique("C"))).json()
    replayed = service.post(f"/v1/decisions/{decided['decision_id']}/replay", {}, who="audit")
    assert replayed.status_code == 200, replayed.text
    data = replayed.json()
    assert data["matches"] is True and data["same_version"] is True and data["differences"] == []
    assert data["decision"] == decided["decision"]
    assert service.post(f"/v1/decisions/{decided['decision_id']}/replay", who="approve").json()["matches"]


def test_batch_decides_each_order_and_reports_bad_ones_in_place(service: Service) -> None:
    customer, batch_id = unique("C"), unique("batch")
    good = body("order", customer)
    bad_amount = body("order", customer)
    bad_amount["order"]["amount"] = "-5.00"
    dollars = body("order", customer)
    dollars["order"]["currency"] = "USD"
    orders = [good, bad_amount, "not an order", dollars, {**good, "request_id": unique()}]
    response = service.post("/v1/decisions/order:batch", {"orders": orders, "request_id": batch_id})
    assert response.status_code == 200, response.text
    data = response.json()
    assert (data["decided"], data["refused"]) == (2, 3)
    statuses = [(r["index"], r["status"]) for r in data["results"]]
    assert statuses == [(0, 200), (1, 422), (2, 422), (3, 422), (4, 200)]
    assert data["results"][0]["decision"]["request_id"] == f"{batch_id}/0"
    assert data["results"][1]["problem"]["errors"][0]["pointer"] == "/orders/1/order/amount"
    assert data["results"][2]["problem"]["errors"][0]["pointer"] == "/orders/2"
    assert data["results"][3]["problem"]["code"] == "currency_mismatch"
    assert data["results"][3]["problem"]["errors"][0]["pointer"] == "/orders/3/order/currency"
    assert service.count("decisions", "customer_id = :c", c=customer) == 2
    again = service.post("/v1/decisions/order:batch", {"orders": orders, "request_id": batch_id}).json()
    assert [r.get("replayed") for r in again["results"]] == [True, None, None, None, True]
    assert service.count("decisions", "customer_id = :c", c=customer) == 2


def test_dates_at_the_end_of_the_calendar_are_refused_in_place(service: Service) -> None:
    customer = unique("C")
    late = body("assess", customer, as_of="9999-12-31")
    refused = service.post("/v1/decisions/assess", late)
    assert (refused.status_code, refused.json()["code"]) == (422, "date_out_of_range")
    inline = body("order", customer, as_of="9999-12-31")
    inline["customer"] = {"id": customer, "credit_file": late["credit_file"]}
    batch = service.post("/v1/decisions/order:batch", {"orders": [body("order", customer), inline]})
    assert batch.status_code == 200, batch.text
    assert [(r["status"], (r.get("problem") or {}).get("code")) for r in batch.json()["results"]] == [
        (200, None),
        (422, "date_out_of_range"),
    ]


def test_batch_envelope_is_validated(service: Service) -> None:
    too_many = service.post("/v1/decisions/order:batch", {"orders": [{}] * 1001})
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["pointer"] == "/orders"
    empty = service.post("/v1/decisions/order:batch", {"orders": []})
    assert empty.status_code == 422


def test_metrics_count_decisions(service: Service) -> None:
    service.post("/v1/decisions/settlement", body("settlement"))
    text = service.get("/metrics").text
    assert 'creditpolicy_decisions_total{kind="settlement",outcome="paid_with_penalty_due"}' in text
    assert 'creditpolicy_decision_latency_seconds_bucket{kind="settlement",le="+Inf"}' in text
    assert 'creditpolicy_policy_info{policy_id="standard",sha256="' in text
    assert "# TYPE creditpolicy_decision_latency_seconds histogram" in text


def test_openapi_documents_every_body_with_examples(service: Service) -> None:
    schema = service.client.get("/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            for media in content.values():
                assert media.get("examples"), f"{method.upper()} {path} has no body examples"
            assert operation.get("description"), f"{method.upper()} {path} has no description"
    order_body = schema["paths"]["/v1/decisions/order"]["post"]["requestBody"]["content"]["application/json"]
    assert order_body["schema"] == {"$ref": "#/components/schemas/OrderDecisionRequest"}
    assert {"request_id", "policy_version", "order", "as_of"} <= set(
        schema["components"]["schemas"]["OrderDecisionRequest"]["properties"]
    )
    assert json.dumps(schema)  # serialisable, no dangling objects


def test_the_direct_path_and_fastapis_path_answer_alike(service: Service) -> None:
    """DecisionRoute decides the usual request itself and hands anything else to FastAPI's handler:
    both paths authenticate, decide and refuse alike."""
    customer = unique("C")
    direct = service.post("/v1/decisions/order?explain=true", body("order", customer))
    # `explain=1` and a charset FastAPI accepts are not on the direct path: FastAPI parses them.
    general = service.post(
        "/v1/decisions/order?explain=1",
        body("order", customer),
        headers={"Content-Type": "application/json;charset=UTF-8"},
    )
    assert direct.status_code == general.status_code == 200
    one, other = direct.json(), general.json()
    assert one["trace"] == other["trace"] and one["decision"] == other["decision"]
    assert service.count("decisions", "customer_id = :c", c=customer) == 2
    # Refusals: a malformed body and a body that is not an object reach FastAPI's words.
    json_type = {"Content-Type": "application/json"}
    malformed = service.post("/v1/decisions/order", headers=json_type, content=b'{"customer": ')
    assert (malformed.status_code, malformed.json()["code"]) == (400, "malformed_json")
    assert "at character 13" in malformed.json()["detail"]
    not_an_object = service.post("/v1/decisions/order", headers=json_type, content=b"[1, 2]")
    assert (not_an_object.status_code, not_an_object.json()["code"]) == (422, "invalid_request")
    assert not_an_object.headers["content-type"] == "application/problem+json"
    for path in ("/v1/decisions/order", "/v1/decisions/order?explain=1"):
        assert service.post(path, body("order", customer), who=None).status_code == 401
        assert service.post(path, body("order", customer), who="audit").json()["code"] == "forbidden"
    assert service.post("/v1/decisions/order?explain=maybe", body("order", customer)).status_code == 422


RATE_FORM = re.compile(r"^(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$")


def rate_members(data: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            if key in RATE_KEYS and not path.startswith("/trace/input"):
                yield f"{path}/{key}", value
            else:
                yield from rate_members(value, f"{path}/{key}")
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from rate_members(value, f"{path}/{index}")


@pytest.mark.parametrize("kind", KINDS)
def test_every_rate_has_one_form(service: Service, kind: str) -> None:
    # Issue 10: settlement answered "0.0200", terms "0.03", limit shares "0.30".
    data = service.post(f"/v1/decisions/{kind}?explain=true", body(kind, unique("C"))).json()
    found = dict(rate_members(data))
    assert kind in ("order", "collection") or found
    assert {path: value for path, value in found.items() if not RATE_FORM.match(str(value))} == {}


def test_a_decision_logged_with_four_place_rates_still_replays_as_matching(service: Service) -> None:
    data = service.post("/v1/decisions/settlement", body("settlement", unique("C"))).json()
    assert data["decision"]["payments"][0]["discount_rate"] == "0.02"
    with UnitOfWork(service.app.state.db_engine) as uow:
        stored = uow.decisions.get(data["decision_id"])
        assert stored is not None
    old_form = stored.output_json.replace('"discount_rate":"0.02"', '"discount_rate":"0.0200"')
    assert old_form != stored.output_json
    with service.app.state.db_engine.begin() as connection:
        connection.execute(
            text("UPDATE decisions SET output_json = :o WHERE decision_id = :d"),
            {"o": old_form, "d": data["decision_id"]},
        )
    replay = service.post(f"/v1/decisions/{data['decision_id']}/replay", {}, who="audit").json()
    assert replay["matches"] is True and replay["differences"] == []

"""Credit cases, webhooks and grades over HTTP: holds, releases, rejections, signed events, grade history."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from api.service.webhooks import verify_signature
from tests.e2e.conftest import Service, unique
from tests.e2e.inputs import body
from tests.factories import PUBLIC_ADDRESS

LIMIT = "100000.00"
# If a real sender were ever used by mistake, this URL fails at once instead of leaving the machine.
HOOK_URL = "http://127.0.0.1:9/credit-hooks"


@dataclass
class FakeSender:
    sent: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)

    def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        self.sent.append((url, body, dict(headers)))
        return 204


@pytest.fixture
def sender(service: Service) -> Iterator[FakeSender]:
    fake = FakeSender()
    real, service.app.state.webhook_sender = service.app.state.webhook_sender, fake
    yield fake
    service.app.state.webhook_sender = real


def order(customer: str, reference: str, amount: str, order_id: str | None = None) -> dict[str, Any]:
    data = body("order", customer)
    data["customer"]["limit"] = LIMIT
    data["exposure"] = {}
    data["order"] = {"id": order_id or unique("SO"), "reference": reference, "amount": amount, "currency": "CNY"}
    return data


def decide(service: Service, data: dict[str, Any]) -> dict[str, Any]:
    response = service.post("/v1/decisions/order", data)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def held_case(service: Service) -> tuple[str, str, str]:
    """A new customer's order, held over its limit: (customer, reference, case_id)."""
    customer, reference = unique("C"), unique("PO")
    held = decide(service, order(customer, reference, "120000.00"))
    assert held["outcome"] == "hold" and held["case"]["effect"] == "opened", held
    return customer, reference, held["case"]["case_id"]


def test_only_the_approve_role_resolves_cases(service: Service, sender: FakeSender) -> None:
    _, _, case_id = held_case(service)
    for who in ("decide", "author", "audit", "admin"):
        for action in ("release", "reject"):
            refused = service.post(f"/v1/cases/{case_id}/{action}", {"reason": "ok"}, who=who)
            assert refused.status_code == 403, (who, action)
            assert refused.json()["code"] == "forbidden"
    assert service.post(f"/v1/cases/{case_id}/release", {"reason": "ok"}, who=None).status_code == 401
    assert service.get(f"/v1/cases/{case_id}", who="decide").json()["status"] == "open"
    released = service.post(f"/v1/cases/{case_id}/release", {"reason": "paid"}, who="approve")
    assert released.status_code == 200 and released.json()["resolved_by"] == "e2e-approve"


def test_a_held_order_is_released_and_covers_its_recheck(service: Service, sender: FakeSender) -> None:
    customer, reference, case_id = held_case(service)
    case = service.get(f"/v1/cases/{case_id}", who="decide").json()
    assert case["order_amount"] == "120000.00" and case["order_ref"] == reference and case["status"] == "open"
    # Re-submitted under a new order id while the case is open: held by it, no second case.
    again = decide(service, order(customer, reference, "120000.00"))
    assert again["outcome"] == "hold"
    assert again["case"] == {"case_id": case_id, "status": "open", "effect": "held_by_open_case"}
    listed = service.get("/v1/cases", params={"customer_id": customer}, who="decide").json()
    assert [c["case_id"] for c in listed["items"]] == [case_id] and listed["next_cursor"] is None

    released = service.post(f"/v1/cases/{case_id}/release", {"reason": "collateral received"}, who="approve")
    assert released.status_code == 200, released.text
    data = released.json()
    assert data["status"] == "released" and data["reason"] == "collateral received"
    assert data["release_amount_max"] == "126000.00"  # the shipped policy: +5 % for 14 days
    assert len(data["release_until"]) == 10  # an ISO date

    plus_4 = decide(service, order(customer, reference, "124800.00"))
    assert plus_4["outcome"] == "approve"
    assert plus_4["case"] == {"case_id": case_id, "status": "released", "effect": "released_within_tolerance"}
    assert {"rule": f"case.{case_id}", "reason": "RELEASED_BY_CASE"}.items() <= plus_4["reasons"][-1].items()
    plus_6 = decide(service, order(customer, reference, "127200.00"))
    assert plus_6["outcome"] == "hold" and plus_6["case"]["effect"] == "opened"
    assert plus_6["case"]["case_id"] != case_id


def test_a_rejected_order_stays_rejected(service: Service, sender: FakeSender) -> None:
    customer, reference, case_id = held_case(service)
    rejected = service.post(f"/v1/cases/{case_id}/reject", {"reason": "group exposure"}, who="approve")
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    again = decide(service, order(customer, reference, "1000.00"))
    assert again["outcome"] == "reject"
    assert again["case"] == {"case_id": case_id, "status": "rejected", "effect": "rejected_by_case"}


def test_case_errors_are_problems_with_codes(service: Service, sender: FakeSender) -> None:
    _, _, case_id = held_case(service)
    for payload in ({}, {"reason": "  "}, {"reason": None}):
        missing = service.post(f"/v1/cases/{case_id}/release", payload, who="approve")
        assert missing.status_code == 422 and missing.json()["code"] == "reason_required", missing.text
    unknown = service.post("/v1/cases/00000000-0000-4000-8000-000000000000/reject", {"reason": "x"}, who="approve")
    assert unknown.status_code == 404 and unknown.json()["code"] == "case_not_found"
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert service.post(f"/v1/cases/{case_id}/reject", {"reason": "no"}, who="approve").status_code == 200
    twice = service.post(f"/v1/cases/{case_id}/release", {"reason": "yes"}, who="approve")
    assert twice.status_code == 409 and twice.json()["code"] == "case_not_open"
    assert service.get("/v1/cases/missing", who="decide").json()["code"] == "case_not_found"
    assert service.get("/v1/cases", params={"cursor": "bogus"}).json()["code"] == "invalid_cursor"
    assert service.get("/v1/cases", params={"status": "closed"}).status_code == 422


def test_webhooks_receive_signed_case_events(service: Service, sender: FakeSender) -> None:
    registered = service.post("/v1/webhooks", {"url": HOOK_URL, "events": ["case.released", "case.rejected"]})
    assert registered.status_code == 201, registered.text
    hook = registered.json()
    secret = hook.pop("secret")
    assert hook["created_by"] == "e2e-decide"
    try:
        listed = service.get("/v1/webhooks", who="decide").json()["webhooks"]
        assert hook["id"] in [h["id"] for h in listed] and all("secret" not in h for h in listed)
        _, _, case_id = held_case(service)
        assert service.post(f"/v1/cases/{case_id}/release", {"reason": "paid"}, who="approve").status_code == 200
        [(url, payload, headers)] = [s for s in sender.sent if json.loads(s[1])["data"]["case"]["case_id"] == case_id]
        assert url == HOOK_URL and headers["X-Creditpolicy-Event"] == "case.released"
        timestamp = int(headers["X-Creditpolicy-Timestamp"])
        assert verify_signature(secret, timestamp, payload, headers["X-Creditpolicy-Signature"])
        assert json.loads(payload)["data"]["case"]["release_amount_max"] == "126000.00"
    finally:
        assert service.client.delete(f"/v1/webhooks/{hook['id']}", headers=service.headers("decide")).status_code == 204
    gone = service.client.delete(f"/v1/webhooks/{hook['id']}", headers=service.headers("decide"))
    assert gone.status_code == 404 and gone.json()["code"] == "webhook_not_found"
    bad = service.post("/v1/webhooks", {"url": "ftp://erp.example/x", "events": ["case.opened"]})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_webhook_url"


def test_grade_history_and_reviews_due(service: Service) -> None:
    customer = unique("C")
    assessed = service.post("/v1/decisions/assess", body("assess", customer))
    assert assessed.status_code == 200, assessed.text
    grade = assessed.json()["decision"]["grade"]
    weak = body("assess", customer)
    weak["credit_file"] = {}
    downgrade = service.post("/v1/decisions/assess", weak).json()["decision"]
    downgraded, next_review = downgrade["grade"], downgrade["next_review"]
    assert downgraded != grade
    history = service.get(f"/v1/customers/{customer}/grades", who="audit")
    assert history.status_code == 200, history.text
    data = history.json()
    assert [(c["old_grade"], c["new_grade"]) for c in data["changes"]] == [(None, grade), (grade, downgraded)]
    assert data["changes"][0]["policy"]["version"] == "2026.1" and isinstance(data["changes"][0]["score"], str)
    assert data["current"]["grade"] == downgraded and isinstance(data["current"]["credit_limit"], str)
    assert service.get(f"/v1/customers/{customer}/grades", who="decide").status_code == 403
    assert service.get(f"/v1/customers/{unique('C')}/grades").json()["code"] == "customer_not_found"

    on_the_day = service.get("/v1/reviews/due", params={"on": next_review, "limit": 1000}, who="approve").json()
    assert on_the_day["on"] == next_review
    [mine] = [c for c in on_the_day["customers"] if c["customer_id"] == customer]
    assert mine["days_overdue"] == 0 and mine["next_review"] == next_review and mine["grade"] == downgraded
    the_day_before = service.get("/v1/reviews/due", params={"on": "2026-06-30", "limit": 1000}).json()
    assert customer not in [c["customer_id"] for c in the_day_before["customers"]]


def test_a_late_assessment_slots_into_the_grade_history_by_as_of(service: Service) -> None:
    customer = unique("C")
    weak = body("assess", customer, as_of="2026-03-31")
    weak["credit_file"] = {}
    strong = service.post("/v1/decisions/assess", body("assess", customer, as_of="2026-01-31")).json()["decision"]
    service.post("/v1/decisions/assess", weak)
    late = service.post("/v1/decisions/assess", {**weak, "as_of": "2026-02-28"}).json()  # keyed in late
    data = service.get(f"/v1/customers/{customer}/grades").json()
    moves = [(c["as_of"], c["old_grade"], c["new_grade"]) for c in data["changes"]]
    assert moves == [("2026-01-31", None, strong["grade"]), ("2026-02-28", strong["grade"], late["decision"]["grade"])]
    change = data["changes"][1]
    assert change["changed"] == ["grade", "credit_limit", "eligible"] and change["decision_id"] == late["decision_id"]
    assert (change["old_credit_limit"], change["new_credit_limit"]) == (strong["credit_limit"], "0.00")
    assert (change["old_eligible"], change["new_eligible"]) == (True, False)
    assert (data["current"]["as_of"], data["current"]["grade"]) == ("2026-03-31", late["decision"]["grade"])


@pytest.mark.parametrize(
    ("method", "path", "payload", "status", "code"),
    [
        ("GET", "/v1/cases/a%00b", None, 404, "case_not_found"),
        ("GET", "/v1/cases?customer_id=a%00b", None, 422, "invalid_query"),
        ("GET", "/v1/customers/a%00b/grades", None, 422, "invalid_query"),
        ("GET", "/v1/reviews/due?on=2026-02-30", None, 422, "invalid_query"),
        # Lax parsing read these as Unix timestamps (1970-01-01) or dropped the time: ISO dates only.
        ("GET", "/v1/reviews/due?on=0", None, 422, "invalid_query"),
        ("GET", "/v1/reviews/due?on=1782777600", None, 422, "invalid_query"),
        ("GET", "/v1/reviews/due?on=2026-06-30T00:00:00", None, 422, "invalid_query"),
        ("GET", "/v1/reviews/due?on=20260630", None, 422, "invalid_query"),
        ("POST", "/v1/cases/a%00b/release", {"reason": "ok"}, 404, "case_not_found"),
        ("POST", "/v1/webhooks", {"url": "https://erp.example/a\u0000b", "events": ["case.opened"]}, 422, None),
        ("POST", "/v1/webhooks", {"url": "https://erp.example/x", "events": []}, 422, None),
        ("DELETE", "/v1/webhooks/99999999999", None, 422, None),
    ],
)
def test_odd_input_is_refused_with_a_code_never_a_5xx(
    service: Service, method: str, path: str, payload: Any, status: int, code: str | None
) -> None:
    who = {"GET": "audit", "POST": "approve" if "cases" in path else "decide", "DELETE": "decide"}[method]
    response = service.client.request(method, path, json=payload, headers=service.headers(who))
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert code is None or response.json()["code"] == code


def test_a_reason_with_control_characters_is_refused(service: Service, sender: FakeSender) -> None:
    _, _, case_id = held_case(service)
    refused = service.post(f"/v1/cases/{case_id}/reject", {"reason": "no\u0000"}, who="approve")
    assert refused.status_code == 422 and refused.json()["code"] == "invalid_reason"


def test_concurrent_holds_of_one_order_open_one_case(service: Service, sender: FakeSender) -> None:
    """Sixteen re-submissions of one held order at once (the group committer stores concurrent
    decisions together): one opens the case, every other is held by it, and every one is logged."""
    customer, reference = unique("C"), unique("PO")
    answers: list[dict[str, Any]] = []
    start = threading.Barrier(16)

    def submit() -> None:
        start.wait(10)
        answers.append(decide(service, order(customer, reference, "120000.00")))

    workers = [threading.Thread(target=submit) for _ in range(16)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    effects = sorted(a["case"]["effect"] for a in answers)
    assert effects == ["held_by_open_case"] * 15 + ["opened"]
    assert len({a["case"]["case_id"] for a in answers}) == 1 and {a["outcome"] for a in answers} == {"hold"}
    assert service.count("credit_cases", "customer_id = :c", c=customer) == 1
    assert service.count("decisions", "customer_id = :c", c=customer) == 16


# --- webhooks never reach internal addresses ----------------------------------------------------
@pytest.mark.parametrize(
    ("url", "detail"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://127.0.0.2:5432/", "127.0.0.2 is a loopback address"),  # 127.0.0.1 alone is allowed here
        ("http://[::1]/", "::1 is a loopback address"),
        ("http://0.0.0.0/", "0.0.0.0 is an unspecified address"),
        ("http://2130706434/", "2130706434 is 127.0.0.2, a loopback address"),
        ("http://0x7f.2/", "0x7f.2 is 127.0.0.2, a loopback address"),
        ("http://10.0.0.1/", "10.0.0.1 is a private address"),
        ("http://[::ffff:169.254.169.254]/", "an IPv4-mapped form of 169.254.169.254"),
        ("http://erp.example@192.168.0.1/", "192.168.0.1 is a private address"),
        ("http://localhost:9/", "localhost is a loopback name"),
        ("https://user:pass@erp.example/hooks", "may not carry credentials"),
    ],
)
def test_registering_an_internal_target_is_a_located_422_and_stores_nothing(
    service: Service, url: str, detail: str
) -> None:
    before = service.count("webhooks")
    refused = service.post("/v1/webhooks", {"url": url, "events": ["case.released"]})
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["code"] == "webhook_url_forbidden" and detail in problem["detail"]
    assert problem["errors"] == [{"pointer": "/url", "message": problem["detail"], "code": "webhook_url_forbidden"}]
    assert service.count("webhooks") == before


def test_a_name_resolving_inside_is_refused_at_registration(service: Service) -> None:
    name = f"{unique('meta')}.example"
    service.dns[name] = ["169.254.169.254"]
    refused = service.post("/v1/webhooks", {"url": f"http://{name}/", "events": ["case.released"]})
    assert refused.status_code == 422 and refused.json()["code"] == "webhook_url_forbidden"
    assert f"{name} resolves to 169.254.169.254, a link-local address" in refused.json()["detail"]


def test_a_delivery_to_a_name_now_resolving_inside_is_refused_and_recorded(service: Service) -> None:
    """The app's own sender (no fake): DNS answered a public address at registration, an internal one later."""
    name = f"{unique('hooks')}.example"
    service.dns[name] = [PUBLIC_ADDRESS]
    registered = service.post("/v1/webhooks", {"url": f"https://{name}/credit", "events": ["case.released"]})
    assert registered.status_code == 201, registered.text
    hook_id = registered.json()["id"]
    try:
        service.dns[name] = ["10.0.0.1"]
        _, _, case_id = held_case(service)
        assert service.post(f"/v1/cases/{case_id}/release", {"reason": "paid"}, who="approve").status_code == 200
        refused = f"refused: {name} resolves to 10.0.0.1, a private address"
        assert service.count("webhook_deliveries", "webhook_id = :h", h=hook_id) == 1
        assert (
            service.count(
                "webhook_deliveries",
                "webhook_id = :h AND attempts = 1 AND delivered_at IS NULL AND next_attempt_at IS NOT NULL"
                " AND last_error = :e",
                h=hook_id,
                e=refused,
            )
            == 1
        )
    finally:
        service.client.delete(f"/v1/webhooks/{hook_id}", headers=service.headers("decide"))


def test_the_allowlist_permits_exactly_what_it_names(service: Service) -> None:
    """The e2e service allows 127.0.0.1/32 and nothing else internal."""
    ok = service.post("/v1/webhooks", {"url": "http://127.0.0.1:9/hooks", "events": ["case.opened"]})
    assert ok.status_code == 201, ok.text
    assert (
        service.client.delete(f"/v1/webhooks/{ok.json()['id']}", headers=service.headers("decide")).status_code == 204
    )
    for url in ("http://127.0.0.2:9/", "http://[::1]:9/", "http://10.0.0.1/", "http://127.0.1.1/"):
        refused = service.post("/v1/webhooks", {"url": url, "events": ["case.opened"]})
        assert refused.json()["code"] == "webhook_url_forbidden", url


def test_an_undecodable_idn_host_is_not_a_5xx(service: Service) -> None:
    """httpx parses xn--n3h.com but cannot decode it (IDNAError): that escaped as a 500."""
    registered = service.post("/v1/webhooks", {"url": "http://xn--n3h.com/hooks", "events": ["case.opened"]})
    assert registered.status_code == 201, registered.text
    service.client.delete(f"/v1/webhooks/{registered.json()['id']}", headers=service.headers("decide"))

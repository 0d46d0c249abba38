"""`as_of` left out: the service decides as of today (UTC), says so, and logs the day it used."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Service, running_service, unique
from tests.e2e.inputs import body
from tests.integration.conftest import throwaway_database

KINDS = ("assess", "order", "settlement", "collection")
TODAY = dt.date(2026, 7, 15)


@pytest.fixture(scope="module")
def service_on_a_fixed_day(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A service whose clock reads 2026-07-15 10:00 UTC (its tests use customers and ids of their own)."""
    moment = dt.datetime(2026, 7, 15, 10, 0, tzinfo=dt.UTC)
    directory = tmp_path_factory.mktemp("as_of")
    with throwaway_database(backend, directory, prefix="e2e") as url, running_service(url, clock=lambda: moment) as svc:
        yield svc


@pytest.mark.parametrize("kind", KINDS)
def test_a_decision_without_as_of_is_made_as_of_today_and_says_so(service_on_a_fixed_day: Service, kind: str) -> None:
    # Issue 10: as_of was required on every decision request.
    service = service_on_a_fixed_day
    request = body(kind, unique("C"), request_id=unique())
    del request["as_of"]
    if kind == "settlement":
        request["payments"] = [{"date": "2026-07-10", "amount": "9800.00"}]
    answered = service.post(f"/v1/decisions/{kind}", request)
    assert answered.status_code == 200, answered.text
    data = answered.json()
    assert data["as_of"] == TODAY.isoformat()
    logged = service.get(f"/v1/decisions/{data['decision_id']}").json()
    assert logged["input"]["as_of"] == TODAY.isoformat()  # the log holds the day used
    replay = service.post(f"/v1/decisions/{data['decision_id']}/replay", {}, who="audit").json()
    assert replay["matches"] is True
    again = service.post(f"/v1/decisions/{kind}", request)  # the same body with its request_id
    assert again.status_code == 200 and again.content == answered.content


def test_a_given_as_of_is_kept_and_echoed(service_on_a_fixed_day: Service) -> None:
    answered = service_on_a_fixed_day.post("/v1/decisions/order", body("order", unique("C"), as_of="2026-03-01"))
    assert answered.status_code == 200 and answered.json()["as_of"] == "2026-03-01"


def test_orders_of_a_batch_without_as_of_are_made_as_of_today(service_on_a_fixed_day: Service) -> None:
    orders = [body("order", unique("C")) for _ in range(2)]
    for order in orders:
        del order["as_of"]
    answered = service_on_a_fixed_day.post("/v1/decisions/order:batch", {"orders": orders})
    assert answered.status_code == 200, answered.text
    assert [item["decision"]["as_of"] for item in answered.json()["results"]] == [TODAY.isoformat()] * 2


def test_the_openapi_document_shows_as_of_optional(service_on_a_fixed_day: Service) -> None:
    schemas = service_on_a_fixed_day.client.get("/openapi.json").json()["components"]["schemas"]
    for name in ("AssessDecisionRequest", "OrderDecisionRequest", "SettlementDecisionRequest"):
        assert "as_of" not in schemas[name].get("required", []), name
        assert "today (UTC)" in schemas[name]["properties"]["as_of"]["description"]

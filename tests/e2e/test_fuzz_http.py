"""No input yields a 5xx: arbitrary JSON to every endpoint, and valid bodies with one part replaced."""

from __future__ import annotations

import copy
import ipaddress
import os
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from api.service.decisions import BATCH_MEMBERS
from tests.e2e.conftest import ALLOWED_WEBHOOK_NETWORKS, Service
from tests.e2e.inputs import body
from tests.webhook_address_strategies import Address, Network, forbidden_hosts

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["2026-06-30", "0.01", "-1", "1e400", "CNY", "A", "ordinary", "", "9" * 40])
    | st.sampled_from(["\ud800", "x\udfffy", "a\u0000b", "\u202e", "🙂" * 70]),  # unencodable, NUL, long
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)
# CREDITPOLICY_FUZZ_EXAMPLES=2000 for a longer hunt than the suite affords.
FUZZ = settings(
    max_examples=int(os.environ.get("CREDITPOLICY_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Every endpoint that takes a body, with a key that may call it (so the body is really read).
POSTS = [
    ("/v1/decisions/assess", "decide"),
    ("/v1/decisions/order", "decide"),
    ("/v1/decisions/settlement", "decide"),
    ("/v1/decisions/collection", "decide"),
    ("/v1/decisions/order:batch", "decide"),
    ("/v1/decisions/assess:batch?dry_run=true", "decide"),
    ("/v1/decisions/settlement:batch", "decide"),
    ("/v1/decisions/collection:batch?dry_run=true&version=2026.1", "simulate"),
    ("/v1/decisions/x/replay", "audit"),
    ("/v1/policies", "author"),
    ("/v1/policies/versions/x/approve", "approve"),
    ("/v1/policies/versions/x/activate", "approve"),
    ("/v1/policies/versions/x/retire", "approve"),
    ("/v1/cases/x/release", "approve"),
    ("/v1/cases/x/reject", "approve"),
    ("/v1/webhooks", "decide"),
    ("/v1/keys", "admin"),
]


@FUZZ
@given(index=st.integers(0, len(POSTS) - 1), payload=JSON)
def test_arbitrary_json_to_every_endpoint(service: Service, index: int, payload: Any) -> None:
    path, who = POSTS[index]
    response = service.post(path, payload, who=who)
    assert response.status_code < 500, (path, payload, response.text)
    assert response.status_code < 400 or response.headers["content-type"] == "application/problem+json"


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


def _replace(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copied = copy.deepcopy(data)
    target = copied
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return copied


@FUZZ
@given(
    kind=st.sampled_from(["assess", "order", "settlement", "collection"]),
    choice=st.integers(min_value=0),
    value=JSON,
    explain=st.booleans(),
    extra=st.dictionaries(st.sampled_from(["request_id", "policy_version", "unknown"]), JSON, max_size=2),
)
def test_valid_bodies_with_one_part_replaced(
    service: Service, kind: str, choice: int, value: Any, explain: bool, extra: dict[str, Any]
) -> None:
    valid = body(kind)
    paths = _paths(valid)
    mutated = _replace(valid, paths[choice % len(paths)], value)
    if isinstance(mutated, dict):
        mutated.update(extra)
    response = service.post(f"/v1/decisions/{kind}?explain={str(explain).lower()}", mutated)
    assert response.status_code < 500, (kind, mutated, response.text)


@FUZZ
@given(
    kind=st.sampled_from(["assess", "order", "settlement", "collection"]),
    choice=st.integers(min_value=0),
    value=JSON,
    extra=st.dictionaries(st.sampled_from(["request_id", "policy_version", "unknown"]), JSON, max_size=2),
)
def test_dry_runs_of_valid_bodies_with_one_part_replaced(
    service: Service, kind: str, choice: int, value: Any, extra: dict[str, Any]
) -> None:
    """A dry run naming a version decides on the plain-Python twin: it refuses what the live path refuses."""
    valid = body(kind)
    paths = _paths(valid)
    mutated = _replace(valid, paths[choice % len(paths)], value)
    if isinstance(mutated, dict):
        mutated.update(extra)
    path = f"/v1/decisions/{kind}:batch?dry_run=true&version=2026.1&explain=true"
    response = service.post(path, {BATCH_MEMBERS[kind]: [mutated]}, who="simulate")
    assert response.status_code < 500, (kind, mutated, response.text)
    assert all(result["status"] < 500 for result in response.json().get("results", [])), response.text


QUERY = st.dictionaries(
    st.sampled_from(["customer_id", "kind", "outcome", "since", "until", "policy_version", "limit", "cursor"]),
    st.text(max_size=30)
    | st.sampled_from(
        ["2026-01-01", "2026-01-01T00:00:00+05:00", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"]
    )
    | st.sampled_from(["0", "501", "order", "2026.1", "b1cd7e11"]),
    max_size=4,
)


@FUZZ
@given(query=QUERY, path=st.sampled_from(["/v1/decisions", "/v1/policies/diff", "/v1/cases", "/v1/reviews/due"]))
def test_arbitrary_queries(service: Service, query: dict[str, str], path: str) -> None:
    response = service.get(f"{path}?{urlencode(query)}", who="audit")
    assert response.status_code < 500, (path, query, response.text)


@FUZZ
@given(segment=st.text(min_size=1, max_size=80))
def test_arbitrary_path_segments(service: Service, segment: str) -> None:
    for template, who in (
        ("/v1/decisions/{}", "audit"),
        ("/v1/policies/versions/{}", "audit"),
        ("/v1/policies/versions/{}/events", "audit"),
        ("/v1/policies/{}/versions", "audit"),
    ):
        response = service.get(template.format(quote(segment, safe="")), who=who)
        assert response.status_code < 500, (template, segment, response.text)


ALLOWED = ipaddress.ip_network(ALLOWED_WEBHOOK_NETWORKS)
HOSTILE_PARTS = st.tuples(
    st.sampled_from(["http://", "https://", "HTTP://", "ftp://", "gopher://", "//", ""]),
    st.sampled_from(["", "user:pw@", "erp.example@", "a%40b@", "@", "127.0.0.1%2f@"]),
    st.sampled_from(["", ":80", ":0", ":65536", ":", ":8080"]),
    st.sampled_from(["", "/", "/hooks?x=1", "#@evil.example", "\\@127.0.0.1/", "/%2e%2e/"]),
)


@FUZZ
@given(forbidden=forbidden_hosts(), parts=HOSTILE_PARTS)
def test_a_forbidden_address_in_any_url_is_never_registered(
    service: Service, forbidden: tuple[str, Network, Address], parts: tuple[str, str, str, str]
) -> None:
    (host, _, address), (scheme, userinfo, port, tail) = forbidden, parts
    assume(address not in ALLOWED)  # the e2e service allows its local receivers
    url = f"{scheme}{userinfo}{host}{port}{tail}"
    response = service.post("/v1/webhooks", {"url": url, "events": ["case.opened"]})
    assert response.status_code == 422, (url, response.text)


@FUZZ
@given(host=st.text(max_size=30), parts=HOSTILE_PARTS)
def test_arbitrary_webhook_hosts_are_never_a_5xx(service: Service, host: str, parts: tuple[str, str, str, str]) -> None:
    scheme, userinfo, port, tail = parts
    url = f"{scheme}{userinfo}{quote(host, safe='.:[]%') if host.isascii() else host}{port}{tail}"
    response = service.post("/v1/webhooks", {"url": url, "events": ["case.opened"]})
    assert response.status_code in (201, 422), (url, response.text)
    if response.status_code == 201:
        service.client.delete(f"/v1/webhooks/{response.json()['id']}", headers=service.headers("decide"))

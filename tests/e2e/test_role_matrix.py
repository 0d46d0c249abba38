"""Every route of the app × every role: 401 without a key, 403 without the permission, through with it.

The table is written out on purpose: a new route fails this test until it is added here with
its permission, so no endpoint ships without a decision about who may call it.
"""

from __future__ import annotations

import re

from fastapi.routing import APIRoute, iter_route_contexts

from api.service.keys import PERMISSIONS
from tests.e2e.conftest import KEY_ROLES, Service

PUBLIC = None
EXPECTED: dict[tuple[str, str], str | None] = {
    ("POST", "/v1/decisions/assess"): "decide",
    ("POST", "/v1/decisions/order"): "decide",
    ("POST", "/v1/decisions/settlement"): "decide",
    ("POST", "/v1/decisions/collection"): "decide",
    ("POST", "/v1/decisions/order:batch"): "decide",
    ("POST", "/v1/decisions/assess:batch"): "decide",
    ("POST", "/v1/decisions/settlement:batch"): "decide",
    ("POST", "/v1/decisions/collection:batch"): "decide",
    ("GET", "/v1/decisions"): "read_log",
    ("GET", "/v1/decisions/{decision_id}"): "read_log",
    ("POST", "/v1/decisions/{decision_id}/replay"): "replay",
    ("POST", "/v1/impact"): "impact",
    ("GET", "/v1/policies/versions/{ref}/review"): "impact",
    ("POST", "/v1/policies"): "publish",
    ("GET", "/v1/policies/diff"): "read_versions",
    ("GET", "/v1/policies/versions/{ref}"): "read_versions",
    ("GET", "/v1/policies/versions/{ref}/events"): "read_versions",
    ("POST", "/v1/policies/versions/{ref}/approve"): "approve",
    ("POST", "/v1/policies/versions/{ref}/activate"): "activate",
    ("POST", "/v1/policies/versions/{ref}/retire"): "retire",
    ("GET", "/v1/policies/{policy_id}/versions"): "read_versions",
    ("GET", "/v1/policies/{policy_id}/blame"): "read_versions",
    ("PUT", "/v1/policies/{policy_id}/challenger"): "name_challenger",
    ("GET", "/v1/policies/{policy_id}/challenger"): "read_shadow",
    ("DELETE", "/v1/policies/{policy_id}/challenger"): "name_challenger",
    ("GET", "/v1/shadow/report"): "read_shadow",
    ("GET", "/v1/cases"): "read_cases",
    ("GET", "/v1/cases/{case_id}"): "read_cases",
    ("POST", "/v1/cases/{case_id}/release"): "resolve_case",
    ("POST", "/v1/cases/{case_id}/reject"): "resolve_case",
    ("GET", "/v1/customers/{customer_id}/grades"): "read_grades",
    ("GET", "/v1/reviews/due"): "read_grades",
    ("POST", "/v1/webhooks"): "register_webhook",
    ("GET", "/v1/webhooks"): "register_webhook",
    ("DELETE", "/v1/webhooks/{webhook_id}"): "register_webhook",
    ("POST", "/v1/simulations"): "simulate",
    ("POST", "/v1/impact/jobs"): "impact",
    ("GET", "/v1/jobs"): "read_jobs",
    ("GET", "/v1/jobs/{job_id}"): "read_jobs",
    ("GET", "/v1/jobs/{job_id}/artifacts/{name}"): "read_jobs",
    ("POST", "/v1/jobs/{job_id}:cancel"): "read_jobs",
    ("DELETE", "/v1/jobs/{job_id}"): "read_jobs",
    ("POST", "/v1/keys"): "manage_keys",
    ("GET", "/v1/keys"): "manage_keys",
    ("POST", "/v1/keys/{name}/revoke"): "manage_keys",
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): "read_metrics",  # unless CREDITPOLICY_METRICS_ACCESS=open
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
}


def app_routes(service: Service) -> set[tuple[str, str]]:
    """(method, path) of every route, those of included routers too."""
    found = set()
    for route in iter_route_contexts(service.app.routes):
        found |= {(method, str(route.path)) for method in route.methods or () if method != "HEAD"}
    return found


def declared_permission(service: Service, method: str, path: str) -> str | None:
    """The permission the route's dependencies require (``require(p)`` marks its dependency)."""
    for context in iter_route_contexts(service.app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and context.path == path and method in (route.methods or ()):
            stack = list(route.dependant.dependencies)
            while stack:
                dependant = stack.pop()
                permission = getattr(dependant.call, "permission", None)
                if permission is not None:
                    return str(permission)
                stack += dependant.dependencies
    return None


def test_every_route_is_in_the_table(service: Service) -> None:
    routes = app_routes(service)
    assert routes - EXPECTED.keys() == set(), "new routes: add them to EXPECTED with their permission"
    assert EXPECTED.keys() - routes == set(), "routes in EXPECTED that the app no longer has"
    for method, path in routes:
        assert declared_permission(service, method, path) == EXPECTED[(method, path)], (method, path)


def test_role_matrix(service: Service) -> None:
    wrong = []
    for (method, template), permission in sorted(EXPECTED.items()):
        path = re.sub(r"\{[^}]+\}", "x", template)
        for who in (None, *KEY_ROLES):
            response = service.client.request(method, path, headers=service.headers(who), json={})
            assert response.status_code < 500, (method, path, who, response.text)
            if permission is PUBLIC:
                expected_ok = True
            elif who is None:
                expected_ok = response.status_code == 401 and response.json()["code"] == "not_authenticated"
                expected_ok = expected_ok and response.headers.get("WWW-Authenticate", "").startswith("Bearer")
            elif KEY_ROLES[who] in PERMISSIONS[permission]:
                expected_ok = response.status_code not in (401, 403)
            else:
                expected_ok = response.status_code == 403 and response.json()["code"] == "forbidden"
            if not expected_ok:
                wrong.append(f"{method} {path} as {who}: {response.status_code} {response.text[:120]}")
    assert wrong == []


# A batch's query changes what it needs (api.service.decisions.batch_permission): a dry run of the
# version a live decision would use, `dry_run` (decide or simulate); naming a version, `simulate`.
BATCH_QUERIES: dict[str, str] = {
    "": "decide",
    "?dry_run=false": "decide",
    "?dry_run=true": "dry_run",
    "?dry_run=true&explain=true": "dry_run",
    "?dry_run=true&version=2026.1": "simulate",
    "?version=2026.1": "simulate",  # then refused: a version names what a dry run decides by
}


def test_batch_role_matrix(service: Service) -> None:
    assert PERMISSIONS["dry_run"] == {"decide", "simulate"} and PERMISSIONS["simulate"] == {"simulate"}
    wrong = []
    batches = sorted(path for method, path in EXPECTED if path.endswith(":batch"))
    assert len(batches) == 4
    for path in batches:
        for query, permission in BATCH_QUERIES.items():
            for who in (None, *KEY_ROLES):
                response = service.client.post(path + query, headers=service.headers(who), json={})
                assert response.status_code < 500, (path, query, who, response.text)
                if who is None:
                    expected = (401, "not_authenticated")
                elif KEY_ROLES[who] in PERMISSIONS[permission]:
                    expected = (
                        422,
                        "invalid_request" if "dry_run" in query or query == "" else "version_needs_dry_run",
                    )
                else:
                    expected = (403, "forbidden")
                if (response.status_code, response.json()["code"]) != expected:
                    wrong.append(f"POST {path}{query} as {who}: {response.status_code} {response.text[:160]}")
    assert wrong == []


def test_bad_keys_are_401(service: Service) -> None:
    decide_key = service.keys["decide"]
    for headers in (
        {"Authorization": "Bearer nope"},
        {"Authorization": f"Basic {decide_key}"},
        {"Authorization": f"Bearer {decide_key[:-1]}x"},
        {"X-API-Key": ""},
    ):
        response = service.client.get("/v1/decisions", headers=headers)
        assert (response.status_code, response.json()["code"]) == (401, "not_authenticated"), headers
    assert service.client.get("/v1/decisions", headers={"X-API-Key": service.keys["audit"]}).status_code == 200

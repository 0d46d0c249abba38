"""The OpenAPI document names every problem an operation can answer, as problem+json, and nothing else answers.

Two checks: the document walked (an operation with a body documents 400, 413, 415 and 422; one
with parameters 422; one behind a key 401 and 403; every 4xx/5xx is `application/problem+json`
with the Problem schema), and every operation called with a malformed body, a body that is not
JSON and parameters that do not fit, by a key that may call it, answering only statuses its
document lists.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from api.service.keys import PERMISSIONS
from tests.e2e.conftest import KEY_ROLES, Service
from tests.e2e.test_role_matrix import declared_permission

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
METHODS = ("get", "post", "put", "patch", "delete")


def operations(service: Service) -> list[tuple[str, str, dict[str, Any]]]:
    schema = service.client.get("/openapi.json").json()
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def documented(operation: dict[str, Any]) -> set[int]:
    return {int(status) for status in operation["responses"] if status.isdigit()}


def test_every_operation_documents_the_problems_its_shape_can_answer(service: Service) -> None:
    missing = []
    for path, method, operation in operations(service):
        expected: set[int] = set()
        if "requestBody" in operation:
            expected |= {400, 413, 415, 422}
        if any(p["in"] in ("query", "path") for p in operation.get("parameters", [])):
            expected.add(422)
        if operation.get("security"):
            expected |= {401, 403}
        if path.startswith("/v1/"):
            expected.add(503)
        if not expected <= documented(operation):
            missing.append(f"{method.upper()} {path}: {sorted(expected - documented(operation))}")
        for status, response in operation["responses"].items():
            if status[:1] in ("4", "5"):
                assert response["content"] == PROBLEM, (method, path, status)
                assert response["description"], (method, path, status)
    assert missing == []


def test_no_fastapi_validation_error_is_documented(service: Service) -> None:
    text = service.client.get("/openapi.json").text
    assert "HTTPValidationError" not in text and "#/components/schemas/ValidationError" not in text


def _key_for(service: Service, method: str, path: str) -> dict[str, str]:
    permission = declared_permission(service, method.upper(), path)
    if permission is None:
        return {}
    who = next(name for name, role in KEY_ROLES.items() if role in PERMISSIONS[permission])
    return service.headers(who)


@pytest.mark.parametrize(
    "attempt",
    ["malformed JSON", "not JSON", "parameters that do not fit", "no key"],
)
def test_what_each_operation_answers_is_documented(service: Service, attempt: str) -> None:
    undocumented = []
    for template, method, operation in operations(service):
        path = re.sub(r"\{[^}]+\}", "x", template)
        headers = _key_for(service, method, template) if attempt != "no key" else {}
        query = {}
        content = None
        if attempt == "malformed JSON" and "requestBody" in operation:
            content, headers = b'{"order": ', {**headers, "Content-Type": "application/json"}
        elif attempt == "not JSON" and "requestBody" in operation:
            content, headers = b"reason=x", {**headers, "Content-Type": "application/x-www-form-urlencoded"}
        elif attempt == "parameters that do not fit":
            query = {p["name"]: "\x01" for p in operation.get("parameters", []) if p["in"] == "query"}
            path = re.sub(r"\{[^}]+\}", "%01", template)
        elif attempt != "no key":
            continue
        response = service.client.request(method, path, params=query, content=content, headers=headers)
        if response.status_code >= 300 and response.status_code not in documented(operation):
            undocumented.append(f"{method.upper()} {template}: {response.status_code} {response.text[:100]}")
        if response.status_code >= 400:
            assert response.headers["content-type"] == "application/problem+json", (method, path)
            assert json.loads(response.content)["status"] == response.status_code
    assert undocumented == []

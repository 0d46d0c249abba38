"""Problem details: one status per code, pointers for every bad field, nothing unmapped."""

from __future__ import annotations

import inspect
import json

import pytest
from fastapi.exceptions import RequestValidationError

from api import errors
from api.entrypoints.http import problems
from api.service.decisions.decide import RefusedField, RequestIdReused
from api.service.registry import VersionNotApproved, VersionUnusable
from engine.errors import EngineError, InputError
from engine.errors import InputInvalid as InvalidBody
from policy.errors import Issue, PolicyInvalid

SERVICE_ERRORS = [
    cls for _, cls in inspect.getmembers(errors, inspect.isclass) if issubclass(cls, errors.ServiceError)
] + [RequestIdReused, RefusedField, VersionNotApproved, VersionUnusable]


def document(response: problems.Response) -> dict[str, object]:
    assert response.media_type == problems.PROBLEM_JSON
    return dict(json.loads(bytes(response.body)))


@pytest.mark.parametrize("cls", SERVICE_ERRORS, ids=lambda c: c.__name__)
def test_every_service_error_has_a_client_status(cls: type[errors.ServiceError]) -> None:
    status = problems.status_of(cls.code, cls.__new__(cls))
    expected_5xx = {"database_not_ready"}
    assert (status >= 500) == (cls.code in expected_5xx), (cls.__name__, cls.code, status)


@pytest.mark.parametrize(
    ("code", "error", "status"),
    [
        ("four_eyes", errors.FourEyes("x"), 403),
        ("invalid_transition", errors.InvalidTransition("x"), 409),
        ("version_not_found", errors.VersionNotFound("x"), 404),
        ("no_active_version", errors.NoActiveVersion("x"), 422),
        ("something_new", errors.Conflict("x", code="something_new"), 409),
        ("something_new", errors.NotFound("x", code="something_new"), 404),
        ("currency_mismatch", InputError("x", field="order.currency", code="currency_mismatch"), 422),
        ("rules_limit", EngineError("x", code="rules_limit"), 422),
        ("internal_error", None, 500),
    ],
)
def test_status_of(code: str, error: Exception | None, status: int) -> None:
    assert problems.status_of(code, error) == status


def test_a_problem_has_the_rfc_9457_members_and_a_code() -> None:
    body = document(problems.problem_response("request_id_reused", "used before"))
    assert body == {
        "type": "urn:creditpolicy:problem:request_id_reused",
        "title": "Conflict",
        "status": 409,
        "detail": "used before",
        "code": "request_id_reused",
    }


def test_401_says_how_to_authenticate() -> None:
    response = problems.problem_response("not_authenticated", "no key")
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("field", "pointer"),
    [
        ("order.currency", "/order/currency"),
        ("payments[2].date", "/payments/2/date"),
        ("/already/a/pointer", "/already/a/pointer"),
        ("/", ""),
        ("a/b.c", "/a~1b/c"),
    ],
)
def test_engine_fields_become_pointers(field: str, pointer: str) -> None:
    assert problems.field_pointer(field) == pointer


def test_validation_errors_point_into_the_body_or_name_the_parameter() -> None:
    error = RequestValidationError(
        [
            {"type": "missing", "loc": ("body", "orders", 3, "as_of"), "msg": "Field required"},
            {"type": "greater_than_equal", "loc": ("query", "limit"), "msg": "too small"},
        ]
    )
    body = document(problems.request_validation_problem(error))
    assert body["status"] == 422 and body["code"] == "invalid_request"
    assert body["errors"] == [
        {"message": "Field required", "code": "missing", "pointer": "/orders/3/as_of"},
        {"message": "too small", "code": "greater_than_equal", "parameter": "limit", "in": "query"},
    ]


def test_broken_json_is_400() -> None:
    error = RequestValidationError([{"type": "json_invalid", "loc": ("body", 7), "msg": "", "ctx": {"error": "x"}}])
    body = document(problems.request_validation_problem(error))
    assert (body["status"], body["code"]) == (400, "malformed_json")
    assert "character 7" in str(body["detail"])


def test_refused_policies_list_every_issue() -> None:
    invalid = PolicyInvalid([Issue("p.yaml", 3, 5, ("policy", "currency"), "not a currency", "invalid_currency")])
    body = document(problems.policy_problem(invalid))
    assert body["errors"] == [
        {
            "code": "invalid_currency",
            "message": "not a currency",
            "file": "p.yaml",
            "line": 3,
            "column": 5,
            "path": "policy.currency",
        }
    ]


def test_missing_permission_names_the_roles() -> None:
    error = errors.MissingPermission("no", permission="publish", roles=["author"])
    body = document(problems.service_problem(error))
    assert (body["status"], body["code"], body["permission"], body["roles"]) == (
        403,
        "forbidden",
        "publish",
        ["author"],
    )


def test_problems_inside_a_batch_point_into_it() -> None:
    invalid = InvalidBody([{"pointer": "/order/amount", "message": "bad", "code": "money_precision"}])
    assert problems.problem_document(invalid, "/orders/4")["errors"] == [
        {"pointer": "/orders/4/order/amount", "message": "bad", "code": "money_precision"}
    ]
    refused = InputError("USD", field="order.currency", code="currency_mismatch")
    document_ = problems.problem_document(refused, "/orders/0")
    assert (document_["code"], document_["errors"][0]["pointer"]) == ("currency_mismatch", "/orders/0/order/currency")
    pinned = RefusedField("no such version", code="unknown_policy_version", pointer="/policy_version")
    assert problems.problem_document(pinned, "/orders/2")["errors"][0]["pointer"] == "/orders/2/policy_version"

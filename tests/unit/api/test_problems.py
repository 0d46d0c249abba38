"""Problem details: one status per error class, pointers for every bad field, what frameworks raise as our errors."""

from __future__ import annotations

import json

import pytest
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError, OperationalError, StatementError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from api import errors
from api.entrypoints.http import problems
from engine.errors import CompileError, EngineError, InputError, InputInvalid
from policy.errors import Issue, PolicyInvalid


def document(response: Response) -> dict[str, object]:
    assert response.media_type == problems.PROBLEM_JSON
    return dict(json.loads(bytes(response.body)))


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.FourEyes("x"), 403),
        (errors.InvalidTransition("x"), 409),
        (errors.VersionNotFound("x"), 404),
        (errors.NoActiveVersion("x"), 422),
        (errors.RequestIdReused("x"), 409),
        (errors.RefusedField("x", code="unknown_policy_version", pointer="/policy_version"), 422),
        (errors.VersionUnusable("x"), 409),
        (errors.DatabaseNotReady("x"), 503),
        (errors.MalformedBody("x"), 400),
        (errors.BodyTooLarge("x"), 413),
        (errors.UnsupportedMediaType("x"), 415),
        (errors.MethodNotAllowed("x"), 405),
        (errors.HttpRefusal("x", status=418), 418),
        (errors.InternalError("x"), 500),
        (InputError("x", field="order.currency", code="currency_mismatch"), 422),
        (EngineError("x", code="grade_band_defect"), 422),
        (PolicyInvalid([Issue("p.yaml", 1, 1, (), "x", "missing")]), 422),
        (ValueError("a defect"), 500),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_status_of_follows_the_class(error: Exception, status: int) -> None:
    assert problems.status_of(error) == status


def test_a_problem_has_the_rfc_9457_members_and_a_code() -> None:
    body = document(problems.problem_response(errors.RequestIdReused("used before")))
    assert body == {
        "type": "urn:creditpolicy:problem:request_id_reused",
        "title": "Conflict",
        "status": 409,
        "detail": "used before",
        "code": "request_id_reused",
    }


def test_401_says_how_to_authenticate() -> None:
    response = problems.problem_response(errors.NotAuthenticated("no key"))
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
    body = problems.problem_document(problems.as_service_error(error))
    assert body["status"] == 422 and body["code"] == "invalid_request"
    assert body["errors"] == [
        {"message": "Field required", "code": "missing", "pointer": "/orders/3/as_of"},
        {"message": "too small", "code": "greater_than_equal", "parameter": "limit", "in": "query"},
    ]
    only_query = RequestValidationError([{"type": "int_parsing", "loc": ("query", "limit"), "msg": "not a number"}])
    query = problems.problem_document(problems.as_service_error(only_query))
    assert (query["status"], query["code"], query["detail"]) == (
        422,
        "invalid_query",
        "the request has 1 invalid parameter",
    )


def test_broken_json_is_400() -> None:
    error = RequestValidationError([{"type": "json_invalid", "loc": ("body", 7), "msg": "", "ctx": {"error": "x"}}])
    body = problems.problem_document(problems.as_service_error(error))
    assert (body["status"], body["code"]) == (400, "malformed_json")
    assert "character 7" in str(body["detail"])


@pytest.mark.parametrize(
    ("status", "code"),
    [(404, "route_not_found"), (405, "method_not_allowed"), (413, "body_too_large"), (400, "malformed_json")],
)
def test_the_http_layers_refusals_keep_their_status(status: int, code: str) -> None:
    body = problems.problem_document(problems.as_service_error(HTTPException(status, "x")))
    assert (body["status"], body["code"]) == (status, code)


def test_database_errors_become_the_services_own() -> None:
    lost = problems.as_service_error(OperationalError("SELECT 1", {}, Exception("gone")))
    refused = problems.as_service_error(DataError("INSERT", {}, Exception("NUL")))
    surrogate = problems.as_service_error(StatementError("x", "INSERT", {}, UnicodeEncodeError("utf-8", "", 0, 1, "x")))
    assert [(problems.status_of(e), getattr(e, "code", None)) for e in (lost, refused, surrogate)] == [
        (503, "database_unavailable"),
        (422, "invalid_value"),
        (422, "invalid_unicode"),
    ]
    assert isinstance(problems.as_service_error(RuntimeError("defect")), errors.InternalError)


def test_refused_policies_list_every_issue() -> None:
    invalid = PolicyInvalid([Issue("p.yaml", 3, 5, ("policy", "currency"), "not a currency", "invalid_currency")])
    body = problems.problem_document(invalid)
    assert body["errors"] == [
        {
            "code": "invalid_currency",
            "severity": "error",
            "message": "not a currency",
            "file": "p.yaml",
            "line": 3,
            "column": 5,
            "path": "policy.currency",
        }
    ]


def test_compile_errors_are_located_like_policy_issues() -> None:
    issue = Issue("p.yaml", 40, 7, ("order_rules", "big"), "rule 'big' is too large", "policy_too_large")
    body = problems.problem_document(CompileError([issue]))
    assert (body["status"], body["code"]) == (422, "policy_too_large")
    assert body["errors"] == [issue.to_dict()]


def test_missing_permission_names_the_roles() -> None:
    error = errors.MissingPermission("no", permission="publish", roles=["author"])
    body = problems.problem_document(error)
    assert (body["status"], body["code"], body["permission"], body["roles"]) == (
        403,
        "forbidden",
        "publish",
        ["author"],
    )


def test_problems_inside_a_batch_point_into_it() -> None:
    invalid = InputInvalid([{"pointer": "/order/amount", "message": "bad", "code": "money_precision"}])
    assert problems.problem_document(invalid, "/orders/4")["errors"] == [
        {"pointer": "/orders/4/order/amount", "message": "bad", "code": "money_precision"}
    ]
    refused = InputError("USD", field="order.currency", code="currency_mismatch")
    document_ = problems.problem_document(refused, "/orders/0")
    assert (document_["code"], document_["errors"][0]["pointer"]) == ("currency_mismatch", "/orders/0/order/currency")
    pinned = errors.RefusedField("no such version", code="unknown_policy_version", pointer="/policy_version")
    assert problems.problem_document(pinned, "/orders/2")["errors"][0]["pointer"] == "/orders/2/policy_version"


def test_echoed_words_and_texts_are_bounded_with_their_length() -> None:
    assert problems.bounded("short 'id'") == "short 'id'"
    word = "y" * 81
    assert problems.bounded(f"unknown {word} here") == f"unknown {'y' * 80}… (81 characters) here"
    assert problems.bounded("x" * 80) == "x" * 80  # at the limit: untouched
    spaced = "many words " * 100
    cut = problems.bounded(spaced)
    assert cut == f"{spaced[:500]}… (1100 characters)"


def test_every_echo_of_a_problem_is_bounded_but_its_codes() -> None:
    long = "k" * 300
    error = InputInvalid([{"pointer": f"/{long}", "message": f"bad {long}", "code": "extra_forbidden"}])
    body = problems.problem_document(error, prefix="/orders/0")
    [entry] = body["errors"]
    assert entry == {
        "pointer": f"/orders/0/{'k' * 70}… (310 characters)",
        "message": f"bad {'k' * 80}… (300 characters)",
        "code": "extra_forbidden",
    }
    assert error.errors[0]["pointer"] == f"/{long}"  # the error itself is left as raised
    detail = problems.problem_document(errors.VersionNotFound(f"no version {long}"))["detail"]
    assert detail == f"no version {'k' * 80}… (300 characters)"

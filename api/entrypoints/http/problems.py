"""Errors as RFC 9457 problem+json: the one place that maps error codes to HTTP statuses.

Every problem has ``type`` (``urn:creditpolicy:problem:<code>``), ``title``, ``status``,
``detail`` and a stable ``code``; validation problems add ``errors``, one entry per bad field,
each with a JSON ``pointer`` into the body (or the ``parameter`` of the query or path) and
its own ``code``. The status comes from :data:`STATUS_BY_CODE`, else from the error's class.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import HTTPException, RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, InterfaceError, OperationalError, StatementError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors as service
from engine.decide import json_pointer
from engine.errors import EngineError, InputError, RulesEngineError
from engine.errors import InputInvalid as EngineInvalidRequest
from policy.errors import PolicyInvalid

__all__ = [
    "BodyLimit",
    "PROBLEM_JSON",
    "STATUS_BY_CODE",
    "FieldError",
    "Problem",
    "install_problem_handlers",
    "problem_document",
    "problem_response",
    "status_of",
]

log = logging.getLogger("creditpolicy.http")

PROBLEM_JSON = "application/problem+json"

# code -> status. Codes not listed take the status of their error class (see status_of).
STATUS_BY_CODE: dict[str, int] = {
    "malformed_json": 400,
    "not_authenticated": 401,
    "forbidden": 403,
    "four_eyes": 403,
    "not_found": 404,
    "route_not_found": 404,
    "decision_not_found": 404,
    "version_not_found": 404,
    "key_not_found": 404,
    "case_not_found": 404,
    "method_not_allowed": 405,
    "conflict": 409,
    "request_id_reused": 409,
    "ambiguous_version_ref": 409,
    "version_label_taken": 409,
    "invalid_transition": 409,
    "active_overlap": 409,
    "key_name_taken": 409,
    "duplicate_record": 409,
    "version_unusable": 409,
    "body_too_large": 413,
    "unsupported_media_type": 415,
    "invalid_request": 422,
    "invalid_query": 422,
    "policy_invalid": 422,
    "policy_tests_failed": 422,
    "version_not_approved": 422,
    "unknown_policy_version": 422,
    "ambiguous_policy_version": 422,
    # A request dated where no version is in force: the request's as_of is what cannot be served.
    "no_active_version": 422,
    "currency_mismatch": 422,
    "unknown_grade": 422,
    "invalid_input": 422,
    "invalid_value": 422,
    "invalid_unicode": 422,
    "nul_character": 422,
    "database_not_ready": 503,
    "database_unavailable": 503,
    "not_ready": 503,
    "internal_error": 500,
}

# Fallback by class, most specific first.
_STATUS_BY_CLASS: tuple[tuple[type[Exception], int], ...] = (
    (service.NotAuthenticated, 401),
    (service.PermissionDenied, 403),
    (service.NotFound, 404),
    (service.Conflict, 409),
    (service.InvalidRequest, 422),
    (service.DatabaseNotReady, 503),
    (service.ServiceError, 422),
    # Engine errors are about the input it was given (a grade the policy lacks, an amount out of range).
    (EngineError, 422),
    (PolicyInvalid, 422),
)


class FieldError(BaseModel):
    """One bad field: where (a JSON pointer into the body, or a query/path parameter), what, and its code."""

    pointer: str | None = Field(None, description="JSON pointer into the request body, e.g. `/order/amount`")
    parameter: str | None = Field(None, description="query or path parameter, when the problem is not in the body")
    message: str
    code: str


class Problem(BaseModel):
    """RFC 9457 problem details, with a stable ``code`` and, for invalid requests, ``errors``."""

    type: str = Field(examples=["urn:creditpolicy:problem:invalid_request"])
    title: str = Field(examples=["Unprocessable Content"])
    status: int = Field(examples=[422])
    detail: str = Field(examples=["/order/amount: an amount has at most 2 decimal places"])
    code: str = Field(examples=["invalid_request"])
    errors: list[dict[str, Any]] | None = Field(
        None, description="one entry per problem: pointer or parameter, message, code (policies: file/line/column)"
    )


def status_of(code: str, error: Exception | None = None) -> int:
    """The HTTP status of a problem code (the table first, then the error's class, else 422)."""
    if code in STATUS_BY_CODE:
        return STATUS_BY_CODE[code]
    for cls, status in _STATUS_BY_CLASS:
        if isinstance(error, cls):
            return status
    return 422


def problem_body(code: str, detail: str, status: int, **extra: Any) -> dict[str, Any]:
    """The problem document; ``extra`` members (``errors`` and the like) follow the standard ones."""
    body: dict[str, Any] = {
        "type": f"urn:creditpolicy:problem:{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def problem_response(
    code: str,
    detail: str,
    *,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    """A problem+json response for ``code``."""
    status = status or status_of(code)
    content = json.dumps(problem_body(code, detail, status, **extra), ensure_ascii=False, default=str)
    all_headers = dict(headers or {})
    if status == 401:
        all_headers.setdefault("WWW-Authenticate", 'Bearer realm="creditpolicy"')
    return Response(content, status_code=status, media_type=PROBLEM_JSON, headers=all_headers)


_FIELD_PART = re.compile(r"[^.\[\]]+")


def field_pointer(field: str) -> str:
    """``payments[2].date`` (the engine's dotted field) as the JSON pointer ``/payments/2/date``."""
    if field.startswith("/") or field == "":
        return "" if field == "/" else field
    return json_pointer(_FIELD_PART.findall(field))


def validation_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """FastAPI/pydantic errors as entries with a body pointer or a parameter name."""
    entries: list[dict[str, Any]] = []
    for e in errors:
        loc = tuple(e.get("loc", ()))
        entry: dict[str, Any] = {"message": str(e.get("msg", "invalid")), "code": str(e.get("type", "invalid"))}
        if loc and loc[0] == "body":
            entry["pointer"] = json_pointer(loc[1:])
        elif loc:
            entry["parameter"] = ".".join(str(p) for p in loc[1:]) or str(loc[0])
            entry["in"] = str(loc[0])
        else:
            entry["pointer"] = ""
        entries.append(entry)
    return entries


def service_problem(error: service.ServiceError) -> Response:
    """A service-layer error; refused policies list every issue, missing permissions name the roles."""
    extra: dict[str, Any] = {}
    if isinstance(error, service.PublishRefused):
        extra["errors"] = error.issues
    if isinstance(error, service.MissingPermission):
        extra.update(permission=error.permission, roles=error.roles)
    errors = getattr(error, "errors", None)  # service errors about body fields carry pointers
    if errors is not None and "errors" not in extra:
        extra["errors"] = errors
    return problem_response(error.code, error.message, status=status_of(error.code, error), **extra)


def engine_problem(error: EngineError) -> Response:
    """An engine error: invalid inputs with a pointer per field, other refusals with their field."""
    if isinstance(error, EngineInvalidRequest):
        return problem_response(
            "invalid_request",
            f"the request has {len(error.errors)} invalid field{'s' * (len(error.errors) != 1)}",
            status=422,
            errors=error.errors,
        )
    errors = None
    if isinstance(error, InputError):
        errors = [{"pointer": field_pointer(error.field), "message": error.message, "code": error.code}]
    if isinstance(error, RulesEngineError):
        log.warning("rules engine refused an input: %s", error)
    return problem_response(error.code, error.message, status=status_of(error.code, error), errors=errors)


def policy_problem(error: PolicyInvalid) -> Response:
    issues = [issue.to_dict() for issue in error.issues]
    return problem_response("policy_invalid", f"the policy has {len(issues)} problem(s)", status=422, errors=issues)


def _not_json(request: Request | None, found: list[Any]) -> bool:
    """A body refused as a whole because it was not sent as JSON (no or another Content-Type)."""
    if request is None:
        return False
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    whole_body = any(tuple(e.get("loc", ())) == ("body",) for e in found)
    return whole_body and media != "application/json" and not media.endswith("+json")


def request_validation_problem(error: RequestValidationError, request: Request | None = None) -> Response:
    """422 with a pointer per bad field; a body that is not JSON at all is 400 ``malformed_json``."""
    found = list(error.errors())
    if _not_json(request, found):
        return problem_response(
            "unsupported_media_type", "send the body as JSON, with `Content-Type: application/json`", status=415
        )
    broken = [e for e in found if e.get("type") == "json_invalid"]
    if broken:
        ctx = broken[0].get("ctx") or {}
        where = broken[0].get("loc", ("body", 0))
        at = where[1] if len(where) > 1 else 0
        reason = ctx.get("error", "invalid JSON")
        return problem_response("malformed_json", f"the body is not valid JSON: {reason} at character {at}")
    entries = validation_errors(found)
    in_body = any("pointer" in entry for entry in entries)
    code = "invalid_request" if in_body else "invalid_query"
    noun = f"invalid field{'s' * (len(entries) != 1)}" if in_body else "invalid parameter(s)"
    return problem_response(code, f"the request has {len(entries)} {noun}", status=422, errors=entries)


def http_problem(error: StarletteHTTPException) -> Response:
    """Starlette's own errors (unknown route, wrong method, unreadable body) as problems."""
    codes = {404: "route_not_found", 405: "method_not_allowed", 400: "malformed_json", 413: "body_too_large"}
    code = codes.get(error.status_code, f"http_{error.status_code}")
    detail = str(error.detail)
    if error.status_code == 404 and detail == "Not Found":
        detail = "no such route; the API is described at /docs"
    headers = dict(error.headers or {})
    return problem_response(code, detail, status=error.status_code, headers=headers)


def problem_document(error: Exception, prefix: str = "") -> dict[str, Any]:
    """The problem document of a refusal inside a larger body (a batch order): pointers start at ``prefix``."""
    response = (
        service_problem(error)
        if isinstance(error, service.ServiceError)
        else engine_problem(error)
        if isinstance(error, EngineError)
        else policy_problem(error)
        if isinstance(error, PolicyInvalid)
        else problem_response("internal_error", "an unexpected error occurred")
    )
    document: dict[str, Any] = json.loads(bytes(response.body))
    for entry in document.get("errors") or []:
        if isinstance(entry, dict) and "pointer" in entry:
            entry["pointer"] = prefix + str(entry["pointer"])
    return document


class BodyLimit:
    """Refuse bodies over ``limit`` bytes with a 413 problem: declared ones before anything reads them,
    chunked ones as soon as the count passes the limit (FastAPI's own limit answers in plain text)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = next((value for name, value in scope["headers"] if name == b"content-length"), b"")
        if length.isdigit():
            if int(length) > self.limit:
                detail = f"the body has {int(length)} bytes; at most {self.limit} are accepted"
                await problem_response("body_too_large", detail, status=413)(scope, receive, send)
                return
            # The HTTP server delivers no more than a declared length: nothing left to count.
            await self.app(scope, receive, send)
            return
        received = 0

        async def counting() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                # FastAPI re-raises its HTTPException from body reading: it reaches the problem handler.
                raise HTTPException(413, f"the body has more than {self.limit} bytes")
            return message

        await self.app(scope, counting, send)


def install_problem_handlers(app: FastAPI) -> None:
    """Route every error the app can raise to its problem+json response."""

    async def on_service(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, service.ServiceError)
        return service_problem(exc)

    async def on_engine(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, EngineError)
        return engine_problem(exc)

    async def on_policy(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, PolicyInvalid)
        return policy_problem(exc)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return request_validation_problem(exc, request)

    async def on_http(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return http_problem(exc)

    async def on_database(_: Request, exc: Exception) -> Response:
        # The database went away or refused the connection: a fault of the moment, not of the input.
        log.error("database error: %s", exc)
        return problem_response("database_unavailable", "the database is unavailable; try again shortly")

    async def on_data(_: Request, exc: Exception) -> Response:
        # The database refused a value it cannot store (a NUL character, a number out of its range):
        # the input's fault, not the server's; the transaction was rolled back with it.
        log.warning("database refused a value: %s", exc)
        return problem_response("invalid_value", "a value in the request cannot be stored (a NUL character?)")

    async def on_unencodable(request: Request, exc: Exception) -> Response:
        # JSON can spell a lone surrogate (\ud800) that no UTF-8 text, column or response can hold.
        if isinstance(exc, StatementError) and not isinstance(exc.orig, UnicodeError):
            return await on_unexpected(request, exc)
        return problem_response("invalid_unicode", "a text in the request is not valid Unicode (a lone surrogate?)")

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem_response("internal_error", "an unexpected error occurred; it has been logged")

    app.add_exception_handler(service.ServiceError, on_service)
    app.add_exception_handler(EngineError, on_engine)
    app.add_exception_handler(PolicyInvalid, on_policy)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(OperationalError, on_database)
    app.add_exception_handler(InterfaceError, on_database)
    app.add_exception_handler(DataError, on_data)
    app.add_exception_handler(UnicodeError, on_unencodable)
    app.add_exception_handler(StatementError, on_unencodable)
    app.add_exception_handler(Exception, on_unexpected)

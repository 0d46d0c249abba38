"""Errors as RFC 9457 problem+json: the one place that maps errors to HTTP statuses.

Every problem has ``type`` (``urn:creditpolicy:problem:<code>``), ``title``, ``status``,
``detail`` and a stable ``code``; validation problems add ``errors``, one entry per bad field,
each with a JSON ``pointer`` into the body (or the ``parameter`` of the query or path) and its
own ``code``. The status follows the error's class (:data:`STATUS_BY_CLASS`, walked along the
class hierarchy); what FastAPI, Starlette or the database raise is first turned into the
service's own error (:func:`as_service_error`), so every answer comes from one error tree.
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
from engine.errors import (
    AssumptionsInvalid,
    CompileError,
    EngineError,
    InputError,
    InputInvalid,
    PortfolioInvalid,
    RulesEngineError,
)
from policy.errors import PolicyInvalid

__all__ = [
    "PROBLEM_JSON",
    "STATUS_BY_CLASS",
    "BodyLimit",
    "Problem",
    "as_service_error",
    "bounded",
    "document_problems",
    "shape_statuses",
    "install_problem_handlers",
    "problem_document",
    "problem_response",
    "problems",
    "status_of",
]

log = logging.getLogger("creditpolicy.http")

PROBLEM_JSON = "application/problem+json"

# The status of each branch of the error trees; an error takes that of its nearest listed class.
STATUS_BY_CLASS: Mapping[type[Exception], int] = {
    service.MalformedBody: 400,
    service.NotAuthenticated: 401,
    service.PermissionDenied: 403,
    service.NotFound: 404,
    service.MethodNotAllowed: 405,
    service.Conflict: 409,
    service.BodyTooLarge: 413,
    service.UnsupportedMediaType: 415,
    service.InvalidRequest: 422,
    service.InternalError: 500,
    service.Unavailable: 503,
    # Engine errors are about the input it was given (a grade the policy lacks, an amount out of
    # range, a rule the rules engine cannot hold for this input): never a server fault.
    EngineError: 422,
    PolicyInvalid: 422,
}


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


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of a route that needs a key and may also answer ``statuses``.

    Those that follow from the route's shape (a body, parameters, a key, the database) are added
    to every operation by :func:`document_problems`; a route names those of its own (404, 409).
    """
    return {s: {"model": Problem, "content": {PROBLEM_JSON: {}}} for s in (401, 403, *statuses)}


# Why an operation of a given shape may answer each status (the OpenAPI response's description).
SHAPE_STATUSES: Mapping[int, str] = {
    400: "The body is not JSON (`malformed_json`).",
    401: "No API key, or an unknown or revoked one (`not_authenticated`).",
    403: "The key's role lacks the permission (`forbidden`, naming the roles that hold it).",
    413: "The body is over 16 MB (`body_too_large`).",
    415: "The body is not sent as JSON (`unsupported_media_type`).",
    422: "A body field or a parameter does not fit; `errors` locates each (pointer or parameter).",
    503: "The database is unavailable (`database_unavailable`): try again shortly.",
}


def shape_statuses(path: str, operation: Mapping[str, Any]) -> set[int]:
    """The problem statuses an operation can answer because of its shape, whatever its route does."""
    statuses: set[int] = set()
    if "requestBody" in operation:
        statuses |= {400, 413, 415, 422}
    if any(parameter.get("in") in ("query", "path") for parameter in operation.get("parameters", ())):
        statuses.add(422)
    if operation.get("security"):
        statuses |= {401, 403}
    if path.startswith("/v1/"):
        statuses.add(503)
    return statuses


def document_problems(schema: dict[str, Any]) -> None:
    """Every 4xx and 5xx of every operation as ``application/problem+json`` with the Problem schema,
    and the statuses its shape can answer (:func:`shape_statuses`) documented.

    FastAPI documents a route's ``responses`` models as ``application/json`` and adds its own 422
    (``HTTPValidationError``) to any route with parameters; neither is what the service answers.
    """
    problem = {"$ref": "#/components/schemas/Problem"}
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status in shape_statuses(path, operation):
                responses.setdefault(str(status), {"description": SHAPE_STATUSES[status]})
            for status, response in responses.items():
                if status[:1] in ("4", "5"):
                    response["content"] = {PROBLEM_JSON: {"schema": problem}}
                    generic = (HTTPStatus(int(status)).phrase, "Validation Error") if status.isdigit() else ()
                    if response.get("description") in generic:
                        response["description"] = SHAPE_STATUSES.get(int(status), response["description"])
            operation["responses"] = dict(sorted(responses.items()))
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("Problem", Problem.model_json_schema(ref_template="#/components/schemas/{model}"))
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)


def status_of(error: Exception) -> int:
    """The HTTP status of an error: that of its nearest class in :data:`STATUS_BY_CLASS` (500 if none)."""
    if isinstance(error, service.HttpRefusal):
        return error.status
    for cls in type(error).__mro__:
        status = STATUS_BY_CLASS.get(cls)
        if status is not None:
            return status
    return 500


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' * (count != 1)}"


_FIELD_PART = re.compile(r"[^.\[\]]+")


def field_pointer(field: str) -> str:
    """``payments[2].date`` (the engine's dotted field) as the JSON pointer ``/payments/2/date``."""
    if field.startswith("/") or field == "":
        return "" if field == "/" else field
    return json_pointer(_FIELD_PART.findall(field))


def _parts(error: Exception) -> tuple[str, str, dict[str, Any]]:
    """The code, the detail and the extra members of an error's problem document."""
    if isinstance(error, service.ServiceError):
        extra: dict[str, Any] = {"errors": error.errors}
        if isinstance(error, service.MissingPermission):
            extra.update(permission=error.permission, roles=error.roles)
        return error.code, error.message, extra
    if isinstance(error, InputInvalid):
        return error.code, f"the request has {_plural(len(error.errors), 'invalid field')}", {"errors": error.errors}
    if isinstance(error, InputError):
        entry = {"pointer": field_pointer(error.field), "message": error.message, "code": error.code}
        return error.code, error.message, {"errors": [entry]}
    if isinstance(error, CompileError):
        issues = [issue.to_dict() for issue in error.issues]
        return error.code, f"the policy does not compile: {_plural(len(issues), 'problem')}", {"errors": issues}
    if isinstance(error, PortfolioInvalid):
        found = [
            {"file": p.file, "row": p.row, "column": p.column, "message": p.message, "code": p.code}
            for p in error.problems
        ]
        detail = f"the portfolio has {_plural(error.total, 'problem')}" + (
            f" (the first {len(found)} are listed)" if error.total > len(found) else ""
        )
        return error.code, detail, {"errors": found}
    if isinstance(error, AssumptionsInvalid):
        issues = [issue.to_dict() for issue in error.issues]
        return error.code, f"the assumptions have {_plural(len(issues), 'problem')}", {"errors": issues}
    if isinstance(error, EngineError):
        if isinstance(error, RulesEngineError):
            log.warning("rules engine refused an input: %s", error)
        return error.code, error.message, {}
    if isinstance(error, PolicyInvalid):
        issues = [issue.to_dict() for issue in error.issues]
        return "policy_invalid", f"the policy has {_plural(len(issues), 'problem')}", {"errors": issues}
    return "internal_error", "an unexpected error occurred", {}


# What a problem echoes of the request is bounded: a word (an id, a name, a pointer: any run
# without whitespace) keeps its first ECHO_LIMIT characters, and a whole text its first
# TEXT_LIMIT, each cut marked with an ellipsis and the length it had. A 10 kB rule id then costs
# a hundred bytes of the answer, and a log line or a terminal stays readable.
ECHO_LIMIT = 80
TEXT_LIMIT = 500
_LONG_WORD = re.compile(rf"\S{{{ECHO_LIMIT + 1},}}")


def _cut(text: str, keep: int) -> str:
    return f"{text[:keep]}… ({len(text)} characters)"


def bounded(text: str) -> str:
    """``text`` with every word past :data:`ECHO_LIMIT` characters, and itself past :data:`TEXT_LIMIT`, cut."""
    if len(text) <= ECHO_LIMIT:
        return text
    text = _LONG_WORD.sub(lambda word: _cut(word.group(), ECHO_LIMIT), text)
    return text if len(text) <= TEXT_LIMIT else _cut(text, TEXT_LIMIT)


def _bounded_entry(entry: Any) -> Any:
    if not isinstance(entry, dict):
        return entry
    return {k: bounded(v) if isinstance(v, str) and k != "code" else v for k, v in entry.items()}


def problem_document(error: Exception, prefix: str = "") -> dict[str, Any]:
    """The problem document of an error; pointers start at ``prefix`` (a refusal inside a batch).

    Every text in it that may echo the request (the detail, each entry's message, pointer, path,
    parameter, file) is :func:`bounded`: here, so that no error of any layer can send back a
    10 kB value whole.
    """
    code, detail, extra = _parts(error)
    status = status_of(error)
    document: dict[str, Any] = {
        "type": f"urn:creditpolicy:problem:{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": bounded(detail),
        "code": code,
    }
    document.update({k: v for k, v in extra.items() if v is not None})
    entries = document.get("errors")
    if entries:
        if prefix:
            entries = [
                {**entry, "pointer": prefix + str(entry["pointer"])}
                if isinstance(entry, dict) and "pointer" in entry
                else entry
                for entry in entries
            ]
        document["errors"] = [_bounded_entry(entry) for entry in entries]
    return document


def problem_response(error: Exception, *, headers: Mapping[str, str] | None = None) -> Response:
    """The problem+json response of an error (401s say how to authenticate)."""
    document = problem_document(error)
    all_headers = dict(headers or {})
    if document["status"] == 401:
        all_headers.setdefault("WWW-Authenticate", 'Bearer realm="creditpolicy"')
    content = json.dumps(document, ensure_ascii=False, default=str)
    return Response(content, status_code=document["status"], media_type=PROBLEM_JSON, headers=all_headers)


# --- what the frameworks raise, as the service's own errors ----------------------------------------
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


def _not_json(request: Request | None, found: list[Any]) -> bool:
    """A body refused as a whole because it was not sent as JSON (no or another Content-Type)."""
    if request is None:
        return False
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    whole_body = any(tuple(e.get("loc", ())) == ("body",) for e in found)
    return whole_body and media != "application/json" and not media.endswith("+json")


def _from_validation(error: RequestValidationError, request: Request | None) -> Exception:
    found = list(error.errors())
    if _not_json(request, found):
        return service.UnsupportedMediaType("send the body as JSON, with `Content-Type: application/json`")
    broken = [e for e in found if e.get("type") == "json_invalid"]
    if broken:
        ctx = broken[0].get("ctx") or {}
        where = broken[0].get("loc", ("body", 0))
        at = where[1] if len(where) > 1 else 0
        return service.MalformedBody(
            f"the body is not valid JSON: {ctx.get('error', 'invalid JSON')} at character {at}"
        )
    entries = validation_errors(found)
    if any("pointer" in entry for entry in entries):
        return InputInvalid(entries)
    return service.InvalidQuery(f"the request has {_plural(len(entries), 'invalid parameter')}", entries)


def _from_http(error: StarletteHTTPException) -> Exception:
    detail = str(error.detail)
    if error.status_code == 404:
        return service.RouteNotFound(
            "no such route; the API is described at /docs" if detail == "Not Found" else detail
        )
    if error.status_code == 405:
        return service.MethodNotAllowed(detail)
    if error.status_code == 413:
        return service.BodyTooLarge(detail)
    if error.status_code == 400:
        return service.MalformedBody(detail)
    if 400 <= error.status_code < 500:
        return service.HttpRefusal(detail, status=error.status_code)
    return service.InternalError("an unexpected error occurred; it has been logged")


def as_service_error(error: Exception, request: Request | None = None) -> Exception:
    """What the frameworks and the database raise, as an error of the service's trees (others as they are)."""
    if isinstance(error, RequestValidationError):
        return _from_validation(error, request)
    if isinstance(error, StarletteHTTPException):
        return _from_http(error)
    if isinstance(error, OperationalError | InterfaceError):
        # The database went away or refused the connection: a fault of the moment, not of the input.
        log.error("database error: %s", error)
        return service.DatabaseUnavailable("the database is unavailable; try again shortly")
    if isinstance(error, DataError):
        # The database refused a value it cannot store (a NUL character, a number out of its range):
        # the input's fault, not the server's; the transaction was rolled back with it.
        log.warning("database refused a value: %s", error)
        return service.UnstorableValue("a value in the request cannot be stored (a NUL character?)")
    unencodable = isinstance(error, UnicodeError) or (
        isinstance(error, StatementError) and isinstance(error.orig, UnicodeError)
    )
    if unencodable:
        # JSON can spell a lone surrogate (\ud800) that no UTF-8 text, column or response can hold.
        return service.UnstorableValue(
            "a text in the request is not valid Unicode (a lone surrogate?)", code="invalid_unicode"
        )
    if isinstance(error, service.ServiceError | EngineError | PolicyInvalid):
        return error
    return service.InternalError("an unexpected error occurred; it has been logged")


class BodyLimit:
    """Refuse bodies over ``limit`` bytes with a 413 problem: declared ones before anything reads them,
    chunked ones as soon as the count passes the limit (FastAPI's own limit answers in plain text)."""

    def __init__(self, app: ASGIApp, limit: int, per_path: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.default = limit
        self.per_path = dict(per_path or {})  # routes taking larger bodies (uploads), by exact path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"], self.default)
        length = next((value for name, value in scope["headers"] if name == b"content-length"), b"")
        if length.isdigit():
            if int(length) > limit:
                detail = f"the body has {int(length)} bytes; at most {limit} are accepted"
                await problem_response(service.BodyTooLarge(detail))(scope, receive, send)
                return
            # The HTTP server delivers no more than a declared length: nothing left to count.
            await self.app(scope, receive, send)
            return
        received = 0

        async def counting() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                # FastAPI re-raises its HTTPException from body reading: it reaches the problem handler.
                raise HTTPException(413, f"the body has more than {limit} bytes")
            return message

        await self.app(scope, counting, send)


def install_problem_handlers(app: FastAPI) -> None:
    """Route every error the app can raise to its problem+json response."""

    async def answer(request: Request, exc: Exception) -> Response:
        error = as_service_error(exc, request)
        if isinstance(error, service.InternalError):
            log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        headers = exc.headers if isinstance(exc, StarletteHTTPException) else None
        return problem_response(error, headers=headers)

    for raised in (
        service.ServiceError,
        EngineError,
        PolicyInvalid,
        RequestValidationError,
        StarletteHTTPException,
        OperationalError,
        InterfaceError,
        DataError,
        UnicodeError,
        StatementError,
        Exception,
    ):
        app.add_exception_handler(raised, answer)

"""Every error the service raises, in one tree.

Hierarchy (the HTTP status each branch answers with is chosen in
``api.entrypoints.http.problems``, the only place mapping errors to statuses)::

    ServiceError                      base of everything raised by ``api``; has ``code``
    ├── InvalidRequest                the request is wrong: a bad name, limit, reason, file
    │   ├── PublishRefused            policy_invalid | policy_tests_failed; ``issues`` lists every one
    │   ├── ReasonRequired            resolving a credit case needs a reason
    │   ├── InvalidWebhook            a webhook URL or its events are unusable
    │   ├── RefusedField              a well-formed body field or query parameter the service cannot
    │   │                             serve (``errors`` points at it: no version in force on as_of,
    │   │                             an unknown pin or version filter, an inverted date range)
    │   ├── VersionNotApproved        a pinned version is a draft, and drafts decide nothing
    │   ├── NoActiveVersion           no active version of the policy is in force on the date asked
    │   ├── InvalidCursor             a page cursor this service did not hand out
    │   ├── InvalidQuery              query or path parameters that do not fit (``errors``)
    │   ├── UnstorableValue           a value the database cannot hold (a NUL, a lone surrogate)
    │   ├── InvalidUpload             a multipart upload without a file it needs, or with one it does not know
    │   └── InputFileError            a file named on the command line cannot be read or parsed
    ├── MalformedBody                 the body is not JSON at all
    ├── UnsupportedMediaType          the body is not sent as JSON
    ├── BodyTooLarge                  the body (or an uploaded file) is over the size limit
    ├── NotAuthenticated              no key, or a key that is unknown or revoked
    ├── PermissionDenied              the caller's role lacks the permission
    │   ├── MissingPermission         ... naming the permission and the roles that hold it
    │   └── FourEyes                  an approver tried to approve (or name as challenger) a version they wrote
    ├── NotFound                      something named does not exist
    │   ├── RouteNotFound             no such route
    │   ├── VersionNotFound           no version matches the label / sha256 / prefix
    │   ├── KeyNotFound               no API key has that name
    │   ├── CaseNotFound              no credit case has that id
    │   ├── WebhookNotFound           no webhook (of the caller) has that id
    │   ├── CustomerNotFound          the customer was never assessed
    │   ├── PolicyNotFound            no version of the policy is stored
    │   ├── ElementNotFound           no element of the policy answers to the name or path (blame)
    │   ├── DecisionNotFound          no logged decision has that id
    │   ├── ChallengerNotFound        the policy has no challenger in shadow
    │   ├── JobNotFound               no job has that id
    │   └── ArtifactNotFound          the finished job has no artifact of that name
    ├── MethodNotAllowed              the route exists, not with this method
    ├── Conflict                      the request clashes with what is stored
    │   ├── AmbiguousVersionRef       a label or hash prefix matches several versions
    │   ├── VersionLabelTaken         the (policy, label) pair is stored with other content
    │   ├── VersionUnusable           a stored version no longer compiles with this code
    │   ├── InvalidTransition         the lifecycle does not allow this step from the current status
    │   ├── ActiveOverlap             two active versions of one policy would cover the same date
    │   ├── KeyNameTaken              an API key with that name exists (revoked ones included)
    │   ├── DuplicateRecord           a unique key was taken by a concurrent writer
    │   ├── RequestIdReused           a request_id was used before with another body
    │   ├── ChallengerRefused         a challenger cannot be named: one runs, or the version cannot be one
    │   ├── CaseNotOpen               the credit case was already released or rejected
    │   ├── JobNotFinished            a job's artifact asked for before it succeeded
    │   └── JobFinished               a job cancelled after it finished
    ├── Unavailable                   the service cannot answer now; nothing about the request
    │   ├── DatabaseNotReady          the schema is missing or behind: run ``creditpolicy db upgrade``
    │   ├── DatabaseUnavailable       the database does not answer
    │   ├── NotReady                  no policy version in force today (readiness)
    │   └── SendFailed                a webhook receiver did not answer (kept on the delivery row,
    │       │                         retried; never an answer of the API)
    │       └── DeliveryRefused       ... because its host leads to an internal address
    ├── HttpRefusal                   another refusal of the HTTP layer (its own 4xx status)
    └── InternalError                 a defect: logged with its traceback, never shown

Every class has a default ``code`` and declares in ``CODES`` every code its instances may carry
(``code=`` picks one); ``tests/unit/api/test_error_catalogue.py`` proves each has an HTTP status
and an entry in ``docs/api-errors.md``. Codes are stable: clients rely on them.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "ActiveOverlap",
    "AmbiguousVersionRef",
    "ArtifactNotFound",
    "BodyTooLarge",
    "CaseNotFound",
    "CaseNotOpen",
    "ChallengerNotFound",
    "ChallengerRefused",
    "Conflict",
    "CustomerNotFound",
    "DatabaseNotReady",
    "DatabaseUnavailable",
    "DecisionNotFound",
    "DeliveryRefused",
    "DuplicateRecord",
    "ElementNotFound",
    "FourEyes",
    "HttpRefusal",
    "InputFileError",
    "InternalError",
    "InvalidCursor",
    "InvalidQuery",
    "InvalidRequest",
    "InvalidTransition",
    "InvalidUpload",
    "InvalidWebhook",
    "JobFinished",
    "JobNotFinished",
    "JobNotFound",
    "KeyNameTaken",
    "KeyNotFound",
    "MalformedBody",
    "MethodNotAllowed",
    "MissingPermission",
    "NoActiveVersion",
    "NotAuthenticated",
    "NotFound",
    "NotReady",
    "PermissionDenied",
    "PolicyNotFound",
    "PublishRefused",
    "ReasonRequired",
    "RefusedField",
    "RequestIdReused",
    "RouteNotFound",
    "SendFailed",
    "ServiceError",
    "Unavailable",
    "UnstorableValue",
    "UnsupportedMediaType",
    "VersionLabelTaken",
    "VersionNotApproved",
    "VersionNotFound",
    "VersionUnusable",
    "WebhookNotFound",
]


class ServiceError(Exception):
    """Base of every error raised by the service layer; ``code`` is stable, ``message`` is for people.

    ``errors`` (when not None) lists the problems one by one, each ``{code, message}`` with a
    ``pointer`` into the body or the ``parameter`` it concerns.
    """

    code = "service_error"
    CODES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors: list[dict[str, Any]] | None = None
        if code is not None:
            self.code = code

    def lines(self) -> list[str]:
        """Every problem, one per line, for the CLI."""
        return [f"{self.message} [{self.code}]"]


# --- the request is wrong -----------------------------------------------------------------------
class InvalidRequest(ServiceError):
    """The request is malformed: an unknown role, an unusable name, limit, reason or file."""

    code = "invalid_request"
    CODES: ClassVar[tuple[str, ...]] = (
        "invalid_request",
        "unknown_role",
        "invalid_key_name",
        "invalid_limit",
        "invalid_status",
        "invalid_actor",
        "actor_required",
        "actor_too_long",
        "invalid_reason",
        "reason_too_long",
        "file_required",
        "file_too_long",
        "file_unreadable",
        "invalid_encoding",
        "invalid_share",
    )


class PublishRefused(InvalidRequest):
    """A policy was not published; ``issues`` holds every problem (dicts with at least code and message)."""

    code = "policy_invalid"
    CODES: ClassVar[tuple[str, ...]] = ("policy_invalid", "policy_tests_failed", "policy_coverage_too_low")

    def __init__(self, message: str, *, code: str, issues: list[dict[str, object]]) -> None:
        super().__init__(message, code=code)
        self.issues = issues
        self.errors = [dict(issue) for issue in issues]

    def lines(self) -> list[str]:
        """One line per issue, located when the issue has a file position."""
        out = [f"{self.message} [{self.code}]"]
        for issue in self.issues:
            where = f"{issue['file']}:{issue['line']}:{issue['column']} " if "file" in issue else ""
            path = f"{issue['path']}: " if issue.get("path") else ""
            out.append(f"{where}{path}{issue['message']} [{issue['code']}]")
        return out


class ReasonRequired(InvalidRequest):
    """Releasing or rejecting a credit case needs a reason: it is the audit trail of the decision."""

    code = "reason_required"
    CODES: ClassVar[tuple[str, ...]] = ("reason_required",)


class InvalidWebhook(InvalidRequest):
    """A webhook registration is unusable: not an http(s) URL, an internal target, no or unknown events.

    ``pointer`` (``/url``, ``/events``) places the problem in the request body.
    """

    code = "invalid_webhook"
    CODES: ClassVar[tuple[str, ...]] = (
        "invalid_webhook",
        "invalid_webhook_url",
        "webhook_url_forbidden",
        "unknown_webhook_event",
        "no_webhook_events",
    )

    def __init__(self, message: str, *, code: str | None = None, pointer: str | None = None) -> None:
        super().__init__(message, code=code)
        if pointer is not None:
            self.errors = [{"pointer": pointer, "message": message, "code": self.code}]


class RefusedField(InvalidRequest):
    """A well-formed body field or query parameter the service cannot serve: no version in force on
    ``as_of``, an unknown or ambiguous version, a date range that ends before it starts."""

    CODES: ClassVar[tuple[str, ...]] = (
        "no_active_version",
        "unknown_policy_version",
        "ambiguous_policy_version",
        "version_not_approved",
        "inverted_range",
        "policy_version_conflict",
        "version_needs_dry_run",
    )

    def __init__(self, message: str, *, code: str, pointer: str | None = None, parameter: str | None = None) -> None:
        super().__init__(message, code=code)
        where = {"pointer": pointer} if parameter is None else {"parameter": parameter, "in": "query"}
        self.errors = [{**where, "message": message, "code": code}]


class VersionNotApproved(InvalidRequest):
    """A pinned version is still a draft: drafts decide nothing."""

    code = "version_not_approved"
    CODES: ClassVar[tuple[str, ...]] = ("version_not_approved",)


class NoActiveVersion(InvalidRequest):
    """No active version of the policy is effective on the requested date."""

    code = "no_active_version"
    CODES: ClassVar[tuple[str, ...]] = ("no_active_version",)


class InvalidCursor(InvalidRequest):
    """A page cursor that this service did not hand out."""

    code = "invalid_cursor"
    CODES: ClassVar[tuple[str, ...]] = ("invalid_cursor",)

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.errors = [{"parameter": "cursor", "in": "query", "message": message, "code": self.code}]


class InvalidQuery(InvalidRequest):
    """Query or path parameters that do not fit their declaration; ``errors`` names each."""

    code = "invalid_query"
    CODES: ClassVar[tuple[str, ...]] = ("invalid_query",)

    def __init__(self, message: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.errors = errors


class UnstorableValue(InvalidRequest):
    """The database refused a value it cannot store: the input's fault, not the server's."""

    code = "invalid_value"
    CODES: ClassVar[tuple[str, ...]] = ("invalid_value", "invalid_unicode")


class InputFileError(InvalidRequest):
    """A file given on the command line could not be read or parsed; names the file and place."""

    code = "input_file_error"
    CODES: ClassVar[tuple[str, ...]] = ("input_file_error",)


class InvalidUpload(InvalidRequest):
    """A multipart upload lacks a file the request needs, has one twice, or has a part it does not know."""

    code = "invalid_upload"
    CODES: ClassVar[tuple[str, ...]] = ("invalid_upload",)


class MalformedBody(ServiceError):
    """The body is not valid JSON (or not the text it claims to be)."""

    code = "malformed_json"
    CODES: ClassVar[tuple[str, ...]] = ("malformed_json",)


class UnsupportedMediaType(ServiceError):
    """The body is not sent as JSON (no or another Content-Type)."""

    code = "unsupported_media_type"
    CODES: ClassVar[tuple[str, ...]] = ("unsupported_media_type",)


class BodyTooLarge(ServiceError):
    """The body is larger than the service accepts."""

    code = "body_too_large"
    CODES: ClassVar[tuple[str, ...]] = ("body_too_large", "upload_too_large")


# --- who asks -----------------------------------------------------------------------------------
class NotAuthenticated(ServiceError):
    """No API key was given, or it is unknown or revoked."""

    code = "not_authenticated"
    CODES: ClassVar[tuple[str, ...]] = ("not_authenticated",)


class PermissionDenied(ServiceError):
    """The caller is known but its role does not hold the permission."""

    code = "forbidden"
    CODES: ClassVar[tuple[str, ...]] = ("forbidden",)


class MissingPermission(PermissionDenied):
    """The caller's role does not hold ``permission``; ``roles`` are those that do."""

    def __init__(self, message: str, *, permission: str, roles: list[str]) -> None:
        super().__init__(message)
        self.permission = permission
        self.roles = roles


class FourEyes(PermissionDenied):
    """A version must be approved by someone other than its author."""

    code = "four_eyes"
    CODES: ClassVar[tuple[str, ...]] = ("four_eyes",)


# --- what is named ------------------------------------------------------------------------------
class NotFound(ServiceError):
    """Something referred to by name, label or id does not exist."""

    code = "not_found"
    CODES: ClassVar[tuple[str, ...]] = ("not_found",)


class RouteNotFound(NotFound):
    """No route has that path."""

    code = "route_not_found"
    CODES: ClassVar[tuple[str, ...]] = ("route_not_found",)


class VersionNotFound(NotFound):
    """No policy version matches the reference."""

    code = "version_not_found"
    CODES: ClassVar[tuple[str, ...]] = ("version_not_found",)


class KeyNotFound(NotFound):
    """No API key has that name."""

    code = "key_not_found"
    CODES: ClassVar[tuple[str, ...]] = ("key_not_found",)


class CaseNotFound(NotFound):
    """No credit case has that id."""

    code = "case_not_found"
    CODES: ClassVar[tuple[str, ...]] = ("case_not_found",)


class WebhookNotFound(NotFound):
    """No webhook has that id (or it belongs to another caller)."""

    code = "webhook_not_found"
    CODES: ClassVar[tuple[str, ...]] = ("webhook_not_found",)


class CustomerNotFound(NotFound):
    """The customer has never been assessed, so it has no grade and no history."""

    code = "customer_not_found"
    CODES: ClassVar[tuple[str, ...]] = ("customer_not_found",)


class PolicyNotFound(NotFound):
    """No version of the policy is stored (no policy of that id)."""

    code = "policy_not_found"
    CODES: ClassVar[tuple[str, ...]] = ("policy_not_found",)


class ElementNotFound(NotFound):
    """No element of the policy (rule, factor, grade, limit, terms, ladder…) answers to the name or path asked."""

    code = "element_not_found"
    CODES: ClassVar[tuple[str, ...]] = ("element_not_found",)


class DecisionNotFound(NotFound):
    """No logged decision has that id."""

    code = "decision_not_found"
    CODES: ClassVar[tuple[str, ...]] = ("decision_not_found",)


class ChallengerNotFound(NotFound):
    """The policy has no challenger in shadow."""

    code = "challenger_not_found"
    CODES: ClassVar[tuple[str, ...]] = ("challenger_not_found",)


class JobNotFound(NotFound):
    """No job has that id (or none the caller's role may read)."""

    code = "job_not_found"
    CODES: ClassVar[tuple[str, ...]] = ("job_not_found",)


class ArtifactNotFound(NotFound):
    """The job produced no artifact of that name."""

    code = "artifact_not_found"
    CODES: ClassVar[tuple[str, ...]] = ("artifact_not_found",)


class MethodNotAllowed(ServiceError):
    """The route exists, but not with this HTTP method."""

    code = "method_not_allowed"
    CODES: ClassVar[tuple[str, ...]] = ("method_not_allowed",)


# --- what is stored -----------------------------------------------------------------------------
class Conflict(ServiceError):
    """The request contradicts stored state."""

    code = "conflict"
    CODES: ClassVar[tuple[str, ...]] = ("conflict",)


class AmbiguousVersionRef(Conflict):
    """A label or hash prefix matches more than one version."""

    code = "ambiguous_version_ref"
    CODES: ClassVar[tuple[str, ...]] = ("ambiguous_version_ref",)


class VersionLabelTaken(Conflict):
    """The policy already has a version with this label but different content."""

    code = "version_label_taken"
    CODES: ClassVar[tuple[str, ...]] = ("version_label_taken",)


class VersionUnusable(Conflict):
    """A stored version no longer compiles with this code (it was valid when published)."""

    code = "version_unusable"
    CODES: ClassVar[tuple[str, ...]] = ("version_unusable",)


class InvalidTransition(Conflict):
    """The lifecycle step is not allowed from the version's current status."""

    code = "invalid_transition"
    CODES: ClassVar[tuple[str, ...]] = ("invalid_transition",)


class ActiveOverlap(Conflict):
    """Two active versions of the same policy would be effective on the same date."""

    code = "active_overlap"
    CODES: ClassVar[tuple[str, ...]] = ("active_overlap",)


class KeyNameTaken(Conflict):
    """An API key with this name exists; names are never reused, so audit trails stay unambiguous."""

    code = "key_name_taken"
    CODES: ClassVar[tuple[str, ...]] = ("key_name_taken",)


class DuplicateRecord(Conflict):
    """A concurrent writer stored the same unique key first; the transaction was not committed."""

    code = "duplicate_record"
    CODES: ClassVar[tuple[str, ...]] = ("duplicate_record",)


class RequestIdReused(Conflict):
    """A request_id was used before with a different body."""

    code = "request_id_reused"
    CODES: ClassVar[tuple[str, ...]] = ("request_id_reused",)


class ChallengerRefused(Conflict):
    """A challenger cannot be named: the policy has one already, or the version cannot be one."""

    code = "challenger_exists"
    CODES: ClassVar[tuple[str, ...]] = ("challenger_exists", "challenger_not_eligible")


class JobNotFinished(Conflict):
    """A job's artifact was asked for while it is queued or running, or after it failed or was cancelled."""

    code = "job_not_finished"
    CODES: ClassVar[tuple[str, ...]] = ("job_not_finished", "job_not_succeeded")


class JobFinished(Conflict):
    """A job that already finished cannot be cancelled."""

    code = "job_finished"
    CODES: ClassVar[tuple[str, ...]] = ("job_finished",)


class CaseNotOpen(Conflict):
    """Only an open credit case can be released or rejected; a resolution is final."""

    code = "case_not_open"
    CODES: ClassVar[tuple[str, ...]] = ("case_not_open",)


# --- the service itself -------------------------------------------------------------------------
class Unavailable(ServiceError):
    """The service cannot answer now, whatever the request: try again later."""

    code = "unavailable"
    CODES: ClassVar[tuple[str, ...]] = ("unavailable",)


class DatabaseNotReady(Unavailable):
    """The database has no schema, or an older one than this code needs."""

    code = "database_not_ready"
    CODES: ClassVar[tuple[str, ...]] = ("database_not_ready",)


class DatabaseUnavailable(Unavailable):
    """The database went away or refused the connection: a fault of the moment, not of the input."""

    code = "database_unavailable"
    CODES: ClassVar[tuple[str, ...]] = ("database_unavailable",)


class NotReady(Unavailable):
    """The service is up but cannot decide today (readiness): no version in force, say."""

    code = "not_ready"
    CODES: ClassVar[tuple[str, ...]] = ("not_ready",)


class SendFailed(Unavailable):
    """A webhook delivery got no answer (timeout, refused connection, TLS error)."""

    code = "webhook_unreachable"
    CODES: ClassVar[tuple[str, ...]] = ("webhook_unreachable",)

    def __init__(self, message: str) -> None:
        super().__init__(message)


class DeliveryRefused(SendFailed):
    """A webhook delivery not sent: its host is, or resolves to, an address webhooks may not reach."""

    code = "webhook_target_forbidden"
    CODES: ClassVar[tuple[str, ...]] = ("webhook_target_forbidden",)


class HttpRefusal(ServiceError):
    """Another refusal of the HTTP layer itself, answered with the 4xx ``status`` it carries."""

    code = "http_error"
    CODES: ClassVar[tuple[str, ...]] = ("http_error",)

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class InternalError(ServiceError):
    """A defect: logged with its traceback, answered without details."""

    code = "internal_error"
    CODES: ClassVar[tuple[str, ...]] = ("internal_error",)

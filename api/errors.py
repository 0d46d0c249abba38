"""Errors of the service layer.

Hierarchy::

    ServiceError                      base of everything raised by ``api`` services; has ``code``
    ├── InvalidRequest                the request itself is wrong (unknown role, bad name)
    │   ├── PublishRefused            policy_invalid | policy_tests_failed; ``issues`` lists every one
    │   ├── ReasonRequired            resolving a credit case needs a reason
    │   └── InvalidWebhook            invalid_webhook_url | unknown_webhook_event | no_webhook_events
    ├── NotAuthenticated              no key, or a key that is unknown or revoked
    ├── PermissionDenied              the caller's role lacks the permission
    │   ├── MissingPermission         ... naming the permission and the roles that hold it
    │   └── FourEyes                  an approver tried to approve a version they wrote
    ├── NotFound                      something named does not exist
    │   ├── VersionNotFound           no version matches the label / sha256 / prefix
    │   ├── NoActiveVersion           no active version of the policy covers the date
    │   ├── KeyNotFound               no API key has that name
    │   ├── CaseNotFound              no credit case has that id
    │   ├── WebhookNotFound           no webhook (of the caller) has that id
    │   └── CustomerNotFound          the customer was never assessed
    ├── Conflict                      the request clashes with what is stored
    │   ├── AmbiguousVersionRef       a label or hash prefix matches several versions
    │   ├── VersionLabelTaken         the (policy, label) pair is stored with other content
    │   ├── InvalidTransition         the lifecycle does not allow this step from the current status
    │   ├── ActiveOverlap             two active versions of one policy would cover the same date
    │   ├── KeyNameTaken              an API key with that name exists (revoked ones included)
    │   ├── DuplicateRecord           a unique key was taken by a concurrent writer
    │   └── CaseNotOpen               the credit case was already released or rejected
    └── DatabaseNotReady              the schema is missing or behind: run ``creditpolicy db upgrade``

Every class has a default ``code``; an instance may carry a more specific one (``code=``).
Codes are stable: clients and the HTTP layer (the only place mapping them to statuses) rely on them.
"""

from __future__ import annotations

__all__ = [
    "ActiveOverlap",
    "AmbiguousVersionRef",
    "CaseNotFound",
    "CaseNotOpen",
    "Conflict",
    "CustomerNotFound",
    "DatabaseNotReady",
    "DuplicateRecord",
    "FourEyes",
    "InvalidRequest",
    "InvalidTransition",
    "InvalidWebhook",
    "KeyNameTaken",
    "KeyNotFound",
    "MissingPermission",
    "NoActiveVersion",
    "NotAuthenticated",
    "NotFound",
    "PermissionDenied",
    "PublishRefused",
    "ReasonRequired",
    "ServiceError",
    "VersionLabelTaken",
    "VersionNotFound",
    "WebhookNotFound",
]


class ServiceError(Exception):
    """Base of every error raised by the service layer; ``code`` is stable, ``message`` is for people."""

    code = "service_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def lines(self) -> list[str]:
        """Every problem, one per line, for the CLI."""
        return [f"{self.message} [{self.code}]"]


class InvalidRequest(ServiceError):
    """The request is malformed: an unknown role, an unusable name."""

    code = "invalid_request"


class PublishRefused(InvalidRequest):
    """A policy was not published; ``issues`` holds every problem (dicts with at least code and message)."""

    code = "policy_invalid"

    def __init__(self, message: str, *, code: str, issues: list[dict[str, object]]) -> None:
        super().__init__(message, code=code)
        self.issues = issues

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


class InvalidWebhook(InvalidRequest):
    """A webhook registration is unusable: not an http(s) URL, or no or unknown events."""

    code = "invalid_webhook"


class NotAuthenticated(ServiceError):
    """No API key was given, or it is unknown or revoked."""

    code = "not_authenticated"


class PermissionDenied(ServiceError):
    """The caller is known but its role does not hold the permission."""

    code = "forbidden"


class MissingPermission(PermissionDenied):
    """The caller's role does not hold ``permission``; ``roles`` are those that do."""

    code = "forbidden"

    def __init__(self, message: str, *, permission: str, roles: list[str]) -> None:
        super().__init__(message)
        self.permission = permission
        self.roles = roles


class FourEyes(PermissionDenied):
    """A version must be approved by someone other than its author."""

    code = "four_eyes"


class NotFound(ServiceError):
    """Something referred to by name, label or id does not exist."""

    code = "not_found"


class VersionNotFound(NotFound):
    """No policy version matches the reference."""

    code = "version_not_found"


class NoActiveVersion(NotFound):
    """No active version of the policy is effective on the requested date."""

    code = "no_active_version"


class KeyNotFound(NotFound):
    """No API key has that name."""

    code = "key_not_found"


class CaseNotFound(NotFound):
    """No credit case has that id."""

    code = "case_not_found"


class WebhookNotFound(NotFound):
    """No webhook has that id (or it belongs to another caller)."""

    code = "webhook_not_found"


class CustomerNotFound(NotFound):
    """The customer has never been assessed, so it has no grade and no history."""

    code = "customer_not_found"


class Conflict(ServiceError):
    """The request contradicts stored state."""

    code = "conflict"


class AmbiguousVersionRef(Conflict):
    """A label or hash prefix matches more than one version."""

    code = "ambiguous_version_ref"


class VersionLabelTaken(Conflict):
    """The policy already has a version with this label but different content."""

    code = "version_label_taken"


class InvalidTransition(Conflict):
    """The lifecycle step is not allowed from the version's current status."""

    code = "invalid_transition"


class ActiveOverlap(Conflict):
    """Two active versions of the same policy would be effective on the same date."""

    code = "active_overlap"


class KeyNameTaken(Conflict):
    """An API key with this name exists; names are never reused, so audit trails stay unambiguous."""

    code = "key_name_taken"


class DuplicateRecord(Conflict):
    """A concurrent writer stored the same unique key first; the transaction was not committed."""

    code = "duplicate_record"


class CaseNotOpen(Conflict):
    """Only an open credit case can be released or rejected; a resolution is final."""

    code = "case_not_open"


class DatabaseNotReady(ServiceError):
    """The database has no schema, or an older one than this code needs."""

    code = "database_not_ready"

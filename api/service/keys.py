"""API keys and roles: create, list, revoke, authenticate, and who may do what.

A key reads ``cp_<prefix>_<secret>``. Only the sha256 of the whole key is stored, with the
prefix in clear so a presented key is found by one indexed lookup; the plaintext is returned
once, by :func:`create_key`, and cannot be recovered. Key names are never reused (a revoked
key keeps its name), so "who did this" in the logs always means one key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from api.adapters.db.records import ApiKeyRecord
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.errors import DuplicateRecord, InvalidRequest, KeyNameTaken, MissingPermission, NotAuthenticated
from api.service import changes

__all__ = [
    "PERMISSIONS",
    "ROLES",
    "Caller",
    "act_as",
    "authenticate",
    "create_key",
    "create_key_as",
    "has_active_admin",
    "list_keys",
    "permit",
    "revoke_key",
    "roles_with",
]

ROLES: tuple[str, ...] = ("decide", "author", "approve", "audit", "simulate", "admin")

# Permission -> the roles holding it. Separation of duties: who writes a policy (author) is not
# who puts it in force (approve); admin manages keys and reads, but neither decides nor changes
# policies, so a leaked admin key cannot alter credit decisions.
PERMISSIONS: dict[str, frozenset[str]] = {
    "decide": frozenset({"decide"}),  # POST /v1/decisions/*
    "read_cases": frozenset({"decide", "approve", "audit", "admin"}),  # order systems poll their holds
    "register_webhook": frozenset({"decide", "admin"}),  # order systems subscribe to case events
    "resolve_case": frozenset({"approve"}),  # release or reject a held order
    "publish": frozenset({"author"}),  # store a draft version
    "approve": frozenset({"approve"}),  # draft -> approved, never one's own draft
    "activate": frozenset({"approve"}),  # approved/retired -> active (rollback included)
    "retire": frozenset({"approve"}),
    # Name or end a challenger run in shadow beside the active version (four eyes, like approve).
    "name_challenger": frozenset({"approve"}),
    "read_shadow": frozenset({"approve", "audit", "admin"}),  # the challenger and the shadow report
    "read_versions": frozenset({"author", "approve", "audit", "admin"}),  # versions, diffs, lifecycle events
    "read_log": frozenset({"approve", "audit", "admin"}),  # the decision log
    "read_grades": frozenset({"approve", "audit", "admin"}),  # grade history, reviews due
    "replay": frozenset({"approve", "audit"}),  # re-evaluate a logged decision (writes nothing)
    # Re-run the logged decisions under another version (drafts too; writes nothing): auditors, and
    # approvers, who read a draft's impact before approving it.
    "impact": frozenset({"approve", "audit"}),
    # Analysts: run a policy (drafts too) without deciding anything for real: simulation jobs and
    # dry-run batches log nothing and open no case, so the role changes no credit decision.
    "simulate": frozenset({"simulate"}),
    # A dry-run batch of the version a live decision would use: what deciding would answer, for
    # the order systems that decide and for analysts. Naming another version needs ``simulate``.
    "dry_run": frozenset({"decide", "simulate"}),
    # GET /v1/jobs…: the roles that may create some kind of job (api.service.jobs); each job is then
    # shown only to a role holding its own kind's permission (`simulate` for simulations, `impact`
    # for impact runs: audit, approve).
    "read_jobs": frozenset({"simulate", "audit", "approve"}),
    # GET /metrics, unless CREDITPOLICY_METRICS_ACCESS=open: volumes and outcomes are business figures.
    "read_metrics": frozenset({"audit", "admin"}),
    "manage_keys": frozenset({"admin"}),
}

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")
_KEY = re.compile(r"^cp_([0-9a-f]{12})_([A-Za-z0-9_-]{20,200})$")
# Compared against when the prefix is unknown, so a miss costs about what a hit costs.
_NO_HASH = "0" * 64


@dataclass(frozen=True)
class Caller:
    """An authenticated key: its name (recorded as the actor) and its role."""

    name: str
    role: str

    def can(self, permission: str) -> bool:
        """Whether the role holds ``permission`` (unknown permissions are held by nobody)."""
        return self.role in PERMISSIONS.get(permission, frozenset())


def roles_with(permission: str) -> frozenset[str]:
    """The roles holding ``permission``."""
    return PERMISSIONS.get(permission, frozenset())


def permit(caller: Caller, permission: str) -> Caller:
    """The caller, if its role holds ``permission``; else :class:`MissingPermission` naming the roles that do."""
    if not caller.can(permission):
        roles = sorted(roles_with(permission))
        raise MissingPermission(
            f"{caller.name} has role {caller.role}; {permission} needs role {' or '.join(roles) or 'none'}",
            permission=permission,
            roles=roles,
        )
    return caller


def _hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def create_key(uow: AbstractUnitOfWork, name: str, role: str) -> tuple[ApiKeyRecord, str]:
    """Store a new key and return it with its plaintext, which is shown this once and never again."""
    if role not in ROLES:
        raise InvalidRequest(f"unknown role {role!r}; roles are {', '.join(ROLES)}", code="unknown_role")
    if not _NAME.match(name):
        raise InvalidRequest(
            f"key name {name!r}: use 1 to 100 letters, digits, '_', '.', '@' or '-', starting with a letter or digit",
            code="invalid_key_name",
        )
    if uow.keys.get_by_name(name) is not None:
        raise KeyNameTaken(f"an API key named {name!r} exists (names are never reused, even after revocation)")
    prefix = secrets.token_hex(6)
    plaintext = f"cp_{prefix}_{secrets.token_urlsafe(32)}"
    try:
        record = uow.keys.add(name, role, prefix, _hash(plaintext), uow.now())
    except DuplicateRecord as exc:  # a concurrent create with the same name won
        raise KeyNameTaken(f"an API key named {name!r} exists") from exc
    uow.changes.announce(changes.KEYS)
    uow.commit()
    return record, plaintext


def revoke_key(uow: AbstractUnitOfWork, name: str) -> ApiKeyRecord:
    """Revoke the key named ``name`` (repeating it changes nothing); raises KeyNotFound.

    Every process stops accepting it within a second: the revocation is announced with it.
    """
    record = uow.keys.revoke(name, uow.now())
    uow.changes.announce(changes.KEYS)
    uow.commit()
    return record


def list_keys(uow: AbstractUnitOfWork) -> list[ApiKeyRecord]:
    """Every key, revoked ones included, by name."""
    return uow.keys.list()


def authenticate(uow: AbstractUnitOfWork, plaintext: str | None) -> Caller | None:
    """The caller a presented key belongs to, or None for a missing, malformed, unknown or revoked key."""
    match = _KEY.match(plaintext or "")
    if match is None:
        return None
    record = uow.keys.get_by_prefix(match.group(1))
    presented = _hash(plaintext or "")
    if not hmac.compare_digest(presented, record.key_hash if record else _NO_HASH) or record is None:
        return None
    if record.revoked_at is not None:
        return None
    return Caller(name=record.name, role=record.role)


def act_as(uow: AbstractUnitOfWork, presented: str | None, permission: str) -> Caller:
    """The caller a key given outside HTTP (the CLI's ``--key``) belongs to, checked as the API checks it.

    The same look-up (:func:`authenticate`) and the same role check (:func:`permit`) as a request:
    ``not_authenticated`` without a key or for an unknown or revoked one, ``forbidden`` naming the
    roles that hold ``permission``. What the caller then does is recorded under the key's name.
    """
    if not presented:
        roles = " or ".join(sorted(roles_with(permission)))
        message = f"{permission} needs an API key with role {roles}: give it with --key or CREDITPOLICY_API_KEY"
        raise NotAuthenticated(message)
    caller = authenticate(uow, presented)
    if caller is None:
        raise NotAuthenticated("the API key is unknown or revoked")
    return permit(caller, permission)


def has_active_admin(uow: AbstractUnitOfWork) -> bool:
    """Whether any admin key is stored and not revoked (someone can manage the keys)."""
    return any(key.role == "admin" and key.active for key in uow.keys.list())


def create_key_as(uow: AbstractUnitOfWork, presented: str | None, name: str, role: str) -> tuple[ApiKeyRecord, str]:
    """Create a key on behalf of an admin key; on a store without an active admin key, the first admin needs none.

    That one exception is how a store gets its first admin from the command line (``make run``'s
    first start creates ``local-admin`` itself); every other key comes from an admin.
    """
    if presented or role != "admin" or has_active_admin(uow):
        act_as(uow, presented, "manage_keys")
    return create_key(uow, name, role)

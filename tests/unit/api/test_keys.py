"""API keys and the role matrix, on the in-memory unit of work."""

from __future__ import annotations

import hashlib
import re

import pytest

from api.adapters.db.memory import InMemoryUnitOfWork, MemoryDatabase
from api.errors import InvalidRequest, KeyNameTaken, KeyNotFound, MissingPermission
from api.service import keys


@pytest.fixture
def uow() -> InMemoryUnitOfWork:
    return InMemoryUnitOfWork()


def test_the_matrix_names_only_known_roles_and_every_role_has_a_use() -> None:
    used = set().union(*keys.PERMISSIONS.values())
    assert used == set(keys.ROLES)
    assert all(roles for roles in keys.PERMISSIONS.values())


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("decide", {"decide", "dry_run", "read_cases", "register_webhook"}),
        ("simulate", {"simulate", "dry_run", "read_jobs"}),
        ("author", {"publish", "read_versions"}),
        (
            "approve",
            {
                "approve",
                "activate",
                "retire",
                "resolve_case",
                "read_versions",
                "read_log",
                "read_cases",
                "read_grades",
                "replay",
                "name_challenger",
                "read_shadow",
                "impact",
                "read_jobs",
            },
        ),
        (
            "audit",
            {
                "read_versions",
                "read_log",
                "read_cases",
                "read_grades",
                "replay",
                "impact",
                "read_metrics",
                "read_shadow",
                "read_jobs",
            },
        ),
        (
            "admin",
            {
                "manage_keys",
                "read_versions",
                "read_log",
                "read_cases",
                "read_grades",
                "register_webhook",
                "read_metrics",
                "read_shadow",
            },
        ),
    ],
)
def test_role_matrix(role: str, allowed: set[str]) -> None:
    caller = keys.Caller("someone", role)
    assert {p for p in keys.PERMISSIONS if caller.can(p)} == allowed


def test_separation_of_duties() -> None:
    assert keys.roles_with("publish").isdisjoint(keys.roles_with("approve"))
    assert "admin" not in keys.roles_with("decide") | keys.roles_with("publish") | keys.roles_with("activate")
    assert not keys.Caller("x", "admin").can("no_such_permission")


def test_permit_names_who_may() -> None:
    ops = keys.Caller("ops", "admin")
    assert keys.permit(ops, "manage_keys") is ops
    with pytest.raises(MissingPermission, match="manage_keys needs role admin") as denied:
        keys.permit(keys.Caller("erp", "decide"), "manage_keys")
    assert denied.value.code == "forbidden"
    assert (denied.value.permission, denied.value.roles) == ("manage_keys", ["admin"])


def test_create_returns_the_plaintext_once_and_stores_its_hash(uow: InMemoryUnitOfWork) -> None:
    record, plaintext = keys.create_key(uow, "erp-1", "decide")
    assert re.fullmatch(r"cp_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", plaintext)
    assert plaintext.split("_")[1] == record.key_prefix
    assert record.key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in repr(uow.database)
    assert uow.commits == 1
    assert keys.create_key(uow, "erp-2", "decide")[1] != plaintext


def test_authenticate(uow: InMemoryUnitOfWork) -> None:
    _, plaintext = keys.create_key(uow, "erp", "decide")
    _, other = keys.create_key(uow, "mgr", "approve")
    assert keys.authenticate(uow, plaintext) == keys.Caller("erp", "decide")
    assert keys.authenticate(uow, other) == keys.Caller("mgr", "approve")
    prefix_of_one_secret_of_other = plaintext[:16] + other[16:]
    for wrong in (
        None,
        "",
        "Bearer x",
        plaintext + "x",
        plaintext.upper(),
        prefix_of_one_secret_of_other,
        "cp_000000000000_" + other[16:],
    ):
        assert keys.authenticate(uow, wrong) is None


def test_revoke(uow: InMemoryUnitOfWork) -> None:
    _, plaintext = keys.create_key(uow, "erp", "decide")
    first = keys.revoke_key(uow, "erp")
    assert first.revoked_at is not None and keys.authenticate(uow, plaintext) is None
    assert keys.revoke_key(uow, "erp").revoked_at == first.revoked_at  # repeating changes nothing
    with pytest.raises(KeyNotFound):
        keys.revoke_key(uow, "nobody")
    with pytest.raises(KeyNameTaken):
        keys.create_key(uow, "erp", "decide")  # names are never reused


@pytest.mark.parametrize(
    ("name", "role", "code"),
    [("erp", "root", "unknown_role"), ("", "decide", "invalid_key_name"), ("has space", "decide", "invalid_key_name")],
)
def test_invalid_requests_store_nothing(uow: InMemoryUnitOfWork, name: str, role: str, code: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        keys.create_key(uow, name, role)
    assert refused.value.code == code
    assert uow.database == MemoryDatabase()

"""API keys in the database: only the hash is stored, revocation takes effect at once."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import Engine, select

from api.adapters.db import tables
from api.errors import KeyNameTaken
from api.service import keys
from tests.integration.conftest import UowFactory


def test_create_authenticate_revoke(make_uow: UowFactory) -> None:
    with make_uow() as uow:
        record, plaintext = keys.create_key(uow, "erp", "decide")
    with make_uow() as uow:
        assert keys.authenticate(uow, plaintext) == keys.Caller("erp", "decide")
        assert keys.authenticate(uow, plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")) is None
        assert [k.name for k in keys.list_keys(uow)] == ["erp"]
    with make_uow() as uow:
        revoked = keys.revoke_key(uow, "erp")
        assert revoked.revoked_at is not None and revoked.id == record.id
    with make_uow() as uow:
        assert keys.authenticate(uow, plaintext) is None
        with pytest.raises(KeyNameTaken):
            keys.create_key(uow, "erp", "decide")


def test_only_a_hash_of_the_key_is_stored(engine: Engine, make_uow: UowFactory) -> None:
    with make_uow() as uow:
        _, plaintext = keys.create_key(uow, "auditor", "audit")
    secret = plaintext.split("_", 2)[2]
    with engine.connect() as connection:
        rows = [dict(r._mapping) for r in connection.execute(select(tables.api_keys))]
    assert len(rows) == 1
    assert rows[0]["key_hash"] == hashlib.sha256(plaintext.encode()).hexdigest()
    assert all(secret not in str(value) for value in rows[0].values())

"""Key routes: the admin role creates, lists and revokes API keys (as `creditpolicy keys` does)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Response

from api.entrypoints.http.deps import PRINTABLE, ReadUowDep, UowDep, require
from api.entrypoints.http.fast_path import AuthorizedRoute
from api.entrypoints.http.problems import problems
from api.entrypoints.http.schemas.keys import EXAMPLES, CreatedKeyOut, KeyListOut, KeyOut, KeyRequest, key_out
from api.service import keys
from api.service.keys import Caller

__all__ = ["router"]

router = APIRouter(prefix="/v1/keys", tags=["keys"], route_class=AuthorizedRoute)

KeyManager = Annotated[Caller, Depends(require("manage_keys"))]
KeyName = Annotated[str, Path(max_length=100, pattern=PRINTABLE, description="The key's name (never reused).")]


@router.post("", status_code=201, response_model=CreatedKeyOut, responses=problems(409, 422))
def create_key(
    body: Annotated[KeyRequest, Body(openapi_examples=EXAMPLES)], uow: UowDep, caller: KeyManager, response: Response
) -> CreatedKeyOut:
    """Create an API key (role `admin`); the response carries the key itself, shown this once.

    Only the key's sha256 is stored, so a lost key cannot be shown again: revoke it and create
    another. The answer is never cached (`Cache-Control: no-store`).
    """
    record, plaintext = keys.create_key(uow, body.name, body.role)
    response.headers["Cache-Control"] = "no-store"
    return CreatedKeyOut(**key_out(record).model_dump(), key=plaintext)


@router.get("", response_model=KeyListOut, responses=problems())
def list_keys(uow: ReadUowDep, caller: KeyManager) -> KeyListOut:
    """Every API key by name, revoked ones included (role `admin`); never a secret."""
    return KeyListOut(keys=[key_out(record) for record in keys.list_keys(uow)])


@router.post("/{name}/revoke", response_model=KeyOut, responses=problems(404))
def revoke_key(name: KeyName, uow: UowDep, caller: KeyManager) -> KeyOut:
    """Revoke a key by name (role `admin`; repeating it changes nothing); it stops working within a second."""
    return key_out(keys.revoke_key(uow, name))

"""The decision request envelope: a body taken apart into the engine's input, its id and its pin.

A decision request is the engine's input model plus two optional top-level fields:
``request_id`` (idempotency) and ``policy_version`` (pin a version instead of deciding by
``as_of``). ``as_of`` itself may be left out: :func:`dated` fills in the day the service decides
on, so the logged input holds the day used and a replay decides as the first time did.

Before anything is decided, a body that no decision input can hold is refused, pointing at the
part at fault: nesting past :data:`MAX_DEPTH`, a NUL character (PostgreSQL
cannot store one; SQLite can, and both must answer alike), text that is not Unicode (a lone
surrogate such as ``\\ud800``, which JSON can spell but UTF-8 cannot encode).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, replace
from typing import Any

from api.service.jsontext import canonical
from engine.decide import json_pointer
from engine.errors import InputInvalid

__all__ = ["ENVELOPE_FIELDS", "MAX_DEPTH", "Envelope", "dated", "read_envelope"]

MAX_DEPTH = 32  # deeper JSON is no decision input; refusing it early keeps hashing and parsing cheap
ENVELOPE_FIELDS = ("request_id", "policy_version")
_LONGEST = {"request_id": 200, "policy_version": 100}


@dataclass(frozen=True)
class Envelope:
    """A decision body taken apart: the engine input, the envelope, and the canonical text and its hash."""

    payload: dict[str, Any]
    request_id: str | None
    pinned: str | None
    text: str  # canonical JSON of the whole body: logged as the decision's input
    digest: str  # its sha256: what an idempotent replay is compared by
    body: dict[str, Any]  # the body as sent


def read_envelope(body: Any) -> Envelope:
    """Split a body into the engine input and the optional request_id and policy_version."""
    if not isinstance(body, dict):
        raise InputInvalid([{"pointer": "", "message": "the body must be a JSON object", "code": "dict_type"}])
    # The usual body is clean: prove it cheaply (the canonical text is needed anyway; JSON writes
    # a NUL as \u0000 and UTF-8 cannot encode a lone surrogate), and walk it for the pointer only
    # when something is suspect.
    text = canonical(body) if not _deeper_than(body, MAX_DEPTH) else None
    try:
        encoded = text.encode("utf-8") if text is not None else None
    except UnicodeEncodeError:
        encoded = None
    if text is None or encoded is None or "\\u0000" in text:
        refused = _refused_part(body)
        if refused is not None:
            raise InputInvalid([{"pointer": refused[0], "message": refused[1], "code": refused[2]}])
    if text is None or encoded is None:  # pragma: no cover - _refused_part finds whatever failed above
        raise InputInvalid([{"pointer": "", "message": "the body cannot be stored", "code": "invalid_body"}])
    problems = []
    found: dict[str, str | None] = {}
    for name in ENVELOPE_FIELDS:
        value, longest = body.get(name), _LONGEST[name]
        if value is not None and not (isinstance(value, str) and 0 < len(value.strip()) <= longest):
            message = f"must be a non-empty string of at most {longest} characters"
            problems.append({"pointer": f"/{name}", "message": message, "code": f"invalid_{name}"})
        found[name] = value.strip() if isinstance(value, str) else None
    if problems:
        raise InputInvalid(problems)
    payload = {k: v for k, v in body.items() if k not in ENVELOPE_FIELDS}
    digest = hashlib.sha256(encoded).hexdigest()
    return Envelope(payload, found["request_id"], found["policy_version"], text, digest, body)


def dated(envelope: Envelope, today: dt.date) -> Envelope:
    """The envelope with ``as_of`` set to ``today`` when the body leaves it out.

    The logged input (``text``) then holds the day used, so the decision replays as made; the
    digest stays that of the body as sent, so resending it with its ``request_id`` on a later day
    is still the same request and gets the same answer.
    """
    if "as_of" in envelope.payload:
        return envelope
    day = today.isoformat()
    return replace(
        envelope,
        payload={**envelope.payload, "as_of": day},
        text=canonical({**envelope.body, "as_of": day}),
        body={**envelope.body, "as_of": day},
    )


def _refused_part(value: Any, pointer: str = "", depth: int = 0) -> tuple[str, str, str] | None:
    """The first part of a body no decision input can hold, as (pointer, message, code)."""
    if depth > MAX_DEPTH:
        return pointer, f"nested deeper than {MAX_DEPTH} levels", "too_deep"
    if isinstance(value, str):
        return _refused_text(value, pointer)
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        if isinstance(key, str) and (problem := _refused_text(key, pointer)) is not None:
            return pointer, f"a member name {problem[1]}", problem[2]
        found = _refused_part(item, pointer + json_pointer((key,)), depth + 1)
        if found is not None:
            return found
    return None


def _refused_text(text: str, pointer: str) -> tuple[str, str, str] | None:
    if "\x00" in text:
        return pointer, "contains a NUL character", "nul_character"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return pointer, "is not valid Unicode (a lone surrogate)", "invalid_unicode"
    return None


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether any part of a JSON value lies deeper than ``limit`` (walks containers only: cheap)."""
    stack = [(value, 0)]
    while stack:
        container, depth = stack.pop()
        children = container.values() if type(container) is dict else container
        if children and depth >= limit:
            return True
        stack.extend((child, depth + 1) for child in children if type(child) is dict or type(child) is list)
    return False

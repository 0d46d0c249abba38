"""What a service start does before it answers: migrate, put the shipped policy in force, create keys.

On start the service:

1. applies the database migrations;
2. on a database without any version of the default policy, publishes the shipped policy file
   (``settings.policy_file``; its ``*.cases.yaml`` beside it must pass), approves it as
   ``system-bootstrap-approver`` (not the publisher, ``system-bootstrap``: four eyes hold even
   here) and activates it — every step a recorded lifecycle event;
3. on a database without any API key, creates ``local-admin`` (role admin: keys, log, versions)
   and ``local-decide`` (role decide: the decision endpoints) and prints both plaintexts once, in
   a banner on stdout. Only their hashes are stored; nothing secret is written to disk;
4. compiles the version in force today, so the first decision does not wait for it.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TextIO

from sqlalchemy import Engine

from api.adapters.db import UnitOfWork, create_db_engine, upgrade_database
from api.adapters.db.unit_of_work import Clock
from api.errors import Conflict, ServiceError
from api.service import keys, policy_cases, versions
from api.service.registry import DEFAULT_POLICY_ID, PolicyRegistry
from api.settings import Settings

__all__ = ["BOOTSTRAP_APPROVER", "BOOTSTRAP_PUBLISHER", "LOCAL_KEYS", "bootstrap", "bootstrap_database", "warm_up"]

log = logging.getLogger("creditpolicy")

BOOTSTRAP_PUBLISHER = "system-bootstrap"
BOOTSTRAP_APPROVER = "system-bootstrap-approver"
LOCAL_KEYS = (("local-admin", "admin"), ("local-decide", "decide"))


def bootstrap(engine: Engine, settings: Settings, out: TextIO | None = None) -> list[tuple[str, str, str]]:
    """Migrate, put the shipped policy in force on an empty database, create local keys; the keys created."""
    upgrade_database(engine)
    with UnitOfWork(engine) as uow:
        if not uow.versions.list(DEFAULT_POLICY_ID):
            _put_shipped_policy_in_force(uow, settings.policy_file)
    created: list[tuple[str, str, str]] = []
    with UnitOfWork(engine) as uow:
        existing = len(uow.keys.list())
        if not existing:
            try:
                for name, role in LOCAL_KEYS:
                    created.append((name, role, keys.create_key(uow, name, role)[1]))
            except Conflict:  # another worker of this service created them first
                created = []
    _announce(created, existing, settings, out or sys.stdout)
    return created


def bootstrap_database(settings: Settings, out: TextIO | None = None) -> list[tuple[str, str, str]]:
    """:func:`bootstrap` on its own engine: run once before starting several worker processes."""
    engine = create_db_engine(settings.database_url)
    try:
        return bootstrap(engine, settings, out)
    finally:
        engine.dispose()


def warm_up(engine: Engine, registry: PolicyRegistry, clock: Clock) -> None:
    """Compile the version in force today before the first request needs it (it takes ~50 ms)."""
    with UnitOfWork(engine, read_only=True) as uow:
        try:
            registry.for_request(uow, None, clock().date(), None)
        except ServiceError as error:  # /readyz reports it; decisions dated elsewhere may still work
            log.warning("no policy version to warm up: %s", error.message)


def _put_shipped_policy_in_force(uow: UnitOfWork, policy_file: Path) -> None:
    text = policy_cases.read_text(policy_file)
    record, _ = versions.publish(uow, text, str(policy_file), BOOTSTRAP_PUBLISHER, policy_cases.run_cases_beside)
    try:
        versions.approve(uow, record.sha256, BOOTSTRAP_APPROVER, "shipped policy, approved on first start")
        versions.activate(uow, record.sha256, BOOTSTRAP_APPROVER, "shipped policy, in force from first start")
    except Conflict:  # another worker of this service got there first
        uow.rollback()
    log.info("policy %s %s (%s) published and activated", record.policy_id, record.label, record.sha256[:12])


def _announce(created: list[tuple[str, str, str]], existing: int, settings: Settings, out: TextIO) -> None:
    if not created:
        out.write(
            f"creditpolicy: {existing} API key(s) stored; "
            "`creditpolicy keys create --name N --role R --key <admin key>` adds one\n"
        )
        out.flush()
        return
    base = f"http://{settings.host}:{settings.port}"
    decide_key = next((plain for _, role, plain in created if role == "decide"), "<key>")
    rule = "=" * 100
    lines = [
        rule,
        "creditpolicy: first start. API keys created — shown this once; only their hashes are stored.",
        "",
        *(f"  {name:<13} role {role:<7} {plaintext}" for name, role, plaintext in created),
        "",
        "Try a decision:",
        f"  curl -s -H 'Authorization: Bearer {decide_key}' -H 'Content-Type: application/json' \\",
        """    -d '{"customer": {"id": "C-1", "grade": "A", "limit": "500000.00"}, """
        """"order": {"id": "SO-1", "amount": "1000.00", "currency": "CNY"}, "as_of": "2026-06-30"}' \\""",
        f"    {base}/v1/decisions/order",
        f"API docs: {base}/docs     More keys: creditpolicy keys create --name NAME --role ROLE --key <admin key>",
        rule,
    ]
    out.write("\n".join(lines) + "\n")
    out.flush()

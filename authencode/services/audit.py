"""The append-only audit log, each entry chained to the previous one by a SHA-256 hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from authencode.db import utcnow
from authencode.models import AuditEntry

GENESIS = "0" * 64
_MAX_RACES = 5
_LOCK_KEY = 0x41554454  # "AUDT": one advisory lock for the audit chain


def entry_digest(
    prev_hash: str, at_iso: str, actor: str, action: str, target: str, details: dict[str, Any]
) -> str:
    content = json.dumps(
        [prev_hash, at_iso, actor, action, target, details],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(content.encode()).hexdigest()


def record(
    session: Session,
    actor: str,
    action: str,
    target: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append an entry after the current tail; details must hold no personal data.

    Writers queue on a transaction-scoped lock (PostgreSQL; SQLite already serialises
    writers), and the unique prev_hash makes the database refuse a fork whatever happens.
    """
    details = details or {}
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    for _ in range(_MAX_RACES):
        tail = (
            session.scalar(select(AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1))
            or GENESIS
        )
        at = utcnow()
        entry = AuditEntry(
            at=at,
            actor=actor,
            action=action,
            target=target,
            details=details,
            prev_hash=tail,
            entry_hash=entry_digest(tail, at.isoformat(), actor, action, target, details),
        )
        try:
            with session.begin_nested():
                session.add(entry)
        except IntegrityError:
            continue
        return entry
    raise RuntimeError("audit log tail kept moving; giving up")


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_at: int | None  # id of the first entry that does not fit the chain
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify(session: Session, batch: int = 1000) -> ChainReport:
    """Walk the chain in id order and report the first entry that is altered or out of place."""
    expected_prev = GENESIS
    checked = 0
    for entry in _entries(session, batch):
        if entry.prev_hash != expected_prev:
            return ChainReport(checked, entry.id, "previous entry is missing or was changed")
        digest = entry_digest(
            entry.prev_hash,
            entry.at.isoformat(),
            entry.actor,
            entry.action,
            entry.target,
            entry.details,
        )
        if digest != entry.entry_hash:
            return ChainReport(checked, entry.id, "entry content does not match its hash")
        expected_prev = entry.entry_hash
        checked += 1
    return ChainReport(checked, None, None)


def _entries(session: Session, batch: int) -> Iterator[AuditEntry]:
    last_id = 0
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id
        session.expunge_all()

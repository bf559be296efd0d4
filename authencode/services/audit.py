"""The append-only audit log, each entry chained to the previous one by a SHA-256 hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from authencode.db import utcnow
from authencode.models import AuditEntry

GENESIS = "0" * 64
_MAX_RACES = 20


def entry_digest(prev_hash: str, at_iso: str, actor: str, action: str, target: str,
                 details: dict[str, Any]) -> str:
    content = json.dumps(
        [prev_hash, at_iso, actor, action, target, details],
        ensure_ascii=False, sort_keys=True, separators=(",", ":"),
    )
    return hashlib.sha256(content.encode()).hexdigest()


def record(session: Session, actor: str, action: str, target: str = "",
           details: dict[str, Any] | None = None) -> AuditEntry:
    """Append an entry after the current tail; details must hold no personal data.

    Two writers racing for the same tail meet the unique prev_hash; the loser re-reads the
    tail and tries again inside a savepoint, so the chain never forks.
    """
    details = details or {}
    for _ in range(_MAX_RACES):
        tail = session.scalar(
            select(AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1)
        ) or GENESIS
        at = utcnow()
        entry = AuditEntry(
            at=at, actor=actor, action=action, target=target, details=details, prev_hash=tail,
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
        digest = entry_digest(entry.prev_hash, entry.at.isoformat(), entry.actor, entry.action,
                              entry.target, entry.details)
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

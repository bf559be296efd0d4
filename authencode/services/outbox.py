"""Leasing due outbox rows, shared by every sender (LINE messages, staff email)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from authencode.models import OutboxMessage

_OUTBOX = cast(Table, OutboxMessage.__table__)
# Due rows of some kinds, oldest first; rows another sender holds are skipped.
_DUE = (
    select(_OUTBOX.c.id, _OUTBOX.c.kind, _OUTBOX.c.recipient, _OUTBOX.c.reply_token,
           _OUTBOX.c.payload, _OUTBOX.c.retry_key, _OUTBOX.c.attempts, _OUTBOX.c.last_error)
    .where(_OUTBOX.c.status == "pending",
           _OUTBOX.c.kind.in_(bindparam("kinds", expanding=True)),
           _OUTBOX.c.next_attempt_at <= bindparam("now"))
    .order_by(_OUTBOX.c.next_attempt_at, _OUTBOX.c.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
# Counted as an attempt, and left alone by other senders until the lease ends.
_LEASE = (update(_OUTBOX).where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True)))
          .values(attempts=_OUTBOX.c.attempts + 1, next_attempt_at=bindparam("until")))


@dataclass(frozen=True)
class Leased:
    """A leased row as it stood, with ``attempts`` already counting this attempt."""

    id: int
    kind: str
    recipient: str
    reply_token: str | None
    payload: dict[str, Any]
    retry_key: str
    attempts: int
    last_error: str | None


def lease_due(session: Session, kinds: Sequence[str], now: dt.datetime, lease: dt.timedelta,
              limit: int) -> list[Leased]:
    """Up to ``limit`` pending rows of these kinds that are due, oldest first.

    Each is counted as an attempt and left alone by other senders for ``lease`` (rows locked
    by another sender are skipped: FOR UPDATE SKIP LOCKED on PostgreSQL). Two statements,
    compiled once: the due rows are read, then all leased by one UPDATE.
    """
    conn = session.connection()
    rows = conn.execute(_DUE, {"kinds": list(kinds), "now": now, "limit": limit}).all()
    if not rows:
        return []
    conn.execute(_LEASE, {"ids": [row.id for row in rows], "until": now + lease})
    return [Leased(row.id, row.kind, row.recipient, row.reply_token, row.payload,
                   row.retry_key, row.attempts + 1, row.last_error) for row in rows]

"""Leasing due outbox rows, shared by every sender (LINE messages, staff email)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from authencode.models import OutboxMessage


def lease_due(session: Session, kinds: Sequence[str], now: dt.datetime, lease: dt.timedelta,
              limit: int) -> list[OutboxMessage]:
    """Up to ``limit`` pending rows of these kinds that are due, oldest first.

    Each is counted as an attempt and left alone by other senders for ``lease`` (rows locked
    by another sender are skipped: FOR UPDATE SKIP LOCKED on PostgreSQL).
    """
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status == "pending", OutboxMessage.kind.in_(tuple(kinds)),
               OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for row in rows:
        row.attempts += 1
        row.next_attempt_at = now + lease
    return list(rows)

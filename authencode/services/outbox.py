"""The outbox: leasing due rows for every sender (LINE messages, staff email), and what an
operator sees and does about it (the backlog, messages that failed for good, sending again)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, func, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from authencode.models import OutboxMessage
from authencode.services import audit

_OUTBOX = cast(Table, OutboxMessage.__table__)
# Due rows of some kinds, oldest first; rows another sender holds are skipped.
_DUE = (
    select(
        _OUTBOX.c.id,
        _OUTBOX.c.kind,
        _OUTBOX.c.recipient,
        _OUTBOX.c.reply_token,
        _OUTBOX.c.payload,
        _OUTBOX.c.retry_key,
        _OUTBOX.c.attempts,
        _OUTBOX.c.last_error,
        _OUTBOX.c.created_at,
    )
    .where(
        _OUTBOX.c.status == "pending",
        _OUTBOX.c.kind.in_(bindparam("kinds", expanding=True)),
        _OUTBOX.c.next_attempt_at <= bindparam("now"),
    )
    .order_by(_OUTBOX.c.next_attempt_at, _OUTBOX.c.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
# Counted as an attempt, and left alone by other senders until the lease ends.
_LEASE = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True)))
    .values(attempts=_OUTBOX.c.attempts + 1, next_attempt_at=bindparam("until"))
)


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
    created_at: dt.datetime | None = None


def lease_due(
    session: Session, kinds: Sequence[str], now: dt.datetime, lease: dt.timedelta, limit: int
) -> list[Leased]:
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
    return [
        Leased(
            row.id,
            row.kind,
            row.recipient,
            row.reply_token,
            row.payload,
            row.retry_key,
            row.attempts + 1,
            row.last_error,
            row.created_at,
        )
        for row in rows
    ]


# --- what an operator sees and does (`authencode outbox`) -------------------------------------


@dataclass(frozen=True)
class Backlog:
    kind: str
    status: str  # "pending" (waiting to be sent) or "failed" (given up on)
    count: int
    oldest: dt.datetime  # the oldest row's creation


def backlog(session: Session) -> list[Backlog]:
    """Rows waiting or given up on, by kind and status, with the oldest of each (sent rows,
    which pile up, are not counted)."""
    rows = session.execute(
        select(
            OutboxMessage.kind,
            OutboxMessage.status,
            func.count(),
            func.min(OutboxMessage.created_at),
        )
        .where(OutboxMessage.status.in_(("pending", "failed")))
        .group_by(OutboxMessage.kind, OutboxMessage.status)
        .order_by(OutboxMessage.kind, OutboxMessage.status)
    )
    return [Backlog(kind, status, int(count), oldest) for kind, status, count, oldest in rows]


def failed(session: Session, limit: int = 100) -> list[OutboxMessage]:
    """Messages given up on (refused by LINE or the mail server, or out of attempts), newest
    first."""
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == "failed")
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
        )
    )


def retry_failed(
    session: Session, ids: Sequence[int] | None, actor: str, now: dt.datetime
) -> list[int]:
    """Queue failed messages again (these ``ids``, or every one when None), due now with
    their attempts counted from zero; the ids queued again, audited.

    A message keeps its retry key, so a LINE push an earlier attempt did deliver is answered
    409 and not shown twice; a reply whose token has expired is sent as a push. Rows that
    are pending or sent are left alone.
    """
    chosen = OutboxMessage.status == "failed"
    if ids is not None:
        chosen = chosen & OutboxMessage.id.in_(list(ids))
    return requeue(session, OutboxMessage.id, chosen, actor, "outbox.retry", "outbox", now)


def requeue(
    session: Session,
    key: InstrumentedAttribute[Any],
    chosen: ColumnElement[bool],
    actor: str,
    action: str,
    target: str,
    now: dt.datetime,
) -> list[Any]:
    """Put the ``chosen`` rows of a queue table (locked, in ``key`` order) back to pending,
    due now with their tries counted from zero; returns their keys, audited as ``action``."""
    queued = list(session.scalars(select(key).where(chosen).order_by(key).with_for_update()))
    if queued:
        session.execute(
            update(key.class_)
            .where(key.in_(queued))
            .values(status="pending", attempts=0, next_attempt_at=now),
            execution_options={"synchronize_session": False},
        )
        audit.record(
            session,
            actor,
            action,
            target,
            {"ids": queued} if len(queued) <= 100 else {"count": len(queued)},
        )
    return queued


def mask_email(address: str) -> str:
    """so***@clinic.example: enough for a log line to tell mails apart."""
    local, _, domain = address.partition("@")
    return f"{local[:2]}***@{domain}"


def mask_recipient(kind: str, recipient: str) -> str:
    """An email as :func:`mask_email`; a LINE user id as its first and last characters."""
    if kind == "email":
        return mask_email(recipient)
    return f"{recipient[:5]}…{recipient[-4:]}" if len(recipient) > 12 else "…"

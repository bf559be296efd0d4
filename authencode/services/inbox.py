"""The LINE webhook's inbox as an operator sees it (`authencode line events`, /metrics): the
backlog, the events dead-lettered after failing every try, trying them again, and the work
counters the workers keep (linebot_app.inbox applies the events)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Connection, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from authencode.models import WebhookEvent, WorkCounter
from authencode.services.outbox import requeue

# work_counters names, in /metrics as authencode_<name>_total
# The encryption context of a stored event (its associated data): a payload is no CID.
PAYLOAD_CONTEXT = "line-event"
PUSH_FALLBACKS = "line_push_fallbacks"
THROTTLED = "line_events_throttled"
COUNTERS = (PUSH_FALLBACKS, THROTTLED)

_COUNTERS = cast(Table, WorkCounter.__table__)
_BUMP = {
    name: dialect.insert(_COUNTERS).on_conflict_do_update(
        index_elements=["name"],
        set_={"value": _COUNTERS.c.value + dialect.insert(_COUNTERS).excluded.value},
    )
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


def bump(conn: Connection, name: str, by: int = 1) -> None:
    """Add to a work counter, in the caller's transaction (any process, any machine)."""
    conn.execute(_BUMP[conn.dialect.name], {"name": name, "value": by})


def counters(session: Session) -> dict[str, int]:
    values = {
        name: value for name, value in session.execute(select(WorkCounter.name, WorkCounter.value))
    }
    return {name: int(values.get(name, 0)) for name in COUNTERS}


@dataclass(frozen=True)
class Backlog:
    pending: int
    dead: int
    oldest_pending: dt.datetime | None


def backlog(session: Session) -> Backlog:
    """Events waiting for a worker, and those dead-lettered (applied ones are not counted)."""
    rows = session.execute(
        select(WebhookEvent.status, func.count(), func.min(WebhookEvent.received_at))
        .where(WebhookEvent.status.in_(("pending", "dead")))
        .group_by(WebhookEvent.status)
    ).all()
    by_status = {status: (int(count), oldest) for status, count, oldest in rows}
    pending, oldest = by_status.get("pending", (0, None))
    return Backlog(pending, by_status.get("dead", (0, None))[0], oldest)


def dead(session: Session, limit: int = 100) -> list[WebhookEvent]:
    """Events given up on, newest first."""
    return list(
        session.scalars(
            select(WebhookEvent)
            .where(WebhookEvent.status == "dead")
            .order_by(WebhookEvent.received_at.desc())
            .limit(limit)
        )
    )


def retry_dead(
    session: Session, ids: Sequence[str] | None, actor: str, now: dt.datetime
) -> list[str]:
    """Put dead events (these ``ids``, or every one when None) back to pending, due now with
    their tries counted from zero; the ids queued again, audited. Others are left alone."""
    chosen = WebhookEvent.status == "dead"
    if ids is not None:
        chosen = chosen & WebhookEvent.webhook_event_id.in_(list(ids))
    return requeue(
        session,
        WebhookEvent.webhook_event_id,
        chosen,
        actor,
        "line_event.retry",
        "webhook_events",
        now,
    )

"""The outbox's own rules (authencode.services.outbox): leasing due rows to one sender at a
time, what an operator sees, and queueing failed messages again (those only)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from authencode.db import Database, utcnow
from authencode.models import AuditEntry, OutboxMessage
from authencode.services import outbox
from tests.support.race import race

NOW = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(minutes=2)


def _row(
    session: Session,
    kind: str = "push",
    status: str = "pending",
    due: dt.datetime = NOW,
    **kw: object,
) -> OutboxMessage:
    row = OutboxMessage(
        kind=kind,
        recipient="U" + "a" * 32 if kind != "email" else "nurse@clinic.example",
        payload={"n": 1},
        retry_key=str(uuid.uuid4()),
        status=status,
        attempts=kw.pop("attempts", 0),
        next_attempt_at=due,
        **kw,
    )
    session.add(row)
    session.flush()
    return row


def test_due_rows_of_the_asked_kinds_are_leased_oldest_first(session: Session) -> None:
    later = _row(session, due=NOW - dt.timedelta(seconds=1))
    older = _row(session, due=NOW - dt.timedelta(minutes=5))
    _row(session, due=NOW + dt.timedelta(seconds=1))  # not due yet
    _row(session, kind="email")  # another sender's
    _row(session, status="sent")
    _row(session, status="failed")
    leased = outbox.lease_due(session, ("push", "reply"), NOW, LEASE, limit=10)
    assert [r.id for r in leased] == [older.id, later.id]
    assert [r.attempts for r in leased] == [1, 1]
    session.expire_all()
    assert older.next_attempt_at.replace(tzinfo=dt.UTC) == NOW + LEASE
    assert outbox.lease_due(session, ("push",), NOW, LEASE, limit=10) == []  # leased
    assert len(outbox.lease_due(session, ("push",), NOW + LEASE, LEASE, limit=1)) == 1


def test_only_failed_messages_are_queued_again_each_from_zero(session: Session) -> None:
    failed = _row(session, status="failed", attempts=8, last_error="HTTP 400")
    other_failed = _row(session, kind="email", status="failed", attempts=3)
    pending, sent = _row(session, attempts=2), _row(session, status="sent")
    ids = [failed.id, pending.id, sent.id, 10_000]
    assert outbox.retry_failed(session, ids, "cli", NOW) == [failed.id]
    session.expire_all()
    assert (failed.status, failed.attempts) == ("pending", 0)
    assert (pending.attempts, sent.status, other_failed.status) == (2, "sent", "failed")
    assert outbox.retry_failed(session, None, "cli", NOW) == [other_failed.id]
    assert outbox.retry_failed(session, None, "cli", NOW) == []  # nothing left: not audited
    audits = session.scalars(select(AuditEntry.details).where(AuditEntry.action == "outbox.retry"))
    assert list(audits) == [{"ids": [failed.id]}, {"ids": [other_failed.id]}]


def test_the_backlog_counts_waiting_and_failed_rows_not_sent_ones(session: Session) -> None:
    assert outbox.backlog(session) == []
    first = _row(session)
    _row(session)
    _row(session, kind="email", status="failed")
    _row(session, status="sent")
    backlog = outbox.backlog(session)
    assert [(b.kind, b.status, b.count) for b in backlog] == [
        ("email", "failed", 1),
        ("push", "pending", 2),
    ]
    assert backlog[1].oldest == first.created_at
    assert [r.kind for r in outbox.failed(session)] == ["email"]


def test_recipients_are_masked() -> None:
    assert outbox.mask_recipient("email", "somchai@clinic.example") == "so***@clinic.example"
    line_id = "U1234567890abcdef1234567890abcdef"
    assert outbox.mask_recipient("push", line_id) == "U1234…cdef"
    assert outbox.mask_recipient("push", "Ushort") == "…"


@pytest.fixture
def pg(pg_url: str) -> Iterator[Database]:
    database = Database(pg_url)
    yield database
    database.dispose()


def test_senders_leasing_at_once_never_share_a_row(pg: Database) -> None:
    with pg.transaction() as session:
        ids = {_row(session, due=utcnow() - dt.timedelta(seconds=1)).id for _ in range(12)}

    def lease(session: Session, i: int) -> object:
        return [r.id for r in outbox.lease_due(session, ("push",), utcnow(), LEASE, limit=8)]

    leased = race(pg, 3, lease)
    taken = [row_id for batch in leased for row_id in batch]  # type: ignore[attr-defined]
    assert sorted(taken) == sorted(ids)  # every row once, none twice

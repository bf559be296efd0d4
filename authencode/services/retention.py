"""Retention: each kind of data is removed once it has served its purpose and its period
(``Settings.retention``) has passed.

One ``Kind`` per kind of data says which rows it holds (``held``), from which moment the
period counts (``age``) and what purging does (delete the row, or clear the personal part
and keep the rest). Purges run in batches, each batch one short transaction that re-checks
that every row it touches is still due, so a row a concurrent writer changed since it was
chosen is left alone; on PostgreSQL rows another transaction holds are skipped until the
next run. Each run that removed anything is audited with its counts per kind.

Kept on purpose: Authen Codes (the claim rests on them: who, where, when, how verified,
the phone the visit is audited through) and the audit log (accountability, and its chain
breaks if an entry goes). Consent records are kept as the proof of each decision.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    Table,
    and_,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session

from authencode.db import Database
from authencode.models import (
    AgentSession,
    ChatConversation,
    ConsentRecord,
    FamilyLink,
    LineAccount,
    OutboxMessage,
    StaffDocument,
    StaffSession,
    StaffUser,
    VisitEvidence,
    WebhookEvent,
)
from authencode.models.agent import CardRead
from authencode.services import audit
from authencode.settings import RetentionPolicy

WITHDRAWN_PREFIX = "withdrawn:"  # a withdrawn account's LINE user id once purged


def webhook_event_done() -> ColumnElement[bool]:
    """Whether a stored webhook event row has done its work, so only its age keeps it.

    The webhook stores events as ``pending`` and the workers apply them (linebot_app.inbox):
    only ``applied`` rows are done. Pending rows wait for a worker and ``dead`` ones for an
    operator's ``authencode line events retry``; neither is purged.
    """
    return WebhookEvent.status == "applied"


@dataclass(frozen=True)
class Kind:
    """One kind of data under a retention period."""

    name: str
    table: Table
    period: Callable[[RetentionPolicy], dt.timedelta]
    age: Any  # SQL expression: the moment the period counts from
    held: Callable[[dt.datetime], ColumnElement[bool]]  # rows (still) holding the data
    clear: Mapping[str, Any] | None = None  # None: delete the row; else these column values
    # rows that are due regardless of their age expression (e.g. idle sessions)
    also_due: Callable[[dt.datetime, dt.datetime], ColumnElement[bool]] | None = None

    @property
    def key(self) -> Any:
        return next(iter(self.table.primary_key.columns))

    def due(self, now: dt.datetime, cutoff: dt.datetime) -> ColumnElement[bool]:
        condition = and_(self.held(now), self.age <= cutoff)
        if self.also_due is not None:
            condition = or_(condition, self.also_due(now, cutoff))
        return condition


def _always(_now: dt.datetime) -> ColumnElement[bool]:
    return true()


def _latest_consent(column: Any) -> Any:
    return (
        select(column)
        .where(ConsentRecord.line_account_id == LineAccount.id)
        .order_by(ConsentRecord.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _withdrawn(_now: dt.datetime) -> ColumnElement[bool]:
    return and_(
        LineAccount.consent_version.is_(None),
        LineAccount.line_user_id.not_like(f"{WITHDRAWN_PREFIX}%"),
        _latest_consent(ConsentRecord.decision) == "withdrawn",
    )


def _approved_document(_now: dt.datetime) -> ColumnElement[bool]:
    return StaffDocument.staff_id.in_(
        select(StaffUser.id).where(StaffUser.approved_at.is_not(None))
    )


def _document_decided_at() -> Any:
    return (
        select(StaffUser.approved_at)
        .where(StaffUser.id == StaffDocument.staff_id)
        .scalar_subquery()
    )


def _staff_session_ended(now: dt.datetime) -> ColumnElement[bool]:
    return StaffSession.ended_at.is_not(None)


KINDS: tuple[Kind, ...] = (
    Kind(
        "visit_photos",
        VisitEvidence.__table__,  # type: ignore[arg-type]
        lambda p: p.visit_photos,
        VisitEvidence.created_at,
        lambda _now: VisitEvidence.photo_enc.is_not(None),
        clear={"photo_enc": None, "photo_type": None, "photo_size": None},
    ),
    Kind(
        "staff_documents",
        StaffDocument.__table__,  # type: ignore[arg-type]
        lambda p: p.staff_documents,
        _document_decided_at(),
        _approved_document,
    ),
    Kind(
        "webhook_events",
        WebhookEvent.__table__,  # type: ignore[arg-type]
        lambda p: p.webhook_events,
        WebhookEvent.received_at,
        lambda _now: webhook_event_done(),
    ),
    Kind(
        "outbox_sent",
        OutboxMessage.__table__,  # type: ignore[arg-type]
        lambda p: p.outbox_sent,
        OutboxMessage.sent_at,
        lambda _now: OutboxMessage.status == "sent",
    ),
    Kind(
        "card_reads",
        CardRead.__table__,  # type: ignore[arg-type]
        lambda p: p.card_reads,
        CardRead.created_at,
        _always,
    ),
    Kind(
        "staff_sessions",
        StaffSession.__table__,  # type: ignore[arg-type]
        lambda p: p.sessions,
        StaffSession.ended_at,
        _staff_session_ended,
        # A session nobody ended but idle longer than the period is over too (the idle
        # timeout is far shorter than any period).
        also_due=lambda _now, cutoff: and_(
            StaffSession.ended_at.is_(None), StaffSession.last_seen_at <= cutoff
        ),
    ),
    Kind(
        "agent_sessions",
        AgentSession.__table__,  # type: ignore[arg-type]
        lambda p: p.sessions,
        AgentSession.expires_at,
        lambda now: AgentSession.expires_at <= now,
    ),
    Kind(
        "dialogues",
        ChatConversation.__table__,  # type: ignore[arg-type]
        lambda _p: dt.timedelta(0),  # a dialogue is over at its expiry (answers hold CIDs)
        ChatConversation.expires_at,
        _always,
    ),
    Kind(
        "withdrawn_accounts",
        LineAccount.__table__,  # type: ignore[arg-type]
        lambda p: p.withdrawn_accounts,
        _latest_consent(ConsentRecord.decided_at),
        _withdrawn,
        clear={
            "line_user_id": literal(WITHDRAWN_PREFIX) + cast(LineAccount.id, String),
            "status": "unfollowed",
        },
    ),
)
KIND_NAMES = tuple(kind.name for kind in KINDS)


@dataclass(frozen=True)
class KindStatus:
    name: str
    period: dt.timedelta
    oldest: dt.datetime | None  # age moment of the oldest row still holding the data
    due: int  # rows past their period, waiting for the next purge


def status(session: Session, policy: RetentionPolicy, now: dt.datetime) -> list[KindStatus]:
    """For each kind: its period, its oldest row still held and how many rows are due."""
    report = []
    for kind in KINDS:
        period = kind.period(policy)
        oldest = session.scalar(select(func.min(kind.age)).where(kind.held(now)))
        due = session.scalar(
            select(func.count()).select_from(kind.table).where(kind.due(now, now - period))
        )
        report.append(KindStatus(kind.name, period, _aware(oldest), int(due or 0)))
    return report


def _aware(moment: Any) -> dt.datetime | None:
    """A moment from an aggregate (SQLite returns text or naive values there), as UTC."""
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def purge(
    db: Database,
    policy: RetentionPolicy,
    now: dt.datetime,
    actor: str = "worker",
    kinds: Iterable[str] = KIND_NAMES,
    audit_empty: bool = False,
    max_batches: int | None = None,
) -> dict[str, int]:
    """Purge the due rows of ``kinds`` in batches (at most ``max_batches`` a kind: the rest
    waits for the next run); returns the count per kind and audits the run (also an empty
    one when ``audit_empty``)."""
    wanted = set(kinds)
    counts = {
        kind.name: _purge_kind(
            db, kind, now, now - kind.period(policy), policy.batch_size, max_batches
        )
        for kind in KINDS
        if kind.name in wanted
    }
    if audit_empty or any(counts.values()):
        with db.transaction() as session:
            audit.record(
                session,
                actor,
                "retention.purge",
                "",
                {"counts": counts, "batch_size": policy.batch_size},
            )
    return counts


def _purge_kind(
    db: Database,
    kind: Kind,
    now: dt.datetime,
    cutoff: dt.datetime,
    batch: int,
    max_batches: int | None,
) -> int:
    purged = 0
    for _ in itertools.count() if max_batches is None else range(max_batches):
        with db.transaction() as session:
            ids = list(
                session.scalars(
                    select(kind.key)
                    .where(kind.due(now, cutoff))
                    .order_by(kind.key)
                    .limit(batch)
                    .with_for_update(skip_locked=True, of=kind.table)
                )
            )
            if not ids:
                break
            done = _apply(session, kind, ids, now, cutoff)
        purged += done
        if len(ids) < batch:
            break
    return purged


def _apply(
    session: Session, kind: Kind, ids: list[Any], now: dt.datetime, cutoff: dt.datetime
) -> int:
    # The condition again: a row changed since it was chosen (SQLite: cannot happen inside
    # the write transaction; PostgreSQL: the rows are locked) is left as it now is.
    where = and_(kind.key.in_(ids), kind.due(now, cutoff))
    if kind.clear is None:
        statement: Any = delete(kind.table).where(where)
    else:
        statement = update(kind.table).where(where).values(dict(kind.clear))
    result = session.execute(statement.execution_options(synchronize_session=False))
    if kind.table is LineAccount.__table__:
        # Links go when consent is withdrawn; one added by some other path goes now.
        session.execute(
            delete(FamilyLink).where(
                FamilyLink.line_account_id.in_(
                    select(LineAccount.id).where(
                        LineAccount.id.in_(ids),
                        LineAccount.line_user_id.like(f"{WITHDRAWN_PREFIX}%"),
                    )
                )
            )
        )
    return int(getattr(result, "rowcount", 0) or 0)

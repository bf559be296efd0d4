"""Operational tables: the audit chain, received webhook events, and the outbox."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from authencode.db import Base, created_at, intpk, str_hash


class AuditEntry(Base):
    """One append-only audit entry, chained to the previous one by hash.

    ``prev_hash`` is unique, so two writers can never both extend the same entry: the chain
    cannot fork, whatever the concurrency.
    """

    __tablename__ = "audit_log"

    id: Mapped[intpk]
    at: Mapped[created_at]
    actor: Mapped[str] = mapped_column(String(80))  # e.g. "staff:12", "line:5", "cli"
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(80), default="")  # e.g. "authen_code:42"
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str_hash] = mapped_column(unique=True)
    entry_hash: Mapped[str_hash] = mapped_column(unique=True)


class WebhookEvent(Base):
    """A LINE webhook event received, by its webhookEventId (de-duplication), and the inbox
    the workers apply it from (linebot_app.inbox).

    The webhook stores it ``pending`` with its event encrypted in ``payload``; a worker applies
    it, in the transaction of its effects, and marks it ``applied`` (the payload removed). An
    event whose handler keeps failing ends ``dead`` after a bounded number of ``attempts``.
    Rows from before the inbox are ``applied``.
    """

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_inbox", "status", "line_user_id"),)

    webhook_event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[created_at] = mapped_column(index=True)  # retention purges by age
    # The ordering key: a user's events are applied one at a time, by (event_ts, received_at).
    line_user_id: Mapped[str | None] = mapped_column(String(64))
    event_ts: Mapped[int | None] = mapped_column(BigInteger)  # LINE's timestamp, milliseconds
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)  # the event's JSON, encrypted
    status: Mapped[str] = mapped_column(String(8), default="applied", server_default="applied")
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    next_attempt_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(200))


class WorkCounter(Base):
    """A monotonic count the workers keep for /metrics, whatever process or machine counted
    it (e.g. replies that fell back to a push)."""

    __tablename__ = "work_counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class OutboxMessage(Base):
    """A message to LINE or an email, written in the transaction whose effects it reports."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint("kind IN ('reply', 'push', 'email')", name="kind_known"),
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status_known"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_sent", "status", "sent_at"),  # retention: delivered rows by age
    )

    id: Mapped[intpk]
    kind: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[str] = mapped_column(String(254))  # LINE user id or email address
    reply_token: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    retry_key: Mapped[str] = mapped_column(String(36), unique=True)
    status: Mapped[str] = mapped_column(String(8), default="pending")
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    next_attempt_at: Mapped[created_at]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created_at]
    sent_at: Mapped[dt.datetime | None]

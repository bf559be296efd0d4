"""Operational tables: the audit chain, received webhook events, and the outbox."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, SmallInteger, String, Text
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
    """A LINE webhook event already received, by its webhookEventId (de-duplication)."""

    __tablename__ = "webhook_events"

    webhook_event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[created_at] = mapped_column(index=True)  # retention purges by age


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

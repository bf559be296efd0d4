"""Writing replies and pushes to the outbox, in the transaction of the effects they report."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from authencode.db import utcnow
from authencode.models import OutboxMessage
from linebot_app.messages import MAX_MESSAGES_PER_REPLY, Json


def _check(messages: list[Json]) -> None:
    if not 1 <= len(messages) <= MAX_MESSAGES_PER_REPLY:
        raise ValueError("LINE takes 1 to 5 messages a request")


def enqueue_reply(session: Session, line_user_id: str, reply_token: str | None,
                  messages: list[Json]) -> OutboxMessage:
    """Queue a reply; without a reply token it is queued as a push to the same user."""
    _check(messages)
    row = OutboxMessage(
        kind="reply" if reply_token else "push",
        recipient=line_user_id,
        reply_token=reply_token,
        payload={"messages": messages},
        retry_key=str(uuid.uuid4()),
        status="pending",
        attempts=0,
        next_attempt_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def enqueue_push(session: Session, line_user_id: str, messages: list[Json]) -> OutboxMessage:
    """Queue a push message to one user (sent only while the user follows the account)."""
    return enqueue_reply(session, line_user_id, None, messages)

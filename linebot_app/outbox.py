"""Writing replies and pushes to the outbox, in the transaction of the effects they report."""

from __future__ import annotations

import uuid

from sqlalchemy import insert
from sqlalchemy.orm import Session

from authencode.db import utcnow
from authencode.models import OutboxMessage
from linebot_app.messages import MAX_MESSAGES_PER_REPLY, Json

SYNC_RICH_MENU = "sync_rich_menu"
# When LINE issued the reply token (the event's timestamp, ms since the epoch): the sender
# judges by it whether LINE's refusal of a token can only mean that it was used.
REPLY_ISSUED_AT = "reply_token_at"
_INSERT = insert(OutboxMessage.__table__)  # type: ignore[arg-type]


def _check(messages: list[Json]) -> None:
    if not 1 <= len(messages) <= MAX_MESSAGES_PER_REPLY:
        raise ValueError("LINE takes 1 to 5 messages a request")


def enqueue_reply(
    session: Session,
    line_user_id: str,
    reply_token: str | None,
    messages: list[Json],
    *,
    sync_rich_menu: bool = False,
    token_at: int | None = None,
) -> None:
    """Queue a reply; without a reply token it is queued as a push to the same user.

    ``token_at`` is the event's timestamp (when LINE issued the token), when known.

    With ``sync_rich_menu`` the worker first gives the user the rich menu their consent
    calls for at sending time (member menu linked, or unlinked back to the guest default),
    so the menu has switched when the message arrives.
    """
    _check(messages)
    payload: dict[str, object] = {"messages": messages}
    if sync_rich_menu:
        payload[SYNC_RICH_MENU] = True
    if reply_token and type(token_at) is int:
        payload[REPLY_ISSUED_AT] = token_at
    now = utcnow()
    # A plain INSERT (one cached statement, values as parameters) rather than an ORM object:
    # every webhook event writes one of these, and the unit of work is most of its cost.
    session.connection().execute(
        _INSERT,
        {
            "kind": "reply" if reply_token else "push",
            "recipient": line_user_id,
            "reply_token": reply_token,
            "payload": payload,
            "retry_key": str(uuid.uuid4()),
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        },
    )


def enqueue_push(
    session: Session, line_user_id: str, messages: list[Json], *, sync_rich_menu: bool = False
) -> None:
    """Queue a push message to one user (sent only while the user follows the account).

    A LIFF page that records consent pushes its confirmation with ``sync_rich_menu=True``.
    """
    enqueue_reply(session, line_user_id, None, messages, sync_rich_menu=sync_rich_menu)

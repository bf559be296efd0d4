"""Chat dialogue state kept in the database: which step a LINE user is at, and their answers.

Every web worker sees the same state, and it survives restarts. Reading the state first
locks the account's row, so two messages of one user handled at once by two processes are
applied one after the other (SQLite serialises every writer anyway); the row's version
column refuses a write based on a stale read as the last word. The answers collected so far
hold a CID and a phone, so they are stored only encrypted, bound to the account they belong
to. A dialogue left silent for ``DEFAULT_TTL`` is over: it is deleted when next read, and the
worker purges the ones nobody comes back to.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.models import ChatConversation, LineAccount
from authencode.services.line_accounts import lock_account

DEFAULT_TTL = dt.timedelta(minutes=5)


@dataclass
class Conversation:
    """A live dialogue, its answers decrypted."""

    row: ChatConversation
    data: dict[str, str] = field(default_factory=dict)

    @property
    def flow(self) -> str:
        return self.row.flow

    @property
    def step(self) -> str:
        return self.row.step


@dataclass(frozen=True)
class Current:
    """What ``lock_current`` found: the live dialogue, or the flow of one that just expired."""

    conversation: Conversation | None
    expired_flow: str | None = None


def answers_context(account_id: int) -> str:
    # Bound to the account: a ciphertext copied to another account's row does not decrypt.
    return f"chat:{account_id}"


def _seal(protector: DataProtector, account_id: int, data: dict[str, str]) -> bytes | None:
    if not data:
        return None
    return protector.encrypt(json.dumps(data, separators=(",", ":")), answers_context(account_id))


def _open(protector: DataProtector, row: ChatConversation) -> dict[str, str]:
    if not row.data_enc:
        return {}
    loaded = json.loads(protector.decrypt(row.data_enc, answers_context(row.line_account_id)))
    return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}


# Built once (every text a LINE user sends reads it); re-read even if this session has it.
_DIALOGUE_OF = (
    select(ChatConversation)
    .where(ChatConversation.line_account_id == bindparam("account_id"))
    .execution_options(populate_existing=True)
)


def lock_current(
    session: Session, protector: DataProtector, account: LineAccount, now: dt.datetime
) -> Current:
    """Lock the account, then return its live dialogue; an expired one is deleted."""
    lock_account(session, account)
    row = session.scalar(_DIALOGUE_OF, {"account_id": account.id})
    if row is None:
        return Current(None)
    if row.expires_at <= now:
        flow = row.flow
        session.delete(row)
        session.flush()
        return Current(None, expired_flow=flow)
    return Current(Conversation(row, _open(protector, row)))


def start(
    session: Session,
    protector: DataProtector,
    account: LineAccount,
    flow: str,
    step: str,
    now: dt.datetime,
    ttl: dt.timedelta = DEFAULT_TTL,
    data: dict[str, str] | None = None,
) -> Conversation:
    """Begin a dialogue, replacing any unfinished one (call ``lock_current`` first)."""
    finish_all(session, account)
    row = ChatConversation(
        line_account_id=account.id,
        flow=flow,
        step=step,
        data_enc=_seal(protector, account.id, data or {}),
        started_at=now,
        updated_at=now,
        expires_at=now + ttl,
    )
    session.add(row)
    session.flush()
    return Conversation(row, dict(data or {}))


def advance(
    session: Session,
    protector: DataProtector,
    conversation: Conversation,
    step: str,
    now: dt.datetime,
    ttl: dt.timedelta = DEFAULT_TTL,
    **answers: str,
) -> None:
    """Move to the next step, keeping the new answers; the silence timer starts again."""
    conversation.data.update(answers)
    row = conversation.row
    row.step = step
    row.data_enc = _seal(protector, row.line_account_id, conversation.data)
    row.updated_at = now
    row.expires_at = now + ttl
    session.flush()  # the version check happens here


def touch(
    session: Session, conversation: Conversation, now: dt.datetime, ttl: dt.timedelta = DEFAULT_TTL
) -> None:
    """The user answered (even wrongly): the dialogue stays open a while longer."""
    conversation.row.updated_at = now
    conversation.row.expires_at = now + ttl
    session.flush()


def finish(session: Session, conversation: Conversation) -> None:
    """End the dialogue: its answers are deleted with it."""
    session.delete(conversation.row)
    session.flush()


def finish_all(session: Session, account: LineAccount) -> int:
    """End whatever dialogue the account has (a new one starts, consent is withdrawn...);
    returns how many were ended."""
    result = session.execute(
        delete(ChatConversation)
        .where(ChatConversation.line_account_id == account.id)
        .execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount)  # type: ignore[attr-defined]

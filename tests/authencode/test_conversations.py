"""Chat dialogue state (authencode.services.conversations): answers sealed to their account,
a silent dialogue over after its time, one dialogue per account, and a write based on a
stale read refused."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from authencode.crypto import DataProtector, DecryptionError
from authencode.db import Database
from authencode.models import ChatConversation, LineAccount
from authencode.services import conversations

NOW = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
CID = "1101700203451"


def _account(session: Session, user: str = "U" + "a" * 32) -> LineAccount:
    account = LineAccount(line_user_id=user)
    session.add(account)
    session.flush()
    return account


def test_answers_are_sealed_to_their_account(session: Session, protector: DataProtector) -> None:
    mine, theirs = _account(session), _account(session, "U" + "b" * 32)
    talk = conversations.start(session, protector, mine, "register", "cid", NOW)
    conversations.advance(session, protector, talk, "phone", NOW, cid=CID)
    current = conversations.lock_current(session, protector, mine, NOW)
    assert current.conversation is not None and current.conversation.data == {"cid": CID}
    assert current.conversation.step == "phone"
    assert CID.encode() not in (talk.row.data_enc or b"")
    # A ciphertext copied into another account's dialogue does not open there.
    copy = conversations.start(session, protector, theirs, "register", "phone", NOW)
    copy.row.data_enc = talk.row.data_enc
    session.flush()
    with pytest.raises(DecryptionError):
        conversations.lock_current(session, protector, theirs, NOW)


def test_a_silent_dialogue_is_over_and_a_new_one_replaces_the_old(
    session: Session, protector: DataProtector
) -> None:
    account = _account(session)
    talk = conversations.start(session, protector, account, "register", "cid", NOW)
    later = NOW + conversations.DEFAULT_TTL - dt.timedelta(seconds=1)
    conversations.touch(session, talk, later)  # a wrong answer keeps it open
    still = conversations.lock_current(session, protector, account, NOW + conversations.DEFAULT_TTL)
    assert still.conversation is not None
    over = conversations.lock_current(
        session, protector, account, later + conversations.DEFAULT_TTL
    )
    assert (over.conversation, over.expired_flow) == (None, "register")
    assert conversations.lock_current(session, protector, account, NOW).expired_flow is None
    conversations.start(session, protector, account, "register", "cid", NOW, data={"a": "1"})
    conversations.start(session, protector, account, "family", "cid", NOW)
    rows = session.scalars(select(ChatConversation)).all()
    assert [(r.flow, r.data_enc) for r in rows] == [("family", None)]
    assert conversations.finish_all(session, account) == 1


@pytest.fixture
def two_sessions(pg_url: str) -> Iterator[tuple[Session, Session]]:
    """Two workers' sessions on PostgreSQL (SQLite serialises whole transactions instead)."""
    database = Database(pg_url)
    with database.sessionmaker() as first, database.sessionmaker() as second:
        yield first, second
    database.dispose()


def test_a_write_based_on_a_stale_read_is_refused(
    two_sessions: tuple[Session, Session], protector: DataProtector
) -> None:
    first, second = two_sessions
    account = _account(first)
    conversations.start(first, protector, account, "register", "cid", NOW)
    first.commit()
    stale_row = second.scalars(select(ChatConversation)).one()  # read, not locked
    stale = conversations.Conversation(stale_row, {})
    current = conversations.lock_current(first, protector, account, NOW).conversation
    assert current is not None
    conversations.advance(first, protector, current, "phone", NOW, cid=CID)
    first.commit()
    with pytest.raises(StaleDataError):
        conversations.advance(second, protector, stale, "birth_date", NOW, phone="0812345678")
    second.rollback()
    assert second.scalars(select(ChatConversation.step)).one() == "phone"

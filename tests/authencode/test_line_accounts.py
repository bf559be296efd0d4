"""LINE accounts (authencode.services.line_accounts): made once per LINE user, also when two
events of a new user arrive at once; following and unfollowing decide whether we push."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from authencode.db import Database
from authencode.errors import DomainError
from authencode.models import LineAccount
from authencode.services import line_accounts
from tests.support.race import race

USER = "U" + "0123456789abcdef" * 2


@pytest.mark.parametrize("user_id", ["", "U" * 65])
def test_a_line_user_id_must_look_like_one(session: Session, user_id: str) -> None:
    with pytest.raises(DomainError) as caught:
        line_accounts.get_or_create_account(session, user_id)
    assert caught.value.code == "LINE_USER_ID_INVALID"
    assert session.scalar(select(func.count()).select_from(LineAccount)) == 0


def test_one_account_per_user_and_pushes_stop_after_unfollowing(session: Session) -> None:
    assert line_accounts.can_receive_push(session, USER)  # unknown yet: not blocked
    account, created = line_accounts.follow(session, USER)
    assert created and account.status == "active"
    assert line_accounts.get_or_create_account(session, USER) == (account, False)
    assert line_accounts.unfollow(session, USER) is account
    assert not line_accounts.can_receive_push(session, USER)
    assert line_accounts.follow(session, USER) == (account, False)
    assert line_accounts.can_receive_push(session, USER)
    assert line_accounts.unfollow(session, "U-never-seen") is None
    assert line_accounts.find_account(session, USER.lower()) is None  # ids are case-sensitive


def test_events_of_a_new_user_at_once_make_one_account(pg_url: str) -> None:
    database = Database(pg_url)
    try:
        outcomes = race(
            database, 5, lambda session, i: line_accounts.get_or_create_account(session, USER)[1]
        )
        assert sorted(map(str, outcomes)) == ["False"] * 4 + ["True"]
        with database.transaction() as session:
            assert session.scalar(select(func.count()).select_from(LineAccount)) == 1
    finally:
        database.dispose()

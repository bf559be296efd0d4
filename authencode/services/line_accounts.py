"""LINE accounts: following, unfollowing, and looking an account up by its LINE user id."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from authencode.errors import DomainError, register
from authencode.models import LineAccount

register("LINE_USER_ID_INVALID", "invalid", "Not a LINE user id.", "รหัสผู้ใช้ LINE ไม่ถูกต้อง")

MAX_USER_ID_LENGTH = 64


def find_account(session: Session, line_user_id: str) -> LineAccount | None:
    """The account of this LINE user, or None."""
    return session.scalar(select(LineAccount).where(LineAccount.line_user_id == line_user_id))


def get_or_create_account(session: Session, line_user_id: str) -> tuple[LineAccount, bool]:
    """The account of this LINE user, created if new; raises LINE_USER_ID_INVALID.

    Two events of a new user handled at once both try the insert; the unique constraint
    lets one win and the other reads the winner's row.
    """
    if not line_user_id or len(line_user_id) > MAX_USER_ID_LENGTH:
        raise DomainError("LINE_USER_ID_INVALID")
    account = find_account(session, line_user_id)
    if account is not None:
        return account, False
    try:
        with session.begin_nested():
            account = LineAccount(line_user_id=line_user_id, status="active", language="th")
            session.add(account)
    except IntegrityError:
        account = find_account(session, line_user_id)
        if account is None:
            raise
        return account, False
    return account, True


def follow(session: Session, line_user_id: str) -> tuple[LineAccount, bool]:
    """Mark the account as following (creating it); returns (account, is_new)."""
    account, created = get_or_create_account(session, line_user_id)
    account.status = "active"
    session.flush()
    return account, created


def unfollow(session: Session, line_user_id: str) -> LineAccount | None:
    """Mark the account as unfollowed: nothing more is pushed to it."""
    account = find_account(session, line_user_id)
    if account is not None:
        account.status = "unfollowed"
        session.flush()
    return account


def can_receive_push(session: Session, line_user_id: str) -> bool:
    """False once the user has unfollowed (blocked) the official account."""
    account = find_account(session, line_user_id)
    return account is None or account.status == "active"

"""LINE accounts: following, unfollowing, and looking an account up by its LINE user id."""

from __future__ import annotations

from sqlalchemy import bindparam, event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction

from authencode.errors import DomainError, register
from authencode.models import LineAccount

register("LINE_USER_ID_INVALID", "invalid", "Not a LINE user id.", "รหัสผู้ใช้ LINE ไม่ถูกต้อง")

MAX_USER_ID_LENGTH = 64


_LOCKED = "locked_line_accounts"  # session.info: ids of accounts this transaction has locked
# Built once: every webhook event runs these, and building a statement costs more than
# running its cached compiled form.
_BY_USER_ID = select(LineAccount).where(LineAccount.line_user_id == bindparam("user_id"))
_BY_USER_ID_LOCKED = _BY_USER_ID.with_for_update().execution_options(populate_existing=True)
_BY_ID_LOCKED = (
    select(LineAccount)
    .where(LineAccount.id == bindparam("account_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)


def find_account(session: Session, line_user_id: str, *, lock: bool = False) -> LineAccount | None:
    """The account of this LINE user, or None.

    With ``lock`` the row is read under a row lock (PostgreSQL) held until the transaction
    ends, so events of one user are applied one after another; see ``lock_account``.
    """
    account = session.scalar(_BY_USER_ID_LOCKED if lock else _BY_USER_ID, {"user_id": line_user_id})
    if lock and account is not None:
        session.info.setdefault(_LOCKED, set()).add(account.id)
    return account


def lock_account(session: Session, account: LineAccount) -> None:
    """Queue this transaction behind any other one holding the account (once per transaction).

    The account is re-read under the lock, so a change made by a concurrent event (consent
    given, say) is seen. SQLite serialises writers anyway.
    """
    locked: set[int] = session.info.setdefault(_LOCKED, set())
    if account.id in locked:
        return
    # Fetched, not only executed: populate_existing refreshes the object only from rows read.
    session.execute(_BY_ID_LOCKED, {"account_id": account.id}).all()
    locked.add(account.id)


@event.listens_for(Session, "after_transaction_end")
def _forget_locks(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outer transaction: its row locks are gone
        session.info.pop(_LOCKED, None)


def get_or_create_account(
    session: Session, line_user_id: str, *, lock: bool = False
) -> tuple[LineAccount, bool]:
    """The account of this LINE user, created if new; raises LINE_USER_ID_INVALID.

    Two events of a new user handled at once both try the insert; the unique constraint
    lets one win and the other reads the winner's row. ``lock`` as in ``find_account``.
    """
    if not line_user_id or len(line_user_id) > MAX_USER_ID_LENGTH:
        raise DomainError("LINE_USER_ID_INVALID")
    account = find_account(session, line_user_id, lock=lock)
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

"""One-time messages to LINE accounts: who still has to be told, recorded so each is told once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from authencode.db import utcnow
from authencode.models import AccountNotice, FamilyLink, LineAccount
from authencode.services import audit

BATCH = 500


def claim_accounts(
    session: Session, notice: str, *, actor: str = "cli", batch: int = BATCH
) -> list[LineAccount]:
    """Following accounts that act for someone and were not yet sent ``notice``, now recorded
    as sent (the caller queues the message in the same transaction).

    The record is taken with ``INSERT ... ON CONFLICT DO NOTHING``, so a second run, also one
    overlapping this one, gets only accounts no run has taken: each account is told once.
    Accounts that unfollowed are left for a later run (a push would not reach them).
    """
    told = exists().where(
        AccountNotice.line_account_id == LineAccount.id, AccountNotice.notice == notice
    )
    linked = exists().where(FamilyLink.line_account_id == LineAccount.id)
    candidates = list(
        session.scalars(
            select(LineAccount.id)
            .where(LineAccount.status == "active", linked, ~told)
            .order_by(LineAccount.id)
        )
    )
    taken: list[int] = []
    insert: Any = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for start in range(0, len(candidates), batch):
        rows = [
            {"line_account_id": account_id, "notice": notice, "queued_at": utcnow()}
            for account_id in candidates[start : start + batch]
        ]
        stmt = (
            insert(AccountNotice)
            .values(rows)
            .on_conflict_do_nothing()
            .returning(AccountNotice.line_account_id)
        )
        taken.extend(session.execute(stmt).scalars())
    if taken:
        audit.record(session, actor, "line.notice", f"notice:{notice}", {"accounts": len(taken)})
    return (
        list(
            session.scalars(
                select(LineAccount).where(LineAccount.id.in_(taken)).order_by(LineAccount.id)
            )
        )
        if taken
        else []
    )

"""One-time notices (authencode.services.notices.claim_accounts): every following account that
acts for someone is told once, also when two runs overlap."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.db import Database
from authencode.models import AuditEntry, FamilyLink, LineAccount
from authencode.services import notices
from tests.support.factories import make_person
from tests.support.race import race


def _accounts(session: Session, protector: DataProtector, n: int) -> list[int]:
    ids = []
    for i in range(n):
        account = LineAccount(line_user_id=f"U{i}")
        session.add(account)
        session.flush()
        person = make_person(session, protector)
        session.add(
            FamilyLink(
                line_account_id=account.id, person_id=person.id, slot=0, relation="self",
                phone="0812345678", level="claimed",
            )
        )  # fmt: skip
        ids.append(account.id)
    session.flush()
    return ids


def test_each_linked_following_account_is_told_once(
    session: Session, protector: DataProtector
) -> None:
    linked = _accounts(session, protector, 5)
    gone = LineAccount(line_user_id="Ugone", status="unfollowed")
    unlinked = LineAccount(line_user_id="Unobody")
    session.add_all([gone, unlinked])
    session.flush()
    session.add(
        FamilyLink(
            line_account_id=gone.id, person_id=make_person(session, protector).id, slot=0,
            relation="self", phone="0812345678", level="claimed",
        )
    )  # fmt: skip
    taken = notices.claim_accounts(session, "terms-2026", batch=2)
    assert [a.id for a in taken] == linked
    assert notices.claim_accounts(session, "terms-2026") == []  # a second run: nobody
    assert len(notices.claim_accounts(session, "another")) == 5  # another notice: everyone
    gone.status = "active"  # followed again: told on the next run
    assert [a.id for a in notices.claim_accounts(session, "terms-2026")] == [gone.id]
    details = session.scalars(select(AuditEntry.details).where(AuditEntry.action == "line.notice"))
    assert [d["accounts"] for d in details] == [5, 5, 1]


def test_overlapping_runs_tell_each_account_once(pg_url: str, protector: DataProtector) -> None:
    database = Database(pg_url)
    try:
        with database.transaction() as session:
            linked = _accounts(session, protector, 12)
        runs = race(
            database,
            3,
            lambda session, i: [a.id for a in notices.claim_accounts(session, "n", batch=5)],
        )
        told = [account_id for run in runs for account_id in run]  # type: ignore[attr-defined]
        assert sorted(told) == linked
    finally:
        database.dispose()

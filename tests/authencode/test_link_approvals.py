"""Approval requests on PostgreSQL: an approval racing a removal of the same pending link
ends in one consistent state, a verified link or no link, never a request pointing at
nothing. Real sessions in parallel threads; the orderings vary from round to round."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.db import Database
from authencode.errors import DomainError
from authencode.models import FamilyLink, LineAccount, LinkApproval
from authencode.services import consent, line_accounts, link_approvals, link_trust, person_say
from authencode.services.registration import remove_family_member
from tests.support.factories import make_person, new_cid

ROUNDS = 12


@pytest.fixture
def pg(pg_url: str) -> Iterator[Database]:
    database = Database(pg_url)
    yield database
    database.dispose()


def _account(session: Session, user_id: str) -> LineAccount:
    account, _ = line_accounts.get_or_create_account(session, user_id)
    consent.accept(session, account, consent.CONSENT_VERSION)
    return account


def _setup(db: Database, protector: DataProtector) -> tuple[int, int, int]:
    """The person's verified own account and a requester holding its own self link."""
    with db.transaction() as session:
        person = make_person(session, protector, new_cid())
        requester_self = make_person(session, protector, new_cid())
        owner = _account(session, "U" + "1" * 32)
        requester = _account(session, "U" + "2" * 32)
        own = FamilyLink(
            line_account_id=owner.id,
            person_id=person.id,
            slot=0,
            relation="self",
            phone="0812345678",
        )
        session.add_all(
            [
                own,
                FamilyLink(
                    line_account_id=requester.id,
                    person_id=requester_self.id,
                    slot=0,
                    relation="self",
                    phone="0898765432",
                ),
            ]
        )
        session.flush()
        link_trust.verify_link(session, own, method="counter", actor="staff:1")
        return person.id, owner.id, requester.id


def _pending(db: Database, person_id: int, requester_id: int) -> tuple[int, int]:
    with db.transaction() as session:
        link = FamilyLink(
            line_account_id=requester_id,
            person_id=person_id,
            slot=1,
            relation="child",
            phone="0898765432",
            level="pending",
        )
        session.add(link)
        session.flush()
        approval = link_approvals.request_approval(session, link)
        assert approval is not None
        return link.id, approval.id


def _attempt(db: Database, start: threading.Barrier, work: Callable[[Session], object]) -> str:
    start.wait(timeout=30)
    try:
        with db.transaction() as session:
            work(session)
    except DomainError as error:
        return error.code
    return "done"


@pytest.mark.parametrize("remover", ["requester", "person"])
def test_an_approval_racing_a_removal_ends_consistent(
    pg: Database, protector: DataProtector, remover: str
) -> None:
    person_id, owner_id, requester_id = _setup(pg, protector)
    outcomes = set()
    for _ in range(ROUNDS):
        link_id, approval_id = _pending(pg, person_id, requester_id)
        start = threading.Barrier(2)

        def approve(session: Session, approval_id: int = approval_id) -> object:
            owner = session.get_one(LineAccount, owner_id)
            return link_approvals.approve(session, approval_id, owner)

        def remove(session: Session, link_id: int = link_id) -> object:
            if remover == "requester":
                requester = session.get_one(LineAccount, requester_id)
                remove_family_member(session, requester, link_id)
                return None
            owner = session.get_one(LineAccount, owner_id)
            return person_say.remove_link(session, owner, link_id)

        with ThreadPoolExecutor(max_workers=2) as pool:
            approved = pool.submit(_attempt, pg, start, approve)
            removed = pool.submit(_attempt, pg, start, remove)
            results = (approved.result(timeout=60), removed.result(timeout=60))
        with pg.sessionmaker() as session:
            link = session.get(FamilyLink, link_id)
            requests = session.scalar(select(func.count()).select_from(LinkApproval)) or 0
        assert requests == 0, results  # never a request left behind or pointing at nothing
        if link is None:
            # Removed, whether before the approval (which then found nothing to approve)
            # or after it.
            assert results[1] == "done" and results[0] in ("done", "APPROVAL_GONE"), results
            outcomes.add(results)
        else:
            # Only the approval happened: the removal found nothing (never a half state).
            assert link.level == "verified" and link.verified_method == "approval"
            assert results == ("done", "FAMILY_MEMBER_NOT_FOUND"), results
            outcomes.add(results)
            with pg.transaction() as session:
                session.delete(session.get(FamilyLink, link_id))
    assert outcomes  # every round ended in one of the consistent states above

"""Two accounts racing to verify the same citizen ID as their own at two counters at once
(PostgreSQL, each confirmation in its own thread and transaction): exactly one verified self
link remains, the other account's link and code are gone, and neither counter gets a 5xx-like
failure (a deadlock or a unique violation)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from sqlalchemy import select

from authencode.crypto import DataProtector
from authencode.db import Database
from authencode.errors import DomainError
from authencode.models import Facility, FamilyLink, LineAccount, LinkVerification
from authencode.services import counter_verify
from authencode.services.counter_verify import CounterCheck
from tests.support.factories import make_facility, make_person, make_staff

ROUNDS = 6


@pytest.fixture
def pg(pg_url: str) -> Iterator[Database]:
    database = Database(pg_url)
    yield database
    database.dispose()


def _seed(db: Database, protector: DataProtector, n: int) -> tuple[list[str], list[int]]:
    """A person whose ID one account registered first (claimed) and another claims as its own
    (pending); both hold a counter code. Returns the codes and the two staff ids."""
    with db.transaction() as session:
        person = make_person(session, protector)
        codes = []
        for i, level in enumerate(("claimed", "pending")):
            account = LineAccount(line_user_id=f"U{n}-{i}", consent_version="1")
            session.add(account)
            session.flush()
            link = FamilyLink(
                line_account_id=account.id,
                person_id=person.id,
                slot=0,
                relation="self",
                phone="0812345678",
                level=level,
            )
            session.add(link)
            session.flush()
            codes.append(counter_verify.issue_code(session, protector, link).code)
    return codes, [person.id]


def test_two_accounts_racing_to_verify_the_same_person_as_self(
    pg: Database, protector: DataProtector
) -> None:
    with pg.transaction() as session:
        clinics = [make_facility(session, "10675"), make_facility(session, "10676", "อื่น")]
        staff = [
            make_staff(session, protector, clinics[0]).id,
            make_staff(session, protector, clinics[1], username="other").id,
        ]
        clinic_ids = [c.id for c in clinics]
    for n in range(ROUNDS):
        codes, (person_id,) = _seed(pg, protector, n)
        start = Barrier(2)

        def confirm(i: int, codes: list[str] = codes, start: Barrier = start) -> str:
            start.wait(timeout=30)
            try:
                with pg.transaction() as session:
                    facility = session.get(Facility, clinic_ids[i])
                    assert facility is not None
                    counter_verify.confirm(
                        session,
                        protector,
                        codes[i],
                        CounterCheck("eye"),
                        staff_id=staff[i],
                        facility=facility,
                    )
            except DomainError as error:
                return error.code
            return "verified"

        with ThreadPoolExecutor(max_workers=2) as pool:
            outcomes = sorted(pool.map(confirm, range(2)))
        assert outcomes == ["VERIFY_CODE_UNKNOWN", "verified"], outcomes
        with pg.sessionmaker() as session:
            links = session.scalars(
                select(FamilyLink).where(FamilyLink.person_id == person_id)
            ).all()
            assert [link.level for link in links] == ["verified"]
            # The winner's code is used; the loser's went with its link.
            assert (
                session.scalars(
                    select(LinkVerification.id).where(LinkVerification.used_at.is_(None))
                ).all()
                == []
            )

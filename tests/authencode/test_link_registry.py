"""Bulk verification by the registry office (authencode.services.link_registry.verify_csv),
called directly: the rows a paper form cannot name one link by, and a reclaimed person. The
CLI around it is tested in test_links_cli.py."""

from __future__ import annotations

import io

from sqlalchemy import select
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.models import FamilyLink, LineAccount, Person
from authencode.services import link_registry
from tests.support.factories import make_person, new_cid


def _link(session: Session, person: Person, user: str, slot: int, level: str, phone: str) -> None:
    account = session.scalar(select(LineAccount).where(LineAccount.line_user_id == user))
    if account is None:
        account = LineAccount(line_user_id=user, consent_version="1")
        session.add(account)
        session.flush()
    session.add(
        FamilyLink(
            line_account_id=account.id, person_id=person.id, slot=slot,
            relation="self" if slot == 0 else "child", phone=phone, level=level,
        )
    )  # fmt: skip
    session.flush()


def _run(session: Session, protector: DataProtector, text: str) -> link_registry.VerifyReport:
    return link_registry.verify_csv(session, protector, io.StringIO(text))


def test_rows_that_name_no_single_link_change_nothing(
    session: Session, protector: DataProtector
) -> None:
    cid = new_cid()
    child = make_person(session, protector, cid, birth_year=2020)
    _link(session, child, "Umother", 1, "claimed", "0812345678")
    _link(session, child, "Ufather", 1, "claimed", "0812345678")  # the same family phone
    report = _run(
        session,
        protector,
        f"cid,line_user_id,phone\n{cid},,0812345678\n{cid},,\n{cid}\n{cid},,02-123-4567\n",
    )
    assert [(e.line, e.reason) for e in report.errors] == [
        (2, "several links with this phone: give line_user_id"),
        (3, "neither line_user_id nor phone"),
        (4, "too few columns"),
        (5, "bad phone (PHONE_INVALID)"),
    ]
    assert report.verified == 0
    assert set(session.scalars(select(FamilyLink.level))) == {"claimed"}
    named = _run(session, protector, f"cid,line_user_id,phone\n{cid},Ufather,0812345678\n")
    assert (named.verified, named.errors) == (1, [])


def test_verifying_a_waiting_self_link_reclaims_the_person(
    session: Session, protector: DataProtector
) -> None:
    cid = new_cid()
    person = make_person(session, protector, cid)
    _link(session, person, "Uimpostor", 0, "claimed", "0899999999")
    _link(session, person, "Uowner", 0, "pending", "0812345678")
    report = _run(session, protector, f"CID,Phone\n{cid},0812345678\n")
    assert (report.verified, report.displaced) == (1, 1)
    owners = session.execute(select(LineAccount.line_user_id, FamilyLink.level).join(FamilyLink))
    assert owners.all() == [("Uowner", "verified")]

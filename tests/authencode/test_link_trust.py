"""Assurance levels of family links: what each allows, and verifying (which reclaims a person)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.errors import DomainError
from authencode.models import AuditEntry, FamilyLink, LineAccount
from authencode.services import link_trust
from tests.support.factories import make_person


def _account(session: Session, user: str) -> LineAccount:
    account = LineAccount(line_user_id=user, consent_version="1")
    session.add(account)
    session.flush()
    return account


def _link(
    session: Session, account: LineAccount, person_id: int, *, slot: int = 0, level: str = "claimed"
) -> FamilyLink:
    link = FamilyLink(
        line_account_id=account.id,
        person_id=person_id,
        slot=slot,
        relation="self" if slot == 0 else "child",
        phone="0812345678",
        level=level,
    )
    session.add(link)
    session.flush()
    return link


def test_each_level_allows_only_its_own(session: Session, protector: DataProtector) -> None:
    person = make_person(session, protector)
    link = _link(session, _account(session, "U1"), person.id, level="pending")
    with pytest.raises(DomainError) as pending:
        link_trust.require(link, link_trust.DISPLAY_QR)
    assert pending.value.code == "LINK_PENDING"
    link.level = "claimed"
    link_trust.require(link, link_trust.DISPLAY_QR)
    for what in (
        link_trust.POSTER_QR,
        link_trust.FULL_HISTORY,
        link_trust.RIGHTS_DETAIL,
        link_trust.PCU_CHANGE,
    ):
        with pytest.raises(DomainError) as claimed:
            link_trust.require(link, what)
        assert claimed.value.code == "LINK_NOT_VERIFIED"
    link.level = "verified"
    for what in (link_trust.POSTER_QR, link_trust.FULL_HISTORY, link_trust.PCU_CHANGE):
        link_trust.require(link, what)


def test_verifying_a_pending_self_link_reclaims_the_person(
    session: Session, protector: DataProtector
) -> None:
    person = make_person(session, protector)
    impostor = _link(session, _account(session, "Uimpostor"), person.id)
    owner_account = _account(session, "Uowner")
    owner = _link(session, owner_account, person.id, level="pending")

    outcome = link_trust.verify_link(session, owner, method="counter", actor="staff:7")

    assert outcome.displaced_account_ids == (impostor.line_account_id,)
    assert session.scalars(select(FamilyLink).where(FamilyLink.person_id == person.id)).all() == [
        owner
    ]
    assert (owner.level, owner.verified_method, owner.verified_by) == (
        "verified",
        "counter",
        "staff:7",
    )
    assert owner.verified_at is not None
    assert link_trust.verified_self_link(session, person.id) is owner
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions[-2:] == ["link.displaced", "link.verified"]


def test_two_self_links_that_give_access_are_refused_by_the_database(
    session: Session, protector: DataProtector
) -> None:
    person = make_person(session, protector)
    _link(session, _account(session, "Ua"), person.id)
    with pytest.raises(IntegrityError), session.begin_nested():
        _link(session, _account(session, "Ub"), person.id, level="claimed")


def test_an_unknown_method_is_refused(session: Session, protector: DataProtector) -> None:
    person = make_person(session, protector)
    link = _link(session, _account(session, "U2"), person.id)
    with pytest.raises(DomainError) as refused:
        link_trust.verify_link(session, link, method="guess", actor="cli")
    assert refused.value.code == "VERIFY_METHOD_UNKNOWN"
    assert link.level == "claimed"


def test_verifying_a_link_removed_meanwhile_changes_nothing(
    session: Session, protector: DataProtector
) -> None:
    person = make_person(session, protector)
    link = _link(session, _account(session, "U3"), person.id, level="pending")
    session.delete(link)
    session.flush()
    with pytest.raises(DomainError) as gone:
        link_trust.verify_link(session, link, method="counter", actor="staff:1")
    assert gone.value.code == "LINK_GONE"
    assert session.scalars(select(FamilyLink)).all() == []

"""PDPA consent (authencode.services.consent): accept the current version, decline, withdraw."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.errors import DomainError
from authencode.models import ConsentRecord, FamilyLink, LineAccount
from authencode.services import consent
from authencode.services.registration import RegistrationPolicy
from tests.support.factories import make_facility, make_person, new_cid, register_self


def _account(session: Session) -> LineAccount:
    account = LineAccount(line_user_id="U" + "c" * 32)
    session.add(account)
    session.flush()
    return account


def _decisions(session: Session) -> list[str]:
    return list(session.scalars(select(ConsentRecord.decision).order_by(ConsentRecord.id)))


def test_accepting_the_current_version_makes_a_member_once(session: Session) -> None:
    account = _account(session)
    with pytest.raises(DomainError) as stale:
        consent.accept(session, account, "2000-01")
    assert stale.value.code == "CONSENT_VERSION_STALE"
    with pytest.raises(DomainError) as required:
        consent.require_consent(account)
    assert required.value.code == "CONSENT_REQUIRED"

    consent.accept(session, account, consent.CONSENT_VERSION, channel="liff")
    consent.require_consent(account)
    assert account.consented_at is not None
    with pytest.raises(DomainError) as again:
        consent.accept(session, account, consent.CONSENT_VERSION)
    assert again.value.code == "CONSENT_ALREADY_GIVEN"
    records = session.scalars(select(ConsentRecord).order_by(ConsentRecord.id)).all()
    assert [(r.decision, r.channel) for r in records] == [("accepted", "liff")]


def test_an_older_accepted_version_counts_as_no_consent(session: Session) -> None:
    account = _account(session)
    account.consent_version = "2000-01"
    assert not consent.is_current(account.consent_version)
    consent.accept(session, account, consent.CONSENT_VERSION)  # not "already given"
    assert consent.is_current(account.consent_version)


def test_declining_is_recorded_and_changes_nothing(session: Session) -> None:
    account = _account(session)
    consent.decline(session, account, consent.CONSENT_VERSION)
    assert account.consent_version is None
    assert _decisions(session) == ["declined"]


def test_withdrawing_unlinks_every_person(session: Session, protector: DataProtector) -> None:
    make_facility(session)
    account = _account(session)
    with pytest.raises(DomainError) as not_given:
        consent.withdraw(session, account)
    assert not_given.value.code == "CONSENT_NOT_GIVEN"
    consent.accept(session, account, consent.CONSENT_VERSION)
    cid = new_cid()
    make_person(session, protector, cid)
    register_self(session, protector, account, cid, "0812345678", RegistrationPolicy())
    session.commit()
    assert session.scalars(select(FamilyLink)).all()

    consent.withdraw(session, account)
    session.commit()
    assert session.scalars(select(FamilyLink)).all() == []
    assert account.consent_version is None and account.links == []
    assert _decisions(session) == ["accepted", "withdrawn"]

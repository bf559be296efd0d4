"""Codes a patient asks for from LINE (authencode.services.patient_codes): which QR each link
level may use, and whose codes an account sees (its own requests through a claimed link, a
verified link's person's every code, nothing through a pending link or another account)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.errors import DomainError
from authencode.models import Facility, FamilyLink, LineAccount, Person
from authencode.services import consent, issuance, patient_codes, qr_tokens
from authencode.services.registration import RegistrationPolicy
from tests.support.factories import make_facility, make_person

POLICY = RegistrationPolicy()


def _holder(session: Session, person: Person, user: str, level: str) -> LineAccount:
    account = LineAccount(line_user_id=user, consent_version=consent.CONSENT_VERSION)
    session.add(account)
    session.flush()
    session.add(
        FamilyLink(
            line_account_id=account.id, person_id=person.id, slot=0, relation="self",
            phone="0812345678", level=level,
        )
    )  # fmt: skip
    session.flush()
    return account


def _refusal(call: object) -> str:
    with pytest.raises(DomainError) as caught:
        call()  # type: ignore[operator]
    return caught.value.code


@pytest.fixture
def clinic(session: Session) -> Facility:
    return make_facility(session)


def _ask(session: Session, protector: DataProtector, account: LineAccount, scanned: str):
    link = session.query(FamilyLink).filter_by(line_account_id=account.id, slot=0).one()
    return patient_codes.request_by_qr(session, protector, account, link.id, scanned, POLICY)


def test_each_link_level_uses_only_its_qr(
    session: Session, protector: DataProtector, clinic: Facility
) -> None:
    person = make_person(session, protector)
    account = _holder(session, person, "Upatient", "pending")
    poster = qr_tokens.sign_poster(session, protector, clinic, "PG0060001")
    display, _ = qr_tokens.sign_display(session, protector, clinic, "PG0090001")
    link = session.query(FamilyLink).filter_by(line_account_id=account.id).one()
    # Pending: refused before the QR is even read.
    assert _refusal(lambda: _ask(session, protector, account, "junk")) == "LINK_PENDING"
    link.level = "claimed"
    assert _refusal(lambda: _ask(session, protector, account, poster)) == "LINK_NOT_VERIFIED"
    issued, _ = _ask(session, protector, account, display)
    assert (issued.code.channel, issued.code.verify_method) == ("line", "line_qr")
    assert issued.code.line_account_id == account.id
    link.level = "verified"
    assert _ask(session, protector, account, qr_tokens.qr_url("https://x", poster))[0].created
    again, _ = _ask(session, protector, account, display)
    assert not again.created and again.code.id == issued.code.id
    account.consent_version = None
    assert _refusal(lambda: _ask(session, protector, account, display)) == "CONSENT_REQUIRED"


def test_an_account_sees_what_its_link_level_allows(
    session: Session, protector: DataProtector, clinic: Facility
) -> None:
    person = make_person(session, protector)
    verified = _holder(session, person, "Uowner", "verified")
    claimed = _holder(session, make_person(session, protector), "Uclaimer", "claimed")
    session.add(
        FamilyLink(
            line_account_id=claimed.id, person_id=person.id, slot=1, relation="parent",
            phone="0899999999", level="claimed",
        )
    )  # fmt: skip
    pending = _holder(session, make_person(session, protector), "Upending", "claimed")
    session.add(
        FamilyLink(
            line_account_id=pending.id, person_id=person.id, slot=1, relation="parent",
            phone="0899999998", level="pending",
        )
    )  # fmt: skip
    stranger = _holder(session, make_person(session, protector), "Ustranger", "verified")

    def issue(service: str, channel: str, account: LineAccount | None) -> object:
        return issuance.issue_code(
            session, person, hcode=clinic.hcode, service_code=service, phones="0812345678",
            channel=channel, line_account_id=account.id if account else None,
        ).code  # fmt: skip

    by_claimer = issue("PG0060001", "line", claimed)
    at_kiosk = issue("PG0090001", "kiosk", None)
    assert set(patient_codes.codes_for_account(session, verified)) == {by_claimer, at_kiosk}
    assert patient_codes.count_for_account(session, verified, person.id) == 2
    assert patient_codes.codes_for_account(session, claimed) == [by_claimer]
    assert patient_codes.codes_for_account(session, pending) == []
    assert patient_codes.codes_for_account(session, stranger) == []
    assert patient_codes.count_for_account(session, verified, person.id + 1000) == 0
    assert len(patient_codes.codes_today(session, verified)) == 2

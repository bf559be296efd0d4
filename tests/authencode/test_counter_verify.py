"""Counter verification codes: one use, short life, hashed; the card must be the person's (or
for a child the guardian's); a minor's link is verified only at the counter; reclaiming."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.errors import DomainError
from authencode.models import (
    AuditEntry,
    CardRead,
    Facility,
    FamilyLink,
    LineAccount,
    LinkVerification,
)
from authencode.services import counter_verify, link_trust
from authencode.services.api_tokens import create_token
from authencode.services.counter_verify import CounterCheck
from authencode.thaidate import service_day
from tests.support.factories import make_facility, make_person, make_staff, new_cid

EYE = CounterCheck("eye")


def _account(session: Session, user: str) -> LineAccount:
    account = LineAccount(line_user_id=user, consent_version="1")
    session.add(account)
    session.flush()
    return account


def _link(
    session: Session,
    account: LineAccount,
    person_id: int,
    *,
    slot: int = 0,
    level: str = "claimed",
    relation: str | None = None,
) -> FamilyLink:
    link = FamilyLink(
        line_account_id=account.id,
        person_id=person_id,
        slot=slot,
        relation=relation or ("self" if slot == 0 else "parent"),
        phone="0812345678",
        level=level,
    )
    session.add(link)
    session.flush()
    return link


def _card_read(session: Session, protector: DataProtector, facility_id: int, cid: str) -> str:
    """A reader agent's card read at the facility, as POST /agent/api/card-reads stores it."""
    correlation = str(uuid.uuid4())
    facility = session.get(Facility, facility_id)
    assert facility is not None
    token = create_token(session, facility, "reader agent", "test", "agent").token
    session.add(
        CardRead(
            correlation_id=correlation,
            facility_id=facility_id,
            api_token_id=token.id,
            cid_hash=protector.lookup_hash(cid),
            terminal_name="Virtual PCD 00 00",
        )
    )
    session.flush()
    return correlation


def _code_of(error: pytest.ExceptionInfo[DomainError]) -> str:
    return error.value.code


@pytest.fixture
def clinic(session: Session, protector: DataProtector):
    facility = make_facility(session, "10675")
    other = make_facility(session, "10676", "โรงพยาบาลอื่น")
    staff = make_staff(session, protector, facility)
    other_staff = make_staff(session, protector, other, username="other")
    return facility, staff, other, other_staff


def test_a_code_verifies_its_link_once_by_eye(
    session: Session, protector: DataProtector, clinic
) -> None:
    facility, staff, _, _ = clinic
    person = make_person(session, protector)
    link = _link(session, _account(session, "U1"), person.id)
    issued = counter_verify.issue_code(session, protector, link)
    assert len(issued.code) == 6 and issued.code.isdigit()
    row = session.scalar(select(LinkVerification))
    assert row is not None and issued.code not in row.code_hash  # only a keyed hash is stored
    assert row.expires_at - row.created_at == counter_verify.CODE_TTL

    case = counter_verify.look_up(session, protector, f"{issued.code[:3]} {issued.code[3:]}")
    assert case.person.id == person.id and not case.minor
    with pytest.raises(DomainError) as unchecked:
        counter_verify.confirm(
            session, protector, issued.code, CounterCheck(""), staff_id=staff.id, facility=facility
        )
    assert _code_of(unchecked) == "VERIFY_CHECK_REQUIRED"

    result = counter_verify.confirm(
        session, protector, issued.code, EYE, staff_id=staff.id, facility=facility
    )
    session.refresh(link)
    assert (link.level, link.verified_method, link.verified_by) == (
        "verified",
        "counter",
        f"staff:{staff.id}",
    )
    assert result.verified.displaced_account_ids == ()
    assert (row.used_by_staff_id, row.facility_id, row.card_check) == (staff.id, facility.id, "eye")
    audited = session.scalars(
        select(AuditEntry.action).where(AuditEntry.target == f"family_link:{link.id}")
    ).all()
    assert {"link.counter_code", "link.verified", "link.counter_verified"} <= set(audited)

    with pytest.raises(DomainError) as reused:
        counter_verify.confirm(
            session, protector, issued.code, EYE, staff_id=staff.id, facility=facility
        )
    assert _code_of(reused) == "VERIFY_CODE_USED"
    with pytest.raises(DomainError) as again:
        counter_verify.issue_code(session, protector, link)
    assert _code_of(again) == "LINK_ALREADY_VERIFIED"


def test_a_new_code_replaces_the_unused_one_and_codes_expire(
    session: Session, protector: DataProtector, clinic
) -> None:
    facility, staff, _, _ = clinic
    link = _link(session, _account(session, "U1"), make_person(session, protector).id)
    first = counter_verify.issue_code(session, protector, link)
    second = counter_verify.issue_code(session, protector, link)
    assert session.scalar(select(func.count()).select_from(LinkVerification)) == 1
    if first.code != second.code:
        with pytest.raises(DomainError) as replaced:
            counter_verify.look_up(session, protector, first.code)
        assert _code_of(replaced) == "VERIFY_CODE_UNKNOWN"
    later = dt.datetime.now(dt.UTC) + counter_verify.CODE_TTL + dt.timedelta(seconds=1)
    with pytest.raises(DomainError) as expired:
        counter_verify.confirm(
            session, protector, second.code, EYE, staff_id=staff.id, facility=facility, now=later
        )
    assert _code_of(expired) == "VERIFY_CODE_EXPIRED"
    for typed in ("12345", "12a456", ""):
        with pytest.raises(DomainError) as malformed:
            counter_verify.look_up(session, protector, typed)
        assert _code_of(malformed) == "VERIFY_CODE_FORMAT"


def test_the_card_read_must_be_the_persons_and_three_refusals_withdraw_the_code(
    session: Session, protector: DataProtector, clinic
) -> None:
    facility, staff, _, _ = clinic
    cid = new_cid()
    person = make_person(session, protector, cid, first_name_th="มาลี")
    link = _link(session, _account(session, "U1"), person.id)
    issued = counter_verify.issue_code(session, protector, link)
    for attempt in range(1, counter_verify.MAX_FAILURES + 1):
        wrong = _card_read(session, protector, facility.id, new_cid())
        with pytest.raises(DomainError) as mismatch:
            counter_verify.confirm(
                session,
                protector,
                issued.code,
                CounterCheck("card", wrong),
                staff_id=staff.id,
                facility=facility,
            )
        assert _code_of(mismatch) == "VERIFY_CARD_MISMATCH"
        assert "มาลี" in mismatch.value.message_th
        if attempt < counter_verify.MAX_FAILURES:
            assert (
                counter_verify.look_up(session, protector, issued.code).verification.failures
                == attempt
            )
    with pytest.raises(DomainError) as withdrawn:
        counter_verify.look_up(session, protector, issued.code)
    assert _code_of(withdrawn) == "VERIFY_CODE_UNKNOWN"
    assert session.get(FamilyLink, link.id).level == "claimed"  # type: ignore[union-attr]

    issued = counter_verify.issue_code(session, protector, link)
    right = _card_read(session, protector, facility.id, cid)
    counter_verify.confirm(
        session,
        protector,
        issued.code,
        CounterCheck("card", right),
        staff_id=staff.id,
        facility=facility,
    )
    assert session.get(FamilyLink, link.id).level == "verified"  # type: ignore[union-attr]
    read = session.scalar(select(CardRead).where(CardRead.correlation_id == right))
    assert read is not None and read.used_at is not None


def test_another_facilitys_staff_may_verify_and_the_record_says_which(
    session: Session, protector: DataProtector, clinic
) -> None:
    facility, _, other, other_staff = clinic
    cid = new_cid()
    link = _link(session, _account(session, "U1"), make_person(session, protector, cid).id)
    issued = counter_verify.issue_code(session, protector, link)
    # A card read at the first facility is not this facility's read.
    elsewhere = _card_read(session, protector, facility.id, cid)
    with pytest.raises(DomainError) as foreign_read:
        counter_verify.confirm(
            session,
            protector,
            issued.code,
            CounterCheck("card", elsewhere),
            staff_id=other_staff.id,
            facility=other,
        )
    assert _code_of(foreign_read) == "CORRELATION_UNKNOWN"
    counter_verify.confirm(
        session, protector, issued.code, EYE, staff_id=other_staff.id, facility=other
    )
    row = session.scalar(select(LinkVerification))
    assert row is not None and (row.facility_id, row.used_by_staff_id) == (other.id, other_staff.id)
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "link.counter_verified"))
    assert entry is not None and entry.details["facility"] == "10676"


def test_a_minors_link_is_verified_only_at_the_counter_with_the_guardians_card(
    session: Session, protector: DataProtector, clinic
) -> None:
    facility, staff, _, _ = clinic
    today = service_day()
    guardian_cid = new_cid()
    account = _account(session, "U1")
    _link(session, account, make_person(session, protector, guardian_cid).id)
    child = make_person(
        session, protector, title_th="ด.ช.", first_name_th="ภูมิ", birth_year=today.year - 9
    )
    link = _link(session, account, child.id, slot=1, relation="child")
    assert link_trust.verification_methods_allowed(link, today) == ("counter", "registry")
    for method in ("thaid", "approval"):
        with pytest.raises(DomainError) as refused:
            link_trust.verify_link(session, link, method=method, actor="thaid")
        assert _code_of(refused) == "VERIFY_METHOD_NOT_ALLOWED"
    adult = _link(session, account, make_person(session, protector).id, slot=2)
    assert "thaid" in link_trust.verification_methods_allowed(adult, today)

    issued = counter_verify.issue_code(session, protector, link)
    case = counter_verify.look_up(session, protector, issued.code)
    assert case.minor and case.guardian is not None and case.card_person is case.guardian
    with pytest.raises(DomainError) as no_relation:
        counter_verify.confirm(
            session, protector, issued.code, EYE, staff_id=staff.id, facility=facility
        )
    assert _code_of(no_relation) == "VERIFY_RELATION_REQUIRED"
    childs_card = _card_read(session, protector, facility.id, protector.decrypt(child.cid_enc))
    with pytest.raises(DomainError) as not_guardian:
        counter_verify.confirm(
            session,
            protector,
            issued.code,
            CounterCheck("card", childs_card, "guardian"),
            staff_id=staff.id,
            facility=facility,
        )
    assert _code_of(not_guardian) == "VERIFY_CARD_MISMATCH"
    guardians_card = _card_read(session, protector, facility.id, guardian_cid)
    counter_verify.confirm(
        session,
        protector,
        issued.code,
        CounterCheck("card", guardians_card, "guardian"),
        staff_id=staff.id,
        facility=facility,
    )
    session.refresh(link)
    assert (link.level, link.relation) == ("verified", "guardian")
    row = session.scalar(select(LinkVerification).where(LinkVerification.used_at.is_not(None)))
    assert row is not None and (row.relation, row.card_check) == ("guardian", "card")


def test_verifying_a_pending_self_link_reclaims_the_person(
    session: Session, protector: DataProtector, clinic
) -> None:
    facility, staff, _, _ = clinic
    person = make_person(session, protector)
    first = _account(session, "U-first")
    _link(session, first, person.id, level="verified")
    claimant = _account(session, "U-claimant")
    pending = _link(session, claimant, person.id, level="pending")
    issued = counter_verify.issue_code(session, protector, pending)
    result = counter_verify.confirm(
        session, protector, issued.code, EYE, staff_id=staff.id, facility=facility
    )
    assert result.verified.displaced_account_ids == (first.id,)
    links = session.scalars(select(FamilyLink).where(FamilyLink.person_id == person.id)).all()
    assert [(x.line_account_id, x.level) for x in links] == [(claimant.id, "verified")]

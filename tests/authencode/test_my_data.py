"""A person's own data (authencode.services.my_data and erasure), on SQLite and PostgreSQL:
what the holder sees of themselves and of family, what an erasure removes and keeps, that
it happens once, and that the account can register again."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.errors import DomainError
from authencode.models import (
    AuditEntry,
    AuthenCode,
    ChatConversation,
    ConsentRecord,
    ErasureRequest,
    FamilyLink,
    LineAccount,
    OutboxMessage,
    PcuChangeRequest,
    Person,
    StaffUser,
    VisitEvidence,
)
from authencode.services import consent, erasure, issuance, link_trust, my_data, pcu_change
from authencode.services.registration import RegistrationPolicy
from tests.support.factories import (
    add_family_member,
    make_facility,
    make_person,
    make_staff,
    new_cid,
    register_self,
)

POLICY = RegistrationPolicy()


@dataclass
class Holder:
    account: LineAccount
    own: FamilyLink
    family: FamilyLink
    cid: str
    family_cid: str


def _holder(session: Session, protector: DataProtector, user: str = "U" + "1" * 32) -> Holder:
    """An account that consented, registered itself (phone 0812345678) and a child."""
    if session.scalar(select(func.count()).select_from(Person)) == 0:
        make_facility(session, "10675", services=("PG0060001",))
        make_facility(session, "10676", services=("PG0060001",))
    cid, child = new_cid(), new_cid()
    make_person(session, protector, cid, first_name_th="มานะ", hosp_sub="10675")
    make_person(session, protector, child, first_name_th="มานี", birth_year=2015)
    account = LineAccount(line_user_id=user)
    session.add(account)
    session.flush()
    consent.accept(session, account, consent.CONSENT_VERSION)
    own = register_self(session, protector, account, cid, "0812345678", POLICY)
    family = add_family_member(session, protector, account, child, "0898765432", "child", POLICY)
    return Holder(account, own, family, cid, child)


def _code(session: Session, link: FamilyLink, account_id: int | None, service: str = "PG0060001"):
    return issuance.issue_code(
        session,
        link.person,
        hcode="10675",
        service_code=service,
        phones=link.phone,
        channel="line",
        verify_method="line_qr",
        line_account_id=account_id,
    ).code


def _count(session: Session, model: type, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_the_holder_sees_their_own_data_in_full_and_family_masked(
    session: Session, protector: DataProtector
) -> None:
    h = _holder(session, protector)
    _code(session, h.own, h.account.id)
    _code(session, h.family, h.account.id)
    data = my_data.collect(session, protector, h.account)

    assert data["account"]["line_user_id"] == h.account.line_user_id
    own, child = data["links"]
    assert (own["is_self"], own["cid"], own["phone"]) == (True, h.cid, "0812345678")
    assert own["masked_cid"] == f"{h.cid[0]}-{h.cid[1:5]}-xxxxx-{h.cid[10:12]}-{h.cid[12]}"
    assert (own["level"], own["level_th"]) == ("claimed", "ยังไม่ยืนยันตัวตน")
    assert child["cid"] is None and child["phone"] is None
    assert child["phone_masked"] == "089-xxx-5432" and child["relation_th"] == "บุตร"
    # Codes newest first, Buddhist-era dates; only the holder's own code carries full phones.
    codes = data["codes"]
    assert [c["person_name"].startswith("นายมานี") for c in codes] == [True, False]
    assert codes[0]["phones"] is None and codes[0]["phones_masked"] == ["089-xxx-5432"]
    assert codes[1]["phones"] == ["0812345678"]
    assert int(codes[1]["service_at_be"][6:10]) > 2500
    assert [r["decision"] for r in data["consent_history"]] == ["accepted"]
    # A claimed own link does not see who linked the person: it may be the impostor.
    assert data["linked_by"]["available"] is False and data["linked_by"]["links"] == []
    assert data["erasures"] == []
    assert {k["kind"] for k in data["erasure_terms"]["keeps"]} >= {"codes", "audit_log"}


def test_a_pending_link_shows_no_name_and_a_verified_one_shows_who_linked_the_person(
    session: Session, protector: DataProtector
) -> None:
    h = _holder(session, protector)
    link_trust.verify_link(session, h.own, method="counter", actor="staff:1")
    other = LineAccount(line_user_id="U" + "2" * 32)
    session.add(other)
    session.flush()
    session.add(
        FamilyLink(
            line_account_id=other.id,
            person_id=h.own.person_id,
            slot=1,
            relation="sibling",
            phone="0899999999",
        )
    )
    h.family.level = "pending"
    session.flush()
    data = my_data.collect(session, protector, h.account)
    child = data["links"][1]
    assert child["name"] is None and child["masked_cid"]
    [by] = data["linked_by"]["links"]
    assert by["account_masked"] == "U2222…2222" and by["relation_th"] == "พี่/น้อง"
    assert "0899999999" not in str(data) and other.line_user_id not in str(data)


def test_erasure_removes_links_dialogues_and_consent_and_keeps_codes_detached(
    session: Session, protector: DataProtector
) -> None:
    h = _holder(session, protector)
    code = _code(session, h.own, h.account.id)
    session.add(
        ChatConversation(
            line_account_id=h.account.id,
            flow="family",
            step="cid",
            version=1,
            updated_at=code.recorded_at,
            expires_at=code.recorded_at,
        )
    )
    session.add(
        OutboxMessage(
            kind="push",
            recipient=h.account.line_user_id,
            payload={"messages": []},
            retry_key="k1",
            status="sent",
        )
    )
    session.flush()

    done = erasure.erase(session, h.account)
    assert done.created
    row = done.request
    assert row.removed == {
        "links": 2,
        "phones": 2,
        "photos": 0,  # a claimed own link erases only what the account itself made
        "other_links": 0,
        "dialogues": 1,
        "messages": 1,
        "consent": 1,
    }
    assert row.kept["codes"] == 1 and row.self_level == "claimed"
    assert _count(session, FamilyLink) == 0
    assert _count(session, ChatConversation) == 0
    assert _count(session, OutboxMessage, OutboxMessage.recipient == h.account.line_user_id) == 0
    session.refresh(code)
    assert code.line_account_id is None and code.phones == "0812345678"  # kept for claims
    assert h.account.consent_version is None
    assert [
        r for r in session.scalars(select(ConsentRecord.decision).order_by(ConsentRecord.id))
    ] == [
        "accepted",
        "withdrawn",
    ]
    [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "data.erased"))
    assert entry.target == f"erasure_request:{row.id}" and entry.details["removed"]["links"] == 2
    assert h.cid not in str(entry.details) and "0812345678" not in str(entry.details)

    # Again: nothing left; the same erasure answers, nothing more is recorded.
    again = erasure.erase(session, h.account)
    assert (again.created, again.request.id) == (False, row.id)
    assert _count(session, AuditEntry, AuditEntry.action == "data.erased") == 1

    # Back to unregistered: consent and register again.
    consent.accept(session, h.account, consent.CONSENT_VERSION)
    link = register_self(session, protector, h.account, h.cid, "0811111111", POLICY)
    assert link.level == "claimed"
    # The erased account's view shows its erasure, with what was kept and why.
    [shown] = my_data.collect(session, protector, h.account)["erasures"]
    assert {k["kind"] for k in shown["removed"]} == {
        "links",
        "phones",
        "dialogues",
        "messages",
        "consent",
    }
    assert any("หลักประกันสุขภาพ" in k["why_th"] for k in shown["kept"])


def test_a_verified_own_link_also_erases_photos_and_other_accounts_links(
    session: Session, protector: DataProtector
) -> None:
    h = _holder(session, protector)
    link_trust.verify_link(session, h.own, method="counter", actor="staff:1")
    other = LineAccount(line_user_id="U" + "3" * 32)
    session.add(other)
    session.flush()
    session.add(
        FamilyLink(
            line_account_id=other.id,
            person_id=h.own.person_id,
            slot=1,
            relation="sibling",
            phone="0899999999",
        )
    )
    staff = make_staff(session, protector, None, username="clerk")
    code = _code(session, h.own, None)
    session.add(
        VisitEvidence(code_id=code.id, photo_enc=b"x", photo_type="image/jpeg", staff_id=staff.id)
    )
    pcu = pcu_change.request_change(session, h.own, "10676")
    session.flush()

    row = erasure.erase(session, h.account).request
    assert (row.removed["photos"], row.removed["other_links"]) == (1, 1)
    assert row.kept["pcu_requests"] == 1 and row.self_level == "verified"
    assert _count(session, FamilyLink) == 0
    evidence = session.scalar(select(VisitEvidence))
    assert evidence is not None and evidence.photo_enc is None and evidence.staff_id == staff.id
    session.refresh(pcu)
    assert pcu.line_account_id is None and pcu.status == "pending"
    assert session.get(StaffUser, staff.id) is not None


def test_nothing_to_erase_is_a_clear_refusal(session: Session) -> None:
    account = LineAccount(line_user_id="U" + "4" * 32)
    session.add(account)
    session.flush()
    with pytest.raises(DomainError) as refused:
        erasure.erase(session, account)
    assert refused.value.code == "NOTHING_TO_ERASE" and refused.value.http_status == 409
    assert _count(session, ErasureRequest) == 0


def test_the_registry_office_reviews_an_erasure_once(
    session: Session, protector: DataProtector
) -> None:
    h = _holder(session, protector)
    row = erasure.erase(session, h.account).request
    assert erasure.queue(session) == [row]
    staff = make_staff(session, protector, None, username="registry", role="registry_admin")
    for bad in ("x", "0", str(row.id + 1), "99999999999"):
        with pytest.raises(DomainError) as missing:
            erasure.review(session, bad, staff_id=staff.id)
        assert missing.value.code == "ERASURE_NOT_FOUND"
    erasure.review(session, str(row.id), staff_id=staff.id, note="  ทำลาย  แบบฟอร์มแล้ว ")
    assert row.review_note == "ทำลาย แบบฟอร์มแล้ว"
    with pytest.raises(DomainError) as twice:
        erasure.review(session, row.id, staff_id=staff.id)
    assert twice.value.code == "ERASURE_REVIEWED"
    assert erasure.queue(session) == [] and erasure.queue(session, reviewed=True) == [row]
    assert _count(session, AuditEntry, AuditEntry.action == "erasure.reviewed") == 1
    assert _count(session, PcuChangeRequest) == 0 and _count(session, AuthenCode) == 0

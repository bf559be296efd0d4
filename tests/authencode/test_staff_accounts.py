"""Staff accounts (authencode.services.staff_accounts): registering with a document, approval
with an emailed initial password, rejection, roles and disabling, each scoped to who may."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.db import Database
from authencode.errors import DomainError
from authencode.models import AuditEntry, OutboxMessage, StaffDocument, StaffUser
from authencode.passwords import verify_password
from authencode.services import staff_accounts
from authencode.services.staff_accounts import Address, Registration, Upload
from tests.support.factories import make_facility, make_staff, new_cid
from tests.support.mail import queued_bodies
from tests.support.race import race

PDF = Upload("id card.pdf", b"%PDF-1.4 evidence")
ADDRESS = Address(
    house_no="1", subdistrict="ในเมือง", district="เมือง", province="ขอนแก่น", postcode="40000"
)


def _form(cid: str, username: str = "Nurse.A", hcode: str = "10675", **fields: str) -> Registration:
    values: dict[str, object] = {
        "cid": cid,
        "username": username,
        "first_name": "สมหญิง",
        "last_name": "ใจดี",
        "email": "Nurse@Clinic.EXAMPLE",
        "facility_hcode": hcode,
        "affiliation": "สสอ.เมือง",
        "address": ADDRESS,
    }
    values.update(fields)
    return Registration(**values)  # type: ignore[arg-type]


def _code(call: object) -> str:
    with pytest.raises(DomainError) as caught:
        call()  # type: ignore[operator]
    return caught.value.code


def _register(session: Session, protector: DataProtector, **fields: str) -> StaffUser:
    return staff_accounts.register_staff(
        session, protector, _form(fields.pop("cid", "") or new_cid("3"), **fields), PDF
    )


def test_a_registration_waits_pending_with_its_encrypted_document(
    session: Session, protector: DataProtector
) -> None:
    make_facility(session)
    staff = _register(session, protector)
    assert (staff.username, staff.email) == ("nurse.a", "Nurse@clinic.example")
    assert (staff.status, staff.role, staff.password_hash) == ("pending", "staff", None)
    document = staff_accounts.staff_document(session, staff)
    assert document is not None and document.filename == "id_card.pdf"
    assert b"evidence" not in document.data_enc
    assert staff_accounts.document_bytes(protector, document) == PDF.data
    assert session.scalars(select(AuditEntry.action)).all() == ["staff.register"]


def test_whether_a_cid_has_an_account_costs_a_whole_valid_registration(
    session: Session, protector: DataProtector
) -> None:
    """ADM007 is the answer only to an otherwise valid form: a prober learns nothing cheaper."""
    make_facility(session)
    make_facility(session, "10676", "ปิดแล้ว", active=False)
    cid = new_cid("3")
    _register(session, protector, cid=cid, username="first")
    form = _form(cid, "second")
    probes = [
        (dataclasses.replace(form, username="x"), PDF, "USERNAME_INVALID"),
        (dataclasses.replace(form, first_name="  "), PDF, "FIELD_REQUIRED"),
        (dataclasses.replace(form, address=Address()), PDF, "FIELD_REQUIRED"),
        (dataclasses.replace(form, email="no-at-sign"), PDF, "EMAIL_INVALID"),
        (dataclasses.replace(form, facility_hcode="10676"), PDF, "FACILITY_NOT_FOUND"),
        (form, None, "DOCUMENT_REQUIRED"),
        (form, Upload("x.pdf", b"MZ\x90\x00 not a pdf"), "DOCUMENT_TYPE"),
        (form, Upload("x.pdf", b"%PDF-" + b"0" * 1_500_000), "DOCUMENT_TOO_LARGE"),
        (form, PDF, "ADM007"),
        (dataclasses.replace(form, username="FIRST"), PDF, "USERNAME_TAKEN"),
    ]
    for probe, document, expected in probes:
        with pytest.raises(DomainError) as caught:
            staff_accounts.register_staff(session, protector, probe, document)
        assert caught.value.code == expected, probe
    adm007 = _code(lambda: staff_accounts.register_staff(session, protector, form, PDF))
    assert adm007 == "ADM007"
    assert session.scalar(select(func.count()).select_from(StaffUser)) == 1


def test_documents_are_judged_by_content_and_named_safely() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 10
    assert staff_accounts.check_document(Upload("../../etc/passwd.pdf", png)) == (
        "image/png",
        ".._.._etc_passwd.png",
    )
    assert staff_accounts.check_document(Upload("", b"\xff\xd8\xff\xe0"))[1] == "document.jpg"


def test_a_refused_upload_quota_stores_nothing(session: Session, protector: DataProtector) -> None:
    make_facility(session)

    def over_quota(size: int) -> None:
        assert size == len(PDF.data)
        raise DomainError("RATE_LIMITED")

    with pytest.raises(DomainError):
        staff_accounts.register_staff(session, protector, _form(new_cid("3")), PDF, over_quota)
    assert session.scalar(select(func.count()).select_from(StaffDocument)) == 0
    assert session.scalar(select(func.count()).select_from(StaffUser)) == 0


def test_approval_activates_once_and_mails_a_password_that_must_be_changed(
    session: Session, protector: DataProtector
) -> None:
    facility = make_facility(session)
    admin = make_staff(session, protector, facility, "admin", role="facility_admin")
    pending = _register(session, protector)
    assert (
        _code(
            lambda: staff_accounts.approve(
                session, protector, admin, pending, "https://x/login", role="system_admin"
            )
        )
        == "FORBIDDEN"
    )
    staff_accounts.approve(session, protector, admin, pending, "https://x/login")
    mail = session.scalars(select(OutboxMessage)).one()
    (body,) = queued_bodies(session, protector)
    password = body.split("Initial password: ")[1].split("\n")[0]
    assert verify_password(pending.password_hash, password)
    assert (pending.status, pending.must_change_password) == ("active", True)
    assert pending.approved_by == f"staff:{admin.id}" and mail.recipient == pending.email
    again = lambda: staff_accounts.approve(session, protector, admin, pending, "https://x/")  # noqa: E731
    assert _code(again) == "STAFF_NOT_PENDING"
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_an_admin_decides_only_for_their_own_facility_and_never_for_themselves(
    session: Session, protector: DataProtector
) -> None:
    here, there = make_facility(session), make_facility(session, "10676", "อื่น")
    admin = make_staff(session, protector, here, "admin", role="facility_admin")
    elsewhere = make_staff(session, protector, there, "admin2", role="facility_admin")
    nurse = make_staff(session, protector, here, "nurse")
    root = make_staff(session, protector, None, "root", role="system_admin")
    pending = _register(session, protector)
    for actor, target in ((elsewhere, pending), (admin, admin), (admin, root), (nurse, pending)):
        assert _code(lambda: staff_accounts.reject(session, actor, target)) == "FORBIDDEN"  # noqa: B023
        assert (
            _code(lambda: staff_accounts.change_role(session, actor, target, "staff"))  # noqa: B023
            == "FORBIDDEN"
        )
        assert (
            _code(lambda: staff_accounts.set_active(session, actor, target, False))  # noqa: B023
            == "FORBIDDEN"
        )
    assert _code(lambda: staff_accounts.change_role(session, admin, nurse, "registry_admin")) == (
        "FORBIDDEN"
    )
    assert _code(lambda: staff_accounts.change_role(session, root, root, "staff")) == "FORBIDDEN"
    assert pending.status == "pending" and root.role == "system_admin"


def test_rejecting_removes_the_registration_so_the_cid_may_register_again(
    session: Session, protector: DataProtector
) -> None:
    facility = make_facility(session)
    admin = make_staff(session, protector, facility, "admin", role="facility_admin")
    cid = new_cid("3")
    pending = _register(session, protector, cid=cid)
    staff_accounts.reject(session, admin, pending)
    assert session.scalar(select(func.count()).select_from(StaffDocument)) == 0
    again = _register(session, protector, cid=cid)
    assert again.status == "pending"
    staff_accounts.approve(session, protector, admin, again, "https://x/")
    assert _code(lambda: staff_accounts.reject(session, admin, again)) == "STAFF_NOT_PENDING"


def test_roles_and_status_change_audited_and_only_when_they_differ(
    session: Session, protector: DataProtector
) -> None:
    facility = make_facility(session)
    root = make_staff(session, protector, None, "root", role="system_admin")
    nurse = make_staff(session, protector, facility, "nurse")
    registry = make_staff(session, protector, None, "registry", role="registry_admin")
    staff_accounts.change_role(session, root, nurse, "staff")  # unchanged: not audited
    staff_accounts.change_role(session, root, nurse, "facility_admin")
    assert _code(lambda: staff_accounts.change_role(session, root, registry, "staff")) == (
        "ROLE_NEEDS_FACILITY"
    )
    staff_accounts.set_active(session, root, nurse, False)
    staff_accounts.set_active(session, root, nurse, False)
    assert nurse.status == "disabled"
    staff_accounts.set_active(session, root, nurse, True)
    pending = _register(session, protector)
    assert _code(lambda: staff_accounts.set_active(session, root, pending, True)) == (
        "STAFF_NOT_PENDING"
    )
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.actor == f"staff:{root.id}")
    ).all()
    assert actions == ["staff.role", "staff.disable", "staff.enable"]


@pytest.fixture
def pg(pg_url: str) -> Iterator[Database]:
    database = Database(pg_url)
    yield database
    database.dispose()


def test_registrations_racing_for_one_cid_make_one_account(
    pg: Database, protector: DataProtector
) -> None:
    with pg.transaction() as session:
        make_facility(session)
    cid = new_cid("3")

    def register(session: Session, i: int) -> object:
        return staff_accounts.register_staff(session, protector, _form(cid, f"user{i}"), PDF).id

    outcomes = race(pg, 6, register)
    assert sorted(o for o in outcomes if isinstance(o, str)) == ["ADM007"] * 5
    with pg.transaction() as session:
        assert session.scalar(select(func.count()).select_from(StaffUser)) == 1

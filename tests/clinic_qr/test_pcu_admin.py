"""The registry office's queue of primary care unit changes (clinic web app), on SQLite and
PostgreSQL: who may decide, what the page shows, what a decision changes and tells LINE."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from authencode.crypto import DataProtector
from authencode.db import Database
from authencode.models import AuditEntry, OutboxMessage, PcuChangeRequest, Person
from authencode.passwords import hash_password
from authencode.services import consent, line_accounts, link_trust, pcu_change
from authencode.services.registration import RegistrationPolicy
from tests.support.clinic import PASSWORD, ClinicClient, World
from tests.support.factories import make_person, make_staff, new_cid, register_self

USER = "U" + "f" * 32


@dataclass
class Asked:
    request_id: int
    person_id: int
    cid: str


def _asked(db: Database, protector: DataProtector, to_hcode: str = "10676") -> Asked:
    """A registry admin exists, and a LINE user asked to move from 10675 to ``to_hcode``."""
    cid = new_cid()
    with db.transaction() as session:
        make_staff(
            session,
            protector,
            None,
            username="registry",
            role="registry_admin",
            password_hash=hash_password(PASSWORD),
            must_change_password=False,
        )
        person = make_person(
            session,
            protector,
            cid,
            first_name_th="มานี",
            last_name_th="มีนา",
            hosp_main="10675",
            hosp_sub="10675",
        )
        account, _ = line_accounts.get_or_create_account(session, USER)
        consent.accept(session, account, consent.CONSENT_VERSION)
        link = register_self(session, protector, account, cid, "0812345678", RegistrationPolicy())
        link_trust.verify_link(session, link, method="registry", actor="cli")
        row = pcu_change.request_change(session, link, to_hcode)
        return Asked(row.id, person.id, cid)


def _pushes(db: Database) -> list[str]:
    with db.sessionmaker() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.recipient == USER, OutboxMessage.kind == "push")
            .order_by(OutboxMessage.id)
        )
        return [row.payload["messages"][0]["text"] for row in rows]


def test_the_registry_office_approves_and_the_patient_is_told(
    clinic_client: ClinicClient, clinic_world: World, protector: DataProtector
) -> None:
    db = clinic_world.db
    asked = _asked(db, protector)
    clinic_client.login("registry")
    page = clinic_client.get("/clinic/pcu-changes")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "มานี มีนา" in html and "รพ.ปลายทาง" in html and 'href="/clinic/pcu-changes"' in html
    assert asked.cid not in html and f"{asked.cid[10:12]}-{asked.cid[12]}" in html  # masked

    done = clinic_client.post(f"/clinic/pcu-changes/{asked.request_id}/approve")
    assert done.status_code == 302
    with db.sessionmaker() as session:
        assert session.get_one(Person, asked.person_id).hosp_sub == "10676"
        row = session.get_one(PcuChangeRequest, asked.request_id)
        assert row.status == "approved" and row.decided_by_staff_id is not None
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "pcu.approved")).one()
        assert entry.actor == f"staff:{row.decided_by_staff_id}"
    [told] = _pushes(db)
    assert told == (
        "คำขอเปลี่ยนหน่วยบริการปฐมภูมิของ นายมานี มีนา ได้รับการอนุมัติแล้วค่ะ\n"
        "หน่วยบริการปฐมภูมิใหม่: รพ.ปลายทาง (10676)\n"
        "หน่วยบริการประจำ: รพ.สต.ต้นทาง (10675) (ไม่เปลี่ยน)"
    )
    # Decided once: a second decision is refused, and the list shows the decision.
    again = clinic_client.post(f"/clinic/pcu-changes/{asked.request_id}/reject")
    assert again.status_code == 409
    listed = clinic_client.get("/clinic/pcu-changes").get_data(as_text=True)
    assert listed.count(f'data-request="{asked.request_id}"') == 1 and "อนุมัติ" in listed
    assert len(_pushes(db)) == 1


def test_a_rejection_keeps_the_unit_and_its_reason_is_escaped_and_sent(
    clinic_client: ClinicClient, clinic_world: World, protector: DataProtector
) -> None:
    db = clinic_world.db
    asked = _asked(db, protector)
    clinic_client.login("registry")
    reason = "<script>alert(1)</script> เอกสารไม่ครบ"
    assert (
        clinic_client.post(
            f"/clinic/pcu-changes/{asked.request_id}/reject", {"note": reason}
        ).status_code
        == 302
    )
    with db.sessionmaker() as session:
        assert session.get_one(Person, asked.person_id).hosp_sub == "10675"
        assert session.get_one(PcuChangeRequest, asked.request_id).decision_note == reason
    html = clinic_client.get("/clinic/pcu-changes").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    [told] = _pushes(db)
    assert "ไม่ได้รับการอนุมัติ" in told and f"เหตุผล: {reason}" in told and "1330" in told
    assert "หน่วยบริการปฐมภูมิ: รพ.สต.ต้นทาง (10675) (คงเดิม)" in told


@pytest.mark.parametrize("username", ["a-admin", "a-staff"])
def test_only_the_registry_office_and_the_system_admin_decide(
    clinic_client: ClinicClient, clinic_world: World, protector: DataProtector, username: str
) -> None:
    db = clinic_world.db
    asked = _asked(db, protector)
    clinic_client.login(username)
    home = clinic_client.get("/clinic/").get_data(as_text=True)
    assert "/clinic/pcu-changes" not in home
    assert clinic_client.get("/clinic/pcu-changes").status_code == 403
    assert clinic_client.post(f"/clinic/pcu-changes/{asked.request_id}/approve").status_code == 403
    with db.sessionmaker() as session:
        assert session.get_one(PcuChangeRequest, asked.request_id).status == "pending"
    root = ClinicClient(clinic_client.client.application.test_client())
    root.login("root")
    assert root.get("/clinic/pcu-changes").status_code == 200
    assert root.post("/clinic/pcu-changes/999999/approve").status_code == 404
    assert root.post(f"/clinic/pcu-changes/{asked.request_id}/approve", csrf=False).status_code in (
        400,
        403,
    )  # no CSRF token: refused
    assert _pushes(db) == []

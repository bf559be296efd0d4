"""The clinic's counter verification page: look a code up, confirm, the accounts told in LINE;
scoped to the staff member's facilities; wrong codes limited per staff member and facility."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from authencode.crypto import DataProtector
from authencode.models import FamilyLink, LineAccount, LinkVerification, OutboxMessage
from authencode.services import counter_verify
from authencode.settings import Settings
from tests.support.clinic import ClinicClient, World
from tests.support.factories import make_person

VERIFY = "/clinic/facilities/{hcode}/verify"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_overrides(
        rate_limits={**settings.rate_limits, "verify_code_staff": 3, "verify_code_facility": 5}
    )


def _patient(
    world: World,
    protector: DataProtector,
    user: str,
    *,
    level: str = "claimed",
    person_id: int | None = None,
) -> tuple[int, str, int]:
    """A LINE account with a self link and a counter code: (link id, code, person id)."""
    with world.db.transaction() as session:
        if person_id is None:
            person_id = make_person(session, protector, first_name_th="มาลี").id
        account = LineAccount(line_user_id=user, consent_version="1")
        session.add(account)
        session.flush()
        link = FamilyLink(
            line_account_id=account.id,
            person_id=person_id,
            slot=0,
            relation="self",
            phone="0812345678",
            level=level,
        )
        session.add(link)
        session.flush()
        code = counter_verify.issue_code(session, protector, link).code
        return link.id, code, person_id


def _pushes(world: World, user: str) -> list[str]:
    with world.db.sessionmaker() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == user))
        return [m["text"] for row in rows for m in row.payload["messages"]]


def _confirm(client: ClinicClient, hcode: str, code: str, **form: Any) -> Any:
    return client.post(
        f"{VERIFY.format(hcode=hcode)}/confirm",
        {"code": code, "card_check": "eye", "eye_checked": "1", **form},
    )


def test_staff_look_up_a_code_and_verify_by_eye(
    clinic_client: ClinicClient, clinic_world: World, protector: DataProtector
) -> None:
    link_id, code, _ = _patient(clinic_world, protector, "U-patient")
    clinic_client.login("a-staff")
    page = clinic_client.get(VERIFY.format(hcode="10675"))
    assert page.status_code == 200 and 'name="code"' in page.get_data(as_text=True)
    found = clinic_client.post(VERIFY.format(hcode="10675"), {"code": code})
    body = found.get_data(as_text=True)
    assert found.status_code == 200 and "มาลี" in body and "xxxxx" in body
    # Ticking nothing is refused; the code stays open.
    refused = clinic_client.post(
        f"{VERIFY.format(hcode='10675')}/confirm", {"code": code, "card_check": "eye"}
    )
    assert refused.status_code == 400 and "VERIFY_CHECK_REQUIRED" in refused.get_data(True)
    done = _confirm(clinic_client, "10675", code)
    assert done.status_code == 200 and 'id="verified"' in done.get_data(as_text=True)
    with clinic_world.db.sessionmaker() as session:
        link = session.get(FamilyLink, link_id)
        assert link is not None and (link.level, link.verified_by) == (
            "verified",
            f"staff:{clinic_world.ids['a-staff']}",
        )
    assert any("ยืนยันตัวตนของ" in text for text in _pushes(clinic_world, "U-patient"))
    again = _confirm(clinic_client, "10675", code)
    assert again.status_code == 409 and "VERIFY_CODE_USED" in again.get_data(as_text=True)


def test_a_pending_self_link_verified_reclaims_and_both_accounts_are_told(
    clinic_client: ClinicClient, clinic_world: World, protector: DataProtector
) -> None:
    first_id, _, person_id = _patient(clinic_world, protector, "U-first")
    with clinic_world.db.transaction() as session:
        first = session.get(FamilyLink, first_id)
        assert first is not None
        first.level = "verified"
    _, code, _ = _patient(clinic_world, protector, "U-owner", level="pending", person_id=person_id)
    clinic_client.login("b-staff")  # staff of another facility may verify: it is recorded
    assert _confirm(clinic_client, "10676", code).status_code == 200
    with clinic_world.db.sessionmaker() as session:
        assert session.get(FamilyLink, first_id) is None
        row = session.scalar(select(LinkVerification))
        assert row is not None and row.facility_id == clinic_world.ids["b_facility"]
    assert any("ยืนยันตัวตนของ" in text for text in _pushes(clinic_world, "U-owner"))
    assert any("ยกเลิกการลงทะเบียนของบัญชีนี้" in text for text in _pushes(clinic_world, "U-first"))


def test_the_page_is_scoped_to_the_staff_members_facilities(
    clinic_client: ClinicClient, clinic_world: World, protector: DataProtector
) -> None:
    _, code, _ = _patient(clinic_world, protector, "U-patient")
    clinic_client.login("b-staff")
    assert clinic_client.get(VERIFY.format(hcode="10675")).status_code == 404
    assert _confirm(clinic_client, "10675", code).status_code == 404


def test_wrong_codes_are_limited_per_staff_member_and_per_facility(
    clinic_client: ClinicClient, clinic_world: World, protector: DataProtector, app: Any
) -> None:
    _, code, _ = _patient(clinic_world, protector, "U-patient")
    wrong = "000000" if code != "000000" else "111111"
    clinic_client.login("a-staff")
    for _ in range(3):
        miss = clinic_client.post(VERIFY.format(hcode="10675"), {"code": wrong})
        assert miss.status_code == 404
    # Past the staff member's limit even the right code is not looked up.
    held = clinic_client.post(VERIFY.format(hcode="10675"), {"code": code})
    assert held.status_code == 429 and "VERIFY_CODES_EXCEEDED" in held.get_data(as_text=True)
    assert int(held.headers["Retry-After"]) > 0
    assert _confirm(clinic_client, "10675", code).status_code == 429

    other = ClinicClient(app.test_client())
    other.login("a-admin")  # same facility: two more wrong codes reach its limit of five
    for _ in range(2):
        assert other.post(VERIFY.format(hcode="10675"), {"code": wrong}).status_code == 404
    assert other.post(VERIFY.format(hcode="10675"), {"code": code}).status_code == 429

    elsewhere = ClinicClient(app.test_client())
    elsewhere.login("b-staff")  # another facility's counter is not held back
    found = elsewhere.post(VERIFY.format(hcode="10676"), {"code": code})
    assert found.status_code == 200 and "มาลี" in found.get_data(as_text=True)


def test_a_childs_link_shows_what_to_check_and_records_the_relation(
    clinic_client: ClinicClient, clinic_world: World, protector: DataProtector
) -> None:
    link_id, _, _ = _patient(clinic_world, protector, "U-guardian")
    with clinic_world.db.transaction() as session:
        guardian = session.get(FamilyLink, link_id)
        assert guardian is not None
        child = make_person(
            session,
            protector,
            title_th="ด.ญ.",
            first_name_th="ขวัญข้าว",
            birth_year=dt.date.today().year - 6,
            birth_month=3,
            birth_day=9,
        )
        link = FamilyLink(
            line_account_id=guardian.line_account_id,
            person_id=child.id,
            slot=1,
            relation="child",
            phone="0812345678",
        )
        session.add(link)
        session.flush()
        child_link_id = link.id
        code = counter_verify.issue_code(session, protector, link).code
    clinic_client.login("a-staff")
    page = clinic_client.post(VERIFY.format(hcode="10675"), {"code": code}).get_data(True)
    assert "อายุต่ำกว่า 15 ปี" in page and "ขวัญข้าว" in page
    assert 'id="verify-guardian"' in page and "มาลี" in page  # the guardian's card to check
    assert "9 มี.ค." in page and 'name="relation"' in page
    refused = _confirm(clinic_client, "10675", code, relation="")
    assert refused.status_code == 400 and "VERIFY_RELATION_REQUIRED" in refused.get_data(True)
    assert _confirm(clinic_client, "10675", code, relation="guardian").status_code == 200
    with clinic_world.db.sessionmaker() as session:
        verified = session.get(FamilyLink, child_link_id)
        assert verified is not None and (verified.level, verified.relation) == (
            "verified",
            "guardian",
        )

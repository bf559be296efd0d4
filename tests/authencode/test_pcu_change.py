"""Changing the primary care unit by oneself (core service), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.db import Database
from authencode.errors import DomainError
from authencode.models import FamilyLink, PcuChangeRequest
from authencode.services import consent, line_accounts, link_trust, pcu_change
from authencode.services.registration import RegistrationPolicy
from tests.support.factories import make_facility, make_person, make_staff, new_cid, register_self
from tests.support.race import race

BKK = dt.timezone(dt.timedelta(hours=7))


def test_fiscal_year_runs_october_to_september() -> None:
    assert pcu_change.fiscal_year(dt.date(2026, 9, 30)) == 2026
    assert pcu_change.fiscal_year(dt.date(2026, 10, 1)) == 2027
    assert pcu_change.fiscal_year(dt.date(2027, 1, 15)) == 2027


def _linked(session: Session, protector: DataProtector):
    for hcode in ("10675", "10676", "10677", "10678", "10679", "10680"):
        make_facility(session, hcode, f"หน่วยบริการ {hcode}")
    make_facility(session, "10690", "ปิดแล้ว", active=False)
    cid = new_cid()
    make_person(session, protector, cid, hosp_main="10676", hosp_sub="10675")
    account, _ = line_accounts.get_or_create_account(session, "U" + "e" * 32)
    consent.accept(session, account, consent.CONSENT_VERSION)
    link = register_self(session, protector, account, cid, "0812345678", RegistrationPolicy())
    return link_trust.verify_link(session, link, method="registry", actor="cli").link


def test_four_changes_a_fiscal_year(session: Session, protector: DataProtector) -> None:
    link = _linked(session, protector)
    admin = make_staff(session, protector, None, username="registry", role="registry_admin")
    october = dt.datetime(2026, 10, 2, 9, 0, tzinfo=BKK)
    targets = ["10676", "10677", "10678", "10679"]
    for i, hcode in enumerate(targets):
        row = pcu_change.request_change(session, link, hcode, now=october + dt.timedelta(days=i))
        assert row.fiscal_year == 2027 and row.status == "pending"
        with pytest.raises(DomainError) as excinfo:
            pcu_change.request_change(session, link, "10680", now=october)
        assert excinfo.value.code == "PCU_CHANGE_PENDING"
        pcu_change.decide(session, row.id, staff_id=admin.id, approve=True)
        assert link.person.hosp_sub == hcode
    with pytest.raises(DomainError) as excinfo:
        pcu_change.request_change(session, link, "10680", now=october + dt.timedelta(days=30))
    assert excinfo.value.code == "PCU_CHANGE_LIMIT"
    # The next fiscal year starts in October.
    next_year = dt.datetime(2027, 10, 1, 8, 0, tzinfo=BKK)
    assert pcu_change.request_change(session, link, "10680", now=next_year).fiscal_year == 2028


def test_rejected_requests_do_not_count(session: Session, protector: DataProtector) -> None:
    link = _linked(session, protector)
    admin = make_staff(session, protector, None, username="registry", role="registry_admin")
    for _ in range(6):
        row = pcu_change.request_change(session, link, "10677")
        pcu_change.decide(session, row.id, staff_id=admin.id, approve=False, note="เอกสารไม่ครบ")
    assert link.person.hosp_sub == "10675"
    assert pcu_change.status_for(session, link.person).used == 0
    with pytest.raises(DomainError) as excinfo:
        pcu_change.decide(session, row.id, staff_id=admin.id, approve=True)
    assert excinfo.value.code == "PCU_REQUEST_DECIDED"


@pytest.mark.parametrize(
    ("hcode", "code"),
    [
        ("99999", "FACILITY_NOT_FOUND"),
        ("", "FACILITY_NOT_FOUND"),
        ("10690", "FACILITY_INACTIVE"),
        ("10675", "PCU_SAME_UNIT"),
    ],
)
def test_refusals(session: Session, protector: DataProtector, hcode: str, code: str) -> None:
    link = _linked(session, protector)
    with pytest.raises(DomainError) as excinfo:
        pcu_change.request_change(session, link, hcode)
    assert excinfo.value.code == code


def test_search_facilities(session: Session, protector: DataProtector) -> None:
    _linked(session, protector)
    assert [f.hcode for f in pcu_change.search_facilities(session, "1067")][:2] == [
        "10675",
        "10676",
    ]
    assert [f.hcode for f in pcu_change.search_facilities(session, "10677")] == ["10677"]
    assert "10690" not in [f.hcode for f in pcu_change.search_facilities(session, "")]


def test_only_a_verified_link_asks_and_a_request_is_decided_once(
    session: Session, protector: DataProtector
) -> None:
    link = _linked(session, protector)
    admin = make_staff(session, protector, None, username="registry", role="registry_admin")
    for level, code in (("claimed", "LINK_NOT_VERIFIED"), ("pending", "LINK_PENDING")):
        link.level = level
        with pytest.raises(DomainError) as excinfo:
            pcu_change.request_change(session, link, "10677")
        assert excinfo.value.code == code
    link.level = "verified"
    row = pcu_change.request_change(session, link, " 10677 ")
    assert (row.from_hcode, row.to_hcode) == ("10675", "10677")
    assert pcu_change.queue(session) == [row] and pcu_change.queue(session, decided=True) == []
    for request_id, code in ((row.id + 1000, "PCU_REQUEST_NOT_FOUND"),):
        with pytest.raises(DomainError) as excinfo:
            pcu_change.decide(session, request_id, staff_id=admin.id, approve=True)
        assert excinfo.value.code == code
    pcu_change.decide(session, row.id, staff_id=admin.id, approve=True, note="  ")
    assert (row.status, row.decision_note, link.person.hosp_sub) == ("approved", None, "10677")
    assert pcu_change.queue(session, decided=True) == [row]
    assert pcu_change.facility_names(session, [row]) == {  # with the person's main unit
        "10675": "หน่วยบริการ 10675",
        "10676": "หน่วยบริการ 10676",
        "10677": "หน่วยบริการ 10677",
    }


def test_requests_sent_at_once_leave_one_pending(pg_url: str, protector: DataProtector) -> None:
    """The pending rule is a partial unique index: parallel requests cannot both pass it."""
    database = Database(pg_url)
    try:
        with database.transaction() as session:
            link_id = _linked(session, protector).id

        def ask(session: Session, i: int) -> object:
            link = session.get(FamilyLink, link_id)
            assert link is not None
            return pcu_change.request_change(session, link, f"1067{6 + i}").id

        outcomes = race(database, 4, ask)
        assert sorted(map(str, outcomes)).count("PCU_CHANGE_PENDING") == 3
        with database.transaction() as session:
            assert session.scalar(select(func.count()).select_from(PcuChangeRequest)) == 1
    finally:
        database.dispose()

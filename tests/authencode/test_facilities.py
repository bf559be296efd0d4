"""Facilities and their services (authencode.services.facilities), as administrators manage them."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.errors import DomainError
from authencode.services import facilities
from tests.support.factories import make_facility, make_staff


def _code(call: object) -> str:
    with pytest.raises(DomainError) as caught:
        call()  # type: ignore[operator]
    return caught.value.code


def test_only_a_system_admin_adds_a_facility_with_a_fresh_five_digit_code(
    session: Session, protector: DataProtector
) -> None:
    own = make_facility(session, "10675")
    admin = make_staff(session, protector, None, "root", role="system_admin")
    staff = make_staff(session, protector, own, "staff1")
    assert _code(lambda: facilities.create_facility(session, staff, "10677", "x")) == "FORBIDDEN"
    assert _code(lambda: facilities.create_facility(session, admin, "1067", "x")) == "HCODE_INVALID"
    assert (
        _code(lambda: facilities.create_facility(session, admin, "10677", "  "))
        == "FACILITY_NAME_REQUIRED"
    )
    assert (
        _code(lambda: facilities.create_facility(session, admin, "10675", "x")) == "FACILITY_EXISTS"
    )
    added = facilities.create_facility(session, admin, " 10677 ", " รพ.สต.ใหม่ ")
    assert (added.hcode, added.name) == ("10677", "รพ.สต.ใหม่")
    assert facilities.by_hcode(session, "10677").id == added.id
    assert _code(lambda: facilities.by_hcode(session, "99999")) == "FACILITY_NOT_FOUND"
    assert [f.hcode for f in facilities.visible_facilities(session, admin)] == ["10675", "10677"]
    assert [f.hcode for f in facilities.visible_facilities(session, staff)] == ["10675"]


def test_set_services_offers_exactly_the_codes_given(
    session: Session, protector: DataProtector
) -> None:
    facility = make_facility(session, services=("PG0060001", "PG0090001"))
    admin = make_staff(session, protector, None, "root", role="system_admin")
    facilities.set_services(session, admin, facility, ["PG0090001"])
    assert [s.code for s in facilities.offered(session, facility)] == ["PG0090001"]
    assert (
        _code(lambda: facilities.offered_service(session, facility, "PG0060001"))
        == "SERVICE_NOT_OFFERED"
    )
    facilities.set_services(session, admin, facility, ["PG0060001", " PG0090001 "])
    assert facilities.offered_service(session, facility, "PG0060001").code == "PG0060001"
    assert (
        _code(lambda: facilities.set_services(session, admin, facility, ["NOPE"]))
        == "SERVICE_NOT_FOUND"
    )
    other = make_staff(
        session, protector, make_facility(session, "10676"), "other", role="facility_admin"
    )
    assert _code(lambda: facilities.set_services(session, other, facility, [])) == "FORBIDDEN"
    assert len(facilities.offered(session, facility)) == 2

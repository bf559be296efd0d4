"""Small factories for test data; every CID they make has a valid check digit."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from sqlalchemy.orm import Session

from authencode.cid import check_digit
from authencode.crypto import DataProtector
from authencode.models import Facility, FacilityService, FamilyLink, LineAccount, Person, StaffUser
from authencode.services import registration
from authencode.services.registration import RegistrationPolicy

_serial = itertools.count(1)
# The birth date of every person made here, so tests can register them (it must match).
_BIRTH_DATES: dict[str, tuple[int, int | None, int | None]] = {}


def new_cid(prefix: str = "1") -> str:
    first12 = f"{prefix}{next(_serial):011d}"[:12]
    return first12 + str(check_digit(first12))


def cid_from_number(n: int) -> str:
    first12 = f"2{n:011d}"
    return first12 + str(check_digit(first12))


def make_facility(
    session: Session,
    hcode: str = "10675",
    name: str = "รพ.สต.ทดสอบ",
    services: tuple[str, ...] = ("PG0060001", "PG0090001"),
    active: bool = True,
) -> Facility:
    facility = Facility(hcode=hcode, name=name, active=active)
    session.add(facility)
    session.flush()
    for code in services:
        session.add(FacilityService(facility_id=facility.id, service_code=code, active=True))
    session.flush()
    return facility


def make_person(
    session: Session, protector: DataProtector, cid: str | None = None, **fields: Any
) -> Person:
    cid = cid or new_cid()
    values: dict[str, Any] = {
        "title_th": "นาย",
        "first_name_th": "ทดสอบ",
        "last_name_th": "ระบบ",
        "sex": "1",
        "birth_year": 1990,
        "birth_month": 5,
        "birth_day": 17,
        "main_right": "UCS",
        "sub_right": "89",
    }
    values.update(fields)
    _BIRTH_DATES[cid] = (values["birth_year"], values["birth_month"], values["birth_day"])
    person = Person(cid_hash=protector.lookup_hash(cid), cid_enc=protector.encrypt(cid), **values)
    session.add(person)
    session.flush()
    return person


def birth_date(cid: str, *, be: bool = False) -> str:
    """The birth date of a person made by make_person, as a patient types it: ISO in the
    Common Era, or (``be``) 17/05/2533 as in the chat."""
    digits = "".join(c for c in str(cid) if c.isdigit())
    year, month, day = _BIRTH_DATES.get(digits, (1990, 5, 17))
    if be:
        return f"{day or 0:02d}/{month or 0:02d}/{year + 543}"
    return f"{year:04d}-{month or 0:02d}-{day or 0:02d}"


def register_self(
    session: Session,
    protector: DataProtector,
    account: LineAccount,
    cid: object,
    phone: object,
    policy: RegistrationPolicy,
    today: dt.date | None = None,
) -> FamilyLink:
    """registration.register_self with the person's own birth date, as a patient types it."""
    return registration.register_self(
        session, protector, account, cid, phone, birth_date(str(cid)), policy, today
    )


def add_family_member(
    session: Session,
    protector: DataProtector,
    account: LineAccount,
    cid: object,
    phone: object,
    relation: object,
    policy: RegistrationPolicy,
) -> FamilyLink:
    """registration.add_family_member with the person's own birth date."""
    return registration.add_family_member(
        session, protector, account, cid, phone, birth_date(str(cid)), relation, policy
    )


def make_staff(
    session: Session,
    protector: DataProtector,
    facility: Facility | None,
    username: str = "staff1",
    role: str = "staff",
    **fields: Any,
) -> StaffUser:
    cid = fields.pop("cid", None) or new_cid("3")
    staff = StaffUser(
        cid_hash=protector.lookup_hash(cid),
        cid_enc=protector.encrypt(cid),
        username=username,
        email=f"{username}@clinic.example",
        first_name="เจ้าหน้าที่",
        last_name="ทดสอบ",
        facility_id=facility.id if facility else None,
        role=role,
        status="active",
        **fields,
    )
    session.add(staff)
    session.flush()
    return staff

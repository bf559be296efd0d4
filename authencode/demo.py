"""Demonstration data for `make run`: a facility, its services, staff and registry persons.

Running it again changes nothing (facility, services and staff are matched by their keys;
persons go through the registry import, which upserts by CID).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from authencode.cid import check_digit
from authencode.crypto import DataProtector
from authencode.models import Facility, FacilityService, StaffUser
from authencode.passwords import hash_password
from authencode.services.registry_import import COLUMNS, import_registry, parse_text
from authencode.thaidate import BE_OFFSET

DEMO_HCODE = "10675"
DEMO_FACILITY = "โรงพยาบาลส่งเสริมสุขภาพตำบลบ้านตัวอย่าง"
OTHER_HCODE = "10676"
OTHER_FACILITY = "โรงพยาบาลตัวอย่างอำเภอเมือง"
DEMO_SERVICES = ("PG0060001", "PG0090001", "PG0130001", "PG0150001")
DEMO_PASSWORD = "demo-password-2569"  # noqa: S105 - printed for the demo; never in production
DEMO_PIN = "1234"  # the demo staff's reader-agent PIN


def make_cid(first12: str) -> str:
    return first12 + str(check_digit(first12))


@dataclass(frozen=True)
class DemoPerson:
    cid: str
    title: str
    first: str
    last: str
    sex: str
    age: int
    main_right: str
    sub_right: str = ""
    deceased: bool = False
    first_en: str = ""
    last_en: str = ""
    shows: str = ""  # what a newcomer tries with this person (`authencode demo` prints it)


# Two families and a few single persons across rights, ages and statuses.
DEMO_PEOPLE = (
    DemoPerson(
        make_cid("110170020703"),
        "นาย",
        "สมชาย",
        "ใจดี",
        "1",
        42,
        "UCS",
        "89",
        first_en="Somchai",
        last_en="Jaidee",
        shows="UCS adult: register in LINE, ask for codes; head of the Jaidee family (add the "
        "members below); ask for a primary care unit change (his is 10675)",
    ),
    DemoPerson(
        make_cid("110170020704"),
        "นาง",
        "สมหญิง",
        "ใจดี",
        "2",
        39,
        "UCS",
        "89",
        first_en="Somying",
        last_en="Jaidee",
        shows="UCS adult: Somchai's spouse (a family link), or register herself",
    ),
    DemoPerson(
        make_cid("110170020705"),
        "ด.ช.",
        "ภูมิ",
        "ใจดี",
        "1",
        9,
        "UCS",
        "73",
        shows="child under 15: a parent's guardian link, verified only at a clinic counter",
    ),
    DemoPerson(
        make_cid("110170020706"),
        "ด.ญ.",
        "ใบเตย",
        "ใจดี",
        "2",
        14,
        "UCS",
        "89",
        shows="child of 14: a guardian link (under 15)",
    ),
    DemoPerson(
        make_cid("110170020707"),
        "นาง",
        "บุญมา",
        "ใจดี",
        "2",
        71,
        "WEL",
        "74",
        shows="WEL elder: a family member asks for her codes",
    ),
    DemoPerson(
        make_cid("310170020708"),
        "นาย",
        "ประเสริฐ",
        "มั่นคง",
        "1",
        55,
        "OFC",
        shows="OFC (civil servant): not eligible in LINE by default (ELIGIBLE_MAIN_RIGHTS)",
    ),
    DemoPerson(
        make_cid("310170020709"),
        "นางสาว",
        "วิภา",
        "มั่นคง",
        "2",
        27,
        "SSS",
        shows="SSS (social security): not eligible in LINE by default",
    ),
    DemoPerson(
        make_cid("510170020710"),
        "นาย",
        "อนันต์",
        "ทองดี",
        "1",
        33,
        "",
        shows="no right on record (NONE): eligible by default",
    ),
    DemoPerson(
        make_cid("510170020711"),
        "นาง",
        "มาลี",
        "ทองดี",
        "2",
        64,
        "DIS",
        "75",
        shows="DIS (disability) right: eligible",
    ),
    DemoPerson(
        make_cid("510170020712"),
        "นาย",
        "สมปอง",
        "ล่วงลับ",
        "1",
        80,
        "UCS",
        "74",
        deceased=True,
        shows="deceased: registration and codes are refused",
    ),
)

# (username, role, first name, last name, CID); system and registry admins have no facility.
DEMO_STAFF = (
    ("admin", "system_admin", "ผู้ดูแล", "ระบบ", make_cid("370010020001")),
    ("clinic-admin", "facility_admin", "วรรณา", "ผู้จัดการ", make_cid("370010020002")),
    ("staff", "staff", "สมศักดิ์", "เจ้าหน้าที่", make_cid("370010020003")),
    ("registry", "registry_admin", "ปราณี", "ทะเบียนสิทธิ", make_cid("370010020004")),
)
# What each demo login is for (`authencode demo` prints it).
DEMO_STAFF_SHOWS = {
    "admin": "system admin: every facility and account",
    "clinic-admin": "facility admin of 10675: services, QR posters, keys, API tokens, staff",
    "staff": "staff of 10675: counter verification, records, QR display",
    "registry": "registry office: primary care unit changes, erasures, the facility list",
}
FACILITY_LESS_ROLES = ("system_admin", "registry_admin")


def registry_csv(today: dt.date) -> str:
    lines = [",".join(COLUMNS)]
    for p in DEMO_PEOPLE:
        birth = f"{today.year - p.age + BE_OFFSET}0101"  # full years = p.age all year round
        row = {
            "cid": p.cid,
            "title_th": p.title,
            "first_name_th": p.first,
            "last_name_th": p.last,
            "first_name_en": p.first_en,
            "last_name_en": p.last_en,
            "sex": p.sex,
            "birth_date": birth,
            "main_right": p.main_right,
            "sub_right": p.sub_right,
            "hosp_main": DEMO_HCODE if p.main_right in ("UCS", "WEL", "DIS") else "",
            "hosp_main_op": DEMO_HCODE if p.main_right in ("UCS", "WEL", "DIS") else "",
            "hosp_sub": DEMO_HCODE if p.main_right in ("UCS", "WEL", "DIS") else "",
            "province_code": "1000",
            "province_name": "กรุงเทพมหานคร",
            "deceased": "1" if p.deceased else "0",
        }
        lines.append(",".join(str(row.get(c, "")) for c in COLUMNS))
    return "\n".join(lines) + "\n"


def load_demo(session: Session, protector: DataProtector, today: dt.date) -> dict[str, int]:
    """Create or refresh the demonstration data; returns counts of what was written."""
    facility = _facility(session, DEMO_HCODE, DEMO_FACILITY)
    _facility(session, OTHER_HCODE, OTHER_FACILITY)
    session.flush()
    have = set(
        session.scalars(
            select(FacilityService.service_code).where(FacilityService.facility_id == facility.id)
        )
    )
    for code in DEMO_SERVICES:
        if code not in have:
            session.add(FacilityService(facility_id=facility.id, service_code=code, active=True))
    staff_created = 0
    for username, role, first, last, cid in DEMO_STAFF:
        if session.scalar(select(StaffUser.id).where(StaffUser.username == username)):
            continue
        session.add(
            StaffUser(
                cid_hash=protector.lookup_hash(cid),
                cid_enc=protector.encrypt(cid),
                username=username,
                email=f"{username}@clinic.example",
                first_name=first,
                last_name=last,
                facility_id=None if role in FACILITY_LESS_ROLES else facility.id,
                role=role,
                status="active",
                password_hash=hash_password(DEMO_PASSWORD),
                must_change_password=False,
                unit="สำนักทะเบียน" if role == "registry_admin" else DEMO_FACILITY,
                position="เจ้าหน้าที่",
                pin_hash=hash_password(DEMO_PIN),
            )
        )
        staff_created += 1
    report = import_registry(session, protector, parse_text(registry_csv(today)))
    return {"persons": report.written, "staff": staff_created}


def _facility(session: Session, hcode: str, name: str) -> Facility:
    facility = session.scalar(select(Facility).where(Facility.hcode == hcode))
    if facility is None:
        facility = Facility(
            hcode=hcode, name=name, province_code="1000", province_name="กรุงเทพมหานคร", active=True
        )
        session.add(facility)
    return facility

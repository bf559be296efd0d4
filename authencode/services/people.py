"""Finding registry persons by CID, and the rights lookup behind a small interface."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from authencode.cid import mask_cid, parse_cid
from authencode.crypto import DataProtector
from authencode.errors import DomainError
from authencode.models import Facility, Person
from authencode.reference import NO_RIGHT_EN, NO_RIGHT_TH, RIGHTS


def find_person(session: Session, protector: DataProtector, cid: str) -> Person | None:
    """The registry person with this (already parsed) CID, or None."""
    return session.scalar(select(Person).where(Person.cid_hash.in_(protector.lookup_hashes(cid))))


def get_person(session: Session, protector: DataProtector, raw_cid: object) -> Person:
    """Parse the CID and return its person; raises CID_* or PERSON_NOT_FOUND."""
    cid = parse_cid(raw_cid)
    person = find_person(session, protector, cid)
    if person is None:
        raise DomainError("PERSON_NOT_FOUND")
    return person


def person_cid(protector: DataProtector, person: Person) -> str:
    return protector.decrypt(person.cid_enc)


def person_masked_cid(protector: DataProtector, person: Person) -> str:
    return mask_cid(person_cid(protector, person))


@dataclass(frozen=True)
class RightRef:
    code: str | None
    name_th: str
    name_en: str

    @property
    def display_th(self) -> str:
        """`(UCS) สิทธิหลักประกันสุขภาพแห่งชาติ`, or สิทธิว่าง when there is none."""
        return f"({self.code}) {self.name_th}" if self.code else self.name_th


@dataclass(frozen=True)
class UnitRef:
    hcode: str
    hname: str


@dataclass(frozen=True)
class Rights:
    main: RightRef
    sub: RightRef | None
    hosp_main: UnitRef | None
    hosp_sub: UnitRef | None
    hosp_main_op: UnitRef | None
    checked_at: dt.datetime


class RightsLookup(Protocol):
    """Where a person's rights come from: the local registry now, an external service later."""

    def rights_for(self, session: Session, person: Person) -> Rights: ...


class LocalRegistryRights:
    """Rights as recorded in this instance's registry tables."""

    def rights_for(self, session: Session, person: Person) -> Rights:
        none = RightRef(None, NO_RIGHT_TH, NO_RIGHT_EN)
        main = _right("main", person.main_right) or none
        return Rights(
            main=main,
            sub=_right("sub", person.sub_right),
            hosp_main=_unit(session, person.hosp_main),
            hosp_sub=_unit(session, person.hosp_sub),
            hosp_main_op=_unit(session, person.hosp_main_op),
            checked_at=dt.datetime.now(dt.UTC),
        )


def _right(kind: str, code: str | None) -> RightRef | None:
    """A right's labels from authencode.reference; an unknown code shows as itself."""
    if not code:
        return None
    right = RIGHTS.get((kind, code))
    if right is None:
        return RightRef(code, code, code)
    return RightRef(code, right.label_th, right.label_en)


def _unit(session: Session, hcode: str | None) -> UnitRef | None:
    if not hcode:
        return None
    name = session.scalar(select(Facility.name).where(Facility.hcode == hcode))
    return UnitRef(hcode, name or "")

"""Changing one's primary care unit by oneself: a request the registry administrator decides.

At most four changes per fiscal year (October to September) and one pending request per
person at a time; the pending rule is a partial unique index, so requests sent at once
cannot both slip under the yearly limit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from authencode.db import utcnow
from authencode.errors import DomainError, register
from authencode.models import Facility, FamilyLink, PcuChangeRequest, Person
from authencode.services import audit, link_trust
from authencode.thaidate import service_day

MAX_CHANGES_PER_YEAR = 4
COUNTED_STATUSES = ("pending", "approved")
MAX_FACILITY_RESULTS = 50

PCU_CHANGE_LIMIT = register(
    "PCU_CHANGE_LIMIT",
    "conflict",
    "The primary care unit can be changed at most 4 times a fiscal year (pending ones included).",
    "เปลี่ยนหน่วยบริการปฐมภูมิได้ไม่เกิน 4 ครั้งต่อปีงบประมาณ (นับรวมคำขอที่รออนุมัติ)",
)
PCU_CHANGE_PENDING = register(
    "PCU_CHANGE_PENDING",
    "conflict",
    "A change of primary care unit is already waiting for the registry office.",
    "มีคำขอเปลี่ยนหน่วยบริการปฐมภูมิที่รอเจ้าหน้าที่ทะเบียนพิจารณาอยู่แล้ว",
)
PCU_SAME_UNIT = register(
    "PCU_SAME_UNIT",
    "invalid",
    "This is already the registered primary care unit.",
    "หน่วยบริการนี้เป็นหน่วยบริการปฐมภูมิที่ลงทะเบียนไว้อยู่แล้ว",
)
PCU_REQUEST_NOT_FOUND = register(
    "PCU_REQUEST_NOT_FOUND", "not_found", "No such change request.", "ไม่พบคำขอเปลี่ยนหน่วยบริการปฐมภูมินี้"
)
PCU_REQUEST_DECIDED = register(
    "PCU_REQUEST_DECIDED",
    "conflict",
    "This change request has already been decided.",
    "คำขอเปลี่ยนหน่วยบริการปฐมภูมินี้ได้รับการพิจารณาแล้ว",
)


def fiscal_year(day: dt.date) -> int:
    """The Thai fiscal year (Common Era) a day belongs to: October starts the next year."""
    return day.year + 1 if day.month >= 10 else day.year


@dataclass(frozen=True)
class PcuStatus:
    """A person's changes this fiscal year: ``used`` (approved) and ``pending_count`` both
    count against the limit (a pending request holds its place, so two sent at once cannot
    both pass it), but only approved ones are shown as used."""

    fiscal_year: int
    used: int
    pending_count: int
    limit: int
    pending: PcuChangeRequest | None

    @property
    def counted(self) -> int:
        return self.used + self.pending_count

    @property
    def remaining(self) -> int:
        return max(self.limit - self.counted, 0)


def current_unit(person: Person) -> str | None:
    """The registered primary care unit (the sub unit, or the main one when none)."""
    return person.hosp_sub or person.hosp_main


def status_for(session: Session, person: Person, today: dt.date | None = None) -> PcuStatus:
    """The changes the person used (approved) and has pending this fiscal year, and the
    pending request if any."""
    year = fiscal_year(today or service_day())
    counts = dict(
        session.execute(
            select(PcuChangeRequest.status, func.count())
            .where(
                PcuChangeRequest.person_id == person.id,
                PcuChangeRequest.fiscal_year == year,
                PcuChangeRequest.status.in_(COUNTED_STATUSES),
            )
            .group_by(PcuChangeRequest.status)
        ).all()
    )
    pending = session.scalar(
        select(PcuChangeRequest).where(
            PcuChangeRequest.person_id == person.id, PcuChangeRequest.status == "pending"
        )
    )
    return PcuStatus(
        year, counts.get("approved", 0), counts.get("pending", 0), MAX_CHANGES_PER_YEAR, pending
    )


def search_facilities(session: Session, query: str = "") -> list[Facility]:
    """Active facilities whose code or name contains the query (at most 50)."""
    stmt = select(Facility).where(Facility.active.is_(True))
    query = (query or "").strip()[:100]
    if query:
        like = f"%{query}%"
        stmt = stmt.where(or_(Facility.hcode.like(like), Facility.name.like(like)))
    return list(session.scalars(stmt.order_by(Facility.hcode).limit(MAX_FACILITY_RESULTS)))


def request_change(
    session: Session, link: FamilyLink, to_hcode: object, now: dt.datetime | None = None
) -> PcuChangeRequest:
    """Ask for a new primary care unit for a linked person.

    Only through a verified link. Raises LINK_PENDING, LINK_NOT_VERIFIED, FACILITY_NOT_FOUND,
    FACILITY_INACTIVE, PCU_SAME_UNIT, PCU_CHANGE_PENDING or PCU_CHANGE_LIMIT.
    """
    link_trust.require(link, link_trust.PCU_CHANGE)
    hcode = str(to_hcode or "").strip()
    facility = session.scalar(select(Facility).where(Facility.hcode == hcode)) if hcode else None
    if facility is None:
        raise DomainError("FACILITY_NOT_FOUND")
    if not facility.active:
        raise DomainError("FACILITY_INACTIVE")
    person = link.person
    if current_unit(person) == facility.hcode:
        raise DomainError(PCU_SAME_UNIT)
    now = now or utcnow()
    status = status_for(session, person, service_day(now))
    if status.pending is not None:
        raise DomainError(PCU_CHANGE_PENDING)
    if status.counted >= MAX_CHANGES_PER_YEAR:
        raise DomainError(PCU_CHANGE_LIMIT)
    row = PcuChangeRequest(
        person_id=person.id,
        line_account_id=link.line_account_id,
        from_hcode=current_unit(person),
        to_hcode=facility.hcode,
        fiscal_year=status.fiscal_year,
        status="pending",
        requested_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise DomainError(PCU_CHANGE_PENDING) from None
    audit.record(
        session,
        f"line:{link.line_account_id}",
        "pcu.request",
        f"pcu_change_request:{row.id}",
        {"to": facility.hcode},
    )
    return row


def decide(
    session: Session, request_id: int, *, staff_id: int, approve: bool, note: str | None = None
) -> PcuChangeRequest:
    """The registry administrator approves (the unit changes) or rejects a pending request.

    Raises PCU_REQUEST_NOT_FOUND or PCU_REQUEST_DECIDED.
    """
    row = session.get(PcuChangeRequest, request_id, with_for_update=True)
    if row is None:
        raise DomainError(PCU_REQUEST_NOT_FOUND)
    if row.status != "pending":
        raise DomainError(PCU_REQUEST_DECIDED)
    row.status = "approved" if approve else "rejected"
    row.decided_at = utcnow()
    row.decided_by_staff_id = staff_id
    row.decision_note = (note or "").strip()[:1000] or None
    if approve:
        row.person.hosp_sub = row.to_hcode
    session.flush()
    audit.record(
        session,
        f"staff:{staff_id}",
        "pcu.approved" if approve else "pcu.rejected",
        f"pcu_change_request:{row.id}",
        {"to": row.to_hcode},
    )
    return row


def queue(session: Session, *, decided: bool = False, limit: int = 200) -> list[PcuChangeRequest]:
    """The registry office's list: pending requests oldest first, or (``decided``) the latest
    decisions newest first."""
    if decided:
        stmt = (
            select(PcuChangeRequest)
            .where(PcuChangeRequest.status.in_(("approved", "rejected")))
            .order_by(PcuChangeRequest.decided_at.desc(), PcuChangeRequest.id.desc())
        )
    else:
        stmt = (
            select(PcuChangeRequest)
            .where(PcuChangeRequest.status == "pending")
            .order_by(PcuChangeRequest.requested_at, PcuChangeRequest.id)
        )
    return list(session.scalars(stmt.limit(limit)))


def facility_names(session: Session, rows: list[PcuChangeRequest]) -> dict[str, str]:
    """hcode -> name for every unit the requests name, and their persons' main units (units
    unknown here are left out)."""
    codes = {c for r in rows for c in (r.from_hcode, r.to_hcode, r.person.hosp_main) if c}
    return unit_names(session, codes)


def unit_names(session: Session, codes: set[str]) -> dict[str, str]:
    """hcode -> name of the facilities with these codes (unknown codes are left out)."""
    if not codes:
        return {}
    return {
        hcode: name
        for hcode, name in session.execute(
            select(Facility.hcode, Facility.name).where(Facility.hcode.in_(codes))
        )
    }

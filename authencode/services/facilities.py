"""Health facilities and the services each offers, as administrators manage them."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from authencode.errors import DomainError, register
from authencode.models import Facility, FacilityService, ServiceType, StaffUser
from authencode.services import audit
from authencode.services.staff_access import (
    FORBIDDEN,
    is_system_admin,
    require_manage,
    sees_all_facilities,
)

HCODE_INVALID = register(
    "HCODE_INVALID",
    "invalid",
    "A facility code (hcode) has 5 digits.",
    "รหัสหน่วยบริการต้องเป็นตัวเลข 5 หลัก",
)
FACILITY_EXISTS = register(
    "FACILITY_EXISTS",
    "conflict",
    "A facility with this code already exists.",
    "มีหน่วยบริการรหัสนี้อยู่แล้ว",
)
FACILITY_NAME_REQUIRED = register(
    "FACILITY_NAME_REQUIRED", "invalid", "Please enter the facility's name.", "กรุณากรอกชื่อหน่วยบริการ"
)


def visible_facilities(session: Session, actor: StaffUser) -> list[Facility]:
    """The facilities the actor may list: all for system and registry admins, else their own."""
    query = select(Facility).order_by(Facility.hcode)
    if not sees_all_facilities(actor):
        query = query.where(Facility.id == (actor.facility_id or -1))
    return list(session.scalars(query))


def active_facilities(session: Session) -> list[Facility]:
    return list(
        session.scalars(select(Facility).where(Facility.active.is_(True)).order_by(Facility.hcode))
    )


def by_hcode(session: Session, hcode: str) -> Facility:
    """The facility with this hcode; raises FACILITY_NOT_FOUND."""
    facility = session.scalar(select(Facility).where(Facility.hcode == hcode))
    if facility is None:
        raise DomainError("FACILITY_NOT_FOUND")
    return facility


def create_facility(
    session: Session, actor: StaffUser, hcode: str, name: str, province_name: str = ""
) -> Facility:
    """Add a facility (system admins only); raises FORBIDDEN, HCODE_INVALID,
    FACILITY_NAME_REQUIRED or FACILITY_EXISTS. Audited."""
    if not is_system_admin(actor):
        raise DomainError(FORBIDDEN)
    hcode = (hcode or "").strip()
    if not re.fullmatch(r"\d{5}", hcode):
        raise DomainError(HCODE_INVALID, detail="hcode")
    name = (name or "").strip()
    if not name:
        raise DomainError(FACILITY_NAME_REQUIRED, detail="name")
    if session.scalar(select(Facility.id).where(Facility.hcode == hcode)):
        raise DomainError(FACILITY_EXISTS, detail="hcode")
    facility = Facility(
        hcode=hcode,
        name=name[:200],
        province_name=(province_name or "").strip()[:100] or None,
        active=True,
    )
    session.add(facility)
    session.flush()
    audit.record(session, f"staff:{actor.id}", "facility.create", f"facility:{hcode}")
    return facility


def all_service_types(session: Session) -> list[ServiceType]:
    return list(session.scalars(select(ServiceType).order_by(ServiceType.code)))


def offered(session: Session, facility: Facility) -> list[ServiceType]:
    """The active services the facility offers, by code."""
    return list(
        session.scalars(
            select(ServiceType)
            .join(FacilityService, FacilityService.service_code == ServiceType.code)
            .where(FacilityService.facility_id == facility.id, FacilityService.active.is_(True))
            .order_by(ServiceType.code)
        )
    )


def offered_service(session: Session, facility: Facility, code: str) -> ServiceType:
    """One service the facility offers; raises SERVICE_NOT_OFFERED."""
    for service in offered(session, facility):
        if service.code == code:
            return service
    raise DomainError("SERVICE_NOT_OFFERED")


def set_services(
    session: Session, actor: StaffUser, facility: Facility, codes: Iterable[str]
) -> None:
    """Make the facility offer exactly these services; raises FORBIDDEN or SERVICE_NOT_FOUND.

    Audited (what was added and removed).
    """
    require_manage(actor, facility)
    wanted = {c.strip() for c in codes if c and c.strip()}
    known = {s.code for s in all_service_types(session)}
    if wanted - known:
        raise DomainError("SERVICE_NOT_FOUND")
    rows = {
        r.service_code: r
        for r in session.scalars(
            select(FacilityService).where(FacilityService.facility_id == facility.id)
        )
    }
    added: list[str] = []
    removed: list[str] = []
    for code in sorted(known):
        row = rows.get(code)
        on = code in wanted
        if row is None and on:
            session.add(FacilityService(facility_id=facility.id, service_code=code, active=True))
            added.append(code)
        elif row is not None and row.active != on:
            row.active = on
            (added if on else removed).append(code)
    session.flush()
    if added or removed:
        audit.record(
            session,
            f"staff:{actor.id}",
            "facility.services",
            f"facility:{facility.hcode}",
            {"added": added, "removed": removed},
        )

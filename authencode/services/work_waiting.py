"""What waits for a signed-in staff member, for the clinic's home page (issue 21, item 10).

Each count is scoped to what the role may see: accounts to approve (the system admin's all,
a facility admin's their facility's), unit changes and erasures (the registry office and the
system admin), and per facility the actor works at (every facility for the system admin):
today's codes and how many of them were cancelled, and the codes their patients disputed
(waiting for review).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from authencode.models import (
    AuthenCode,
    ErasureRequest,
    Facility,
    PcuChangeRequest,
    StaffUser,
)
from authencode.services import staff_access
from authencode.thaidate import service_day

# A disputed code is shown for review this long after the patient disputed it.
DISPUTE_WINDOW = dt.timedelta(days=30)
DISPUTES_LISTED = 5


@dataclass
class FacilityToday:
    facility: Facility
    issued: int = 0
    cancelled: int = 0
    disputed: int = 0
    latest_disputed: list[AuthenCode] = field(default_factory=list)


@dataclass
class WorkWaiting:
    day: dt.date
    accounts: int | None = None  # None: not this role's work
    unit_changes: int | None = None
    erasures: int | None = None
    facilities: list[FacilityToday] = field(default_factory=list)


def _count(session: Session, *where: object) -> int:
    return int(session.scalar(select(func.count()).where(*where)) or 0)  # type: ignore[arg-type]


def _by_facility(session: Session, ids: list[int], *where: object) -> dict[int, int]:
    rows = session.execute(
        select(AuthenCode.facility_id, func.count())
        .where(AuthenCode.facility_id.in_(ids), *where)  # type: ignore[arg-type]
        .group_by(AuthenCode.facility_id)
    )
    return {facility_id: count for facility_id, count in rows}


def for_staff(session: Session, actor: StaffUser, now: dt.datetime | None = None) -> WorkWaiting:
    """The work waiting for ``actor`` and today's counts of the facilities it may see."""
    now = now or dt.datetime.now(dt.UTC)
    day = service_day(now)
    work = WorkWaiting(day=day)
    if staff_access.can_manage_accounts(actor):
        where = [StaffUser.status == "pending", StaffUser.id != actor.id]
        if not staff_access.is_system_admin(actor):
            where.append(StaffUser.facility_id == actor.facility_id)
        work.accounts = _count(session, *where)
    if staff_access.can_decide_pcu_changes(actor):
        work.unit_changes = _count(session, PcuChangeRequest.status == "pending")
        work.erasures = _count(session, ErasureRequest.reviewed_at.is_(None))
    query = select(Facility).order_by(Facility.hcode)
    if not staff_access.is_system_admin(actor):
        query = query.where(Facility.id == (actor.facility_id or -1))
    facilities = list(session.scalars(query))
    ids = [f.id for f in facilities]
    if not ids:
        return work
    issued = _by_facility(session, ids, AuthenCode.service_date == day)
    # (of today's codes, as the records page lists them, not cancellations of earlier days)
    cancelled = _by_facility(
        session, ids, AuthenCode.service_date == day, AuthenCode.status == "cancelled"
    )
    disputed_where = (
        AuthenCode.status == "active",
        AuthenCode.disputed_at >= now - DISPUTE_WINDOW,
    )
    disputed = _by_facility(session, ids, *disputed_where)
    for facility in facilities:
        today = FacilityToday(
            facility,
            issued=issued.get(facility.id, 0),
            cancelled=cancelled.get(facility.id, 0),
            disputed=disputed.get(facility.id, 0),
        )
        if today.disputed:
            today.latest_disputed = list(
                session.scalars(
                    select(AuthenCode)
                    .where(AuthenCode.facility_id == facility.id, *disputed_where)
                    .order_by(AuthenCode.disputed_at.desc())
                    .limit(DISPUTES_LISTED)
                )
            )
        work.facilities.append(today)
    return work

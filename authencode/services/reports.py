"""The code request report: filtered, paged lists and daily counts (the export of the same
filter: ``report_exports``).

Every query is scoped to one or more facilities (mandatory). CIDs are looked up by their
keyed hash; they are decrypted only to be masked for lists, and in full only for the export
rows (a staff feature) and for callers that ask for them explicitly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from authencode.cid import mask_cid, parse_cid
from authencode.crypto import DataProtector
from authencode.errors import DomainError, register
from authencode.models import AuthenCode, Facility, Person, ServiceType
from authencode.models.codes import CHANNELS, STATUSES
from authencode.services.people import find_person

MAX_PAGE_SIZE = 1000
MAX_PAGE_NUMBER = 1_000_000  # keeps the row offset within the databases' 64-bit integers
# Time order; the service day leads (it is the Bangkok date of service_at, so the order is the
# same) so that the facility/day/time index gives rows already sorted.
TIME_ORDER = (AuthenCode.service_date, AuthenCode.service_at, AuthenCode.id)
REPORT_SCOPE_REQUIRED = register(
    "REPORT_SCOPE_REQUIRED",
    "forbidden",
    "A report is always limited to a facility.",
    "รายงานต้องระบุหน่วยบริการเสมอ",
)
REPORT_DATE_RANGE = register(
    "REPORT_DATE_RANGE",
    "invalid",
    "The start date must not be after the end date.",
    "วันที่เริ่มต้นต้องไม่อยู่หลังวันที่สิ้นสุด",
)
REPORT_FILTER_INVALID = register(
    "REPORT_FILTER_INVALID", "invalid", "Unknown {name}: {value}.", "ไม่รู้จัก{name_th}: {value}"
)
PAGE_INVALID = register(
    "PAGE_INVALID",
    "invalid",
    "The page must be 1 or more and the page size 1 to {max}.",
    "หน้าต้องเป็น 1 ขึ้นไป และจำนวนรายการต่อหน้า 1 ถึง {max}",
)


@dataclass(frozen=True)
class CodeFilter:
    """What a report shows. ``facility_ids`` is mandatory; the rest narrow it down.

    Dates are service days (Asia/Bangkok), both ends included; ``cid`` is as typed.
    """

    facility_ids: tuple[int, ...]
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    cid: str | None = None
    code: str | None = None
    service_code: str | None = None
    channel: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class CodeSummary:
    """One row of a report page."""

    id: int
    code: str
    cid: str  # masked unless the caller asked for it in full
    full_name: str
    hcode: str
    facility_name: str
    service_code: str
    service_name: str
    channel: str
    verify_method: str
    service_at: dt.datetime
    recorded_at: dt.datetime
    status: str
    hn: str | None
    an: str | None
    cancelled_at: dt.datetime | None
    cancel_reason: str | None
    # the person said, from their own verified LINE account, they did not ask for it
    disputed_at: dt.datetime | None = None


@dataclass(frozen=True)
class Page:
    items: list[CodeSummary]
    total: int
    page: int
    size: int

    @property
    def first(self) -> int:
        """1-based number of the first row shown (0 when there is none)."""
        return min((self.page - 1) * self.size + 1, self.total) if self.items else 0

    @property
    def last(self) -> int:
        return self.first + len(self.items) - 1 if self.items else 0

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def range_th(self) -> str:
        """`1 - 10 จากทั้งหมด 147 รายการ`, as the source system's report shows it."""
        return f"{self.first} - {self.last} จากทั้งหมด {self.total} รายการ"


@dataclass(frozen=True)
class DailyCount:
    day: dt.date
    service_code: str
    channel: str
    count: int


@dataclass(frozen=True)
class DailyChart:
    """Counts per day as series by service and by channel, every day of the range present."""

    days: list[dt.date]
    by_service: dict[str, list[int]]
    by_channel: dict[str, list[int]]


def conditions(protector: DataProtector, f: CodeFilter) -> list[ColumnElement[bool]]:
    """The WHERE clause of a filter; raises CID_*, REPORT_* on bad input."""
    if not f.facility_ids:
        raise DomainError(REPORT_SCOPE_REQUIRED)
    where: list[ColumnElement[bool]] = [AuthenCode.facility_id.in_(f.facility_ids)]
    if f.date_from and f.date_to and f.date_from > f.date_to:
        raise DomainError(REPORT_DATE_RANGE)
    if f.date_from:
        where.append(AuthenCode.service_date >= f.date_from)
    if f.date_to:
        where.append(AuthenCode.service_date <= f.date_to)
    if f.cid is not None and f.cid.strip():
        cid_hashes = protector.lookup_hashes(parse_cid(f.cid))
        where.append(
            AuthenCode.person_id.in_(select(Person.id).where(Person.cid_hash.in_(cid_hashes)))
        )
    if f.code is not None and f.code.strip():
        where.append(AuthenCode.code == f.code.strip().upper())
    if f.service_code:
        where.append(AuthenCode.service_code == f.service_code.strip().upper())
    if f.channel:
        if f.channel not in CHANNELS:
            raise DomainError(
                REPORT_FILTER_INVALID, name="channel", name_th="ช่องทาง", value=f.channel[:20]
            )
        where.append(AuthenCode.channel == f.channel)
    if f.status:
        if f.status not in STATUSES:
            raise DomainError(
                REPORT_FILTER_INVALID, name="status", name_th="สถานะ", value=f.status[:20]
            )
        where.append(AuthenCode.status == f.status)
    return where


_SUMMARY_QUERY = (
    select(
        AuthenCode.id,
        AuthenCode.code,
        Person.cid_enc,
        Person.title_th,
        Person.first_name_th,
        Person.middle_name_th,
        Person.last_name_th,
        Facility.hcode,
        Facility.name,
        AuthenCode.service_code,
        ServiceType.name_th,
        AuthenCode.channel,
        AuthenCode.verify_method,
        AuthenCode.service_at,
        AuthenCode.recorded_at,
        AuthenCode.status,
        AuthenCode.hn,
        AuthenCode.an,
        AuthenCode.cancelled_at,
        AuthenCode.cancel_reason,
        AuthenCode.disputed_at,
    )
    .join(Person, Person.id == AuthenCode.person_id)
    .join(Facility, Facility.id == AuthenCode.facility_id)
    .join(ServiceType, ServiceType.code == AuthenCode.service_code)
)


def search_codes(
    session: Session,
    protector: DataProtector,
    f: CodeFilter,
    *,
    page: int = 1,
    size: int = 10,
    reveal_cid: bool = False,
    oldest_first: bool = False,
) -> Page:
    """One page of the filter's codes, newest service first, with the total count.

    CIDs are masked unless ``reveal_cid``. ``oldest_first`` keeps pages stable while new
    codes arrive (reconciliation). Raises PAGE_INVALID, CID_* and REPORT_*.
    """
    if not 1 <= page <= MAX_PAGE_NUMBER or not 1 <= size <= MAX_PAGE_SIZE:
        raise DomainError(PAGE_INVALID, max=MAX_PAGE_SIZE)
    where = conditions(protector, f)
    total = session.scalar(select(func.count()).select_from(AuthenCode).where(*where)) or 0
    order = TIME_ORDER if oldest_first else tuple(c.desc() for c in TIME_ORDER)
    rows = session.execute(
        _SUMMARY_QUERY.where(*where).order_by(*order).offset((page - 1) * size).limit(size)
    )
    items = []
    for r in rows:
        cid = protector.decrypt(r.cid_enc)
        items.append(
            CodeSummary(
                id=r.id,
                code=r.code,
                cid=cid if reveal_cid else mask_cid(cid),
                full_name=full_name(r.title_th, r.first_name_th, r.middle_name_th, r.last_name_th),
                hcode=r.hcode,
                facility_name=r.name,
                service_code=r.service_code,
                service_name=r.name_th,
                channel=r.channel,
                verify_method=r.verify_method,
                service_at=r.service_at,
                recorded_at=r.recorded_at,
                status=r.status,
                hn=r.hn,
                an=r.an,
                cancelled_at=r.cancelled_at,
                cancel_reason=r.cancel_reason,
                disputed_at=r.disputed_at,
            )
        )
    return Page(items=items, total=total, page=page, size=size)


def daily_counts(session: Session, protector: DataProtector, f: CodeFilter) -> list[DailyCount]:
    """Codes per service day, service and channel. Raises CID_* and REPORT_*."""
    rows = session.execute(
        select(AuthenCode.service_date, AuthenCode.service_code, AuthenCode.channel, func.count())
        .where(*conditions(protector, f))
        .group_by(AuthenCode.service_date, AuthenCode.service_code, AuthenCode.channel)
        .order_by(AuthenCode.service_date, AuthenCode.service_code, AuthenCode.channel)
    )
    return [DailyCount(day, service, channel, n) for day, service, channel, n in rows]


def daily_chart(counts: Iterable[DailyCount], date_from: dt.date, date_to: dt.date) -> DailyChart:
    """Shape daily counts for a chart: one value per day of the range, zeros included."""
    days = [date_from + dt.timedelta(days=i) for i in range((date_to - date_from).days + 1)]
    index = {day: i for i, day in enumerate(days)}
    by_service: dict[str, list[int]] = {}
    by_channel: dict[str, list[int]] = {}
    for c in counts:
        if c.day not in index:
            continue
        by_service.setdefault(c.service_code, [0] * len(days))[index[c.day]] += c.count
        by_channel.setdefault(c.channel, [0] * len(days))[index[c.day]] += c.count
    return DailyChart(days, dict(sorted(by_service.items())), dict(sorted(by_channel.items())))


# --- a hospital system's question: was this person authenticated here that day? -----------


@dataclass(frozen=True)
class AuthenStatus:
    """A person's active codes at one facility on one service day."""

    person: Person | None  # None: the CID is not in the registry
    codes: list[AuthenCode]  # for the asked service only, when one was named
    other_service_codes: int  # active codes that day for other services than the one asked


def authen_status(
    session: Session,
    protector: DataProtector,
    facility_id: int,
    raw_cid: object,
    day: dt.date,
    service_code: str | None = None,
) -> AuthenStatus:
    """The person's active codes at the facility on the day. Raises CID_*, SERVICE_NOT_FOUND."""
    cid = parse_cid(raw_cid)
    service = None
    if service_code:
        service = session.get(ServiceType, service_code.strip().upper())
        if service is None:
            raise DomainError("SERVICE_NOT_FOUND")
    person = find_person(session, protector, cid)
    if person is None:
        return AuthenStatus(None, [], 0)
    codes = list(
        session.scalars(
            select(AuthenCode)
            .where(
                AuthenCode.person_id == person.id,
                AuthenCode.facility_id == facility_id,
                AuthenCode.service_date == day,
                AuthenCode.status == "active",
            )
            .order_by(AuthenCode.service_at, AuthenCode.id)
        )
    )
    if service is None:
        return AuthenStatus(person, codes, 0)
    asked = [c for c in codes if c.service_code == service.code]
    return AuthenStatus(person, asked, len(codes) - len(asked))


def full_name(title: str, first: str, middle: str, last: str) -> str:
    return (title or "") + " ".join(p for p in (first, middle, last) if p)

"""Issuing Authen Codes, and cancelling or editing them with a reason."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    delete,
    insert,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from authencode.db import utcnow
from authencode.errors import DomainError
from authencode.models import AuthenCode, CodeNumber, Facility, FacilityService, Person, ServiceType
from authencode.phone import mask_phone, parse_mobiles
from authencode.reference import CHANNELS, DEFAULT_METHOD
from authencode.services import audit
from authencode.thaidate import service_day

# session.info: the channels of the codes this transaction issued (read by /metrics at commit).
ISSUED_CHANNELS = "issued_channels"
CODE_PREFIX_START = "PP"
CODE_PREFIX_END = "EP"


@dataclass(frozen=True)
class Issued:
    code: AuthenCode
    created: bool  # False when the same-day code already existed


def _sqlite_code_number(session: Session) -> int:
    """Draw the next number of the shared PP/EP sequence on SQLite: insert a row to draw its
    autoincrement id and delete it again (the table stays empty). PostgreSQL draws it from
    the table's sequence inside the issuing INSERT (``_PG_NEXT_CODE``)."""
    number = session.execute(insert(CodeNumber).returning(CodeNumber.id)).scalar_one()
    session.execute(delete(CodeNumber).where(CodeNumber.id == number))
    return number


def format_code(prefix: str, number: int) -> str:
    return f"{prefix}{number:010d}"


# PostgreSQL numbers the code inside the INSERT itself: PP + the sequence's next value.
_CODES = cast(Table, AuthenCode.__table__)
_PG_NEXT_CODE: ColumnElement[str] = literal_column(
    f"'{CODE_PREFIX_START}' || lpad(nextval(pg_get_serial_sequence('code_numbers', 'id'))"
    "::text, 10, '0')"
)
_ONE_ACTIVE = ("person_id", "facility_id", "service_code", "service_date")
_ACTIVE = text("status = 'active'")  # the index's own predicate, literally (not a parameter)
_UNSET_COLUMNS = (
    "edited_at",
    "edited_by_staff_id",
    "cancelled_at",
    "cancelled_by_staff_id",
    "cancel_reason",
)


def _insert_code(session: Session, values: dict[str, object]) -> AuthenCode | None:
    """Insert a new active code, or nothing when the visit already has one: None then.

    One statement, ``INSERT ... ON CONFLICT DO NOTHING RETURNING id, code``, arbitrated by
    the partial unique index (one active code per person, facility, service and day): the
    usual case, a first scan, costs one round trip and no savepoint. It is a Core statement
    (compiled once) and the new row becomes an ORM object without being read back. A visit
    that already has its code uses up a number; numbers are unique, not gapless.
    """
    if session.get_bind().dialect.name == "postgresql":
        stmt: Any = pg_insert(_CODES).values(code=_PG_NEXT_CODE)
    else:
        number = _sqlite_code_number(session)
        stmt = sqlite_insert(_CODES).values(code=format_code(CODE_PREFIX_START, number))
    stmt = stmt.on_conflict_do_nothing(index_elements=list(_ONE_ACTIVE), index_where=_ACTIVE)
    row = session.connection().execute(stmt.returning(_CODES.c.id, _CODES.c.code), values).first()
    if row is None:
        return None
    code = AuthenCode(id=row.id, code=row.code, **values)
    for column in _UNSET_COLUMNS:  # NULL in the new row
        setattr(code, column, None)
    make_transient_to_detached(code)  # its row exists: no INSERT when the session takes it
    session.add(code)
    return code


def require_facility_service(
    session: Session, hcode: str, service_code: str, day: dt.date
) -> tuple[Facility, ServiceType]:
    """The facility and its service, if it offers it actively on the day.

    Raises FACILITY_NOT_FOUND, FACILITY_INACTIVE, SERVICE_NOT_FOUND, SERVICE_INACTIVE or
    SERVICE_NOT_OFFERED.
    """
    # One query: the facility, the service and whether the facility offers it.
    found = session.execute(
        select(Facility, ServiceType, FacilityService.active)
        .select_from(Facility)
        .outerjoin(ServiceType, ServiceType.code == service_code)
        .outerjoin(
            FacilityService,
            and_(
                FacilityService.facility_id == Facility.id,
                FacilityService.service_code == service_code,
            ),
        )
        .where(Facility.hcode == hcode)
    ).first()
    if found is None:
        raise DomainError("FACILITY_NOT_FOUND")
    facility, service, offered = found
    if not facility.active:
        raise DomainError("FACILITY_INACTIVE")
    if service is None:
        raise DomainError("SERVICE_NOT_FOUND")
    if not service.is_valid_on(day):
        raise DomainError("SERVICE_INACTIVE")
    if not offered:
        raise DomainError("SERVICE_NOT_OFFERED")
    return facility, service


def active_code(
    session: Session, person_id: int, facility_id: int, service_code: str, day: dt.date
) -> AuthenCode | None:
    return session.scalar(
        select(AuthenCode).where(
            AuthenCode.person_id == person_id,
            AuthenCode.facility_id == facility_id,
            AuthenCode.service_code == service_code,
            AuthenCode.service_date == day,
            AuthenCode.status == "active",
        )
    )


def issue_code(
    session: Session,
    person: Person,
    *,
    hcode: str,
    service_code: str,
    phones: object,
    channel: str,
    verify_method: str | None = None,
    recorder_staff_id: int | None = None,
    line_account_id: int | None = None,
    hn: str | None = None,
    an: str | None = None,
    now: dt.datetime | None = None,
) -> Issued:
    """Issue today's code for the person at the facility's service, or return the one issued.

    Raises PHONE_*, CHANNEL_INVALID, PERSON_DECEASED and the facility/service errors of
    require_facility_service. Enforced by the database: at most one active code per person,
    facility, service and service day, also under concurrent requests.
    """
    numbers = parse_mobiles(phones)
    if channel not in CHANNELS:
        raise DomainError("CHANNEL_INVALID")
    now = now or utcnow()
    day = service_day(now)
    facility, service = require_facility_service(session, hcode, service_code, day)
    if person.deceased:
        raise DomainError("PERSON_DECEASED")

    code = _insert_code(
        session,
        {
            "person_id": person.id,
            "facility_id": facility.id,
            "service_code": service.code,
            "service_date": day,
            "service_at": now,
            "recorded_at": now,
            "channel": channel,
            "verify_method": verify_method or DEFAULT_METHOD[channel],
            "phones": ",".join(numbers),
            "main_right": person.main_right,
            "sub_right": person.sub_right,
            "recorder_staff_id": recorder_staff_id,
            "line_account_id": line_account_id,
            "hn": _clean_ref(hn),
            "an": _clean_ref(an),
            "status": "active",
        },
    )
    if code is None:
        # Today's code exists (issued earlier, or by a concurrent request whose commit the
        # unique index made this insert wait for).
        existing = active_code(session, person.id, facility.id, service.code, day)
        if existing is None:  # pragma: no cover - the conflicting row is committed and active
            raise RuntimeError("no active code after a conflicting insert")
        return Issued(existing, created=False)
    # The rows already loaded, not only their keys: whoever shows the new code (the chat's
    # Flex message, the LIFF answer) reads them without querying them again.
    for name, value in (("person", person), ("facility", facility), ("service", service)):
        set_committed_value(code, name, value)
    session.info.setdefault(ISSUED_CHANNELS, []).append(channel)
    if recorder_staff_id is not None:
        audit.record(
            session,
            f"staff:{recorder_staff_id}",
            "code.issue",
            f"authen_code:{code.id}",
            {"channel": channel, "service": service.code},
        )
    return Issued(code, created=True)


def get_code(session: Session, code: str) -> AuthenCode:
    """The code by its text (e.g. PP0000000001); raises CODE_NOT_FOUND."""
    row = session.scalar(select(AuthenCode).where(AuthenCode.code == code.strip().upper()))
    if row is None:
        raise DomainError("CODE_NOT_FOUND")
    return row


def cancel_code(session: Session, code: AuthenCode, *, staff_id: int, reason: str) -> AuthenCode:
    """Cancel an active code with a mandatory reason; audited.

    Raises REASON_REQUIRED or CODE_ALREADY_CANCELLED.
    """
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("REASON_REQUIRED")
    if code.status == "cancelled":
        raise DomainError("CODE_ALREADY_CANCELLED")
    # Only while still active, in one statement: of two cancels at once, the second waits for
    # the first's row lock and then finds nothing to change, so the patient is told once.
    changed = session.execute(
        update(AuthenCode)
        .where(AuthenCode.id == code.id, AuthenCode.status == "active")
        .values(
            status="cancelled",
            cancelled_at=utcnow(),
            cancelled_by_staff_id=staff_id,
            cancel_reason=reason[:1000],
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(code)
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise DomainError("CODE_ALREADY_CANCELLED")
    audit.record(
        session,
        f"staff:{staff_id}",
        "code.cancel",
        f"authen_code:{code.id}",
        {"reason": reason[:1000]},
    )
    return code


def edit_code(
    session: Session,
    code: AuthenCode,
    *,
    staff_id: int,
    reason: str,
    service_code: str | None = None,
    phones: object = None,
    hn: str | None = None,
    an: str | None = None,
) -> AuthenCode:
    """Change the service, phones or HN/AN of an active code with a reason; audited.

    Raises REASON_REQUIRED, CODE_ALREADY_CANCELLED, NOTHING_TO_CHANGE, PHONE_*, the service
    errors, or CODE_EDIT_CONFLICT when the new service already has an active code that day.
    """
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("REASON_REQUIRED")
    if code.status == "cancelled":
        raise DomainError("CODE_ALREADY_CANCELLED")
    changes: dict[str, object] = {}
    if service_code is not None and service_code != code.service_code:
        require_facility_service(session, code.facility.hcode, service_code, code.service_date)
        changes["service_code"] = service_code
    if phones is not None:
        joined = ",".join(parse_mobiles(phones))
        if joined != code.phones:
            changes["phones"] = joined
    for name, value in (("hn", hn), ("an", an)):
        if value is not None and _clean_ref(value) != getattr(code, name):
            changes[name] = _clean_ref(value)
    if not changes:
        raise DomainError("NOTHING_TO_CHANGE")
    details: dict[str, object] = {"reason": reason[:1000], "fields": sorted(changes)}
    if "service_code" in changes:
        details["service"] = [code.service_code, changes["service_code"]]
    if "phones" in changes:
        details["phones"] = [mask_phone(p) for p in str(changes["phones"]).split(",")]
    try:
        with session.begin_nested():
            for name, new in changes.items():
                setattr(code, name, new)
            code.edited_at = utcnow()
            code.edited_by_staff_id = staff_id
    except IntegrityError:
        session.refresh(code)
        raise DomainError("CODE_EDIT_CONFLICT") from None
    audit.record(session, f"staff:{staff_id}", "code.edit", f"authen_code:{code.id}", details)
    return code


def _clean_ref(value: str | None) -> str | None:
    """HN/AN as hospital systems send them: trimmed, at most 20 characters, empty = none."""
    if value is None:
        return None
    value = str(value).strip()
    if len(value) > 20 or any(ord(ch) < 32 for ch in value):
        raise DomainError("FIELD_INVALID", detail="HN/AN: at most 20 printable characters")
    return value or None

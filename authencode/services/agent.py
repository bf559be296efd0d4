"""What reader agents ask of the server: card reads, staff unlock, confirm-save, latest code.

A confirm-save on the smart-card channel is accepted only with the correlation id of a recent
card read of the same person by the same agent token, used once.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from authencode import passwords
from authencode.cid import parse_cid
from authencode.crypto import DataProtector
from authencode.db import utcnow
from authencode.errors import DomainError, register
from authencode.models import (
    AgentSession,
    ApiToken,
    AuthenCode,
    CardRead,
    FacilityService,
    Person,
    ServiceType,
    StaffUser,
)
from authencode.passwords import hash_password
from authencode.services import audit
from authencode.services.api_tokens import token_digest
from authencode.services.issuance import Issued, issue_code
from authencode.services.people import find_person
from authencode.thaidate import BANGKOK, service_day

CARD_READ_VALID = dt.timedelta(minutes=30)
PIN_MAX_FAILURES = 5
PIN_LOCK = dt.timedelta(minutes=15)

CORRELATION_UNKNOWN = register(
    "CORRELATION_UNKNOWN",
    "forbidden",
    "This confirmation does not match a card read by this reader agent.",
    "ไม่พบการอ่านบัตรที่ตรงกับการยืนยันนี้ กรุณาอ่านบัตรใหม่",
)
CORRELATION_USED = register(
    "CORRELATION_USED",
    "conflict",
    "This card read has already been used; read the card again.",
    "การอ่านบัตรครั้งนี้ถูกใช้ยืนยันไปแล้ว กรุณาอ่านบัตรใหม่",
)
CORRELATION_EXPIRED = register(
    "CORRELATION_EXPIRED",
    "gone",
    "This card read is too old; read the card again.",
    "การอ่านบัตรหมดอายุแล้ว กรุณาอ่านบัตรใหม่",
)
AGENT_LOCKED = register(
    "AGENT_LOCKED",
    "unauthorized",
    "The reader agent is locked: a staff member must unlock it with their card and PIN.",
    "เครื่องอ่านบัตรยังไม่ได้ปลดล็อก กรุณาเสียบบัตรเจ้าหน้าที่และกรอก PIN",
)
STAFF_NOT_ALLOWED = register(
    "STAFF_NOT_ALLOWED",
    "forbidden",
    "This card is not an active staff member of this facility.",
    "บัตรนี้ไม่ใช่เจ้าหน้าที่ที่ใช้งานได้ของหน่วยบริการนี้",
)
PIN_INVALID = register("PIN_INVALID", "unauthorized", "Wrong PIN.", "PIN ไม่ถูกต้อง")
PIN_LOCKED = register(
    "PIN_LOCKED",
    "rate_limited",
    "Too many wrong PINs; try again in 15 minutes.",
    "กรอก PIN ผิดหลายครั้ง กรุณาลองใหม่ใน 15 นาที",
)
PIN_FORMAT = register("PIN_FORMAT", "invalid", "A PIN is 4 digits.", "PIN ต้องเป็นตัวเลข 4 หลัก")
HCODE_MISMATCH = register(
    "HCODE_MISMATCH",
    "forbidden",
    "The hcode does not match this reader agent's facility.",
    "รหัสหน่วยบริการไม่ตรงกับหน่วยบริการของเครื่องอ่านบัตร",
)


@dataclass(frozen=True)
class CardReadResult:
    read: CardRead
    person: Person
    services: list[ServiceType]


def record_card_read(
    session: Session,
    protector: DataProtector,
    token: ApiToken,
    raw_cid: object,
    terminal_name: str = "",
) -> CardReadResult:
    """Register a card read by an agent and return the person and the services on offer.

    Raises CID_* or PERSON_NOT_FOUND.
    """
    cid = parse_cid(raw_cid)
    person = find_person(session, protector, cid)
    if person is None:
        raise DomainError("PERSON_NOT_FOUND")
    read = CardRead(
        correlation_id=str(uuid.uuid4()),
        facility_id=token.facility_id,
        api_token_id=token.id,
        cid_hash=protector.lookup_hash(cid),
        terminal_name=(terminal_name or "")[:100],
    )
    session.add(read)
    session.flush()
    return CardReadResult(read, person, offered_services(session, token.facility_id))


def offered_services(session: Session, facility_id: int) -> list[ServiceType]:
    """The facility's active services that are valid today."""
    today = service_day()
    rows = session.scalars(
        select(ServiceType)
        .join(FacilityService, FacilityService.service_code == ServiceType.code)
        .where(FacilityService.facility_id == facility_id, FacilityService.active.is_(True))
        .order_by(ServiceType.code)
    )
    return [s for s in rows if s.is_valid_on(today)]


def _require_pin_format(pin: str) -> None:
    if not (len(pin) == 4 and pin.isascii() and pin.isdigit()):
        raise DomainError(PIN_FORMAT)


def set_pin(session: Session, staff: StaffUser, pin: str, actor: str) -> None:
    """Set a staff member's 4-digit agent PIN (stored as an argon2 hash). Audited."""
    _require_pin_format(pin)
    staff.pin_hash = hash_password(pin)
    staff.pin_failures = 0
    staff.pin_locked_until = None
    audit.record(session, actor, "staff.set_pin", f"staff:{staff.id}")


_STAND_IN_PIN_HASH = passwords.hash_password(secrets.token_urlsafe(16))


def unlock_agent(
    session: Session, protector: DataProtector, token: ApiToken, raw_staff_cid: object, pin: str
) -> tuple[AgentSession, str]:
    """Open an agent session until midnight for active staff of the token's facility.

    Wrong PINs are counted (the caller commits even when this raises); the fifth locks the
    PIN for 15 minutes, and each wrong PIN after a lock locks it again until a right one or
    a new PIN. The staff row is locked before the check, so parallel tries count one after
    the other. Raises CID_*, STAFF_NOT_ALLOWED, PIN_FORMAT, PIN_LOCKED or PIN_INVALID.
    """
    cid = parse_cid(raw_staff_cid)
    pin = str(pin or "")
    _require_pin_format(pin)
    staff = session.scalar(
        select(StaffUser)
        .where(StaffUser.cid_hash.in_(protector.lookup_hashes(cid)))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if (
        staff is None
        or staff.status != "active"
        or staff.facility_id != token.facility_id
        or not staff.pin_hash
    ):
        # Costs one hash check like a wrong PIN, so the answer's timing does not tell staff
        # from other card holders either.
        passwords.verify_password(_STAND_IN_PIN_HASH, pin)
        raise DomainError(STAFF_NOT_ALLOWED)
    now = utcnow()
    actor = f"staff:{staff.id}"
    if staff.pin_locked_until and staff.pin_locked_until > now:
        audit.record(
            session,
            actor,
            "agent.unlock_refused",
            f"api_token:{token.id}",
            {"reason": "pin_locked"},
        )
        raise DomainError(
            PIN_LOCKED, retry_after=int((staff.pin_locked_until - now).total_seconds()) + 1
        )
    if not passwords.verify_password(staff.pin_hash, pin):
        staff.pin_failures += 1
        if staff.pin_failures >= PIN_MAX_FAILURES:
            staff.pin_locked_until = now + PIN_LOCK
        audit.record(
            session,
            actor,
            "agent.unlock_failed",
            f"api_token:{token.id}",
            {"failures": staff.pin_failures},
        )
        raise DomainError(PIN_INVALID)
    staff.pin_failures = 0
    staff.pin_locked_until = None
    secret = secrets.token_urlsafe(32)
    agent_session = AgentSession(
        token_hash=token_digest(secret),
        staff_id=staff.id,
        api_token_id=token.id,
        expires_at=_next_midnight(now),
    )
    session.add(agent_session)
    session.flush()
    audit.record(session, actor, "agent.unlock", f"api_token:{token.id}")
    return agent_session, secret


def _next_midnight(now: dt.datetime) -> dt.datetime:
    local = now.astimezone(BANGKOK)
    midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), BANGKOK)
    return midnight.astimezone(dt.UTC)


def require_agent_session(session: Session, token: ApiToken, secret: str | None) -> AgentSession:
    """The agent's live staff session; raises AGENT_LOCKED."""
    if not secret:
        raise DomainError(AGENT_LOCKED)
    row = session.scalar(
        select(AgentSession).where(AgentSession.token_hash == token_digest(secret))
    )
    if row is None or row.api_token_id != token.id or row.expires_at <= utcnow():
        raise DomainError(AGENT_LOCKED)
    return row


def confirm_save(
    session: Session,
    protector: DataProtector,
    token: ApiToken,
    agent_session: AgentSession,
    *,
    raw_cid: object,
    service_code: str,
    mobile: object,
    correlation_id: str,
    hn: str | None = None,
    hcode: str | None = None,
) -> Issued:
    """Issue the smart-card channel's code for a recent card read by this agent.

    Raises CID_*, HCODE_MISMATCH, CORRELATION_UNKNOWN/USED/EXPIRED and the issuance errors.
    """
    cid = parse_cid(raw_cid)
    facility = token.facility
    if hcode and hcode.strip() != facility.hcode:
        raise DomainError(HCODE_MISMATCH)
    read = claim_card_read(session, protector, correlation_id, cid, api_token_id=token.id)
    person = find_person(session, protector, cid)
    if person is None:
        raise DomainError("PERSON_NOT_FOUND")
    issued = issue_code(
        session,
        person,
        hcode=facility.hcode,
        service_code=service_code,
        phones=mobile,
        channel="smartcard",
        verify_method="smartcard",
        recorder_staff_id=agent_session.staff_id,
        hn=hn,
    )
    read.used_at = utcnow()
    return issued


def claim_card_read(
    session: Session,
    protector: DataProtector,
    correlation_id: object,
    cid: str,
    *,
    api_token_id: int | None = None,
    facility_id: int | None = None,
    valid_for: dt.timedelta = CARD_READ_VALID,
) -> CardRead:
    """The unused, recent card read of ``cid`` with this correlation id, locked for update.

    A read belongs to the agent token that reported it (``api_token_id``) or, for a counter
    page beside the reader, to that token's facility (``facility_id``). The caller marks it
    used once the code is issued; it is valid for ``valid_for`` after the read. Raises
    CORRELATION_UNKNOWN/USED/EXPIRED.
    """
    if api_token_id is None and facility_id is None:
        raise ValueError("a card read is claimed by an agent token or a facility")
    read = session.scalar(
        select(CardRead)
        .where(CardRead.correlation_id == str(correlation_id or "")[:36])
        .with_for_update()
    )
    if (
        read is None
        or not protector.matches(read.cid_hash, cid)
        or (api_token_id is not None and read.api_token_id != api_token_id)
        or (facility_id is not None and read.facility_id != facility_id)
    ):
        raise DomainError(CORRELATION_UNKNOWN)
    if read.used_at is not None:
        raise DomainError(CORRELATION_USED)
    if read.created_at + valid_for < utcnow():
        raise DomainError(CORRELATION_EXPIRED)
    return read


def latest_code(
    session: Session, protector: DataProtector, token: ApiToken, raw_cid: object
) -> AuthenCode:
    """The person's latest active code at the token's facility; raises CODE_NOT_FOUND."""
    cid = parse_cid(raw_cid)
    person = find_person(session, protector, cid)
    code = None
    if person is not None:
        code = session.scalar(
            select(AuthenCode)
            .where(
                AuthenCode.person_id == person.id,
                AuthenCode.facility_id == token.facility_id,
                AuthenCode.status == "active",
            )
            .order_by(AuthenCode.service_at.desc(), AuthenCode.id.desc())
            .limit(1)
        )
    if code is None:
        raise DomainError("CODE_NOT_FOUND")
    return code

"""Self-service kiosks: pairing, the admin's list and revoke, and kiosk-channel codes.

A kiosk record binds two credentials to a facility: the kiosk browser's (a secret in a
cookie) and its reader agent's ``kiosk``-scoped API token. A kiosk issues only kiosk-channel
codes, only for a card read through its own agent token within the last two minutes (the
read's ``correlationId``, used once), and needs no staff unlock. The server cannot tell a
real card from a forged read, so the number of codes a kiosk asks for is limited (rule
``kiosk_code``, counted by the edges) and every code it issues is audited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from authencode.cid import parse_cid
from authencode.crypto import DataProtector
from authencode.db import utcnow
from authencode.errors import DomainError, register
from authencode.models import ApiToken, AuthenCode, CardRead, Facility, FamilyLink, Kiosk, Person
from authencode.phone import mask_phone
from authencode.services import agent, api_tokens, audit
from authencode.services.issuance import Issued, issue_code
from authencode.services.people import Rights, RightsLookup, find_person
from authencode.thaidate import service_day

KIOSK_READ_VALID = dt.timedelta(minutes=2)
PAIRING_VALID = dt.timedelta(minutes=15)
# No 0/O, 1/I/L: the admin copies the code from the kiosk's screen.
_PAIRING_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
PAIRING_LENGTH = 8

KIOSK_UNKNOWN = register(
    "KIOSK_UNKNOWN",
    "unauthorized",
    "This kiosk is not registered.",
    "ตู้นี้ยังไม่ได้ลงทะเบียน กรุณาติดต่อเจ้าหน้าที่",
)
KIOSK_NOT_PAIRED = register(
    "KIOSK_NOT_PAIRED",
    "forbidden",
    "This kiosk is waiting for a facility admin to enter its pairing code.",
    "ตู้นี้รอผู้ดูแลหน่วยบริการกรอกรหัสจับคู่",
)
KIOSK_REVOKED = register(
    "KIOSK_REVOKED",
    "forbidden",
    "This kiosk has been revoked by its facility.",
    "ตู้นี้ถูกยกเลิกการใช้งานแล้ว กรุณาติดต่อเจ้าหน้าที่ที่เคาน์เตอร์",
)
PAIRING_CODE_UNKNOWN = register(
    "PAIRING_CODE_UNKNOWN",
    "not_found",
    "No kiosk is waiting with this pairing code (codes last 15 minutes; reload the kiosk "
    "screen for a new one).",
    "ไม่พบตู้ที่รอจับคู่ด้วยรหัสนี้ (รหัสใช้ได้ 15 นาที โหลดหน้าจอตู้ใหม่เพื่อรับรหัสใหม่)",
)
KIOSK_NO_UNLOCK = register(
    "KIOSK_NO_UNLOCK",
    "forbidden",
    "A kiosk's agent takes no staff unlock: it issues kiosk codes only.",
    "เครื่องอ่านบัตรของตู้ Kiosk ไม่ใช้การปลดล็อกด้วยบัตรเจ้าหน้าที่",
)
KIOSK_PHONE_NONE = register(
    "KIOSK_PHONE_NONE",
    "invalid",
    "No earlier phone number is known for this person; type one.",
    "ไม่พบเบอร์โทรศัพท์เดิม กรุณากรอกเบอร์โทรศัพท์มือถือ",
)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalise_pairing_code(raw: object) -> str:
    """The code as shown, without spaces or dashes, upper case."""
    return "".join(c for c in str(raw or "").upper() if c.isalnum())[:32]


@dataclass(frozen=True)
class KioskScreen:
    """What a kiosk browser's visit to /kiosk/ found or made."""

    kiosk: Kiosk
    browser_secret: str | None  # a new browser credential to set as a cookie, else None
    pairing_code: str | None  # shown while unpaired


def open_screen(session: Session, browser_secret: str | None) -> KioskScreen:
    """The kiosk of this browser's credential, or a new unpaired one; an unpaired kiosk gets
    a fresh pairing code each time (the old one stops working). Raises KIOSK_REVOKED."""
    kiosk = _by_browser(session, browser_secret)
    new_secret = None
    if kiosk is None:
        new_secret = secrets.token_urlsafe(32)
        kiosk = Kiosk(browser_token_hash=_digest(new_secret))
        session.add(kiosk)
    if kiosk.revoked_at is not None:
        raise DomainError(KIOSK_REVOKED)
    code = None
    if kiosk.facility_id is None:
        code = "".join(secrets.choice(_PAIRING_ALPHABET) for _ in range(PAIRING_LENGTH))
        kiosk.pairing_code_hash = _digest(code)
        kiosk.pairing_expires_at = utcnow() + PAIRING_VALID
    else:
        kiosk.last_seen_at = utcnow()
    session.flush()
    return KioskScreen(kiosk, new_secret, code)


def _by_browser(session: Session, browser_secret: str | None) -> Kiosk | None:
    if not browser_secret:
        return None
    return session.scalar(select(Kiosk).where(Kiosk.browser_token_hash == _digest(browser_secret)))


def browser_kiosk(session: Session, browser_secret: str | None) -> Kiosk:
    """The live, paired kiosk of a browser credential; notes it was seen.

    Raises KIOSK_UNKNOWN, KIOSK_NOT_PAIRED or KIOSK_REVOKED.
    """
    kiosk = _by_browser(session, browser_secret)
    if kiosk is None:
        raise DomainError(KIOSK_UNKNOWN)
    return _live(kiosk)


def token_kiosk(session: Session, token: ApiToken) -> Kiosk:
    """The live kiosk a ``kiosk``-scoped token belongs to; raises KIOSK_UNKNOWN/REVOKED."""
    kiosk = session.scalar(select(Kiosk).where(Kiosk.api_token_id == token.id))
    if kiosk is None:
        raise DomainError(KIOSK_UNKNOWN)
    return _live(kiosk)


def _live(kiosk: Kiosk) -> Kiosk:
    if kiosk.revoked_at is not None:
        raise DomainError(KIOSK_REVOKED)
    if kiosk.facility_id is None or kiosk.api_token_id is None:
        raise DomainError(KIOSK_NOT_PAIRED)
    facility = kiosk.facility
    if facility is None or not facility.active:
        raise DomainError(KIOSK_REVOKED)
    kiosk.last_seen_at = utcnow()
    return kiosk


@dataclass(frozen=True)
class PairedKiosk:
    kiosk: Kiosk
    token_secret: str  # the agent's kiosk token: shown to the admin once


def pair(
    session: Session, facility: Facility, name: str, actor: str, pairing_code: object = None
) -> PairedKiosk:
    """Register a kiosk of the facility and make its agent's ``kiosk`` token. With a pairing
    code, the kiosk screen showing it is bound too; without, a kiosk program that speaks
    the agent API has a token only. Audited.

    Raises FIELD_INVALID (no name) or PAIRING_CODE_UNKNOWN.
    """
    name = (name or "").strip()[:100]
    if not name:
        raise DomainError("FIELD_INVALID", detail="a kiosk needs a name")
    code = normalise_pairing_code(pairing_code)
    if code:
        kiosk = session.scalar(
            select(Kiosk).where(Kiosk.pairing_code_hash == _digest(code)).with_for_update()
        )
        if (
            kiosk is None
            or kiosk.facility_id is not None
            or kiosk.revoked_at is not None
            or kiosk.pairing_expires_at is None
            or kiosk.pairing_expires_at < utcnow()
        ):
            raise DomainError(PAIRING_CODE_UNKNOWN)
    else:
        kiosk = Kiosk()
        session.add(kiosk)
    token = api_tokens.create_token(session, facility, f"kiosk: {name}", actor, "kiosk")
    kiosk.facility_id = facility.id
    kiosk.name = name
    kiosk.api_token_id = token.token.id
    kiosk.pairing_code_hash = None
    kiosk.pairing_expires_at = None
    kiosk.paired_at = utcnow()
    kiosk.paired_by = actor
    session.flush()
    audit.record(
        session,
        actor,
        "kiosk.pair",
        f"kiosk:{kiosk.id}",
        {"facility": facility.hcode, "screen": bool(code), "api_token": token.token.id},
    )
    return PairedKiosk(kiosk, token.secret)


def facility_kiosks(session: Session, facility: Facility) -> list[Kiosk]:
    """The facility's kiosks, newest first."""
    return list(
        session.scalars(
            select(Kiosk).where(Kiosk.facility_id == facility.id).order_by(Kiosk.id.desc())
        )
    )


def last_seen(kiosk: Kiosk) -> dt.datetime | None:
    """When the kiosk's screen or its agent last called the server."""
    moments = [kiosk.last_seen_at, kiosk.api_token.last_used_at if kiosk.api_token else None]
    return max((m for m in moments if m is not None), default=None)


def revoke(session: Session, kiosk: Kiosk, actor: str) -> None:
    """Revoke a kiosk at once: its screen and its agent's token stop working. Audited."""
    if kiosk.revoked_at is not None:
        return
    kiosk.revoked_at = utcnow()
    kiosk.revoked_by = actor
    if kiosk.api_token is not None:
        api_tokens.revoke_token(session, kiosk.api_token, actor)
    audit.record(session, actor, "kiosk.revoke", f"kiosk:{kiosk.id}")


def _fresh_read(
    session: Session, protector: DataProtector, kiosk: Kiosk, correlation_id: object, cid: str
) -> CardRead:
    return agent.claim_card_read(
        session,
        protector,
        correlation_id,
        cid,
        api_token_id=kiosk.api_token_id,
        valid_for=KIOSK_READ_VALID,
    )


@dataclass(frozen=True)
class KioskVisit:
    """What the kiosk screen shows once the card is read."""

    person: Person
    rights: Rights
    existing: AuthenCode | None  # today's active code here, shown again
    phone_masked: str | None  # the phone it would use, masked; None: the person types one


def start_visit(
    session: Session,
    protector: DataProtector,
    rights: RightsLookup,
    kiosk: Kiosk,
    *,
    correlation_id: object,
    raw_cid: object,
) -> KioskVisit:
    """The person of a fresh card read by this kiosk: rights, today's code, the phone.

    Raises CID_*, CORRELATION_UNKNOWN/USED/EXPIRED, PERSON_NOT_FOUND or PERSON_DECEASED.
    """
    cid = parse_cid(raw_cid)
    _fresh_read(session, protector, kiosk, correlation_id, cid)
    person = find_person(session, protector, cid)
    if person is None:
        raise DomainError("PERSON_NOT_FOUND")
    if person.deceased:
        raise DomainError("PERSON_DECEASED")
    existing = session.scalar(
        select(AuthenCode)
        .where(
            AuthenCode.person_id == person.id,
            AuthenCode.facility_id == kiosk.facility_id,
            AuthenCode.service_date == service_day(),
            AuthenCode.status == "active",
        )
        .order_by(AuthenCode.id.desc())
        .limit(1)
    )
    phone = known_phone(session, person)
    return KioskVisit(
        person, rights.rights_for(session, person), existing, mask_phone(phone) if phone else None
    )


def known_phone(session: Session, person: Person) -> str | None:
    """The person's phone from their latest visit anywhere, else from their LINE registration."""
    phones = session.scalar(
        select(AuthenCode.phones)
        .where(AuthenCode.person_id == person.id)
        .order_by(AuthenCode.recorded_at.desc(), AuthenCode.id.desc())
        .limit(1)
    )
    if phones:
        return phones.split(",")[0]
    return session.scalar(
        select(FamilyLink.phone)
        .where(FamilyLink.person_id == person.id)
        .order_by(FamilyLink.created_at.desc())
        .limit(1)
    )


def issue_kiosk_code(
    session: Session,
    protector: DataProtector,
    kiosk: Kiosk,
    *,
    correlation_id: object,
    raw_cid: object,
    service_code: str,
    mobile: object = None,
    hn: str | None = None,
    hcode: str | None = None,
) -> Issued:
    """Issue the kiosk channel's code for a fresh card read by this kiosk's agent, once.

    ``mobile`` None uses the person's known phone (``known_phone``). The read is locked
    while the code is issued, so parallel confirmations of one read give one code and the
    others CORRELATION_USED. Audited as the kiosk.

    Raises CID_*, HCODE_MISMATCH, CORRELATION_UNKNOWN/USED/EXPIRED, PERSON_NOT_FOUND,
    KIOSK_PHONE_NONE and the issuance errors.
    """
    cid = parse_cid(raw_cid)
    facility = kiosk.facility
    if facility is None:
        raise DomainError(KIOSK_NOT_PAIRED)
    if hcode and hcode.strip() != facility.hcode:
        raise DomainError(agent.HCODE_MISMATCH)
    read = _fresh_read(session, protector, kiosk, correlation_id, cid)
    person = find_person(session, protector, cid)
    if person is None:
        raise DomainError("PERSON_NOT_FOUND")
    if mobile is None:
        mobile = known_phone(session, person)
        if mobile is None:
            raise DomainError(KIOSK_PHONE_NONE)
    issued = issue_code(
        session,
        person,
        hcode=facility.hcode,
        service_code=service_code,
        phones=mobile,
        channel="kiosk",
        hn=hn,
    )
    read.used_at = utcnow()
    audit.record(
        session,
        f"kiosk:{kiosk.id}",
        "code.issue" if issued.created else "code.show_again",
        f"authen_code:{issued.code.id}",
        {"channel": "kiosk", "service": issued.code.service_code, "read": read.id},
    )
    return issued


def latest_code_for_kiosk(
    session: Session, protector: DataProtector, kiosk: Kiosk, raw_cid: object
) -> AuthenCode:
    """The person's latest code here, for a card this kiosk read in the last two minutes
    only (a kiosk credential must not look up anyone's codes). Raises CID_*,
    CORRELATION_UNKNOWN or CODE_NOT_FOUND."""
    cid = parse_cid(raw_cid)
    recent = session.scalar(
        select(CardRead.id)
        .where(
            CardRead.api_token_id == kiosk.api_token_id,
            CardRead.cid_hash == protector.lookup_hash(cid),
            CardRead.created_at >= utcnow() - KIOSK_READ_VALID,
        )
        .limit(1)
    )
    if recent is None:
        raise DomainError(agent.CORRELATION_UNKNOWN)
    if kiosk.api_token is None:  # pragma: no cover - a live kiosk has its token
        raise DomainError(KIOSK_NOT_PAIRED)
    return agent.latest_code(session, protector, kiosk.api_token, cid)

"""Verifying a link at a clinic counter with a one-time code and the ID card.

The patient's LIFF page or chat shows a 6-digit code (also as a QR of the same digits) for
one of the account's unverified links. At the counter, staff type or scan it, check the ID
card — read by the reader agent beside the page (its CID must be the person's) or by eye —
and confirm; the link becomes verified (link_trust.verify_link, method ``counter``).

Only a keyed hash of a code is stored. A code lives CODE_TTL, is used once (by staff of any
facility: the record says which), and a new one replaces the link's unused one. Guessing is
bounded: wrong codes are counted per staff member and per facility by the caller (rate
rules ``verify_code_staff`` and ``verify_code_facility``), and a code whose confirmation is
refused MAX_FAILURES times (a card that is not the person's) is withdrawn.

For a guardian's link to a child under 15 the card checked is the guardian's own (the
account's self link) and staff confirm the relation after checking the child's registry
record; such a link is verified only here (link_trust.verification_methods_allowed).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.db import utcnow
from authencode.errors import DomainError, register
from authencode.models import CardRead, Facility, FamilyLink, LinkVerification, Person
from authencode.models.verification import CARD_CHECKS
from authencode.services import agent, audit, link_trust, registration
from authencode.services.people import person_cid
from authencode.thaidate import service_day

CODE_TTL = dt.timedelta(minutes=10)
CODE_DIGITS = 6
MAX_FAILURES = 3
HASH_PURPOSE = "link-verification"
_ISSUE_TRIES = 8

LINK_ALREADY_VERIFIED = register(
    "LINK_ALREADY_VERIFIED",
    "conflict",
    "This link is already verified.",
    "รายการนี้ยืนยันตัวตนเรียบร้อยแล้ว",
)
VERIFY_CODE_FORMAT = register(
    "VERIFY_CODE_FORMAT",
    "invalid",
    "A verification code is 6 digits.",
    "รหัสยืนยันตัวตนต้องเป็นตัวเลข 6 หลัก",
)
VERIFY_CODE_UNKNOWN = register(
    "VERIFY_CODE_UNKNOWN",
    "not_found",
    "No open verification code matches; check the digits, or ask the patient for a new code.",
    "ไม่พบรหัสยืนยันตัวตนนี้ กรุณาตรวจสอบตัวเลข หรือให้ผู้รับบริการขอรหัสใหม่",
)
VERIFY_CODE_EXPIRED = register(
    "VERIFY_CODE_EXPIRED",
    "gone",
    "This verification code has expired; ask the patient to request a new one.",
    "รหัสยืนยันตัวตนหมดอายุแล้ว กรุณาให้ผู้รับบริการขอรหัสใหม่ในแอป LINE",
)
VERIFY_CODE_USED = register(
    "VERIFY_CODE_USED",
    "conflict",
    "This verification code has already been used.",
    "รหัสยืนยันตัวตนนี้ถูกใช้ไปแล้ว",
)
VERIFY_CHECK_REQUIRED = register(
    "VERIFY_CHECK_REQUIRED",
    "invalid",
    "Read the ID card in the card reader, or tick that you checked it by eye.",
    "กรุณาอ่านบัตรประชาชนด้วยเครื่องอ่านบัตร หรือทำเครื่องหมายว่าได้ตรวจบัตรด้วยตนเองแล้ว",
)
VERIFY_CARD_MISMATCH = register(
    "VERIFY_CARD_MISMATCH",
    "forbidden",
    "The card read is not the ID card of {whom}; nothing was verified.",
    "บัตรประชาชนที่อ่านได้ไม่ใช่บัตรของ{whom} จึงยังไม่ได้ยืนยันตัวตน",
)
VERIFY_RELATION_REQUIRED = register(
    "VERIFY_RELATION_REQUIRED",
    "invalid",
    "Choose the relation you confirmed between the guardian and the child.",
    "กรุณาเลือกความสัมพันธ์ระหว่างผู้ปกครองกับเด็กที่ได้ตรวจสอบแล้ว",
)
VERIFY_NO_GUARDIAN = register(
    "VERIFY_NO_GUARDIAN",
    "conflict",
    "This LINE account has no registration of its own to check the guardian's card against.",
    "บัญชี LINE นี้ยังไม่มีการลงทะเบียนของผู้ปกครองเอง จึงตรวจบัตรของผู้ปกครองไม่ได้",
)


@dataclass(frozen=True)
class IssuedCode:
    code: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class CounterCase:
    """What the counter page shows staff before they confirm."""

    verification: LinkVerification
    link: FamilyLink
    person: Person
    minor: bool
    guardian: Person | None  # for a minor's link: the account holder whose card is checked

    @property
    def card_person(self) -> Person | None:
        """Whose ID card staff must check: the person, or for a child the guardian."""
        return self.guardian if self.minor else self.person


@dataclass(frozen=True)
class CounterCheck:
    """How staff checked the card: ``card`` (with the agent's correlation id) or ``eye``."""

    card_check: str
    correlation_id: str = ""
    relation: str = ""


@dataclass(frozen=True)
class CounterResult:
    case: CounterCase
    verified: link_trust.Verified


def _hashes(protector: DataProtector, code: str) -> list[str]:
    """The code's hash under every data key, the current (the one a new row stores) first."""
    return protector.lookup_hashes(code, HASH_PURPOSE)


def issue_code(
    session: Session, protector: DataProtector, link: FamilyLink, *, now: dt.datetime | None = None
) -> IssuedCode:
    """A new code for an unverified link, replacing its unused one; raises
    LINK_ALREADY_VERIFIED."""
    now = now or utcnow()
    session.execute(select(FamilyLink.id).where(FamilyLink.id == link.id).with_for_update())
    session.refresh(link)
    if link.is_verified:
        raise DomainError(LINK_ALREADY_VERIFIED)
    session.execute(
        delete(LinkVerification).where(
            LinkVerification.used_at.is_(None),
            (LinkVerification.family_link_id == link.id) | (LinkVerification.expires_at < now),
        )
    )
    for _ in range(_ISSUE_TRIES):
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        hashes = _hashes(protector, code)
        if (
            len(hashes) > 1
            and session.scalar(  # open with these digits under an older key
                select(LinkVerification.id).where(
                    LinkVerification.code_hash.in_(hashes[1:]), LinkVerification.used_at.is_(None)
                )
            )
        ):
            continue
        row = LinkVerification(
            family_link_id=link.id,
            code_hash=hashes[0],
            created_at=now,
            expires_at=now + CODE_TTL,
            failures=0,
        )
        try:
            with session.begin_nested():  # another link's open code has these digits
                session.add(row)
                session.flush()
        except IntegrityError:
            continue
        audit.record(
            session,
            f"line:{link.line_account_id}",
            "link.counter_code",
            f"family_link:{link.id}",
            {"person_id": link.person_id},
        )
        return IssuedCode(code, row.expires_at)
    raise RuntimeError("no free verification code after several tries")


def parse_code(raw: object) -> str:
    """The 6 digits typed or scanned (spaces and dashes ignored); raises VERIFY_CODE_FORMAT."""
    digits = "".join(str(raw or "").split()).replace("-", "")
    if len(digits) != CODE_DIGITS or not (digits.isascii() and digits.isdigit()):
        raise DomainError(VERIFY_CODE_FORMAT, detail="code")
    return digits


def _find(
    session: Session, code_hashes: list[str], now: dt.datetime, *, lock: bool
) -> LinkVerification:
    query = select(LinkVerification).where(
        LinkVerification.code_hash.in_(code_hashes), LinkVerification.used_at.is_(None)
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    row = session.scalar(query)
    if row is None:
        used = session.scalar(
            select(LinkVerification.id)
            .where(
                LinkVerification.code_hash.in_(code_hashes),
                LinkVerification.used_at.is_not(None),
                LinkVerification.used_at > now - CODE_TTL,
            )
            .limit(1)
        )
        raise DomainError(
            VERIFY_CODE_USED if used is not None else VERIFY_CODE_UNKNOWN, detail="code"
        )
    if row.expires_at <= now:
        raise DomainError(VERIFY_CODE_EXPIRED, detail="code")
    return row


def look_up(
    session: Session,
    protector: DataProtector,
    raw_code: object,
    *,
    now: dt.datetime | None = None,
    lock: bool = False,
) -> CounterCase:
    """The open code's link, person and what to check; raises VERIFY_CODE_* .

    With ``lock`` (confirming), the person is locked first, then the code row: a confirmation
    and another account's reclaim of the same person queue in one order, never in a circle.
    """
    now = now or utcnow()
    code_hashes = _hashes(protector, parse_code(raw_code))
    row = _find(session, code_hashes, now, lock=False)
    if lock:
        link_trust.lock_person(session, row.link.person_id)
        row = _find(session, code_hashes, now, lock=True)
    link = row.link
    minor = link_trust.is_minor_link(link, service_day(now))
    guardian = None
    if minor:
        holder = session.scalar(
            select(FamilyLink).where(
                FamilyLink.line_account_id == link.line_account_id,
                FamilyLink.slot == link_trust.SELF_SLOT,
                FamilyLink.level != "pending",
            )
        )
        guardian = holder.person if holder is not None else None
    return CounterCase(row, link, link.person, minor, guardian)


def confirm(
    session: Session,
    protector: DataProtector,
    raw_code: object,
    check: CounterCheck,
    *,
    staff_id: int,
    facility: Facility,
    now: dt.datetime | None = None,
) -> CounterResult:
    """Verify the code's link after staff checked the card; records who, where and how.

    A refused card check counts against the code (the caller commits it); the MAX_FAILURES-th
    withdraws the code. Raises VERIFY_CODE_*, VERIFY_CHECK_REQUIRED, VERIFY_RELATION_REQUIRED,
    VERIFY_NO_GUARDIAN, VERIFY_CARD_MISMATCH and CORRELATION_* (a card read that is not this
    facility's recent unused read).
    """
    now = now or utcnow()
    if check.card_check not in CARD_CHECKS:
        raise DomainError(VERIFY_CHECK_REQUIRED, detail="card_check")
    case = look_up(session, protector, raw_code, now=now, lock=True)
    relation = case.link.relation
    if case.minor:
        if check.relation not in registration.RELATIONS:
            raise DomainError(VERIFY_RELATION_REQUIRED, detail="relation")
        relation = check.relation
    card_person = case.card_person
    if card_person is None:
        raise DomainError(VERIFY_NO_GUARDIAN)
    if check.card_check == "card":
        _claim_card(
            session,
            protector,
            case,
            card_person,
            check.correlation_id,
            staff_id=staff_id,
            facility=facility,
            now=now,
        )
    row = case.verification
    row.used_at = now
    row.used_by_staff_id = staff_id
    row.facility_id = facility.id
    row.card_check = check.card_check
    row.relation = relation
    case.link.relation = relation
    actor = f"staff:{staff_id}"
    verified = link_trust.verify_link(session, case.link, method="counter", actor=actor, now=now)
    audit.record(
        session,
        actor,
        "link.counter_verified",
        f"family_link:{case.link.id}",
        {
            "facility": facility.hcode,
            "card_check": check.card_check,
            "relation": relation,
            "minor": case.minor,
            "verification_id": row.id,
        },
    )
    return CounterResult(case, verified)


def _claim_card(
    session: Session,
    protector: DataProtector,
    case: CounterCase,
    card_person: Person,
    correlation_id: str,
    *,
    staff_id: int,
    facility: Facility,
    now: dt.datetime,
) -> None:
    """The agent's card read at this facility must be of ``card_person``'s card."""
    read = session.scalar(
        select(CardRead).where(
            CardRead.correlation_id == str(correlation_id or "")[:36],
            CardRead.facility_id == facility.id,
        )
    )
    # The read's hash may be under another data key than the person's (during a rotation).
    if read is not None and not protector.matches(
        read.cid_hash, person_cid(protector, card_person)
    ):
        _count_failure(session, case, f"staff:{staff_id}", facility)
        whom = "ผู้ปกครอง" if case.minor else card_person.full_name_th
        raise DomainError(VERIFY_CARD_MISMATCH, whom=whom)
    claimed = agent.claim_card_read(
        session,
        protector,
        correlation_id,
        person_cid(protector, card_person),
        facility_id=facility.id,
    )
    claimed.used_at = now


def _count_failure(session: Session, case: CounterCase, actor: str, facility: Facility) -> None:
    row = case.verification
    row.failures += 1
    audit.record(
        session,
        actor,
        "link.counter_refused",
        f"family_link:{case.link.id}",
        {"facility": facility.hcode, "failures": row.failures},
    )
    if row.failures >= MAX_FAILURES:
        session.delete(row)  # withdrawn: the patient asks for a new code
    session.flush()


def open_links(session: Session, account_id: int) -> list[FamilyLink]:
    """The account's links not yet verified (pending ones too), the holder first."""
    return list(
        session.scalars(
            select(FamilyLink)
            .where(FamilyLink.line_account_id == account_id, FamilyLink.level != "verified")
            .order_by(FamilyLink.slot)
        )
    )

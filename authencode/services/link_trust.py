"""Who may act for a person: the assurance level of each link and what it allows.

A link between a LINE account and a person is

- *pending*: the person is someone else's verified own account; the link gives no access
  until that account approves it;
- *claimed*: it rests on what was typed (CID, mobile and the birth date matching the
  registry). It may ask for a code only with a counter display QR (staff see the person),
  sees only the codes this account asked for itself and the right as eligible or not, and
  cannot move the primary care unit;
- *verified*: proven at a clinic counter, through ThaID, by the person's own approval or by
  the registry office. It does everything the product offers.

Verifying a self link (slot 0) reclaims the person: any other account's self link to them is
removed, so whoever proves to be the person wins over whoever typed their CID first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from authencode.db import utcnow
from authencode.errors import DomainError, register
from authencode.models import FamilyLink, Person
from authencode.models.line import LINK_LEVELS, VERIFY_METHODS
from authencode.services import audit
from authencode.thaidate import service_day

SELF_SLOT = 0
# A guardian's link to a child under this age is verified only where staff see the child's
# registry record and the guardian's ID card: at a counter (or by the registry office).
MINOR_AGE = 15
MINOR_METHODS = ("counter", "registry")

LINK_PENDING = register(
    "LINK_PENDING",
    "forbidden",
    "This person has not yet approved being linked to your LINE account; nothing can be done "
    "for them until they do.",
    "รายการนี้รอการอนุมัติจากเจ้าของข้อมูล จึงยังไม่สามารถใช้งานแทนบุคคลนี้ได้",
)
LINK_NOT_VERIFIED = register(
    "LINK_NOT_VERIFIED",
    "forbidden",
    "Verify this link first, at a clinic counter with the person's ID card or with ThaID.",
    "กรุณายืนยันตัวตนก่อน โดยแสดงบัตรประชาชนที่จุดบริการของหน่วยบริการ หรือยืนยันผ่านแอป ThaID",
)
LINK_GONE = register(
    "LINK_GONE",
    "gone",
    "This link was removed meanwhile (perhaps the person reclaimed their ID); nothing was "
    "verified.",
    "รายการนี้ถูกนำออกไปแล้วระหว่างดำเนินการ (เจ้าของข้อมูลอาจยืนยันตัวตนจากบัญชีอื่น) จึงยังไม่ได้ยืนยันตัวตน",
)
VERIFY_METHOD_UNKNOWN = register(
    "VERIFY_METHOD_UNKNOWN", "invalid", "Unknown way of verifying a link.", "ไม่รู้จักวิธียืนยันตัวตนนี้"
)

VERIFY_METHOD_NOT_ALLOWED = register(
    "VERIFY_METHOD_NOT_ALLOWED",
    "forbidden",
    "A guardian's link to a child under 15 is verified only at a clinic counter, with the "
    "guardian's ID card.",
    "การเชื่อมโยงกับบุตรหลานอายุต่ำกว่า 15 ปี ยืนยันได้ที่จุดบริการของหน่วยบริการเท่านั้น "
    "โดยผู้ปกครองแสดงบัตรประชาชนของตนเอง",
)
# How each level is named to patients, and how to move up (LIFF pages and chat alike).
LEVEL_TH = {"pending": "รอการอนุมัติ", "claimed": "ยังไม่ยืนยันตัวตน", "verified": "ยืนยันตัวตนแล้ว"}
LEVEL_EN = {"pending": "Waiting for approval", "claimed": "Not verified", "verified": "Verified"}
HOW_TO_VERIFY_TH = (
    "ยืนยันตัวตนได้โดยแสดงบัตรประจำตัวประชาชนของบุคคลนี้ที่จุดบริการของหน่วยบริการ "
    "หรือยืนยันผ่านแอป ThaID เมื่อยืนยันแล้วจะขอรหัสด้วย QR Code ทุกแบบ "
    "ดูประวัติทั้งหมด และดูรายละเอียดสิทธิได้"
)
PENDING_TH = "รอให้เจ้าของข้อมูลอนุมัติจากบัญชี LINE ของตนเอง ระหว่างนี้ยังไม่สามารถขอรหัสหรือดูข้อมูลของบุคคลนี้ได้"
CLAIMED_LIMITS_TH = (
    "ก่อนยืนยันตัวตน ขอรหัสได้เฉพาะ QR Code บนหน้าจอที่จุดบริการ "
    "เห็นเฉพาะรหัสที่ขอจากบัญชีนี้ และเห็นสิทธิเพียงว่าใช้บริการได้หรือไม่"
)


def level_note_th(link: FamilyLink) -> str:
    """What the level means for the patient and how to verify, in one Thai paragraph."""
    if link.level == "pending":
        return PENDING_TH
    if link.level == "claimed":
        return f"{CLAIMED_LIMITS_TH}\n{HOW_TO_VERIFY_TH}"
    return ""


# What each level may do. Pending: nothing at all.
POSTER_QR = "poster_qr"  # a code from a printed (non-expiring) facility QR
DISPLAY_QR = "display_qr"  # a code from the counter's rotating display QR
FULL_HISTORY = "full_history"  # the person's codes from every channel and account
RIGHTS_DETAIL = "rights_detail"  # right names, units, dates (claimed: eligible or not)
PCU_CHANGE = "pcu_change"  # ask to move the primary care unit
OWN_HISTORY = "own_history"  # the codes this account itself asked for
ELIGIBILITY = "eligibility"  # whether the person's right allows the service
_CAN: dict[str, frozenset[str]] = {
    "pending": frozenset(),
    "claimed": frozenset({DISPLAY_QR, OWN_HISTORY, ELIGIBILITY}),
    "verified": frozenset(
        {DISPLAY_QR, POSTER_QR, OWN_HISTORY, FULL_HISTORY, ELIGIBILITY, RIGHTS_DETAIL, PCU_CHANGE}
    ),
}
assert set(_CAN) == set(LINK_LEVELS)  # a table kept in step with the model


def can(link: FamilyLink, what: str) -> bool:
    """Whether the link's level allows ``what`` (one of the capability names above)."""
    return what in _CAN[link.level]


def levels_allowing(what: str) -> tuple[str, ...]:
    """The levels whose links may do ``what`` (for queries over many links)."""
    return tuple(level for level in LINK_LEVELS if what in _CAN[level])


def require(link: FamilyLink, what: str) -> None:
    """Raise LINK_PENDING or LINK_NOT_VERIFIED unless the link's level allows ``what``."""
    if link.level == "pending":
        raise DomainError(LINK_PENDING)
    if not can(link, what):
        raise DomainError(LINK_NOT_VERIFIED)


def is_minor_link(link: FamilyLink, today: dt.date) -> bool:
    """A family link (not the holder's own) to a person under MINOR_AGE on ``today``."""
    return link.slot != SELF_SLOT and link.person.age_on(today) < MINOR_AGE


def verification_methods_allowed(link: FamilyLink, today: dt.date) -> tuple[str, ...]:
    """The ways this link may be verified: all of them, or for a minor's link only those
    where staff see the child's record and the guardian's card (counter, registry office)."""
    return MINOR_METHODS if is_minor_link(link, today) else VERIFY_METHODS


@dataclass(frozen=True)
class Verified:
    """The outcome of verify_link: the link, and other accounts' self links it displaced."""

    link: FamilyLink
    displaced_account_ids: tuple[int, ...]


def lock_person(session: Session, person_id: int) -> None:
    """Queue behind any other transaction changing who acts for this person (PostgreSQL)."""
    session.execute(select(Person.id).where(Person.id == person_id).with_for_update())


def verify_link(
    session: Session, link: FamilyLink, *, method: str, actor: str, now: dt.datetime | None = None
) -> Verified:
    """Mark the link verified (how, when, by whom); audited.

    For a self link, other accounts' self links to the same person are removed (the person
    reclaimed their ID), and their account ids are returned so the caller can tell them.
    Verifying a verified link again changes nothing. Raises VERIFY_METHOD_UNKNOWN, or
    VERIFY_METHOD_NOT_ALLOWED for a minor's link by ThaID or approval.
    """
    if method not in VERIFY_METHODS:
        raise DomainError(VERIFY_METHOD_UNKNOWN)
    if method not in verification_methods_allowed(link, service_day(now)):
        raise DomainError(VERIFY_METHOD_NOT_ALLOWED)
    lock_person(session, link.person_id)
    # Re-read under the lock: another transaction may have verified or removed it meanwhile.
    current = session.get(FamilyLink, link.id, populate_existing=True)
    if current is None:
        raise DomainError(LINK_GONE)
    link = current
    if link.is_verified:
        return Verified(link, ())
    displaced: list[int] = []
    if link.slot == SELF_SLOT:
        others = session.scalars(
            select(FamilyLink).where(
                FamilyLink.person_id == link.person_id,
                FamilyLink.slot == SELF_SLOT,
                FamilyLink.id != link.id,
            )
        ).all()
        for other in others:
            displaced.append(other.line_account_id)
            audit.record(
                session,
                actor,
                "link.displaced",
                f"family_link:{other.id}",
                {"person_id": other.person_id, "by_link": link.id, "level": other.level},
            )
            session.delete(other)
        session.flush()
    previous = link.level
    link.level = "verified"
    link.verified_at = now or utcnow()
    link.verified_method = method
    link.verified_by = actor[:64]
    session.flush()
    audit.record(
        session,
        actor,
        "link.verified",
        f"family_link:{link.id}",
        {
            "person_id": link.person_id,
            "method": method,
            "from": previous,
            "displaced": len(displaced),
        },
    )
    return Verified(link, tuple(displaced))


def verified_self_link(session: Session, person_id: int) -> FamilyLink | None:
    """The person's own verified LINE link, the one to ask and tell, if they have one."""
    return session.scalar(
        select(FamilyLink).where(
            FamilyLink.person_id == person_id,
            FamilyLink.slot == SELF_SLOT,
            FamilyLink.level == "verified",
        )
    )

"""Who a LINE account acts for: registering the account holder, adding and removing family.

Slot 0 of an account's family links is the holder; slots 1-5 are family members. The
database enforces both limits that matter under concurrent requests: a CID is someone's own
account at most once (a partial unique index) and an account has at most five family
members (the slot range with a unique slot per account).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from authencode.birthdate import parse_birth_date
from authencode.cid import parse_cid
from authencode.crypto import DataProtector
from authencode.db import MAX_ROW_ID
from authencode.errors import DomainError, register
from authencode.models import FamilyLink, LineAccount, Person
from authencode.models.line import MAX_FAMILY_MEMBERS
from authencode.phone import parse_mobile
from authencode.reference import NO_RIGHT_EN, NO_RIGHT_TH, RELATIONS, RIGHTS
from authencode.services import audit, link_trust
from authencode.services.consent import require_consent
from authencode.services.line_accounts import lock_account
from authencode.services.people import Rights, RightsLookup, find_person
from authencode.thaidate import service_day

SELF_SLOT = 0
MIN_SELF_AGE = 15
# Main rights whose holders may use the LINE channel; None stands for "no right on record".
DEFAULT_ELIGIBLE_RIGHTS: frozenset[str | None] = frozenset({"UCS", "WEL", "DIS", None})
AGE_TOO_YOUNG = register(
    "AGE_TOO_YOUNG",
    "unprocessable",
    "You must be at least {min_age} full years old to register yourself.",
    "ผู้ลงทะเบียนด้วยตนเองต้องมีอายุ {min_age} ปีบริบูรณ์ขึ้นไป",
)
RIGHT_NOT_ELIGIBLE = register(
    "RIGHT_NOT_ELIGIBLE",
    "unprocessable",
    "This service is for people with universal coverage (UCS, WEL, DIS) or no right on "
    "record; the main right on record is {right_en}.",
    "บริการนี้สำหรับผู้มีสิทธิหลักประกันสุขภาพแห่งชาติ หรือสิทธิว่าง (สิทธิหลักที่บันทึกไว้: {right})",
)
# Not an error: registering oneself when another LINE account holds the ID as its own gives
# a pending self link, and this is what the holder is told.
SELF_PENDING_TH = (
    "เลขประจำตัวประชาชนนี้ได้ลงทะเบียนไว้กับบัญชี LINE อื่นแล้ว "
    "หากเป็นเลขของท่าน กรุณายืนยันตัวตนโดยแสดงบัตรประจำตัวประชาชนที่จุดบริการของหน่วยบริการ "
    "หรือยืนยันผ่านแอป ThaID แล้วการลงทะเบียนจะย้ายมาอยู่กับบัญชี LINE นี้ "
    "ระหว่างนี้ยังไม่สามารถขอรหัสหรือดูข้อมูลของบุคคลนี้ได้"
)
SELF_PENDING_EN = (
    "This citizen ID is registered from another LINE account. If it is yours, verify at a "
    "clinic counter with your ID card or with ThaID and the registration moves to this "
    "account; until then nothing can be done for this person from here."
)
SELF_ALREADY_REGISTERED = register(
    "SELF_ALREADY_REGISTERED",
    "conflict",
    "This LINE account is already registered with another citizen ID.",
    "บัญชี LINE นี้ลงทะเบียนด้วยเลขประจำตัวประชาชนอื่นไว้แล้ว",
)
SELF_REGISTRATION_REQUIRED = register(
    "SELF_REGISTRATION_REQUIRED",
    "forbidden",
    "Please register yourself (citizen ID and mobile number) first.",
    "กรุณาลงทะเบียนด้วยเลขประจำตัวประชาชนและเบอร์โทรศัพท์ของท่านก่อน",
)
FAMILY_FULL = register(
    "FAMILY_FULL",
    "conflict",
    "One LINE account can add at most 5 family members.",
    "หนึ่งบัญชี LINE เพิ่มบุคคลในครอบครัวได้ไม่เกิน 5 คน",
)
FAMILY_ALREADY_LINKED = register(
    "FAMILY_ALREADY_LINKED",
    "conflict",
    "This person is already on your list.",
    "บุคคลนี้อยู่ในรายชื่อของท่านแล้ว",
)
FAMILY_MEMBER_NOT_FOUND = register(
    "FAMILY_MEMBER_NOT_FOUND", "not_found", "No such person on your list.", "ไม่พบบุคคลนี้ในรายชื่อของท่าน"
)
RELATION_INVALID = register(
    "RELATION_INVALID",
    "invalid",
    "Please choose how this person is related to you.",
    "กรุณาเลือกความสัมพันธ์กับบุคคลนี้",
)


@dataclass(frozen=True)
class RegistrationPolicy:
    """Who may be linked: configurable per deployment (the scheme's rules change)."""

    min_self_age: int = MIN_SELF_AGE
    eligible_rights: frozenset[str | None] = field(default=DEFAULT_ELIGIBLE_RIGHTS)

    @classmethod
    def from_setting(cls, rights: str | None) -> RegistrationPolicy:
        """Parse e.g. "UCS,WEL,DIS,NONE" (NONE = no right on record); empty = the default."""
        return cls.from_codes((rights or "").split(","))

    @classmethod
    def from_codes(cls, rights: Iterable[str]) -> RegistrationPolicy:
        """The policy for right codes such as Settings.eligible_main_rights; none = the default."""
        codes = {part.strip().upper() for part in rights if part.strip()}
        if not codes:
            return cls()
        eligible = frozenset(None if code == "NONE" else code for code in codes)
        return cls(eligible_rights=eligible)

    def check_right(self, person: Person) -> None:
        right = person.main_right or None
        if right not in self.eligible_rights:
            # Told by the right's name (reference.py), never a bare code such as OFC.
            label = RIGHTS.get(("main", right or ""))
            if right is None:
                names = (NO_RIGHT_TH, NO_RIGHT_EN)
            else:
                names = (label.label_th, label.label_en) if label else (right, right)
            raise DomainError(RIGHT_NOT_ELIGIBLE, right=names[0], right_en=names[1])


def links_of(session: Session, account: LineAccount) -> list[FamilyLink]:
    """The persons the account acts for, the holder first."""
    return list(
        session.scalars(
            select(FamilyLink)
            .where(FamilyLink.line_account_id == account.id)
            .order_by(FamilyLink.slot)
        )
    )


def self_link(session: Session, account: LineAccount) -> FamilyLink | None:
    return session.scalar(
        select(FamilyLink).where(
            FamilyLink.line_account_id == account.id, FamilyLink.slot == SELF_SLOT
        )
    )


def _wanted_link_id(link_id: object) -> int | None:
    try:
        wanted = int(str(link_id))
    except ValueError:
        return None
    return wanted if 0 < wanted <= MAX_ROW_ID else None


def get_link(session: Session, account: LineAccount, link_id: object) -> FamilyLink:
    """One of the account's links by id (its person loaded); raises FAMILY_MEMBER_NOT_FOUND."""
    wanted = _wanted_link_id(link_id)
    if wanted is None:
        raise DomainError(FAMILY_MEMBER_NOT_FOUND)
    link = session.get(FamilyLink, wanted, options=[joinedload(FamilyLink.person)])
    if link is None or link.line_account_id != account.id:
        raise DomainError(FAMILY_MEMBER_NOT_FOUND)
    return link


def acting_link(session: Session, account: LineAccount, link_id: object) -> FamilyLink:
    """The link a holder who registered themselves acts through, in one query.

    Raises SELF_REGISTRATION_REQUIRED (the holder has no link of their own yet), then
    FAMILY_MEMBER_NOT_FOUND (not one of the account's links).
    """
    wanted = _wanted_link_id(link_id)
    mine = FamilyLink.slot == SELF_SLOT
    rows = session.scalars(
        select(FamilyLink)
        .options(joinedload(FamilyLink.person))
        .where(
            FamilyLink.line_account_id == account.id,
            mine if wanted is None else or_(mine, FamilyLink.id == wanted),
        )
    ).all()
    if not any(row.slot == SELF_SLOT for row in rows):
        raise DomainError(SELF_REGISTRATION_REQUIRED)
    link = next((row for row in rows if row.id == wanted), None)
    if link is None:
        raise DomainError(FAMILY_MEMBER_NOT_FOUND)
    return link


def _registry_person(
    session: Session, protector: DataProtector, raw_cid: object, raw_birth_date: object
) -> Person:
    """The person of a typed CID and birth date, before anything else is said about them.

    A birth date that does not match the registry gets the answer of an unknown CID, so
    whoever types an ID learns nothing (right, age, death, links) without knowing the date.
    """
    cid = parse_cid(raw_cid)
    birth = parse_birth_date(raw_birth_date)
    person = find_person(session, protector, cid)
    if person is None or not birth.matches(person):
        raise DomainError("PERSON_NOT_FOUND")
    if person.deceased:
        raise DomainError("PERSON_DECEASED")
    return person


def check_self_candidate(
    session: Session,
    protector: DataProtector,
    account: LineAccount,
    raw_cid: object,
    raw_birth_date: object,
    policy: RegistrationPolicy,
    today: dt.date | None = None,
) -> Person:
    """The registry person of a CID and birth date the holder gives as their own.

    Every check of register_self that needs no phone, so a chat can refuse before asking for
    the phone. Raises CONSENT_REQUIRED, CID_*, BIRTH_DATE_*, PERSON_NOT_FOUND (also for a
    birth date that does not match), PERSON_DECEASED, AGE_TOO_YOUNG, RIGHT_NOT_ELIGIBLE,
    SELF_ALREADY_REGISTERED or FAMILY_ALREADY_LINKED. Another account holding the person as
    its own is no refusal: register_self then gives a pending link.
    """
    require_consent(account)
    person = _registry_person(session, protector, raw_cid, raw_birth_date)
    today = today or service_day()
    if person.age_on(today) < policy.min_self_age:
        raise DomainError(AGE_TOO_YOUNG, min_age=policy.min_self_age)
    policy.check_right(person)
    existing = self_link(session, account)
    if existing is not None:
        if existing.person_id != person.id:
            raise DomainError(SELF_ALREADY_REGISTERED)
        return person
    if _link_for(session, account, person) is not None:
        raise DomainError(FAMILY_ALREADY_LINKED)
    return person


def _held_as_self(session: Session, person: Person) -> bool:
    """Whether another account holds the person as its own through a link that gives access."""
    return (
        session.scalar(
            select(FamilyLink.id).where(
                FamilyLink.person_id == person.id,
                FamilyLink.slot == SELF_SLOT,
                FamilyLink.level != "pending",
            )
        )
        is not None
    )


def register_self(
    session: Session,
    protector: DataProtector,
    account: LineAccount,
    raw_cid: object,
    raw_phone: object,
    raw_birth_date: object,
    policy: RegistrationPolicy,
    today: dt.date | None = None,
) -> FamilyLink:
    """Link the account holder's own CID and mobile (again: updates the mobile).

    The link is *claimed*; it is *pending* when another account already holds the person as
    its own (claimed or verified): verifying it at a counter or with ThaID then moves the
    person here (link_trust.verify_link). Raises CONSENT_REQUIRED, CID_*, BIRTH_DATE_*,
    PHONE_*, PERSON_NOT_FOUND, PERSON_DECEASED, AGE_TOO_YOUNG, RIGHT_NOT_ELIGIBLE,
    SELF_ALREADY_REGISTERED or FAMILY_ALREADY_LINKED.
    """
    person = check_self_candidate(
        session, protector, account, raw_cid, raw_birth_date, policy, today
    )
    phone = parse_mobile(raw_phone)

    existing = self_link(session, account)
    if existing is not None:  # the same person: check_self_candidate refused another
        existing.phone = phone
        session.flush()
        return existing
    if _link_for(session, account, person) is not None:
        raise DomainError(FAMILY_ALREADY_LINKED)
    link_trust.lock_person(session, person.id)
    link = None
    for level in ("pending",) if _held_as_self(session, person) else ("claimed", "pending"):
        try:  # claimed loses to another account's self link committed meanwhile: wait then
            with session.begin_nested():
                link = FamilyLink(
                    line_account_id=account.id,
                    person_id=person.id,
                    slot=SELF_SLOT,
                    relation="self",
                    phone=phone,
                    level=level,
                )
                session.add(link)
            break
        except IntegrityError:
            link = None
    if link is None:  # this account registered someone in a concurrent request
        raise DomainError(SELF_ALREADY_REGISTERED)
    audit.record(
        session,
        f"line:{account.id}",
        "line.register_self",
        f"family_link:{link.id}",
        {"person_id": person.id, "level": link.level},
    )
    return link


def _link_for(session: Session, account: LineAccount, person: Person) -> FamilyLink | None:
    return session.scalar(
        select(FamilyLink).where(
            FamilyLink.line_account_id == account.id, FamilyLink.person_id == person.id
        )
    )


def check_can_add_family(session: Session, account: LineAccount) -> None:
    """Raise CONSENT_REQUIRED, SELF_REGISTRATION_REQUIRED or FAMILY_FULL if no one can be added."""
    require_consent(account)
    if self_link(session, account) is None:
        raise DomainError(SELF_REGISTRATION_REQUIRED)
    family = (
        session.scalar(
            select(func.count())
            .select_from(FamilyLink)
            .where(FamilyLink.line_account_id == account.id, FamilyLink.slot != SELF_SLOT)
        )
        or 0
    )
    if family >= MAX_FAMILY_MEMBERS:
        raise DomainError(FAMILY_FULL)


def check_family_candidate(
    session: Session,
    protector: DataProtector,
    account: LineAccount,
    raw_cid: object,
    raw_birth_date: object,
    policy: RegistrationPolicy,
) -> Person:
    """The registry person of a CID and birth date given for a family member, if addable.

    The checks of add_family_member that need no phone or relation. Raises the refusals of
    check_can_add_family, CID_*, BIRTH_DATE_*, PERSON_NOT_FOUND (also for a birth date that
    does not match), PERSON_DECEASED, RIGHT_NOT_ELIGIBLE or FAMILY_ALREADY_LINKED.
    """
    check_can_add_family(session, account)
    person = _registry_person(session, protector, raw_cid, raw_birth_date)
    policy.check_right(person)
    if _link_for(session, account, person) is not None:
        raise DomainError(FAMILY_ALREADY_LINKED)
    return person


def add_family_member(
    session: Session,
    protector: DataProtector,
    account: LineAccount,
    raw_cid: object,
    raw_phone: object,
    raw_birth_date: object,
    relation: object,
    policy: RegistrationPolicy,
) -> FamilyLink:
    """Link a family member in the first free slot (1-5).

    The link is *claimed*, or *pending* (no access at all) when the person is the verified
    own account of another LINE user, whose approval it then waits for. Raises
    CONSENT_REQUIRED, SELF_REGISTRATION_REQUIRED, RELATION_INVALID, CID_*, BIRTH_DATE_*,
    PHONE_*, PERSON_NOT_FOUND (also for a birth date that does not match), PERSON_DECEASED,
    RIGHT_NOT_ELIGIBLE, FAMILY_ALREADY_LINKED or FAMILY_FULL. The account row lock queues
    concurrent adds; the slot constraints are the last word if anything else slips through.
    """
    require_consent(account)
    relation_code = str(relation or "").strip().lower()
    if relation_code not in RELATIONS:
        raise DomainError(RELATION_INVALID)
    person = _registry_person(session, protector, raw_cid, raw_birth_date)
    phone = parse_mobile(raw_phone)
    policy.check_right(person)
    lock_account(session, account)
    if self_link(session, account) is None:
        raise DomainError(SELF_REGISTRATION_REQUIRED)
    link_trust.lock_person(session, person.id)  # queue behind a verification of the person
    level = "claimed" if link_trust.verified_self_link(session, person.id) is None else "pending"
    for _ in range(MAX_FAMILY_MEMBERS):
        if _link_for(session, account, person) is not None:
            raise DomainError(FAMILY_ALREADY_LINKED)
        used = set(
            session.scalars(select(FamilyLink.slot).where(FamilyLink.line_account_id == account.id))
        )
        free = [s for s in range(1, MAX_FAMILY_MEMBERS + 1) if s not in used]
        if not free:
            raise DomainError(FAMILY_FULL)
        link = FamilyLink(
            line_account_id=account.id,
            person_id=person.id,
            slot=free[0],
            relation=relation_code,
            phone=phone,
            level=level,
        )
        try:
            with session.begin_nested():
                session.add(link)
        except IntegrityError:
            continue  # another request took the slot (or the person) first: look again
        audit.record(
            session,
            f"line:{account.id}",
            "line.add_family",
            f"family_link:{link.id}",
            {"person_id": person.id, "slot": link.slot, "level": level},
        )
        return link
    raise DomainError(FAMILY_FULL)


def remove_family_member(session: Session, account: LineAccount, link_id: object) -> None:
    """Unlink a family member (not the holder); raises FAMILY_MEMBER_NOT_FOUND."""
    link = get_link(session, account, link_id)
    if link.slot == SELF_SLOT:
        raise DomainError(FAMILY_MEMBER_NOT_FOUND)
    # Queue behind an approval or removal of the person's links (the order they lock in),
    # then make sure the link is still there.
    link_trust.lock_person(session, link.person_id)
    if (
        session.scalar(select(FamilyLink.id).where(FamilyLink.id == link.id).with_for_update())
        is None
    ):
        raise DomainError(FAMILY_MEMBER_NOT_FOUND)
    audit.record(
        session,
        f"line:{account.id}",
        "line.remove_family",
        f"family_link:{link.id}",
        {"person_id": link.person_id, "slot": link.slot},
    )
    session.delete(link)
    session.flush()


@dataclass(frozen=True)
class RightsView:
    """What a link may see of a person's rights: eligible or not, and detail if verified."""

    eligible: bool
    detail: Rights | None


def rights_view(
    session: Session, lookup: RightsLookup, policy: RegistrationPolicy, link: FamilyLink
) -> RightsView:
    """The person's rights as the link's level allows; raises LINK_PENDING."""
    link_trust.require(link, link_trust.ELIGIBILITY)
    person = link.person
    eligible = (person.main_right or None) in policy.eligible_rights
    if not link_trust.can(link, link_trust.RIGHTS_DETAIL):
        return RightsView(eligible, None)
    return RightsView(eligible, lookup.rights_for(session, person))

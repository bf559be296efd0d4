"""The person's own say over who acts for them (issue 17, points 5 and 6).

From their own *verified* LINE account a person sees every other account's link to them,
removes any of them, and says "this was not me" about an account that added them or asked
for a code in their name: that account's link to them goes, and every code it asked for in
their name is flagged for the issuing facility's review. A merely claimed self link gets
none of this: it may be the impostor.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from authencode.db import MAX_ROW_ID, utcnow
from authencode.errors import DomainError, register
from authencode.models import AuthenCode, FamilyLink, LineAccount
from authencode.services import audit, link_trust
from authencode.services.registration import (
    FAMILY_MEMBER_NOT_FOUND,
    SELF_REGISTRATION_REQUIRED,
    self_link,
)

MAX_SHOWN_CODES = 12  # one carousel

CODE_NOT_FOUND = register(
    "CODE_NOT_FOUND",
    "not_found",
    "No such code was asked for in your name through another LINE account.",
    "ไม่พบรหัสนี้ในรายการที่บัญชี LINE อื่นขอในชื่อของท่าน",
)


@dataclass(frozen=True)
class Removed:
    """A link the person removed: whose it was and what it said."""

    account_id: int
    relation: str
    slot: int
    level: str


@dataclass(frozen=True)
class NotMe:
    """The outcome of "this was not me" about one other account."""

    account_id: int
    removed: Removed | None
    flagged: list[AuthenCode]


def own_verified_link(session: Session, account: LineAccount) -> FamilyLink:
    """The account's own link, which must be verified; raises SELF_REGISTRATION_REQUIRED
    or LINK_NOT_VERIFIED."""
    own = self_link(session, account)
    if own is None:
        raise DomainError(SELF_REGISTRATION_REQUIRED)
    if not own.is_verified:
        raise DomainError(link_trust.LINK_NOT_VERIFIED)
    return own


def linked_by(session: Session, account: LineAccount) -> list[FamilyLink]:
    """Every other account's link to the account holder, oldest first (any level).

    Raises the refusals of own_verified_link.
    """
    own = own_verified_link(session, account)
    return list(
        session.scalars(
            select(FamilyLink)
            .where(FamilyLink.person_id == own.person_id, FamilyLink.id != own.id)
            .order_by(FamilyLink.created_at, FamilyLink.id)
        )
    )


def _row_id(value: object) -> int | None:
    try:
        wanted = int(str(value))
    except ValueError:
        return None
    return wanted if 0 < wanted <= MAX_ROW_ID else None


def _remove(
    session: Session, own: FamilyLink, link: FamilyLink, actor: str, action: str
) -> Removed:
    removed = Removed(link.line_account_id, link.relation, link.slot, link.level)
    audit.record(
        session,
        actor,
        action,
        f"family_link:{link.id}",
        {"person_id": own.person_id, "account": link.line_account_id, "level": link.level},
    )
    session.delete(link)
    session.flush()
    return removed


def remove_link(session: Session, account: LineAccount, link_id: object) -> Removed:
    """The person removes another account's link to them; audited.

    Raises the refusals of own_verified_link, then FAMILY_MEMBER_NOT_FOUND.
    """
    own = own_verified_link(session, account)
    wanted = _row_id(link_id)
    link_trust.lock_person(session, own.person_id)
    link = (
        None
        if wanted is None
        else session.scalar(
            select(FamilyLink)
            .where(FamilyLink.id == wanted)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    if link is None or link.person_id != own.person_id or link.id == own.id:
        raise DomainError(FAMILY_MEMBER_NOT_FOUND)
    return _remove(session, own, link, f"line:{account.id}", "link.removed_by_person")


def not_me(
    session: Session,
    account: LineAccount,
    *,
    other_account_id: object = None,
    code_id: object = None,
    now: dt.datetime | None = None,
) -> NotMe:
    """ "This was not me" about the account that linked the holder or asked for a code.

    That account's link to the holder goes, and every code it asked for in the holder's
    name is flagged for the facility's review (once); audited. Saying it again finds nothing
    more to do. Raises the refusals of own_verified_link, then CODE_NOT_FOUND or
    FAMILY_MEMBER_NOT_FOUND (no other account named).
    """
    own = own_verified_link(session, account)
    link_trust.lock_person(session, own.person_id)
    if code_id is not None:
        wanted = _row_id(code_id)
        code = None if wanted is None else session.get(AuthenCode, wanted)
        if (
            code is None
            or code.person_id != own.person_id
            or code.line_account_id in (None, account.id)
        ):
            raise DomainError(CODE_NOT_FOUND)
        other: int | None = code.line_account_id
    else:
        other = _row_id(other_account_id)
    if other is None or other == account.id:
        raise DomainError(FAMILY_MEMBER_NOT_FOUND)
    actor = f"line:{account.id}"
    link = session.scalar(
        select(FamilyLink)
        .where(FamilyLink.person_id == own.person_id, FamilyLink.line_account_id == other)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    removed = None if link is None else _remove(session, own, link, actor, "link.not_me")
    codes = list(
        session.scalars(
            select(AuthenCode)
            .where(
                AuthenCode.person_id == own.person_id,
                AuthenCode.line_account_id == other,
                AuthenCode.disputed_at.is_(None),
            )
            .order_by(AuthenCode.id)
        )
    )
    moment = now or utcnow()
    for code in codes:
        code.disputed_at = moment
        audit.record(
            session,
            actor,
            "code.disputed",
            f"authen_code:{code.id}",
            {"person_id": own.person_id, "account": other, "facility_id": code.facility_id},
        )
    session.flush()
    return NotMe(other, removed, codes)


def codes_requested_by(
    session: Session,
    person_id: int,
    account_ids: tuple[int, ...] | list[int],
    limit: int = MAX_SHOWN_CODES,
) -> list[AuthenCode]:
    """The newest codes the given accounts asked for in the person's name."""
    if not account_ids:
        return []
    return list(
        session.scalars(
            select(AuthenCode)
            .where(AuthenCode.person_id == person_id, AuthenCode.line_account_id.in_(account_ids))
            .order_by(AuthenCode.service_at.desc(), AuthenCode.id.desc())
            .limit(limit)
        )
    )


def codes_through_others(
    session: Session, account: LineAccount, limit: int = MAX_SHOWN_CODES
) -> list[AuthenCode]:
    """The newest codes other LINE accounts asked for in the holder's name.

    Raises the refusals of own_verified_link.
    """
    own = own_verified_link(session, account)
    return list(
        session.scalars(
            select(AuthenCode)
            .where(
                AuthenCode.person_id == own.person_id,
                AuthenCode.line_account_id.is_not(None),
                AuthenCode.line_account_id != account.id,
            )
            .order_by(AuthenCode.service_at.desc(), AuthenCode.id.desc())
            .limit(limit)
        )
    )

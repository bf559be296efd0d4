"""Codes a patient asks for from LINE: scan the clinic's QR for a linked person; their history."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.db import utcnow
from authencode.models import AuthenCode, FamilyLink, LineAccount
from authencode.services import issuance, link_trust, qr_tokens
from authencode.services.consent import require_consent
from authencode.services.issuance import Issued
from authencode.services.registration import RegistrationPolicy, acting_link
from authencode.thaidate import service_day

MAX_HISTORY = 100
LINE_CHANNEL = "line"
LINE_METHOD = "line_qr"


def request_by_qr(
    session: Session,
    protector: DataProtector,
    account: LineAccount,
    link_id: object,
    scanned: str,
    policy: RegistrationPolicy,
    now: dt.datetime | None = None,
) -> tuple[Issued, FamilyLink]:
    """Issue today's code for a linked person at the scanned QR's facility and service.

    A claimed link may use only a counter's rotating display QR (staff see the person), a
    verified one also a printed poster; a pending link nothing. Scanning the same QR again
    the same day returns the code already issued. Raises CONSENT_REQUIRED,
    SELF_REGISTRATION_REQUIRED, FAMILY_MEMBER_NOT_FOUND, LINK_PENDING, the QR_* refusals of
    qr_tokens.verify, LINK_NOT_VERIFIED (a poster through an unverified link),
    RIGHT_NOT_ELIGIBLE and the refusals of issuance.issue_code.
    """
    require_consent(account)
    link = acting_link(session, account, link_id)
    link_trust.require(link, link_trust.DISPLAY_QR)  # pending: refused before the QR is read
    now = now or utcnow()
    claim = qr_tokens.verify(session, protector, scanned, now=now)
    link_trust.require(link, link_trust.DISPLAY_QR if claim.is_display else link_trust.POSTER_QR)
    policy.check_right(link.person)
    issued = issuance.issue_code(
        session,
        link.person,
        hcode=claim.hcode,
        service_code=claim.service_code,
        phones=link.phone,
        channel=LINE_CHANNEL,
        verify_method=LINE_METHOD,
        line_account_id=account.id,
        now=now,
    )
    return issued, link


def visible_to(account: LineAccount, person_id: int | None = None) -> ColumnElement[bool]:
    """Which codes the account may see: those it requested itself through a claimed or
    verified link to the person, and every code of a person it holds a verified link to.

    A pending link shows nothing, and no one sees a person's codes through another
    account's link.
    """
    links = select(FamilyLink.person_id).where(FamilyLink.line_account_id == account.id)
    if person_id is not None:
        links = links.where(FamilyLink.person_id == person_id)
    every = links.where(FamilyLink.level.in_(link_trust.levels_allowing(link_trust.FULL_HISTORY)))
    own = links.where(FamilyLink.level.in_(link_trust.levels_allowing(link_trust.OWN_HISTORY)))
    return or_(
        AuthenCode.person_id.in_(every),
        and_(AuthenCode.person_id.in_(own), AuthenCode.line_account_id == account.id),
    )


def codes_for_account(
    session: Session,
    account: LineAccount,
    *,
    day: dt.date | None = None,
    person_id: int | None = None,
    limit: int = MAX_HISTORY,
) -> list[AuthenCode]:
    """The codes the account may see (visible_to) of the persons it acts for, newest first."""
    stmt = select(AuthenCode).where(visible_to(account, person_id))
    if day is not None:
        stmt = stmt.where(AuthenCode.service_date == day)
    stmt = stmt.order_by(AuthenCode.service_at.desc(), AuthenCode.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def count_for_account(session: Session, account: LineAccount, person_id: int | None = None) -> int:
    """How many codes codes_for_account could list without its limit."""
    return (
        session.scalar(
            select(func.count()).select_from(AuthenCode).where(visible_to(account, person_id))
        )
        or 0
    )


def codes_today(
    session: Session, account: LineAccount, now: dt.datetime | None = None
) -> list[AuthenCode]:
    """Today's codes (service day in Asia/Bangkok) of the persons the account acts for."""
    return codes_for_account(session, account, day=service_day(now))

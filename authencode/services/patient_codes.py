"""Codes a patient asks for from LINE: scan the clinic's QR for a linked person; their history."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.db import utcnow
from authencode.models import AuthenCode, FamilyLink, LineAccount
from authencode.services import issuance, qr_tokens
from authencode.services.consent import require_consent
from authencode.services.issuance import Issued
from authencode.services.registration import RegistrationPolicy, acting_link
from authencode.thaidate import service_day

MAX_HISTORY = 100
LINE_CHANNEL = "line"
LINE_METHOD = "line_qr"


def request_by_qr(session: Session, protector: DataProtector, account: LineAccount,
                  link_id: object, scanned: str, policy: RegistrationPolicy,
                  now: dt.datetime | None = None) -> tuple[Issued, FamilyLink]:
    """Issue today's code for a linked person at the scanned QR's facility and service.

    Scanning the same QR again the same day returns the code already issued. Raises
    CONSENT_REQUIRED, SELF_REGISTRATION_REQUIRED, FAMILY_MEMBER_NOT_FOUND, the QR_*
    refusals of qr_tokens.verify, RIGHT_NOT_ELIGIBLE and the refusals of issuance.issue_code.
    """
    require_consent(account)
    link = acting_link(session, account, link_id)
    now = now or utcnow()
    claim = qr_tokens.verify(session, protector, scanned, now=now)
    policy.check_right(link.person)
    issued = issuance.issue_code(
        session, link.person, hcode=claim.hcode, service_code=claim.service_code,
        phones=link.phone, channel=LINE_CHANNEL, verify_method=LINE_METHOD,
        line_account_id=account.id, now=now,
    )
    return issued, link


def codes_for_account(session: Session, account: LineAccount, *, day: dt.date | None = None,
                      person_id: int | None = None,
                      limit: int = MAX_HISTORY) -> list[AuthenCode]:
    """Codes of the persons the account acts for (any channel), newest first."""
    linked = select(FamilyLink.person_id).where(FamilyLink.line_account_id == account.id)
    stmt = select(AuthenCode).where(AuthenCode.person_id.in_(linked))
    if person_id is not None:
        stmt = stmt.where(AuthenCode.person_id == person_id)
    if day is not None:
        stmt = stmt.where(AuthenCode.service_date == day)
    stmt = stmt.order_by(AuthenCode.service_at.desc(), AuthenCode.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def codes_today(session: Session, account: LineAccount,
                now: dt.datetime | None = None) -> list[AuthenCode]:
    """Today's codes (service day in Asia/Bangkok) of the persons the account acts for."""
    return codes_for_account(session, account, day=service_day(now))

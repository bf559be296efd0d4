"""Verifying a family link through ThaID, the national digital ID, over OpenID Connect.

A patient asks to verify one of their links: ``start`` keeps a pending authorization (state,
nonce, PKCE verifier, the link, the LINE account, a browser binding, ten minutes' life) and
returns the provider's authorization URL. The provider sends the browser back with ``state``
and ``code``: ``take_pending`` uses the authorization up (once, whatever follows; the caller
commits that on its own), ``claims_for`` redeems the code with the verifier and checks the ID
token (authencode.oidc), and ``verify`` compares the token's citizen ID with the link's person
and verifies the link (link_trust.verify_link: a self link reclaims the person).

A guardian's link to a child under 15 is verified only at a clinic counter: a child's ThaID
in a guardian's hands proves nothing about the guardian.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from authencode.cid import is_valid_cid, parse_cid
from authencode.crypto import DataProtector
from authencode.db import utcnow
from authencode.errors import DomainError, register
from authencode.models import FamilyLink, LineAccount, ThaidAuthorization
from authencode.oidc import OpenIdClient, ProviderUnavailable, TokenRefused
from authencode.services import audit, link_trust
from authencode.services.registration import get_link
from authencode.thaidate import service_day

log = logging.getLogger(__name__)

PENDING_TTL = dt.timedelta(minutes=10)
SECRETS_CONTEXT = "thaid"  # the data-key context of a pending sign-in's nonce and verifier
KEEP_USED = dt.timedelta(days=1)  # used and expired rows are purged after this
ACTOR = "thaid"

THAID_NOT_CONFIGURED = register(
    "THAID_NOT_CONFIGURED",
    "not_found",
    "ThaID is not set up on this server.",
    "ระบบยังไม่ได้เปิดใช้การยืนยันตัวตนด้วย ThaID",
)
THAID_UNAVAILABLE = register(
    "THAID_UNAVAILABLE",
    "unavailable",
    "ThaID cannot be reached right now. Please try again shortly.",
    "ไม่สามารถติดต่อระบบ ThaID ได้ในขณะนี้ กรุณาลองใหม่อีกครั้ง",
)
THAID_ALREADY_VERIFIED = register(
    "THAID_ALREADY_VERIFIED", "conflict", "This link is already verified.", "รายการนี้ยืนยันตัวตนแล้ว"
)
THAID_MINOR_COUNTER_ONLY = register(
    "THAID_MINOR_COUNTER_ONLY",
    "forbidden",
    "A guardian's link to a child under 15 can be verified only at a clinic counter, with "
    "the guardian's ID card.",
    "การยืนยันผู้ปกครองของเด็กอายุต่ำกว่า 15 ปี ทำได้ที่จุดบริการของหน่วยบริการเท่านั้น โดยแสดงบัตรประชาชนของผู้ปกครอง",
)
THAID_STATE_INVALID = register(
    "THAID_STATE_INVALID",
    "invalid",
    "This ThaID sign-in was not started here (unknown or altered request). Please start "
    "again from the LINE app.",
    "ไม่พบคำขอยืนยันตัวตนนี้ หรือคำขอถูกแก้ไข กรุณาเริ่มยืนยันตัวตนใหม่จากแอป LINE",
)
THAID_AUTHORIZATION_EXPIRED = register(
    "THAID_AUTHORIZATION_EXPIRED",
    "gone",
    "This ThaID sign-in has expired or was already used. Please start again from the LINE app.",
    "คำขอยืนยันตัวตนนี้หมดอายุหรือถูกใช้ไปแล้ว กรุณาเริ่มยืนยันตัวตนใหม่จากแอป LINE",
)
THAID_BROWSER_MISMATCH = register(
    "THAID_BROWSER_MISMATCH",
    "forbidden",
    "This ThaID sign-in was started on another phone or browser. Please start it again "
    "where you want to finish it.",
    "คำขอยืนยันตัวตนนี้เริ่มจากโทรศัพท์หรือเบราว์เซอร์อื่น กรุณาเริ่มใหม่บนเครื่องที่ใช้ยืนยันตัวตน",
)
THAID_DENIED = register(
    "THAID_DENIED",
    "forbidden",
    "The ThaID sign-in was cancelled or refused.",
    "การยืนยันตัวตนด้วย ThaID ถูกยกเลิกหรือไม่ได้รับอนุญาต",
)
THAID_EXCHANGE_REFUSED = register(
    "THAID_EXCHANGE_REFUSED",
    "forbidden",
    "ThaID refused this sign-in (the code does not belong to this request). Please start "
    "again from the LINE app.",
    "ThaID ปฏิเสธการยืนยันตัวตนนี้ (รหัสไม่ตรงกับคำขอ) กรุณาเริ่มใหม่จากแอป LINE",
)
THAID_TOKEN_INVALID = register(
    "THAID_TOKEN_INVALID",
    "forbidden",
    "The identity token from ThaID could not be verified (signature or content).",
    "ไม่สามารถตรวจสอบข้อมูลยืนยันตัวตนจาก ThaID ได้ (ลายมือชื่อดิจิทัลหรือข้อมูลไม่ถูกต้อง)",
)
THAID_ISSUER_MISMATCH = register(
    "THAID_ISSUER_MISMATCH",
    "forbidden",
    "The identity token was not issued by ThaID.",
    "ข้อมูลยืนยันตัวตนไม่ได้ออกโดย ThaID",
)
THAID_AUDIENCE_MISMATCH = register(
    "THAID_AUDIENCE_MISMATCH",
    "forbidden",
    "The identity token was issued for another service.",
    "ข้อมูลยืนยันตัวตนนี้ออกให้บริการอื่น ไม่ใช่บริการนี้",
)
THAID_TOKEN_EXPIRED = register(
    "THAID_TOKEN_EXPIRED",
    "forbidden",
    "The identity token from ThaID has expired. Please start again.",
    "ข้อมูลยืนยันตัวตนจาก ThaID หมดอายุแล้ว กรุณาเริ่มใหม่",
)
THAID_NONCE_MISMATCH = register(
    "THAID_NONCE_MISMATCH",
    "forbidden",
    "The identity token does not belong to this sign-in (it may be replayed).",
    "ข้อมูลยืนยันตัวตนไม่ตรงกับคำขอนี้ (อาจเป็นข้อมูลที่ถูกนำกลับมาใช้ซ้ำ)",
)
THAID_CID_MISSING = register(
    "THAID_CID_MISSING",
    "forbidden",
    "ThaID did not say which citizen ID signed in.",
    "ThaID ไม่ได้ส่งเลขประจำตัวประชาชนของผู้ยืนยันตัวตนมา",
)
THAID_CID_MISMATCH = register(
    "THAID_CID_MISMATCH",
    "forbidden",
    "The person who signed in with ThaID is not the person on this link; nothing was changed.",
    "ผู้ที่ยืนยันตัวตนด้วย ThaID ไม่ใช่บุคคลในรายการนี้ จึงไม่มีการเปลี่ยนแปลงใด ๆ",
)

_REFUSALS = {
    "exchange": THAID_EXCHANGE_REFUSED,
    "signature": THAID_TOKEN_INVALID,
    "issuer": THAID_ISSUER_MISMATCH,
    "audience": THAID_AUDIENCE_MISMATCH,
    "expired": THAID_TOKEN_EXPIRED,
    "nonce": THAID_NONCE_MISMATCH,
    "claims": THAID_TOKEN_INVALID,
}


@dataclass(frozen=True)
class Started:
    """Where to send the browser, and the secret its binding cookie must carry back."""

    url: str
    browser_secret: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class Pending:
    """A used-up pending authorization: what the callback needs to finish."""

    link_id: int
    account_id: int
    nonce: str
    code_verifier: str
    browser_matches: bool


def check_may_verify(link: FamilyLink, today: dt.date | None = None) -> None:
    """Raise THAID_ALREADY_VERIFIED or THAID_MINOR_COUNTER_ONLY unless ThaID may verify it."""
    if link.is_verified:
        raise DomainError(THAID_ALREADY_VERIFIED)
    # link_trust's rule (a minor's link: counter or registry office only), answered before the
    # sign-in starts, with ThaID's own message
    if "thaid" not in link_trust.verification_methods_allowed(link, today or service_day()):
        raise DomainError(THAID_MINOR_COUNTER_ONLY)


def start(
    session: Session,
    protector: DataProtector,
    client: OpenIdClient,
    account: LineAccount,
    link_id: object,
    *,
    now: dt.datetime | None = None,
) -> Started:
    """Begin verifying one of the account's links; raises FAMILY_MEMBER_NOT_FOUND,
    THAID_ALREADY_VERIFIED, THAID_MINOR_COUNTER_ONLY or THAID_UNAVAILABLE."""
    now = now or utcnow()
    link = get_link(session, account, link_id)
    check_may_verify(link)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier, browser = secrets.token_urlsafe(48), secrets.token_urlsafe(32)
    try:
        url = client.authorization_url(state=state, nonce=nonce, code_verifier=verifier)
    except ProviderUnavailable as exc:
        log.warning("ThaID unavailable: %s", exc)
        raise DomainError(THAID_UNAVAILABLE) from None
    session.execute(
        delete(ThaidAuthorization).where(ThaidAuthorization.expires_at < now - KEEP_USED)
    )
    expires_at = now + PENDING_TTL
    session.add(
        ThaidAuthorization(
            state_hash=protector.lookup_hash(state, "thaid-state"),
            browser_hash=protector.lookup_hash(browser, "thaid-browser"),
            secrets_enc=protector.encrypt(
                json.dumps({"nonce": nonce, "verifier": verifier}), SECRETS_CONTEXT
            ),
            family_link_id=link.id,
            line_account_id=account.id,
            created_at=now,
            expires_at=expires_at,
        )
    )
    session.flush()
    audit.record(
        session,
        f"line:{account.id}",
        "thaid.started",
        f"family_link:{link.id}",
        {"person_id": link.person_id},
    )
    return Started(url=url, browser_secret=browser, expires_at=expires_at)


def take_pending(
    session: Session,
    protector: DataProtector,
    state: str | None,
    browser_secret: str | None,
    *,
    now: dt.datetime | None = None,
) -> Pending:
    """Use up the pending authorization ``state`` names (at most once, also when two
    callbacks race); raises THAID_STATE_INVALID or THAID_AUTHORIZATION_EXPIRED.

    The caller commits this before anything else, so a refused sign-in cannot be retried
    with the same state.
    """
    now = now or utcnow()
    if not state or len(state) > 256:
        raise DomainError(THAID_STATE_INVALID)
    row = session.scalar(
        select(ThaidAuthorization).where(
            ThaidAuthorization.state_hash.in_(protector.lookup_hashes(state, "thaid-state"))
        )
    )
    if row is None:
        raise DomainError(THAID_STATE_INVALID)
    used = session.execute(
        update(ThaidAuthorization)
        .where(
            ThaidAuthorization.id == row.id,
            ThaidAuthorization.used_at.is_(None),
            ThaidAuthorization.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise DomainError(THAID_AUTHORIZATION_EXPIRED)
    kept = json.loads(protector.decrypt(row.secrets_enc, SECRETS_CONTEXT))
    return Pending(
        link_id=row.family_link_id,
        account_id=row.line_account_id,
        nonce=kept["nonce"],
        code_verifier=kept["verifier"],
        browser_matches=bool(browser_secret)
        and protector.matches(row.browser_hash, browser_secret or "", "thaid-browser"),
    )


def claims_for(
    client: OpenIdClient, pending: Pending, *, code: str | None, error: str | None
) -> dict[str, Any]:
    """Redeem the provider's code for checked ID-token claims (no database: a network call
    is never made inside a transaction); raises a THAID_* refusal."""
    if not pending.browser_matches:
        raise DomainError(THAID_BROWSER_MISMATCH)
    if error or not code:
        raise DomainError(THAID_DENIED)
    try:
        return client.exchange(code=code, code_verifier=pending.code_verifier, nonce=pending.nonce)
    except TokenRefused as refused:
        log.info("ThaID token refused: %s", refused.reason)
        raise DomainError(_REFUSALS[refused.reason]) from None
    except ProviderUnavailable as exc:
        log.warning("ThaID unavailable: %s", exc)
        raise DomainError(THAID_UNAVAILABLE) from None


def verify(
    session: Session,
    protector: DataProtector,
    pending: Pending,
    claims: dict[str, Any],
    *,
    cid_claim: str,
) -> link_trust.Verified:
    """Verify the pending authorization's link when the token's citizen ID is its person's;
    raises THAID_CID_MISSING, THAID_CID_MISMATCH, FAMILY_MEMBER_NOT_FOUND (link removed
    meanwhile) or THAID_MINOR_COUNTER_ONLY."""
    raw = claims.get(cid_claim)
    if not isinstance(raw, str | int) or not is_valid_cid(str(raw)):
        raise DomainError(THAID_CID_MISSING)
    cid = parse_cid(str(raw))
    link = session.get(FamilyLink, pending.link_id)
    if link is not None:
        # Behind any other change to who acts for the person (another account reclaiming
        # them may have removed this very link meanwhile), then read the link again.
        link_trust.lock_person(session, link.person_id)
        link = session.scalar(
            select(FamilyLink)
            .where(FamilyLink.id == pending.link_id)
            .execution_options(populate_existing=True)
        )
    if link is None or link.line_account_id != pending.account_id:
        raise DomainError("FAMILY_MEMBER_NOT_FOUND")
    if not protector.matches(link.person.cid_hash, cid):
        log.info("ThaID sign-in for another person refused (link %s)", link.id)
        raise DomainError(THAID_CID_MISMATCH)
    if link.is_verified:
        return link_trust.Verified(link, ())
    check_may_verify(link)
    return link_trust.verify_link(session, link, method="thaid", actor=ACTOR)

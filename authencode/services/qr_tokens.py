"""Signed clinic QR tokens: `{PUBLIC_BASE_URL}/q/<token>` names a facility and a service.

A token is ``1.<hcode>.<service code>.<expiry>.<kid>.<signature>``: the expiry is Unix
seconds in base 36 (``0`` for a printed poster, which does not expire), the kid names the
facility key it is signed with, and the signature is a truncated HMAC-SHA256 (128 bits) over
everything before it. Tokens are short so the QR stays coarse and scans at a distance.

Rotating a facility's key revokes the old one: posters printed with it stop working and
scanning them gives a message asking for the counter's current QR.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from authencode.crypto import DataProtector
from authencode.db import utcnow
from authencode.errors import DomainError, register
from authencode.models import Facility, FacilityKey
from authencode.services import audit

VERSION = "1"
DISPLAY_TTL = dt.timedelta(seconds=90)  # the counter screen refreshes well before this
DISPLAY_REFRESH = dt.timedelta(seconds=30)
_SIG_BYTES = 16
KEY_CONTEXT = "qr-key"
_TOKEN_RE = re.compile(
    r"^1\.(?P<hcode>[0-9A-Za-z]{5})\.(?P<service>[0-9A-Za-z]{1,16})\.(?P<exp>[0-9a-z]{1,8})"
    r"\.(?P<kid>[0-9A-Za-z_-]{4,16})\.(?P<sig>[0-9A-Za-z_-]{22})$"
)
MAX_SCANNED_TEXT = 2048

QR_MALFORMED = register(
    "QR_MALFORMED",
    "invalid",
    "This is not an Authen Code clinic QR code. Please scan the QR code shown at the clinic.",
    "คิวอาร์โค้ดนี้ไม่ใช่คิวอาร์โค้ดขอรหัส Authen Code ของหน่วยบริการ กรุณาสแกนคิวอาร์โค้ดที่หน่วยบริการ",
)
QR_FORGED = register(
    "QR_FORGED",
    "invalid",
    "This QR code was not issued by a registered clinic and cannot be used.",
    "คิวอาร์โค้ดนี้ไม่ได้ออกโดยหน่วยบริการที่ลงทะเบียนไว้ ไม่สามารถใช้งานได้",
)
QR_EXPIRED = register(
    "QR_EXPIRED",
    "gone",
    "This QR code has expired. Please scan the QR code on the clinic's screen again.",
    "คิวอาร์โค้ดนี้หมดอายุแล้ว กรุณาสแกนคิวอาร์โค้ดบนหน้าจอของหน่วยบริการอีกครั้ง",
)
QR_REVOKED = register(
    "QR_REVOKED",
    "gone",
    "This QR code is no longer in use. Please ask the counter for the current QR code.",
    "คิวอาร์โค้ดนี้ถูกยกเลิกการใช้งานแล้ว กรุณาขอคิวอาร์โค้ดปัจจุบันจากเจ้าหน้าที่ที่เคาน์เตอร์",
)


@dataclass(frozen=True)
class QrClaim:
    """What a verified token says."""

    hcode: str
    service_code: str
    facility_id: int
    kid: str
    expires_at: dt.datetime | None  # None for a printed poster

    @property
    def is_display(self) -> bool:
        return self.expires_at is not None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out


def _signature(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest()[:_SIG_BYTES])


def current_key(session: Session, facility: Facility) -> FacilityKey | None:
    return session.scalars(
        select(FacilityKey)
        .where(FacilityKey.facility_id == facility.id, FacilityKey.revoked_at.is_(None))
        .order_by(FacilityKey.id.desc())
        .limit(1)
    ).first()


def _insert_key(
    session: Session, protector: DataProtector, facility: Facility, actor: str
) -> FacilityKey | None:
    """A new live key, or None when a concurrent request created one first.

    The partial unique index (one unrevoked key per facility) decides the race.
    """
    key = FacilityKey(
        facility_id=facility.id,
        kid=secrets.token_urlsafe(6),
        secret_enc=protector.encrypt(_b64(secrets.token_bytes(32)), KEY_CONTEXT),
        created_by=actor,
    )
    try:
        with session.begin_nested():
            session.add(key)
            session.flush()
    except IntegrityError:
        return None
    audit.record(session, actor, "qr_key.create", f"facility:{facility.hcode}", {"kid": key.kid})
    return key


def ensure_key(
    session: Session, protector: DataProtector, facility: Facility, actor: str = "system"
) -> FacilityKey:
    """The facility's current key, created on first use (safe under concurrent first uses)."""
    key = (
        current_key(session, facility)
        or _insert_key(session, protector, facility, actor)
        or current_key(session, facility)
    )
    if key is None:  # pragma: no cover - the index guarantees a winner exists
        raise RuntimeError("no live QR key after a lost race")
    return key


def _revoke_live(session: Session, facility: Facility, actor: str) -> None:
    now = utcnow()
    for key in session.scalars(
        select(FacilityKey).where(
            FacilityKey.facility_id == facility.id, FacilityKey.revoked_at.is_(None)
        )
    ):
        key.revoked_at = now
        key.revoked_by = actor
        audit.record(
            session, actor, "qr_key.revoke", f"facility:{facility.hcode}", {"kid": key.kid}
        )
    session.flush()


def rotate_key(
    session: Session, protector: DataProtector, facility: Facility, actor: str
) -> FacilityKey:
    """Revoke every live key of the facility and start a new one. Audited.

    When another rotation commits in between, its new key is revoked too: the last wins.
    """
    for _ in range(3):
        _revoke_live(session, facility, actor)
        key = _insert_key(session, protector, facility, actor)
        if key is not None:
            return key
    raise RuntimeError("could not rotate the QR key under concurrent rotations")


def _sign(
    protector: DataProtector, key: FacilityKey, hcode: str, service_code: str, expires: int
) -> str:
    secret = protector.decrypt(key.secret_enc, KEY_CONTEXT).encode()
    payload = f"{VERSION}.{hcode}.{service_code}.{_base36(expires)}.{key.kid}"
    return f"{payload}.{_signature(secret, payload)}"


def sign_poster(
    session: Session, protector: DataProtector, facility: Facility, service_code: str
) -> str:
    """A token for a printed poster: valid until the facility's key is rotated."""
    key = ensure_key(session, protector, facility)
    return _sign(protector, key, facility.hcode, service_code, 0)


def sign_display(
    session: Session,
    protector: DataProtector,
    facility: Facility,
    service_code: str,
    now: dt.datetime | None = None,
    ttl: dt.timedelta = DISPLAY_TTL,
) -> tuple[str, dt.datetime]:
    """A short-lived token for the counter screen, and when it expires."""
    key = ensure_key(session, protector, facility)
    expires_at = (now or utcnow()) + ttl
    token = _sign(protector, key, facility.hcode, service_code, int(expires_at.timestamp()))
    return token, expires_at.replace(microsecond=0)


def qr_url(public_base_url: str, token: str) -> str:
    return f"{public_base_url.rstrip('/')}/q/{token}"


def extract_token(scanned: str) -> str:
    """The token inside what a scanner returned: a `/q/<token>` link or the bare token."""
    text = (scanned or "").strip()
    if not text or len(text) > MAX_SCANNED_TEXT:
        raise DomainError(QR_MALFORMED)
    if "/" in text:
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https"):
            raise DomainError(QR_MALFORMED)
        path = parts.path.rstrip("/")
        head, _, token = path.rpartition("/")
        if not head.endswith("/q") and head != "/q":
            raise DomainError(QR_MALFORMED)
        text = token
    if not _TOKEN_RE.match(text):
        raise DomainError(QR_MALFORMED)
    return text


def verify(
    session: Session, protector: DataProtector, scanned: str, now: dt.datetime | None = None
) -> QrClaim:
    """Check a scanned token's signature, key and expiry; raise a QR_* refusal otherwise."""
    token = extract_token(scanned)
    match = _TOKEN_RE.match(token)
    assert match is not None  # extract_token checked the shape
    key = session.scalars(
        select(FacilityKey)
        .where(FacilityKey.kid == match["kid"])
        .options(joinedload(FacilityKey.facility))
    ).first()
    if key is None or key.facility.hcode != match["hcode"]:
        raise DomainError(QR_FORGED)
    payload = token.rsplit(".", 1)[0]
    secret = protector.decrypt(key.secret_enc, KEY_CONTEXT).encode()
    if not hmac.compare_digest(_signature(secret, payload), match["sig"]):
        raise DomainError(QR_FORGED)
    if key.revoked_at is not None:
        raise DomainError(QR_REVOKED)
    expires = int(match["exp"], 36)
    expires_at = None
    if expires:
        try:
            expires_at = dt.datetime.fromtimestamp(expires, dt.UTC)
        except (OverflowError, OSError, ValueError):  # past year 9999: never one we issue
            raise DomainError(QR_MALFORMED) from None
        if (now or utcnow()) > expires_at:
            raise DomainError(QR_EXPIRED)
    return QrClaim(
        hcode=match["hcode"],
        service_code=match["service"],
        facility_id=key.facility_id,
        kid=key.kid,
        expires_at=expires_at,
    )

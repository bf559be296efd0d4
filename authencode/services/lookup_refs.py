"""Short-lived opaque references to a typed CID, so the clinic's pages never put one in a URL.

A staff member types a CID into a POST form; the page they land on names the person by a
reference instead (``?person=<ref>``), which paging links and downloads carry along. The
reference is the CID and its expiry sealed with AES-GCM under the current data key, with
the staff session as associated data: it reveals nothing, and it opens only in the session
that made it, for LIFETIME. Nothing is stored, so there is nothing to purge; a log-out (a new
session) or the end of the lifetime makes every reference refused.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib

from authencode.cid import parse_cid
from authencode.crypto import DataProtector, DecryptionError
from authencode.db import utcnow
from authencode.errors import DomainError, register

LIFETIME = dt.timedelta(minutes=30)

REF_INVALID = register(
    "LOOKUP_REF_INVALID",
    "invalid",
    "This search link is not valid in your session (it was made in another session, or "
    "changed). Please type the citizen ID again.",
    "ลิงก์การค้นหานี้ใช้ไม่ได้ในการเข้าสู่ระบบครั้งนี้ (สร้างจากการเข้าสู่ระบบอื่นหรือถูกแก้ไข) "
    "กรุณากรอกเลขประจำตัวประชาชนใหม่",
)
REF_EXPIRED = register(
    "LOOKUP_REF_EXPIRED",
    "gone",
    "This search has expired. Please type the citizen ID again.",
    "การค้นหานี้หมดอายุแล้ว กรุณากรอกเลขประจำตัวประชาชนใหม่",
)
CID_IN_URL = register(
    "CID_IN_URL",
    "invalid",
    "For privacy, a citizen ID is no longer taken from the address (it would stay in the "
    "browser's history and in proxy logs). Please type it into the form on this page.",
    "เพื่อความปลอดภัยของข้อมูล ระบบไม่รับเลขประจำตัวประชาชนทางที่อยู่เว็บ (URL) แล้ว "
    "เพราะจะถูกเก็บไว้ในประวัติของเบราว์เซอร์และบันทึกของพร็อกซี "
    "กรุณากรอกเลขในแบบฟอร์มของหน้านี้",
)


def _context(session_key: str) -> str:
    digest = hashlib.sha256(session_key.encode()).hexdigest()
    return f"clinic-lookup-ref:{digest}"


def make_ref(
    protector: DataProtector, cid: str, session_key: str, now: dt.datetime | None = None
) -> str:
    """A reference to the CID (checked with parse_cid, which raises CID_*) for this session."""
    expires = int(((now or utcnow()) + LIFETIME).timestamp())
    sealed = protector.encrypt(f"{expires}:{parse_cid(cid)}", _context(session_key))
    return base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def read_ref(
    protector: DataProtector, ref: str, session_key: str, now: dt.datetime | None = None
) -> str:
    """The CID of a reference made in this session; raises LOOKUP_REF_INVALID (another
    session's, altered, garbage) or LOOKUP_REF_EXPIRED."""
    text = ref.strip()
    if not text or len(text) > 200 or not session_key:
        raise DomainError(REF_INVALID)
    try:
        blob = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        expires, cid = protector.decrypt(blob, _context(session_key)).split(":", 1)
    except (binascii.Error, ValueError, DecryptionError):
        raise DomainError(REF_INVALID) from None
    if int(expires) <= (now or utcnow()).timestamp():
        raise DomainError(REF_EXPIRED)
    return cid

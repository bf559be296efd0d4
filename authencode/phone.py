"""Thai mobile phone numbers: one for a patient account, several (comma-separated) for staff."""

from __future__ import annotations

import re

from authencode.errors import DomainError

MAX_PHONES = 5
_NOISE = re.compile(r"[\s\-().]")
# Thai mobile numbers: 10 digits, 06x / 08x / 09x.
_MOBILE = re.compile(r"0[689]\d{8}")


def parse_mobile(raw: object) -> str:
    """Return a Thai mobile number as 10 digits; +66 / 66 prefixes are accepted.

    Raises DomainError PHONE_REQUIRED or PHONE_INVALID.
    """
    text = _NOISE.sub("", "" if raw is None else str(raw))
    if not text:
        raise DomainError("PHONE_REQUIRED")
    if text.startswith("+66"):
        text = "0" + text[3:]
    elif text.startswith("66") and len(text) == 11:
        text = "0" + text[2:]
    if not text.isascii() or not _MOBILE.fullmatch(text):
        raise DomainError("PHONE_INVALID")
    return text


def parse_mobiles(raw: object) -> list[str]:
    """Parse one or more numbers separated by commas; duplicates are dropped, order kept.

    Raises DomainError PHONE_REQUIRED, PHONE_INVALID or PHONE_TOO_MANY.
    """
    if isinstance(raw, list | tuple):
        parts = [str(p) for p in raw]
    else:
        parts = ("" if raw is None else str(raw)).replace("，", ",").split(",")
    parts = [p for p in parts if p.strip()]
    if not parts:
        raise DomainError("PHONE_REQUIRED")
    numbers: list[str] = []
    for part in parts:
        number = parse_mobile(part)
        if number not in numbers:
            numbers.append(number)
    if len(numbers) > MAX_PHONES:
        raise DomainError("PHONE_TOO_MANY")
    return numbers


def mask_phone(phone: str) -> str:
    """0812345678 -> 081-xxx-5678."""
    if len(phone) != 10:
        return "xxx-xxx-xxxx"
    return f"{phone[:3]}-xxx-{phone[6:]}"

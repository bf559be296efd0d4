"""The Thai citizen ID (CID): validation, display masking.

Hashing and encryption at rest live in :mod:`authencode.crypto`; a CID never leaves this
process in plain text except to a viewer entitled to it.
"""

from __future__ import annotations

import functools
import re
import sys

from authencode.errors import DomainError

# What parse_cid ignores between digits: a dash or any Unicode white space.
SEPARATORS = re.compile(r"[\s\-]")


def check_digit(first12: str) -> int:
    """The 13th digit for the given first twelve: (11 - sum(d[i] * (13 - i)) % 11) % 10."""
    total = sum(int(d) * (13 - i) for i, d in enumerate(first12))
    return (11 - total % 11) % 10


def parse_cid(raw: object) -> str:
    """Return the 13 digits of a CID typed with or without dashes/spaces.

    Raises DomainError CID_REQUIRED, CID_NOT_DIGITS, CID_LENGTH or CID_CHECK_DIGIT.
    """
    if raw is None:
        raise DomainError("CID_REQUIRED")
    text = SEPARATORS.sub("", str(raw))
    if not text:
        raise DomainError("CID_REQUIRED")
    if not text.isascii() or not text.isdigit():
        raise DomainError("CID_NOT_DIGITS")
    if len(text) != 13:
        raise DomainError("CID_LENGTH")
    if check_digit(text[:12]) != int(text[12]):
        raise DomainError("CID_CHECK_DIGIT")
    return text


@functools.cache
def separator_characters() -> tuple[str, ...]:
    """Every character SEPARATORS matches (for the log redactor and its tests)."""
    return tuple(SEPARATORS.findall("".join(map(chr, range(sys.maxunicode + 1)))))


def is_valid_cid(raw: object) -> bool:
    try:
        parse_cid(raw)
    except DomainError:
        return False
    return True


def format_cid(cid: str) -> str:
    """1101700207030 -> 1-1017-00207-03-0 (for entitled viewers)."""
    return f"{cid[0]}-{cid[1:5]}-{cid[5:10]}-{cid[10:12]}-{cid[12]}"


def mask_cid(cid: str) -> str:
    """1101700207030 -> 1-1017-xxxxx-03-0: the middle group hidden, as on the source system."""
    if len(cid) != 13:
        return "x-xxxx-xxxxx-xx-x"
    return f"{cid[0]}-{cid[1:5]}-xxxxx-{cid[10:12]}-{cid[12]}"

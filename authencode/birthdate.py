"""Birth dates as people type them, and matching them against the registry.

Thai users write the year in the Buddhist era (2533) and the day first (17/05/2533); forms
send ISO dates (1990-05-17 or 2533-05-17). A year above 2400 is taken as Buddhist era.
A month or day of 00 means "unknown", as on ID cards and in the registry.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass

from authencode.errors import DomainError, register
from authencode.models import Person
from authencode.thaidate import BE_OFFSET, service_day

BIRTH_DATE_REQUIRED = register(
    "BIRTH_DATE_REQUIRED", "invalid", "Please give the birth date.", "กรุณาระบุวันเดือนปีเกิด"
)
BIRTH_DATE_INVALID = register(
    "BIRTH_DATE_INVALID",
    "invalid",
    "Please give the birth date as day/month/year, e.g. 17/05/1990.",
    "กรุณาระบุวันเดือนปีเกิดเป็น วัน/เดือน/ปี พ.ศ. เช่น 17/05/2533",
)

_BE_FROM = 2400  # no one alive was born in 2400 CE; every BE year of the living is above it
_MIN_YEAR_CE = 1850
_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_DAY_FIRST = re.compile(r"(\d{1,2})[-/. ]+(\d{1,2})[-/. ]+(\d{4})")
_COMPACT = re.compile(r"\d{8}")


@dataclass(frozen=True)
class BirthDate:
    """A typed birth date in the Common Era; 0 for an unknown month or day."""

    year: int
    month: int
    day: int

    def matches(self, person: Person) -> bool:
        """Whether it agrees with the registry, on what the registry knows."""
        if self.year != person.birth_year:
            return False
        if person.birth_month and self.month != person.birth_month:
            return False
        return not (person.birth_month and person.birth_day and self.day != person.birth_day)

    def iso(self) -> str:
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"


def _split(text: str) -> tuple[int, int, int] | None:
    """(year, month, day) from the accepted shapes, or None."""
    if found := _ISO.fullmatch(text):
        return int(found[1]), int(found[2]), int(found[3])
    if found := _DAY_FIRST.fullmatch(text):
        return int(found[3]), int(found[2]), int(found[1])
    if _COMPACT.fullmatch(text):  # 17052533 (day first, as typed) or 25330517
        head = int(text[:4])
        if head >= _MIN_YEAR_CE:
            return head, int(text[4:6]), int(text[6:])
        return int(text[4:]), int(text[2:4]), int(text[:2])
    return None


def parse_birth_date(raw: object, *, this_year_ce: int | None = None) -> BirthDate:
    """Parse ``17/05/2533``, ``2533-05-17``, ``1990-05-17`` (Thai digits too).

    Raises BIRTH_DATE_REQUIRED or BIRTH_DATE_INVALID (no such date, or in the future year).
    """
    text = ("" if raw is None else str(raw)).strip().translate(_THAI_DIGITS)
    if not text:
        raise DomainError(BIRTH_DATE_REQUIRED)
    parts = _split(text) if text.isascii() else None
    if parts is None:
        raise DomainError(BIRTH_DATE_INVALID)
    year, month, day = parts
    if year > _BE_FROM:
        year -= BE_OFFSET
    latest = this_year_ce if this_year_ce is not None else service_day().year
    if not _MIN_YEAR_CE <= year <= latest or not 0 <= month <= 12 or not 0 <= day <= 31:
        raise DomainError(BIRTH_DATE_INVALID)
    if month == 0 and day != 0:
        raise DomainError(BIRTH_DATE_INVALID)
    if month and day > calendar.monthrange(year, month)[1]:
        raise DomainError(BIRTH_DATE_INVALID)
    return BirthDate(year, month, day)

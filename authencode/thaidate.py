"""Dates as Thai users read them: Buddhist era, Thai month names, Asia/Bangkok time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

BANGKOK = ZoneInfo("Asia/Bangkok")
BE_OFFSET = 543
MONTHS_SHORT = (
    "ม.ค.",
    "ก.พ.",
    "มี.ค.",
    "เม.ย.",
    "พ.ค.",
    "มิ.ย.",
    "ก.ค.",
    "ส.ค.",
    "ก.ย.",
    "ต.ค.",
    "พ.ย.",
    "ธ.ค.",
)
MONTHS_LONG = (
    "มกราคม",
    "กุมภาพันธ์",
    "มีนาคม",
    "เมษายน",
    "พฤษภาคม",
    "มิถุนายน",
    "กรกฎาคม",
    "สิงหาคม",
    "กันยายน",
    "ตุลาคม",
    "พฤศจิกายน",
    "ธันวาคม",
)


def service_day(now: dt.datetime | None = None) -> dt.date:
    """The service day: the local date in Asia/Bangkok."""
    now = now or dt.datetime.now(dt.UTC)
    return now.astimezone(BANGKOK).date()


def local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(BANGKOK)


def be_date(day: dt.date) -> str:
    """22 พ.ย. 2569"""
    return f"{day.day} {MONTHS_SHORT[day.month - 1]} {day.year + BE_OFFSET}"


def be_numeric_date(day: dt.date) -> str:
    """22/11/2569 (as hospital exports show it)."""
    return f"{day.day:02d}/{day.month:02d}/{day.year + BE_OFFSET}"


def be_datetime(moment: dt.datetime) -> str:
    """22/11/2569 10:15:03 in Bangkok time."""
    t = local(moment)
    return f"{be_numeric_date(t.date())} {t:%H:%M:%S}"


def be_month_year(year_ce: int, month: int | None) -> str:
    """Birth month/year as staff screens show it; an unknown month shows only the year."""
    if not month:
        return str(year_ce + BE_OFFSET)
    return f"{MONTHS_LONG[month - 1]} {year_ce + BE_OFFSET}"

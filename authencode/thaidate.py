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


def be_datetime(moment: dt.datetime) -> str:
    """22/11/2569 10:15:03 in Bangkok time (as hospital exports show it, with seconds)."""
    t = local(moment)
    return f"{numeric_date(t.date())} {t:%H:%M:%S}"


def be_month_year(year_ce: int, month: int | None) -> str:
    """Birth month/year as staff screens show it; an unknown month shows only the year."""
    if not month:
        return str(year_ce + BE_OFFSET)
    return f"{MONTHS_LONG[month - 1]} {year_ce + BE_OFFSET}"


# One calendar per language: Thai screens and messages use the Buddhist era, English ones the
# Common Era, everywhere (dates people read; exports and APIs keep their own fixed formats).
LANGUAGES = ("th", "en")
MONTHS_SHORT_EN = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)


def display_year(year_ce: int, lang: str = "th") -> int:
    """The year as a reader of `lang` counts it: BE in Thai, CE in English."""
    return year_ce if lang == "en" else year_ce + BE_OFFSET


def date_label(day: dt.date, lang: str = "th") -> str:
    """22 พ.ย. 2569 in Thai, 22 Nov 2026 in English."""
    months = MONTHS_SHORT_EN if lang == "en" else MONTHS_SHORT
    return f"{day.day} {months[day.month - 1]} {display_year(day.year, lang)}"


def numeric_date(day: dt.date, lang: str = "th") -> str:
    """22/11/2569 in Thai, 22/11/2026 in English (always day first)."""
    return f"{day.day:02d}/{day.month:02d}/{display_year(day.year, lang)}"


def datetime_label(moment: dt.datetime, lang: str = "th") -> str:
    """22/11/2569 10:15 (Bangkok time), the year in the language's calendar."""
    t = local(moment)
    return f"{numeric_date(t.date(), lang)} {t:%H:%M}"


def parse_numeric_date(text: str) -> dt.date | None:
    """Read a day-first dd/mm/yyyy date; a year past 2400 is BE, any other CE.

    ISO yyyy-mm-dd (what a browser's date input sends) is accepted too. None when the text is
    not a real date, so a form can say so instead of guessing.
    """
    text = text.strip()
    try:
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            return dt.date.fromisoformat(text)
        day_s, month_s, year_s = text.replace("-", "/").replace(".", "/").split("/")
        year = int(year_s)
        if year > 2400:  # no CE year of a visit or a birth is past 2400: it is BE
            year -= BE_OFFSET
        return dt.date(year, int(month_s), int(day_s))
    except ValueError:
        return None

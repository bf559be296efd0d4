"""Birth dates as Thai users type them (Buddhist era, day first, Thai digits), and matching
them against the registry where it knows only the year or the month."""

from __future__ import annotations

import pytest

from authencode.birthdate import BirthDate, parse_birth_date
from authencode.errors import DomainError
from authencode.models import Person


@pytest.mark.parametrize(
    "typed",
    [
        "17/05/2533",
        "17/5/2533",
        "17-05-2533",
        "17.05.2533",
        "17 05 2533",
        "๑๗/๐๕/๒๕๓๓",
        "17052533",
        "2533-05-17",
        "1990-05-17",
        "17/05/1990",
        "19900517",
        " 17/05/2533 ",
    ],
)
def test_the_shapes_people_type(typed: str) -> None:
    assert parse_birth_date(typed, this_year_ce=2026) == BirthDate(1990, 5, 17)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", "BIRTH_DATE_REQUIRED"),
        (None, "BIRTH_DATE_REQUIRED"),
        ("31/02/2533", "BIRTH_DATE_INVALID"),  # no such day
        ("29/02/2534", "BIRTH_DATE_INVALID"),  # 1991 is no leap year
        ("17/13/2533", "BIRTH_DATE_INVALID"),
        ("17/05/2600", "BIRTH_DATE_INVALID"),  # 2057: not yet
        ("17/05/1700", "BIRTH_DATE_INVALID"),
        ("05/00/2533", "BIRTH_DATE_INVALID"),  # a day without its month
        ("พฤษภาคม 2533", "BIRTH_DATE_INVALID"),
        ("17/05/33", "BIRTH_DATE_INVALID"),  # two-digit years are ambiguous
    ],
)
def test_refusals(typed: str | None, code: str) -> None:
    with pytest.raises(DomainError) as excinfo:
        parse_birth_date(typed, this_year_ce=2026)
    assert excinfo.value.code == code
    assert "2533" in excinfo.value.message_th or code == "BIRTH_DATE_REQUIRED"


def test_leap_day_in_the_buddhist_era() -> None:
    assert parse_birth_date("29/02/2535", this_year_ce=2026) == BirthDate(1992, 2, 29)


def _person(month: int | None, day: int | None) -> Person:
    return Person(birth_year=1990, birth_month=month, birth_day=day)


def test_matching_what_the_registry_knows() -> None:
    typed = parse_birth_date("17/05/2533", this_year_ce=2026)
    assert typed.matches(_person(5, 17))
    assert not typed.matches(_person(5, 18)) and not typed.matches(_person(6, 17))
    assert not parse_birth_date("17/05/2534", this_year_ce=2026).matches(_person(5, 17))
    # The registry has 00 for an unknown day, or month and day: what it knows must match.
    assert typed.matches(_person(5, None)) and typed.matches(_person(None, None))
    assert not typed.matches(_person(6, None))
    assert parse_birth_date("00/00/2533", this_year_ce=2026).matches(_person(None, None))
    assert not parse_birth_date("00/00/2533", this_year_ce=2026).matches(_person(5, 17))

"""One calendar per language: Buddhist era for Thai readers, Common Era for English ones."""

from __future__ import annotations

import datetime as dt

import pytest

from authencode import thaidate

DAY = dt.date(2026, 2, 12)


def test_thai_reads_buddhist_era_and_english_common_era() -> None:
    assert thaidate.date_label(DAY) == "12 ก.พ. 2569"
    assert thaidate.date_label(DAY, "en") == "12 Feb 2026"
    assert thaidate.numeric_date(DAY) == "12/02/2569"
    assert thaidate.numeric_date(DAY, "en") == "12/02/2026"


def test_datetime_is_bangkok_time() -> None:
    moment = dt.datetime(2026, 2, 11, 20, 5, tzinfo=dt.UTC)
    assert thaidate.datetime_label(moment) == "12/02/2569 03:05"
    assert thaidate.datetime_label(moment, "en") == "12/02/2026 03:05"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12/02/2569", DAY),
        ("12/2/2569", DAY),
        ("2026-02-12", DAY),
        ("12/02/2026", DAY),  # a CE year is read as CE on either page
        ("30/02/2569", None),
        ("02/30/2569", None),  # month-first is refused, not guessed
        ("", None),
        ("12-02", None),
        ("aa/bb/cccc", None),
    ],
)
def test_parse_numeric_date(text: str, expected: dt.date | None) -> None:
    assert thaidate.parse_numeric_date(text) == expected

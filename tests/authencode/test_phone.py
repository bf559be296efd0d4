from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authencode.errors import DomainError
from authencode.phone import mask_phone, parse_mobile, parse_mobiles


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0812345678", "0812345678"),
        ("081-234-5678", "0812345678"),
        ("+66812345678", "0812345678"),
        ("66 81 234 5678", "0812345678"),
        ("0612345678", "0612345678"),
        ("0991234567", "0991234567"),
    ],
)
def test_thai_mobile_numbers_are_normalised(raw: str, expected: str) -> None:
    assert parse_mobile(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "PHONE_REQUIRED"),
        (None, "PHONE_REQUIRED"),
        ("021234567", "PHONE_INVALID"),
        ("081234567", "PHONE_INVALID"),
        ("08123456789", "PHONE_INVALID"),
        ("08l2345678", "PHONE_INVALID"),
        ("0712345678", "PHONE_INVALID"),
    ],
)
def test_bad_numbers_get_clear_errors(raw: object, code: str) -> None:
    with pytest.raises(DomainError) as info:
        parse_mobile(raw)
    assert info.value.code == code


def test_staff_may_record_several_numbers_comma_separated() -> None:
    assert parse_mobiles("0812345678, 0898765432,0812345678") == ["0812345678", "0898765432"]
    with pytest.raises(DomainError) as info:
        parse_mobiles(",".join(f"08{n}2345678" for n in range(6)))
    assert info.value.code == "PHONE_TOO_MANY"
    with pytest.raises(DomainError) as info:
        parse_mobiles("0812345678,12")
    assert info.value.code == "PHONE_INVALID"


def test_masked_phone_hides_the_middle() -> None:
    assert mask_phone("0812345678") == "081-xxx-5678"


@given(st.text(max_size=30))
def test_parse_never_crashes(raw: str) -> None:
    try:
        number = parse_mobile(raw)
    except DomainError as exc:
        assert exc.code in {"PHONE_REQUIRED", "PHONE_INVALID"}
    else:
        assert len(number) == 10 and number.startswith(("06", "08", "09"))

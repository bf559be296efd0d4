from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authencode.cid import check_digit, format_cid, is_valid_cid, mask_cid, parse_cid
from authencode.errors import DomainError


def test_the_domain_example_is_valid_and_masks_like_the_source_system() -> None:
    assert parse_cid("1101700207030") == "1101700207030"
    assert mask_cid("1101700207030") == "1-1017-xxxxx-03-0"
    assert format_cid("1101700207030") == "1-1017-00207-03-0"


def test_dashes_and_spaces_are_accepted() -> None:
    assert parse_cid(" 1-1017-00207-03-0 ") == "1101700207030"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (None, "CID_REQUIRED"),
        ("", "CID_REQUIRED"),
        ("  - ", "CID_REQUIRED"),
        ("11017002070a0", "CID_NOT_DIGITS"),
        ("๑๑๐๑๗๐๐๒๐๗๐๓๐", "CID_NOT_DIGITS"),  # Thai digits are not accepted silently
        ("110170020703", "CID_LENGTH"),
        ("11017002070300", "CID_LENGTH"),
        ("1101700207031", "CID_CHECK_DIGIT"),
    ],
)
def test_each_refusal_has_its_own_code_and_thai_message(raw: object, code: str) -> None:
    with pytest.raises(DomainError) as info:
        parse_cid(raw)
    assert info.value.code == code
    assert info.value.message_th and info.value.message
    assert info.value.message_th != info.value.message


@given(st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_exactly_one_check_digit_makes_a_cid_valid(first12: str) -> None:
    valid = [d for d in "0123456789" if is_valid_cid(first12 + d)]
    assert valid == [str(check_digit(first12))]


@given(st.text(max_size=40))
def test_parse_never_crashes_on_arbitrary_text(raw: str) -> None:
    try:
        cid = parse_cid(raw)
    except DomainError as exc:
        assert exc.code.startswith("CID_")
    else:
        assert len(cid) == 13 and cid.isdigit()
        assert "xxxxx" in mask_cid(cid) and cid[5:10] not in mask_cid(cid).replace("-", "")[:5]

"""The pure parsers of Thai ID card fields: exact results, and no crash on any bytes."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reader_agent.errors import CardDataError
from reader_agent.privacy import mask_cid, mask_cids_in
from reader_agent.thai_id import (
    Address,
    BuddhistDate,
    PersonName,
    cid_check_digit,
    cut_photo,
    decode_text,
    is_valid_cid,
    parse_address,
    parse_be_date,
    parse_card,
    parse_cid,
    parse_expiry,
    parse_name,
    parse_sex,
)


def padded(text: str, length: int = 100) -> bytes:
    """Encode as the card does: TIS-620, padded with spaces."""
    return text.encode("cp874").ljust(length, b" ")


def test_cid_check_digit_matches_the_domain_example() -> None:
    assert is_valid_cid("1101700207030")
    assert cid_check_digit("110170020703") == 0
    assert not is_valid_cid("1101700207031")
    assert not is_valid_cid("110170020703")
    assert not is_valid_cid("１101700207030")  # a full-width digit is not a CID digit


def test_parse_cid_refuses_a_bad_check_digit() -> None:
    assert parse_cid(b"1101700207030") == "1101700207030"
    with pytest.raises(CardDataError, match="check digit"):
        parse_cid(b"1101700207031")


def test_thai_name_is_decoded_from_tis620_and_split() -> None:
    raw = padded("นางสาว#มาลี#ศรี#สุขสวัสดิ์")
    assert parse_name(raw) == PersonName("นางสาว", "มาลี", "ศรี", "สุขสวัสดิ์")


def test_name_without_middle_name() -> None:
    assert parse_name(padded("Mr.#Somchai##Jaidee")) == PersonName("Mr.", "Somchai", "", "Jaidee")


def test_name_that_is_not_four_parts_is_refused() -> None:
    with pytest.raises(CardDataError):
        parse_name(padded("Somchai Jaidee"))


def test_padding_with_nul_bytes_is_stripped_too() -> None:
    assert decode_text("ขอนแก่น".encode("cp874") + b"\x00\x00  ") == "ขอนแก่น"


def test_birth_date_with_unknown_day_and_month() -> None:
    assert parse_be_date(b"25300115", allow_unknown=True) == BuddhistDate(2530, 1, 15)
    assert parse_be_date(b"25300100", allow_unknown=True) == BuddhistDate(2530, 1, None)
    unknown = parse_be_date(b"25300000", allow_unknown=True)
    assert unknown == BuddhistDate(2530, None, None)
    assert unknown.card_string() == "25300000"
    assert unknown.to_gregorian() is None
    assert BuddhistDate(2530, 1, 15).to_gregorian() == dt.date(1987, 1, 15)


def test_unknown_parts_are_refused_where_a_full_date_is_needed() -> None:
    with pytest.raises(CardDataError):
        parse_be_date(b"25650000")
    with pytest.raises(CardDataError):
        parse_be_date(b"25300015", allow_unknown=True)  # a day without a month
    with pytest.raises(CardDataError):
        parse_be_date(b"25650230")


def test_lifelong_expiry() -> None:
    assert parse_expiry(b"99999999") is None
    assert parse_expiry(b"25730114") == BuddhistDate(2573, 1, 14)


def test_sex_codes() -> None:
    assert parse_sex(b"1") == "1"
    assert parse_sex(b"2") == "2"
    with pytest.raises(CardDataError):
        parse_sex(b"3")


def test_rural_address_split_by_labels() -> None:
    raw = padded("99/9#หมู่ที่ 5#####ตำบลในเมือง#อำเภอเมืองขอนแก่น#จังหวัดขอนแก่น")
    assert parse_address(raw) == Address(
        house_no="99/9",
        village_no="5",
        sub_district="ในเมือง",
        district="เมืองขอนแก่น",
        province="ขอนแก่น",
    )


def test_bangkok_address_with_khwaeng_and_khet() -> None:
    raw = padded("1/23#####ถนนเจริญกรุง#แขวงสี่พระยา#เขตบางรัก#กรุงเทพมหานคร")
    assert parse_address(raw) == Address(
        house_no="1/23",
        road="เจริญกรุง",
        sub_district="สี่พระยา",
        district="บางรัก",
        province="กรุงเทพมหานคร",
    )


def test_long_address_with_every_part() -> None:
    text = "1234/567#หมู่ที่ 12#หมู่บ้านสุขใจ#ซอยวัดใหม่#ถนนสุขุมวิท#ตำบลบางเมือง#อำเภอบางพลี#จังหวัดสมุทรปราการ"
    assert len(text.encode("cp874")) == 100  # fills the whole field: no padding at all
    assert parse_address(text.encode("cp874")) == Address(
        house_no="1234/567",
        village_no="12",
        village="สุขใจ",
        lane="ซอยวัดใหม่",
        road="สุขุมวิท",
        sub_district="บางเมือง",
        district="บางพลี",
        province="สมุทรปราการ",
    )


def test_address_parts_are_found_by_label_not_position() -> None:
    raw = padded("7#ตรอกวัดโพธิ์#จังหวัดพิษณุโลก#อำเภอวังทอง#ตำบลวังพิกุล#หมู่ที่ 3")
    address = parse_address(raw)
    assert address.village_no == "3"
    assert address.lane == "ตรอกวัดโพธิ์"
    assert (address.sub_district, address.district, address.province) == (
        "วังพิกุล",
        "วังทอง",
        "พิษณุโลก",
    )
    assert address.house_no == "7"


def test_photo_is_cut_at_the_last_end_marker_and_spaces_survive() -> None:
    jpeg = b"\xff\xd8  \x00 thumb \xff\xd9 body  \x20\x20\xff\xd9"
    assert cut_photo(jpeg + b"    \x00\x00") == jpeg
    assert cut_photo(b" " * 20) is None


def test_mask_cid() -> None:
    assert mask_cid("1101700207030") == "1-1017-xxxxx-03-0"
    assert mask_cids_in("GET /latest-authen-code/1101700207030 200") == (
        "GET /latest-authen-code/1-1017-xxxxx-03-0 200"
    )


# -- properties: every parser gives a valid result or a clean CardDataError --------------


@given(st.binary(max_size=120))
def test_text_parsers_never_crash(raw: bytes) -> None:
    for parse in (parse_name, parse_address, parse_cid, parse_sex, parse_expiry, parse_be_date):
        with contextlib.suppress(CardDataError):
            parse(raw)
    assert isinstance(decode_text(raw), str)


@given(st.binary(max_size=12))
def test_birth_date_parser_gives_valid_dates_or_clean_errors(raw: bytes) -> None:
    try:
        date = parse_be_date(raw, allow_unknown=True)
    except CardDataError:
        return
    assert date.card_string() == raw.strip(b" \x00").decode()
    if date.day is not None:
        assert date.to_gregorian() is not None


@given(st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_every_cid_with_its_check_digit_is_accepted(first_twelve: str) -> None:
    cid = first_twelve + str(cid_check_digit(first_twelve))
    assert parse_cid(cid.encode()) == cid
    wrong = first_twelve + str((cid_check_digit(first_twelve) + 1) % 10)
    with pytest.raises(CardDataError):
        parse_cid(wrong.encode())


_THAI = st.text(alphabet=st.characters(min_codepoint=0x0E01, max_codepoint=0x0E2E), max_size=20)


@given(_THAI, _THAI.filter(bool), _THAI, _THAI)
def test_names_round_trip_through_tis620(title: str, first: str, middle: str, last: str) -> None:
    raw = padded(f"{title}#{first}#{middle}#{last}")
    assert parse_name(raw) == PersonName(title, first, middle, last)


@given(st.binary(max_size=600))
def test_photo_cutting_never_loses_bytes_before_the_end(raw: bytes) -> None:
    photo = cut_photo(raw)
    if photo is not None:
        assert raw.startswith(photo)
        assert photo.endswith(b"\xff\xd9")


@given(st.dictionaries(st.sampled_from(["cid", "name_th", "sex"]), st.binary(max_size=20)))
def test_parse_card_with_missing_or_garbage_fields_is_a_clean_error(
    fields: dict[str, bytes],
) -> None:
    with pytest.raises(CardDataError):
        parse_card(fields, None)

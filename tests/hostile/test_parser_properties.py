"""Properties of the parsers that take outside input: citizen IDs, phone numbers, and the
Thai ID card's bytes and APDU answers. Any input gives a valid value or the parser's own
clean error; never another exception."""

from __future__ import annotations

import contextlib
import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authencode import cid as server_cid
from authencode import phone
from authencode.errors import DomainError
from reader_agent import apdu, thai_id
from reader_agent.card_reader import _MAX_CHAINED_ANSWERS, CardAnswerError, exchange, read_field
from reader_agent.errors import CardDataError

CID_ERRORS = {"CID_REQUIRED", "CID_NOT_DIGITS", "CID_LENGTH", "CID_CHECK_DIGIT"}
PHONE_ERRORS = {"PHONE_REQUIRED", "PHONE_INVALID", "PHONE_TOO_MANY"}
TWELVE = st.text(alphabet=string.digits, min_size=12, max_size=12)
ANYTHING = st.one_of(
    st.none(),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.text(),
    st.lists(st.text(max_size=5), max_size=3),
    st.binary(max_size=20),
)
SEPARATORS = st.text(alphabet=" -\t\u00a0\u3000", max_size=2)


def valid_cid(first12: str) -> str:
    return first12 + str(server_cid.check_digit(first12))


# --- citizen IDs --------------------------------------------------------------------------------


@given(st.one_of(ANYTHING, st.text(alphabet=string.digits + " -x๑", max_size=20)))
def test_a_cid_parses_to_13_checked_digits_or_a_cid_error(raw: Any) -> None:
    try:
        parsed = server_cid.parse_cid(raw)
    except DomainError as refused:
        assert refused.code in CID_ERRORS
        assert not thai_id.is_valid_cid(str(raw))
        return
    assert len(parsed) == 13 and parsed.isascii() and parsed.isdigit()
    assert server_cid.check_digit(parsed[:12]) == int(parsed[12])
    assert server_cid.parse_cid(parsed) == parsed
    assert thai_id.is_valid_cid(parsed)  # the agent agrees with the server


@given(TWELVE, st.lists(SEPARATORS, min_size=14, max_size=14))
def test_separators_anywhere_are_normalised_away(first12: str, seps: list[str]) -> None:
    cid = valid_cid(first12)
    typed = "".join(sep + digit for sep, digit in zip(seps, cid, strict=False)) + seps[13]
    assert server_cid.parse_cid(typed) == cid
    assert server_cid.parse_cid(server_cid.format_cid(cid)) == cid


@given(TWELVE, st.integers(min_value=1, max_value=9))
def test_a_wrong_check_digit_is_refused_by_server_and_agent(first12: str, shift: int) -> None:
    wrong = first12 + str((server_cid.check_digit(first12) + shift) % 10)
    with pytest.raises(DomainError) as refused:
        server_cid.parse_cid(wrong)
    assert refused.value.code == "CID_CHECK_DIGIT"
    with pytest.raises(CardDataError):
        thai_id.parse_cid(wrong.encode())


@given(st.text(max_size=30))
def test_a_masked_cid_never_shows_the_middle_group(raw: str) -> None:
    masked = server_cid.mask_cid(raw)
    if len(raw) == 13:
        assert masked == f"{raw[0]}-{raw[1:5]}-xxxxx-{raw[10:12]}-{raw[12]}"
    else:
        assert masked == "x-xxxx-xxxxx-xx-x"


# --- phone numbers ------------------------------------------------------------------------------

MOBILE = st.builds(
    lambda p, rest: f"0{p}{rest}",
    st.sampled_from("689"),
    st.text(alphabet=string.digits, min_size=8, max_size=8),
)


@given(st.one_of(ANYTHING, st.text(alphabet=string.digits + "+-() ", max_size=16)))
def test_a_phone_parses_to_a_thai_mobile_or_a_phone_error(raw: Any) -> None:
    try:
        parsed = phone.parse_mobile(raw)
    except DomainError as refused:
        assert refused.code in PHONE_ERRORS
        return
    assert len(parsed) == 10 and parsed.isascii() and parsed.isdigit()
    assert parsed[:2] in ("06", "08", "09")
    assert phone.parse_mobile(parsed) == parsed


@given(
    MOBILE,
    st.sampled_from(
        ["{0}", "+66{1}", "66{1}", "+66 {1}", "{0:.3}-{0[3:]}", "({0:.3}) {1[2:]}", " {0} "]
    ),
)
def test_every_way_of_writing_a_mobile_gives_the_same_number(number: str, form: str) -> None:
    written = form.replace("{0[3:]}", number[3:]).replace("{1[2:]}", number[3:])
    written = written.format(number, number[1:])
    assert phone.parse_mobile(written) == number
    assert phone.mask_phone(number) == f"{number[:3]}-xxx-{number[6:]}"


@given(st.lists(st.one_of(MOBILE, st.text(max_size=12)), max_size=8))
def test_several_phones_are_unique_valid_and_at_most_five(raws: list[str]) -> None:
    try:
        numbers = phone.parse_mobiles(",".join(raws))
    except DomainError as refused:
        assert refused.code in PHONE_ERRORS
        return
    assert 1 <= len(numbers) <= phone.MAX_PHONES
    assert len(set(numbers)) == len(numbers)
    assert all(phone.parse_mobile(n) == n for n in numbers)


# --- the Thai ID card's bytes -------------------------------------------------------------------

THAI = st.text(
    alphabet=st.characters(
        min_codepoint=0x0E01, max_codepoint=0x0E3A, exclude_characters="\u0e3b\u0e3c\u0e3d\u0e3e"
    ),
    min_size=1,
    max_size=15,
)


def padded(text: str, length: int) -> bytes:
    return text.encode("cp874").ljust(length, b" ")[:length]


VALID_FIELDS: dict[str, st.SearchStrategy[bytes]] = {
    "cid": TWELVE.map(lambda t: valid_cid(t).encode()),
    "name_th": st.builds(lambda a, b, c: padded(f"{a}#{b}##{c}", 100), THAI, THAI, THAI),
    "name_en": st.just(padded("Mr.#John##Doe", 100)),
    "birth_date": st.sampled_from([b"25300115", b"25300100", b"25300000"]),
    "sex": st.sampled_from([b"1", b"2"]),
    "issuer": THAI.map(lambda t: padded(t, 100)),
    "issue_date": st.just(b"25600101"),
    "expiry_date": st.sampled_from([b"25700101", b"99999999"]),
    "address": st.builds(
        lambda n, p: padded(f"{n}#หมู่ที่ 5#ตำบล{p}#อำเภอ{p}#จังหวัด{p}", 100), st.integers(1, 999), THAI
    ),
}


@st.composite
def card_fields(draw: st.DrawFn) -> dict[str, bytes]:
    """Each field valid, garbage of its own length, or missing."""
    fields = {}
    for name, valid in VALID_FIELDS.items():
        choice = draw(st.sampled_from(["valid", "valid", "garbage", "missing"]))
        if choice == "valid":
            fields[name] = draw(valid)
        elif choice == "garbage":
            fields[name] = draw(
                st.binary(
                    min_size=apdu.TEXT_FIELDS[name].length, max_size=apdu.TEXT_FIELDS[name].length
                )
            )
    return fields


@given(card_fields(), st.one_of(st.none(), st.binary(max_size=600)))
def test_any_card_gives_a_card_or_a_clean_card_data_error(
    fields: dict[str, bytes], photo: bytes | None
) -> None:
    try:
        card = thai_id.parse_card(fields, photo)
    except CardDataError as refused:
        assert refused.message
        return
    assert thai_id.is_valid_cid(card.cid)
    assert card.sex in ("1", "2") and card.name_th.first
    assert card.cid == fields["cid"].decode()


@given(
    st.dictionaries(st.sampled_from(list(VALID_FIELDS)), st.binary(max_size=120)),
    st.binary(max_size=40),
)
def test_no_field_parser_raises_anything_but_card_data_errors(
    fields: dict[str, bytes], photo: bytes
) -> None:
    for parse in (
        thai_id.parse_cid,
        thai_id.parse_name,
        thai_id.parse_sex,
        thai_id.parse_expiry,
        thai_id.parse_address,
        thai_id.decode_text,
        lambda raw: thai_id.parse_be_date(raw, allow_unknown=True),
    ):
        for raw in fields.values():
            with contextlib.suppress(CardDataError):
                parse(raw)
    with contextlib.suppress(CardDataError):
        thai_id.parse_card(fields, photo)


@given(
    st.binary(min_size=2, max_size=300).map(lambda b: b"\xff\xd8" + b + b"\xff\xd9"),
    st.binary(max_size=40).filter(lambda pad: b"\xff\xd9" not in pad),
)
def test_the_photo_is_cut_after_its_end_marker_and_nothing_inside_is_stripped(
    jpeg: bytes, padding: bytes
) -> None:
    assert thai_id.cut_photo(jpeg + padding) == jpeg
    assert thai_id.cut_photo(jpeg + b" " * 20 + b"\x00" * 5) == jpeg


# --- APDU answers -------------------------------------------------------------------------------


class ScriptedChannel:
    """A card that answers each command with the next scripted response."""

    def __init__(self, responses: list[bytes], atr: bytes = b"\x3b\x67") -> None:
        self.responses = list(responses)
        self.sent: list[bytes] = []
        self.atr = atr
        self.apdus_sent = 0
        self.transmit_seconds = 0.0

    def transmit(self, command: bytes) -> bytes:
        self.sent.append(command)
        return self.responses.pop(0) if self.responses else b""


STATUS = st.one_of(
    st.binary(max_size=3),
    st.builds(
        lambda sw1, sw2, data: data + bytes([sw1, sw2]),
        st.sampled_from([0x90, 0x61, 0x6C, 0x6A, 0x00]),
        st.integers(0, 255),
        st.binary(max_size=260),
    ),
)


@given(st.lists(STATUS, min_size=1, max_size=8), st.sampled_from(list(apdu.TEXT_FIELDS)))
def test_any_card_answer_gives_the_field_or_a_card_answer_error(
    responses: list[bytes], field: str
) -> None:
    channel = ScriptedChannel(responses)
    spec = apdu.TEXT_FIELDS[field]
    try:
        data = read_field(channel, spec, 0x01)  # type: ignore[arg-type]
    except CardAnswerError:
        pass
    else:
        assert len(data) == spec.length
    # 61xx / 6Cxx are followed a bounded number of times, never forever
    assert len(channel.sent) <= 1 + _MAX_CHAINED_ANSWERS
    for command in channel.sent[1:]:
        assert command[:2] == b"\x00\xc0" or command[:4] == channel.sent[0][:4]


@given(st.binary(max_size=260))
def test_data_with_9000_is_returned_as_it_came(data: bytes) -> None:
    channel = ScriptedChannel([data + b"\x90\x00"])
    assert exchange(channel, apdu.SELECT_THAI_ID, 0) == data  # type: ignore[arg-type]

"""Reading virtual Thai ID cards through the real pcscd + vpcd stack."""

from __future__ import annotations

import threading

import pytest
from pcsc_stack import require
from virtual_card import ATR_3B67, ATR_3B68, READER_NAMES, CardContent, VirtualThaiIdCard

try:
    from reader_agent.card_reader import ThaiIdCardReader
    from reader_agent.monitor import CardPresenceMonitor
except ImportError:  # pyscard missing: fail in CI, skip locally
    require(False, "pyscard is not installed")
    raise

from reader_agent.errors import CardDataError, CardRemovedError, NoCardError
from reader_agent.thai_id import Address, BuddhistDate, PersonName

FIRST, SECOND = READER_NAMES


@pytest.fixture
def reader(pcscd: object) -> ThaiIdCardReader:
    """A card reader with short back-offs, so retry tests stay quick."""
    return ThaiIdCardReader(attempts=4, first_backoff=0.05)


def test_plain_card_every_field_read_exactly(insert_card, reader) -> None:
    card = insert_card(VirtualThaiIdCard())
    read = reader.read(FIRST, with_photo=True)

    assert read.cid == "1101700207030"
    assert read.name_th == PersonName("นาย", "สมชาย", "", "ใจดี")
    assert read.name_en == PersonName("Mr.", "Somchai", "", "Jaidee")
    assert read.birth_date == BuddhistDate(2530, 1, 15)
    assert read.sex == "1"
    assert read.issuer == "ท้องถิ่นเขตบางรัก/กรุงเทพมหานคร"
    assert read.issue_date == BuddhistDate(2565, 3, 1)
    assert read.expiry_date == BuddhistDate(2573, 1, 14)
    assert not read.lifelong
    assert read.address == Address(
        house_no="99/9",
        village_no="5",
        sub_district="ในเมือง",
        district="เมืองขอนแก่น",
        province="ขอนแก่น",
    )
    # Byte for byte, 0x20 and 0x00 inside included, padding after the last FF D9 cut off.
    assert read.photo == card.content.photo
    assert b"  \xff\xd9" in read.photo and b"\x00" in read.photo


def test_card_with_middle_name_lifelong_expiry_and_unknown_birth_day(insert_card, reader) -> None:
    content = CardContent(
        cid="3100600123450",
        name_th="นางสาว#มาลี#ศรี#สุขสวัสดิ์",
        name_en="Miss#Malee#Sri#Suksawat",
        birth_date="24950700",
        sex="2",
        expiry_date="99999999",
    )
    insert_card(VirtualThaiIdCard(content))
    read = reader.read(FIRST, with_photo=False)

    assert read.name_th == PersonName("นางสาว", "มาลี", "ศรี", "สุขสวัสดิ์")
    assert read.name_en.middle == "Sri"
    assert read.birth_date == BuddhistDate(2495, 7, None)
    assert read.sex == "2"
    assert read.lifelong and read.expiry_date is None
    assert read.photo is None


def test_unknown_birth_month_and_day(insert_card, reader) -> None:
    insert_card(VirtualThaiIdCard(CardContent(birth_date="25000000")))
    read = reader.read(FIRST, with_photo=False)
    assert read.birth_date == BuddhistDate(2500, None, None)
    assert read.birth_date.card_string() == "25000000"


def test_long_and_bangkok_addresses(insert_card, reader) -> None:
    long_address = (
        "1234/567#หมู่ที่ 12#หมู่บ้านสุขใจ#ซอยวัดใหม่#ถนนสุขุมวิท#ตำบลบางเมือง#อำเภอบางพลี#จังหวัดสมุทรปราการ"
    )
    insert_card(VirtualThaiIdCard(CardContent(address=long_address)), reader_index=0)
    bangkok = "1/23#####ถนนเจริญกรุง#แขวงสี่พระยา#เขตบางรัก#กรุงเทพมหานคร"
    insert_card(VirtualThaiIdCard(CardContent(address=bangkok)), reader_index=1)

    assert reader.read(FIRST, with_photo=False).address == Address(
        house_no="1234/567",
        village_no="12",
        village="สุขใจ",
        lane="ซอยวัดใหม่",
        road="สุขุมวิท",
        sub_district="บางเมือง",
        district="บางพลี",
        province="สมุทรปราการ",
    )
    assert reader.read(SECOND, with_photo=False).address == Address(
        house_no="1/23",
        road="เจริญกรุง",
        sub_district="สี่พระยา",
        district="บางรัก",
        province="กรุงเทพมหานคร",
    )


def _get_responses(card: VirtualThaiIdCard) -> list[bytes]:
    return [apdu for apdu in card.apdus if apdu[:2] == b"\x00\xc0"]


def test_atr_3b67_needs_get_response_p2_01(insert_card, reader) -> None:
    card = insert_card(VirtualThaiIdCard(atr=ATR_3B67, style="get_response"))
    read = reader.read(FIRST, with_photo=True)
    assert read.photo == card.content.photo
    assert _get_responses(card) and all(apdu[3] == 0x01 for apdu in _get_responses(card))


def test_other_atr_uses_get_response_p2_00(insert_card, reader) -> None:
    card = insert_card(VirtualThaiIdCard(atr=ATR_3B68, style="get_response"))
    assert reader.read(FIRST, with_photo=False).cid == "1101700207030"
    assert _get_responses(card) and all(apdu[3] == 0x00 for apdu in _get_responses(card))


def test_reader_returning_data_straight_with_9000(insert_card, reader) -> None:
    card = insert_card(VirtualThaiIdCard(atr=ATR_3B68, style="direct"))
    read = reader.read(FIRST, with_photo=True)
    assert read.photo == card.content.photo
    assert _get_responses(card) == []
    # SELECT, nine fields, twenty photo chunks: one exchange each.
    assert reader.last_stats.apdus == 30


def test_6cxx_makes_the_reader_repeat_the_command_with_le(insert_card, reader) -> None:
    card = insert_card(VirtualThaiIdCard(atr=ATR_3B68, style="case4"))
    read = reader.read(FIRST, with_photo=True)
    assert read.photo == card.content.photo
    repeated = [apdu for apdu in card.apdus if apdu[:2] == b"\x80\xb0" and len(apdu) == 8]
    assert len(repeated) == 29 and all(apdu[7] == apdu[6] for apdu in repeated)


def test_first_reads_after_insertion_fail_then_succeed_after_back_off(insert_card, reader) -> None:
    insert_card(VirtualThaiIdCard(style="direct", atr=ATR_3B68, fail_first=2))
    read = reader.read(FIRST, with_photo=False)
    assert read.cid == "1101700207030"
    assert reader.last_stats.attempts == 3


def test_card_pulled_mid_read_is_a_clean_error_without_data(insert_card, reader) -> None:
    # Pulled during the photo: SELECT + 9 fields + 5 chunks answered, then gone.
    insert_card(VirtualThaiIdCard(style="direct", atr=ATR_3B68, pull_after=15))
    with pytest.raises(CardRemovedError, match="removed"):
        reader.read(FIRST, with_photo=True)


def test_invalid_cid_check_digit_is_refused(insert_card, reader) -> None:
    insert_card(VirtualThaiIdCard(CardContent(cid="1101700207031")))
    with pytest.raises(CardDataError, match="check digit"):
        reader.read(FIRST, with_photo=False)


def test_no_card_in_the_reader(pcscd, reader) -> None:
    with pytest.raises(NoCardError):
        reader.read(FIRST, with_photo=False)


def test_two_readers_listed_and_the_one_with_the_card_chosen(insert_card, reader) -> None:
    insert_card(VirtualThaiIdCard(), reader_index=1)
    terminals = {t.name: t.card_present for t in reader.terminals()}
    assert terminals == {FIRST: False, SECOND: True}
    assert reader.choose_reader() == SECOND
    assert reader.choose_reader(preferred=FIRST) == FIRST  # a configured default wins
    assert reader.choose_reader(preferred="Reader that is not plugged in") == SECOND
    assert reader.read(reader.choose_reader(), with_photo=False).cid == "1101700207030"


def test_monitor_reports_insertion_and_removal(pcscd) -> None:
    events: list[tuple[str, bool]] = []
    changed = threading.Event()

    def on_change(reader_name: str, present: bool) -> None:
        events.append((reader_name, present))
        changed.set()

    monitor = CardPresenceMonitor(on_change, interval=0.05)
    monitor.start()
    card = VirtualThaiIdCard()
    try:
        card.insert(1)
        assert changed.wait(5)
        changed.clear()
        card.remove()
        assert changed.wait(5)
    finally:
        card.remove()
        monitor.stop()
    assert events == [(SECOND, True), (SECOND, False)]
    assert monitor.snapshot() == {FIRST: False, SECOND: False}

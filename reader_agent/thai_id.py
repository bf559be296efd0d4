"""Pure parsing of the Thai national ID card's fields: bytes in, typed values out.

Nothing here touches PC/SC, so every function can be tested on arbitrary bytes. Each parser
returns a valid value or raises :class:`CardDataError`; none ever raises anything else.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from reader_agent.errors import CardDataError

# The card pads fixed-length text fields with spaces; some cards use NUL bytes instead.
_PADDING = b" \x00"
_JPEG_START = b"\xff\xd8"
_JPEG_END = b"\xff\xd9"
_BUDDHIST_ERA_OFFSET = 543
_LIFELONG = "99999999"


def cid_check_digit(first_twelve: str) -> int:
    """Return the check digit for the first 12 digits of a CID."""
    total = sum(int(digit) * (13 - i) for i, digit in enumerate(first_twelve))
    return (11 - total % 11) % 10


def is_valid_cid(cid: str) -> bool:
    """Return True if ``cid`` is 13 ASCII digits with a correct check digit."""
    if len(cid) != 13 or not cid.isascii() or not cid.isdigit():
        return False
    return cid_check_digit(cid[:12]) == int(cid[12])


def decode_text(raw: bytes) -> str:
    """Decode a TIS-620 text field: strip the padding, then decode as cp874.

    Bytes cp874 does not define become U+FFFD rather than an error: one odd byte in an
    issuer's name must not make the whole card unreadable.
    """
    return raw.strip(_PADDING).decode("cp874", errors="replace")


def parse_cid(raw: bytes) -> str:
    """Return the CID from its field; raises CardDataError unless it has a valid check digit."""
    cid = raw.strip(_PADDING).decode("ascii", errors="replace")
    if len(cid) != 13 or not cid.isdigit():
        raise CardDataError("the card's CID is not 13 digits")
    if not is_valid_cid(cid):
        raise CardDataError("the card's CID has an invalid check digit")
    return cid


@dataclass(frozen=True)
class PersonName:
    """A name as the card stores it: ``prefix#first#middle#last``."""

    title: str
    first: str
    middle: str
    last: str


def parse_name(raw: bytes) -> PersonName:
    """Split a name field into title, first, middle and last names; raises CardDataError."""
    parts = decode_text(raw).split("#")
    if len(parts) != 4:
        raise CardDataError("the card's name field is not prefix#first#middle#last")
    title, first, middle, last = (part.strip() for part in parts)
    if not first:
        raise CardDataError("the card's name field has no first name")
    return PersonName(title=title, first=first, middle=middle, last=last)


@dataclass(frozen=True)
class BuddhistDate:
    """A Buddhist-era date from the card; month and day are None when the card says ``00``."""

    year: int
    month: int | None
    day: int | None

    def card_string(self) -> str:
        """Return the date as the card writes it, ``YYYYMMDD`` with ``00`` for unknown parts."""
        return f"{self.year:04d}{self.month or 0:02d}{self.day or 0:02d}"

    def to_gregorian(self) -> dt.date | None:
        """Return the Gregorian date, or None when the month or day is unknown."""
        if self.month is None or self.day is None:
            return None
        return dt.date(self.year - _BUDDHIST_ERA_OFFSET, self.month, self.day)


def parse_be_date(raw: bytes, *, allow_unknown: bool = False) -> BuddhistDate:
    """Parse a Buddhist-era ``YYYYMMDD`` field; raises CardDataError.

    With ``allow_unknown`` (birth dates), month and/or day ``00`` mean "not known" and are
    kept as None — some people's birth day or month was never registered.
    """
    text = raw.strip(_PADDING).decode("ascii", errors="replace")
    if len(text) != 8 or not text.isdigit():
        raise CardDataError("a date on the card is not YYYYMMDD")
    year, month, day = int(text[:4]), int(text[4:6]), int(text[6:])
    if year <= _BUDDHIST_ERA_OFFSET:
        raise CardDataError("a date on the card has no valid Buddhist-era year")
    if allow_unknown and month == 0:
        if day != 0:
            raise CardDataError("a date on the card has a day but no month")
        return BuddhistDate(year, None, None)
    if allow_unknown and day == 0:
        if not 1 <= month <= 12:
            raise CardDataError("a date on the card has an invalid month")
        return BuddhistDate(year, month, None)
    try:
        dt.date(year - _BUDDHIST_ERA_OFFSET, month, day)
    except ValueError:
        raise CardDataError("a date on the card is not a calendar date") from None
    return BuddhistDate(year, month, day)


def parse_expiry(raw: bytes) -> BuddhistDate | None:
    """Parse the expiry date; None means the card is valid for life (``99999999``)."""
    if raw.strip(_PADDING) == _LIFELONG.encode():
        return None
    return parse_be_date(raw)


def parse_sex(raw: bytes) -> str:
    """Return the sex code, ``"1"`` (male) or ``"2"`` (female); raises CardDataError."""
    code = raw.strip(_PADDING)
    if code not in (b"1", b"2"):
        raise CardDataError("the card's sex field is not 1 or 2")
    return code.decode("ascii")


def cut_photo(raw: bytes) -> bytes | None:
    """Return the JPEG from the photo chunks, cut just after the last ``FF D9``.

    The bytes are never stripped: 0x20 and 0x00 are ordinary bytes inside a JPEG. Returns
    None when the chunks hold no JPEG (a card without a photo).
    """
    end = raw.rfind(_JPEG_END)
    if not raw.startswith(_JPEG_START) or end < 0:
        return None
    return raw[: end + len(_JPEG_END)]


@dataclass(frozen=True)
class Address:
    """The card's address split by the labels printed before each part.

    Values are the text after the label (``หมู่ที่ 5`` → ``"5"``), except ``lane``, which
    keeps its label because two different ones (ซอย, ตรอก) land there.
    """

    house_no: str = ""
    village_no: str = ""
    village: str = ""
    lane: str = ""
    road: str = ""
    sub_district: str = ""
    district: str = ""
    province: str = ""
    other: tuple[str, ...] = ()


# Longest labels first so that "หมู่ที่" is never taken for the start of "หมู่บ้าน".
_LABELS: tuple[tuple[str, str, bool], ...] = (
    ("หมู่ที่", "village_no", False),
    ("หมู่บ้าน", "village", False),
    ("ซอย", "lane", True),
    ("ตรอก", "lane", True),
    ("ถนน", "road", False),
    ("ตำบล", "sub_district", False),
    ("แขวง", "sub_district", False),
    ("อำเภอ", "district", False),
    ("เขต", "district", False),
    ("จังหวัด", "province", False),
)
# Bangkok is written without the จังหวัด label.
_BANGKOK = "กรุงเทพมหานคร"


def parse_address(raw: bytes) -> Address:
    """Split the ``#``-separated address into its parts by their labels, not their position.

    The only unlabelled part with a fixed meaning is the house number, which comes first;
    other unlabelled parts are a village name when no หมู่บ้าน label gave one, else kept
    in ``other``.
    """
    found: dict[str, str] = {}
    unlabelled: list[str] = []
    for part in (p.strip() for p in decode_text(raw).split("#")):
        if not part:
            continue
        for label, field, keep_label in _LABELS:
            if part.startswith(label) and field not in found:
                found[field] = part if keep_label else part[len(label) :].strip()
                break
        else:
            if part == _BANGKOK and "province" not in found:
                found["province"] = part
            else:
                unlabelled.append(part)
    if unlabelled and "house_no" not in found and any(c.isdigit() for c in unlabelled[0]):
        found["house_no"] = unlabelled.pop(0)
    if unlabelled and "village" not in found:
        found["village"] = unlabelled.pop(0)
    return Address(**found, other=tuple(unlabelled))


@dataclass(frozen=True)
class ThaiIdCard:
    """Everything read from one Thai national ID card."""

    cid: str
    name_th: PersonName
    name_en: PersonName
    birth_date: BuddhistDate
    sex: str
    issuer: str
    issue_date: BuddhistDate
    expiry_date: BuddhistDate | None
    address: Address
    photo: bytes | None

    @property
    def lifelong(self) -> bool:
        """True when the card never expires."""
        return self.expiry_date is None


def parse_card(fields: dict[str, bytes], photo_chunks: bytes | None) -> ThaiIdCard:
    """Build a :class:`ThaiIdCard` from the raw fields read; raises CardDataError.

    ``fields`` maps the names of :data:`reader_agent.apdu.TEXT_FIELDS` to their bytes;
    ``photo_chunks`` is the photo area as read, or None when the photo was not asked for.
    """
    try:
        return ThaiIdCard(
            cid=parse_cid(fields["cid"]),
            name_th=parse_name(fields["name_th"]),
            name_en=parse_name(fields["name_en"]),
            birth_date=parse_be_date(fields["birth_date"], allow_unknown=True),
            sex=parse_sex(fields["sex"]),
            issuer=decode_text(fields["issuer"]),
            issue_date=parse_be_date(fields["issue_date"]),
            expiry_date=parse_expiry(fields["expiry_date"]),
            address=parse_address(fields["address"]),
            photo=cut_photo(photo_chunks) if photo_chunks is not None else None,
        )
    except KeyError as missing:
        raise CardDataError(f"field {missing} was not read") from None

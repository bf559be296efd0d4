"""The Thai ID card's command set: APDUs, field offsets and status words (no I/O here)."""

from __future__ import annotations

from dataclasses import dataclass

# SELECT by AID: the Ministry of Interior's application A0 00 00 00 54 48 00 01.
SELECT_THAI_ID = bytes.fromhex("00A4040008A000000054480001")

SW_OK = 0x9000


@dataclass(frozen=True)
class Field:
    """Where one field lives in the card's file: offset and length in bytes."""

    offset: int
    length: int


# Offsets and lengths of the text fields (Ministry of Interior layout).
TEXT_FIELDS: dict[str, Field] = {
    "cid": Field(0x0004, 13),
    "name_th": Field(0x0011, 100),
    "name_en": Field(0x0075, 100),
    "birth_date": Field(0x00D9, 8),
    "sex": Field(0x00E1, 1),
    "issuer": Field(0x00F6, 100),
    "issue_date": Field(0x0167, 8),
    "expiry_date": Field(0x016F, 8),
    "address": Field(0x1579, 100),
}

PHOTO_OFFSET = 0x017B
PHOTO_CHUNK = 255
PHOTO_CHUNKS = 20


def photo_fields() -> list[Field]:
    """Return the 20 chunks of 255 bytes that hold the face photo, in order."""
    return [Field(PHOTO_OFFSET + i * PHOTO_CHUNK, PHOTO_CHUNK) for i in range(PHOTO_CHUNKS)]


def read_command(field: Field) -> bytes:
    """Return the READ BINARY-like command ``80 B0 <hi> <lo> 02 00 <len>`` for ``field``."""
    return bytes([0x80, 0xB0, field.offset >> 8, field.offset & 0xFF, 0x02, 0x00, field.length])


def get_response_p2(atr: bytes) -> int:
    """Return GET RESPONSE's P2: cards whose ATR starts ``3B 67`` want 01, all others 00."""
    return 0x01 if atr[:2] == b"\x3b\x67" else 0x00


def get_response_command(p2: int, length: int) -> bytes:
    """Return GET RESPONSE ``00 C0 00 <P2> <len>``."""
    return bytes([0x00, 0xC0, 0x00, p2, length & 0xFF])


def with_le(command: bytes, le: int) -> bytes:
    """Return ``command`` re-issued with Le = ``le``, as a ``6Cxx`` answer asks.

    Case 2 and case 4 commands get their Le replaced; a case 3 command (data, no Le) gets
    one appended, which makes it case 4.
    """
    if len(command) == 5:  # case 2: header + Le
        return command[:4] + bytes([le])
    return command[: 5 + command[4]] + bytes([le])


def status_word(response: bytes) -> int:
    """Return the two trailing status bytes of a response as one integer (0 if too short)."""
    if len(response) < 2:
        return 0
    return (response[-2] << 8) | response[-1]

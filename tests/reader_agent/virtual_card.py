"""A virtual Thai national ID card that plugs into pcscd's vpcd reader driver over TCP.

vpcd's protocol: every message is a 2-byte big-endian length and a payload. A 1-byte
payload is a control code (0 power off, 1 power on, 2 reset, 4 send the ATR); anything
longer is a command APDU the card answers. Closing the socket takes the card out.

The card can behave like the different real cards and readers the agent meets:

- ``atr``: an ATR starting ``3B 67`` needs GET RESPONSE with P2 = 01, any other P2 = 00
  (the card refuses the wrong P2 with ``6A 86``);
- ``style``: ``"get_response"`` answers a READ with ``61xx`` and the data on GET RESPONSE;
  ``"direct"`` returns the data straight away with ``9000``; ``"case4"`` answers a READ
  without Le with ``6Cxx`` and the data once the command is repeated with Le = xx;
- ``fail_first``: the first N APDUs after insertion answer ``6F 00``, as cards do that are
  read before they have settled;
- ``pull_after``: the card is pulled out (socket closed, no answer) when APDU N+1 arrives.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from dataclasses import dataclass, field

VPCD_HOST = "127.0.0.1"
VPCD_PORTS = (35963, 35964)  # readers "Virtual PCD 00 00" and "Virtual PCD 00 01"
# (tests/support/shared.py keeps them out of the ephemeral range for the whole run)
READER_NAMES = ("Virtual PCD 00 00", "Virtual PCD 00 01")

# TS=3B, T0=67: TB1 and TC1 present, 7 historical bytes.
ATR_3B67 = bytes.fromhex("3B 67 00 00 73 20 00 6C 68 90 00")
# TS=3B, T0=68: 8 historical bytes; a card family that wants P2 = 00.
ATR_3B68 = bytes.fromhex("3B 68 00 00 00 73 C8 40 12 00 90 00")

_THAI_ID_AID = bytes.fromhex("A0 00 00 00 54 48 00 01")
_FILE_SIZE = 0x1579 + 100
_PHOTO_OFFSET, _PHOTO_SIZE = 0x017B, 20 * 255

_CTRL_OFF, _CTRL_ON, _CTRL_RESET, _CTRL_ATR = 0, 1, 2, 4


@dataclass
class CardContent:
    """What is printed on (and stored in) a card; text as the card holds it."""

    cid: str = "1101700207030"
    name_th: str = "นาย#สมชาย##ใจดี"
    name_en: str = "Mr.#Somchai##Jaidee"
    birth_date: str = "25300115"
    sex: str = "1"
    issuer: str = "ท้องถิ่นเขตบางรัก/กรุงเทพมหานคร"
    issue_date: str = "25650301"
    expiry_date: str = "25730114"
    address: str = "99/9#หมู่ที่ 5#####ตำบลในเมือง#อำเภอเมืองขอนแก่น#จังหวัดขอนแก่น"
    photo: bytes = field(default_factory=lambda: sample_photo())
    # What fills the photo area after the JPEG; real cards leave spaces or NULs there.
    photo_padding: bytes = b"\x00\x00\x20\x20"

    def file_image(self) -> bytes:
        """Return the card's data file with every field at its offset, space padded."""
        image = bytearray(b" " * _FILE_SIZE)

        def put(offset: int, length: int, value: bytes) -> None:
            if len(value) > length:
                raise ValueError(f"value of {len(value)} bytes does not fit in {length}")
            image[offset : offset + len(value)] = value

        put(0x0004, 13, self.cid.encode("ascii"))
        put(0x0011, 100, self.name_th.encode("cp874"))
        put(0x0075, 100, self.name_en.encode("cp874"))
        put(0x00D9, 8, self.birth_date.encode("ascii"))
        put(0x00E1, 1, self.sex.encode("ascii"))
        put(0x00F6, 100, self.issuer.encode("cp874"))
        put(0x0167, 8, self.issue_date.encode("ascii"))
        put(0x016F, 8, self.expiry_date.encode("ascii"))
        area = self.photo + self.photo_padding * _PHOTO_SIZE
        put(_PHOTO_OFFSET, _PHOTO_SIZE, area[:_PHOTO_SIZE])
        put(0x1579, 100, self.address.encode("cp874"))
        return bytes(image)


def sample_photo(size: int = 4800) -> bytes:
    """Return JPEG-shaped bytes with 0x20 and 0x00 inside and an early ``FF D9`` too.

    Only the agent's cutting rules matter here, not whether an image viewer opens it: the
    early ``FF D9`` (as in an embedded thumbnail) must not end the photo, and spaces inside
    must survive.
    """
    head = bytes.fromhex("FF D8 FF E0 00 10 4A 46 49 46 00 01 01 00 00 01 00 01 00 00")
    thumbnail = bytes.fromhex("FF D8 20 20 00 FF D9")
    body = bytes((i * 37 + 11) % 256 for i in range(size - len(head) - len(thumbnail) - 4))
    # Spaces at the very end of the data, right before FF D9, are the classic victims of
    # a .strip() on image bytes.
    return head + thumbnail + body.replace(b"\xff\xd9", b"\xff\x00") + b"  " + b"\xff\xd9"


class VirtualThaiIdCard:
    """A Thai ID card the test inserts into a vpcd reader and takes out again."""

    def __init__(
        self,
        content: CardContent | None = None,
        *,
        atr: bytes = ATR_3B67,
        style: str = "get_response",
        fail_first: int = 0,
        pull_after: int | None = None,
    ) -> None:
        if style not in ("get_response", "direct", "case4"):
            raise ValueError(f"unknown style {style!r}")
        self.content = content or CardContent()
        self.atr = atr
        self.style = style
        self.fail_first = fail_first
        self.pull_after = pull_after
        self.apdus: list[bytes] = []
        self._file = self.content.file_image()
        self._selected = False
        self._pending = b""
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    # -- inserting and removing ----------------------------------------------------------

    def insert(self, reader_index: int = 0) -> None:
        """Put the card into vpcd reader ``reader_index`` (0 or 1)."""
        sock = socket.create_connection((VPCD_HOST, VPCD_PORTS[reader_index]), timeout=5)
        # Without these, Nagle's algorithm and delayed ACKs cost ~40 ms per APDU.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if hasattr(socket, "TCP_QUICKACK"):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        sock.settimeout(None)
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
        self._thread.start()

    def remove(self) -> None:
        """Take the card out: close the connection, as a pulled card does."""
        sock, self._sock = self._sock, None
        if sock is not None:
            _close(sock)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def inserted(self) -> bool:
        """True while vpcd is connected to the card."""
        return self._sock is not None and self._thread is not None and self._thread.is_alive()

    # -- the vpcd conversation ----------------------------------------------------------

    def _serve(self, sock: socket.socket) -> None:
        try:
            while True:
                header = _recv_exact(sock, 2)
                if header is None:
                    return
                (length,) = struct.unpack(">H", header)
                payload = _recv_exact(sock, length)
                if payload is None:
                    return
                if length == 1:
                    answer = self._control(payload[0])
                else:
                    self.apdus.append(payload)
                    if self.pull_after is not None and len(self.apdus) > self.pull_after:
                        return  # pulled: no answer, the connection closes below
                    answer = self._answer(payload)
                if answer is not None:
                    sock.sendall(struct.pack(">H", len(answer)) + answer)
                    if hasattr(socket, "TCP_QUICKACK"):
                        # Linux turns quick ACKs off again after a while; keep them on.
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        except OSError:
            return  # the test closed the socket from its side: the card is out
        finally:
            _close(sock)
            if self._sock is sock:
                self._sock = None

    def _control(self, code: int) -> bytes | None:
        if code in (_CTRL_OFF, _CTRL_ON, _CTRL_RESET):
            self._selected = False
            self._pending = b""
            return None
        if code == _CTRL_ATR:
            return self.atr
        return None

    def _answer(self, command: bytes) -> bytes:
        if len(self.apdus) <= self.fail_first:
            return b"\x6f\x00"
        header = command[:4]
        if header == bytes.fromhex("00 A4 04 00"):
            return self._select(command)
        if header[:2] == b"\x80\xb0":
            return self._read(command)
        if header[:2] == b"\x00\xc0":
            return self._get_response(command)
        return b"\x6d\x00"

    def _select(self, command: bytes) -> bytes:
        if command[4:] != bytes([len(_THAI_ID_AID)]) + _THAI_ID_AID:
            return b"\x6a\x82"
        self._selected = True
        if self.style == "get_response":
            self._pending = bytes.fromhex("6F 08 84 06 A0 00 00 00 54 48")
            return b"\x61" + bytes([len(self._pending)])
        return b"\x90\x00"

    def _read(self, command: bytes) -> bytes:
        if not self._selected:
            return b"\x69\x85"
        if len(command) not in (7, 8) or command[4:6] != b"\x02\x00":
            return b"\x67\x00"
        offset, length = (command[2] << 8) | command[3], command[6]
        data = self._file[offset : offset + length]
        if self.style == "get_response":
            self._pending = data
            return b"\x61" + bytes([len(data)])
        if self.style == "case4" and len(command) == 7:
            return b"\x6c" + bytes([len(data)])
        if self.style == "case4" and command[7] != len(data):
            return b"\x6c" + bytes([len(data)])
        return data + b"\x90\x00"

    def _get_response(self, command: bytes) -> bytes:
        expected_p2 = 0x01 if self.atr[:2] == b"\x3b\x67" else 0x00
        if len(command) != 5 or command[2] != 0 or command[3] != expected_p2:
            return b"\x6a\x86"
        if not self._pending:
            return b"\x69\x85"
        if command[4] != len(self._pending):
            return b"\x6c" + bytes([len(self._pending)])
        data, self._pending = self._pending, b""
        return data + b"\x90\x00"


def _recv_exact(sock: socket.socket, size: int) -> bytes | None:
    buffer = b""
    while len(buffer) < size:
        chunk = sock.recv(size - len(buffer))
        if not chunk:
            return None
        buffer += chunk
    return buffer


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()

"""Reading a Thai national ID card through PC/SC: the APDU dialogue, retries and readers."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from reader_agent import apdu
from reader_agent.errors import CardReadError, CardRemovedError, NoCardError, NoReaderError
from reader_agent.pcsc import CardChannel, PcscContext, Terminal, TransmitError
from reader_agent.thai_id import ThaiIdCard, parse_card

log = logging.getLogger(__name__)

# A card answering 61xx/6Cxx more often than this for one command is misbehaving.
_MAX_CHAINED_ANSWERS = 4


class CardAnswerError(Exception):
    """The card answered a command with an unexpected status word or length."""


@dataclass
class ReadStats:
    """What the last successful read cost: APDU exchanges, attempts and time."""

    apdus: int = 0
    attempts: int = 0
    seconds: float = 0.0
    transmit_seconds: float = 0.0

    @property
    def agent_seconds(self) -> float:
        """The agent's own time: the whole read less the time spent waiting for the card."""
        return self.seconds - self.transmit_seconds


def exchange(channel: CardChannel, command: bytes, p2: int) -> bytes:
    """Send ``command`` and return its data, following ``61xx`` and ``6Cxx`` answers.

    Cards either return the data straight away with ``9000``, or say ``61xx`` (xx bytes
    wait for a GET RESPONSE), or ``6Cxx`` (repeat the command with Le = xx).
    """
    response = channel.transmit(command)
    for _ in range(_MAX_CHAINED_ANSWERS):
        sw = apdu.status_word(response)
        if sw >> 8 == 0x61:
            command = apdu.get_response_command(p2, sw & 0xFF)
        elif sw >> 8 == 0x6C:
            command = apdu.with_le(command, sw & 0xFF)
        else:
            break
        response = channel.transmit(command)
    sw = apdu.status_word(response)
    if sw != apdu.SW_OK:
        raise CardAnswerError(f"status word {sw:04X}")
    return response[:-2]


def read_field(channel: CardChannel, field: apdu.Field, p2: int) -> bytes:
    """Read one field; raises CardAnswerError unless exactly its length came back."""
    data = exchange(channel, apdu.read_command(field), p2)
    if len(data) != field.length:
        raise CardAnswerError(f"{len(data)} bytes instead of {field.length}")
    return data


class ThaiIdCardReader:
    """Reads Thai ID cards from the PC's readers, one read per reader at a time."""

    def __init__(
        self, attempts: int = 4, first_backoff: float = 0.1, removal_settle: float = 1.0
    ) -> None:
        self.attempts = attempts
        self.first_backoff = first_backoff
        self.removal_settle = removal_settle
        self.last_stats = ReadStats()
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def terminals(self) -> list[Terminal]:
        """Return the readers and whether each holds a card; raises NoReaderError."""
        with PcscContext() as context:
            return context.terminals()

    def choose_reader(self, preferred: str | None = None) -> str:
        """Pick the reader to read from: ``preferred`` if connected, else the first one
        holding a card, else the first one. Raises NoReaderError when there is none."""
        terminals = self.terminals()
        if not terminals:
            raise NoReaderError("no card reader is connected")
        names = [t.name for t in terminals]
        if preferred and preferred in names:
            return preferred
        with_card = [t.name for t in terminals if t.card_present]
        return with_card[0] if with_card else names[0]

    def read(self, reader: str, *, with_photo: bool) -> ThaiIdCard:
        """Read every field (and the photo if asked) from the card in ``reader``.

        Retries with back-off, because the first read right after insertion often fails.
        Raises NoReaderError, NoCardError, CardRemovedError (never partial data),
        CardReadError, or CardDataError (e.g. an invalid CID check digit).
        """
        with self._lock_for(reader):
            return self._read_with_retries(reader, with_photo)

    def _lock_for(self, reader: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(reader, threading.Lock())

    def _read_with_retries(self, reader: str, with_photo: bool) -> ThaiIdCard:
        started = time.perf_counter()
        stats = ReadStats()
        delay = self.first_backoff
        connected = False
        with PcscContext() as context:
            for attempt in range(1, self.attempts + 1):
                stats.attempts = attempt
                try:
                    with context.connect(reader) as channel:
                        connected = True
                        try:
                            raw_fields, photo = self._read_raw(channel, with_photo)
                        finally:
                            stats.apdus += channel.apdus_sent
                            stats.transmit_seconds += channel.transmit_seconds
                    card = parse_card(raw_fields, photo)
                except NoCardError:
                    if connected:
                        raise CardRemovedError(
                            "the card was removed while it was being read"
                        ) from None
                    raise
                except (TransmitError, CardAnswerError) as failure:
                    log.info("read attempt %d on %s failed: %s", attempt, reader, failure)
                    last_attempt = attempt == self.attempts
                    # Back off; a card pulled out ends the wait (and the read) at once. After
                    # the last attempt, give PC/SC a moment to notice a pull before calling
                    # the card unreadable: readers poll for presence a few times a second.
                    wait = self.removal_settle if last_attempt else delay
                    if connected:
                        if context.wait_until_absent(reader, wait):
                            raise CardRemovedError(
                                "the card was removed while it was being read"
                            ) from None
                    else:
                        time.sleep(0 if last_attempt else delay)
                        if not context.card_present(reader):
                            raise NoCardError("no card in the reader") from None
                    delay *= 2
                    continue
                stats.seconds = time.perf_counter() - started
                self.last_stats = stats
                return card
        raise CardReadError("the card did not answer like a Thai national ID card")

    @staticmethod
    def _read_raw(channel: CardChannel, with_photo: bool) -> tuple[dict[str, bytes], bytes | None]:
        p2 = apdu.get_response_p2(channel.atr)
        exchange(channel, apdu.SELECT_THAI_ID, p2)
        fields = {name: read_field(channel, field, p2) for name, field in apdu.TEXT_FIELDS.items()}
        photo = None
        if with_photo:
            photo = b"".join(read_field(channel, chunk, p2) for chunk in apdu.photo_fields())
        return fields, photo

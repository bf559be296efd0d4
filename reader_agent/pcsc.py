"""A thin, typed layer over pyscard's PC/SC calls that turns result codes into agent errors.

Every operation opens its own PC/SC context: contexts die when pcscd restarts (or a reader
driver reloads), and a fresh one per read costs one local socket round trip.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from smartcard import scard

from reader_agent.errors import CardRemovedError, NoCardError, NoReaderError

# Result codes that mean "there is no PC/SC service or no such reader" (→ HTTP 418).
_NO_READER = {
    scard.SCARD_E_NO_SERVICE,
    scard.SCARD_E_SERVICE_STOPPED,
    scard.SCARD_E_NO_READERS_AVAILABLE,
    scard.SCARD_E_UNKNOWN_READER,
    scard.SCARD_E_READER_UNAVAILABLE,
}
# Result codes that mean "the card is not (or no longer) there".
_NO_CARD = {scard.SCARD_E_NO_SMARTCARD, scard.SCARD_W_REMOVED_CARD}


class TransmitError(Exception):
    """A transient PC/SC failure while talking to a card; the caller may retry."""

    def __init__(self, what: str, code: int) -> None:
        super().__init__(f"{what}: {scard.SCardGetErrorMessage(code)} (0x{code & 0xFFFFFFFF:08X})")
        self.code = code


def _raise_for(code: int, what: str, *, removed: bool = False) -> None:
    """Raise the agent error for a failed PC/SC call; ``removed`` if a card had been connected."""
    if code in _NO_READER:
        raise NoReaderError("no card reader is available (is the PC/SC service running?)")
    if code in _NO_CARD:
        if removed:
            raise CardRemovedError("the card was removed while it was being read")
        raise NoCardError("no card in the reader")
    raise TransmitError(what, code)


@dataclass(frozen=True)
class Terminal:
    """A card reader and whether a card is in it."""

    name: str
    card_present: bool


class CardChannel:
    """A SHARED-mode connection to the card in one reader."""

    def __init__(self, handle: int, protocol: int, atr: bytes) -> None:
        self._handle = handle
        self._protocol = protocol
        self.atr = atr
        self.apdus_sent = 0
        self.transmit_seconds = 0.0

    def transmit(self, command: bytes) -> bytes:
        """Send one APDU and return the whole response (data and status word)."""
        self.apdus_sent += 1
        started = time.perf_counter()
        code, response = scard.SCardTransmit(self._handle, self._protocol, list(command))
        self.transmit_seconds += time.perf_counter() - started
        if code != scard.SCARD_S_SUCCESS:
            _raise_for(code, "transmit", removed=True)
        return bytes(response)


class PcscContext:
    """One PC/SC context: list readers, query card presence, connect to a card."""

    def __init__(self) -> None:
        code, self._handle = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if code != scard.SCARD_S_SUCCESS:
            _raise_for(scard.SCARD_E_NO_SERVICE, "establish context")

    def close(self) -> None:
        """Release the context."""
        scard.SCardReleaseContext(self._handle)

    def __enter__(self) -> PcscContext:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def reader_names(self) -> list[str]:
        """Return the names of the connected readers (empty if there are none)."""
        code, names = scard.SCardListReaders(self._handle, [])
        if code == scard.SCARD_E_NO_READERS_AVAILABLE:
            return []
        if code != scard.SCARD_S_SUCCESS:
            _raise_for(code, "list readers")
        return list(names)

    def terminals(self) -> list[Terminal]:
        """Return every reader with whether a card is present in it right now."""
        names = self.reader_names()
        if not names:
            return []
        states = [(name, scard.SCARD_STATE_UNAWARE) for name in names]
        code, new_states = scard.SCardGetStatusChange(self._handle, 0, states)
        if code != scard.SCARD_S_SUCCESS:
            _raise_for(code, "get status")
        return [
            Terminal(name=name, card_present=bool(state & scard.SCARD_STATE_PRESENT))
            for name, state, _atr in new_states
        ]

    def card_present(self, reader: str) -> bool:
        """Return True if ``reader`` has a card in it now."""
        return any(t.card_present for t in self.terminals() if t.name == reader)

    def wait_until_absent(self, reader: str, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for ``reader`` to have no card; True if it has none.

        Returns as soon as PC/SC reports the removal, so it doubles as a retry back-off that
        notices a pulled card without waiting the whole delay.
        """
        deadline = time.monotonic() + timeout
        state = scard.SCARD_STATE_UNAWARE
        while True:
            wait_ms = 0 if state == scard.SCARD_STATE_UNAWARE else self._ms_until(deadline)
            code, states = scard.SCardGetStatusChange(self._handle, wait_ms, [(reader, state)])
            if code == scard.SCARD_E_TIMEOUT:
                return False
            if code != scard.SCARD_S_SUCCESS:
                _raise_for(code, "get status")
            state = states[0][1] & ~scard.SCARD_STATE_CHANGED
            if not state & scard.SCARD_STATE_PRESENT:
                return True
            if time.monotonic() >= deadline:
                return False

    @staticmethod
    def _ms_until(deadline: float) -> int:
        return max(0, int((deadline - time.monotonic()) * 1000))

    @contextmanager
    def connect(self, reader: str) -> Iterator[CardChannel]:
        """Connect in SHARED mode inside a transaction, so other programs on the PC can use
        the reader too but cannot interleave their APDUs with a read."""
        code, handle, protocol = scard.SCardConnect(
            self._handle,
            reader,
            scard.SCARD_SHARE_SHARED,
            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
        )
        if code != scard.SCARD_S_SUCCESS:
            _raise_for(code, "connect")
        try:
            code, _reader, _state, _protocol, atr = scard.SCardStatus(handle)
            if code != scard.SCARD_S_SUCCESS:
                _raise_for(code, "status", removed=True)
            code = scard.SCardBeginTransaction(handle)
            if code != scard.SCARD_S_SUCCESS:
                _raise_for(code, "begin transaction", removed=True)
            try:
                yield CardChannel(handle, protocol, bytes(atr))
            finally:
                scard.SCardEndTransaction(handle, scard.SCARD_LEAVE_CARD)
        finally:
            scard.SCardDisconnect(handle, scard.SCARD_LEAVE_CARD)

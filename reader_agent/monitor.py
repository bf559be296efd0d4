"""Watching readers for card insertion and removal.

A background thread asks PC/SC for the readers' state every ``interval`` seconds and calls
back on every change. Polling (rather than one blocking SCardGetStatusChange) keeps the
thread easy to stop and lets it survive pcscd restarts and readers being unplugged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from reader_agent.errors import NoReaderError
from reader_agent.pcsc import PcscContext

log = logging.getLogger(__name__)

CardEvent = Callable[[str, bool], None]
"""Called with (reader name, card present) when a card goes in or comes out."""


class CardPresenceMonitor:
    """Calls ``on_change(reader, present)`` whenever a card is inserted or removed."""

    def __init__(self, on_change: CardEvent | None = None, interval: float = 0.2) -> None:
        self._on_change = on_change
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._present: dict[str, bool] = {}

    def start(self) -> None:
        """Start watching in a daemon thread."""
        self._thread = threading.Thread(target=self._run, name="card-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching and wait for the thread to end."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def snapshot(self) -> dict[str, bool]:
        """Return the last known state: reader name → card present."""
        with self._lock:
            return dict(self._present)

    def _run(self) -> None:
        service_down = False
        while not self._stop.is_set():
            try:
                with PcscContext() as context:
                    current = {t.name: t.card_present for t in context.terminals()}
                service_down = False
            except NoReaderError:
                if not service_down:
                    log.warning("PC/SC service unavailable; waiting for it to come back")
                service_down = True
                current = {}
            except Exception:  # a monitor that dies silently is worse than a logged error
                log.exception("card monitor poll failed")
                current = {}
            self._publish(current)
            self._stop.wait(self._interval)

    def _publish(self, current: dict[str, bool]) -> None:
        with self._lock:
            previous, self._present = self._present, current
        for reader, present in current.items():
            if previous.get(reader, False) != present:
                log.info(
                    "card %s reader %s", "inserted into" if present else "removed from", reader
                )
                if self._on_change is not None:
                    self._on_change(reader, present)
        for reader in previous.keys() - current.keys():
            log.info("reader %s disconnected", reader)
            if previous[reader] and self._on_change is not None:
                self._on_change(reader, False)

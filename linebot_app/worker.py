"""The `worker` process: sends the outbox until stopped (SIGTERM or SIGINT finish a batch).

Run with ``python -m linebot_app.worker``; configuration comes from the environment only.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from authencode.db import Database
from authencode.settings import Settings, SettingsError
from linebot_app.sender import OutboxSender

log = logging.getLogger("linebot_app.worker")

POLL_SECONDS = 1.0


def run(sender: OutboxSender, stop: threading.Event, poll: float = POLL_SECONDS) -> None:
    """Send due rows until ``stop`` is set; sleeps only when nothing was due."""
    while not stop.is_set():
        try:
            busy = sender.run_once()
        except Exception as exc:  # a database outage must not end the worker
            log.error("outbox batch failed: %s", type(exc).__name__)
            busy = 0
        if not busy:
            stop.wait(poll)


def main() -> int:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env()
        db = Database(settings.database_url)
        sender = OutboxSender(db, settings)
    except (SettingsError, ValueError) as exc:
        log.error("%s", exc)
        return 2
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("outbox worker started")
    run(sender, stop)
    db.dispose()
    log.info("outbox worker stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The `worker` process: sends the outbox until stopped (SIGTERM or SIGINT finish a batch).

It delivers both kinds of outbox rows: LINE replies and pushes (OutboxSender) and staff
emails (authencode.services.mail, through SMTP_URL; logged in development without one).
It also purges what is past its retention period (authencode.services.retention: among
others chat dialogues nobody came back to, whose answers hold CIDs), and removes pending
links whose approval request went unanswered for a day.

Run with ``python -m linebot_app.worker``; configuration comes from the environment only.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Protocol

from authencode import redaction
from authencode.crypto import DataProtector
from authencode.db import Database, utcnow
from authencode.services import link_approvals, mail, retention
from authencode.settings import RetentionPolicy, Settings, SettingsError
from linebot_app import notify
from linebot_app.sender import OutboxSender

log = logging.getLogger("linebot_app.worker")

# How long an idle worker waits before looking again: a reply waits at most this long before
# it is picked up (LINE users expect an answer within a second). An idle poll is one indexed
# query per job, about 20 small queries a second.
POLL_SECONDS = 0.1


class Job(Protocol):
    def run_once(self) -> int: ...


class EmailJob:
    """Staff emails (approval passwords, reset links) queued in the outbox."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.protector = DataProtector(settings.key_ring)

    def run_once(self) -> int:
        return mail.deliver_due_email(
            self.db,
            self.settings.smtp_url,
            self.protector,
            log_only=self.settings.environment == "development",
        )


class PeriodicJob:
    """A sweep run about once every EVERY, whatever the poll rate."""

    EVERY = dt.timedelta(minutes=1)

    def __init__(self, db: Database, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock
        self._next: dt.datetime | None = None

    def run_once(self) -> int:
        now = self.clock()
        if self._next is not None and now < self._next:
            return 0
        self._next = now + self.EVERY
        return self.sweep(now)

    def sweep(self, now: dt.datetime) -> int:
        raise NotImplementedError


class RetentionJob(PeriodicJob):
    """Everything past its retention period, purged about once a minute (expired dialogues
    hold CIDs: they should not wait long) in batches; a run that removed anything is
    audited. At most MAX_BATCHES batches a kind per run, so a backlog (the first run after an
    upgrade) never holds up the outbox for long: it drains over the following minutes."""

    MAX_BATCHES = 2

    def __init__(
        self, db: Database, policy: RetentionPolicy, clock: Callable[[], dt.datetime] = utcnow
    ) -> None:
        super().__init__(db, clock)
        self.policy = policy

    def sweep(self, now: dt.datetime) -> int:
        counts = retention.purge(self.db, self.policy, now, max_batches=self.MAX_BATCHES)
        purged = sum(counts.values())
        if purged:
            log.info("retention purge: %s", ", ".join(f"{k} {n}" for k, n in counts.items() if n))
        return purged


class ApprovalExpiryJob(PeriodicJob):
    """Pending links whose approval request went unanswered for a day, removed about once a
    minute; the account that asked is told."""

    def sweep(self, now: dt.datetime) -> int:
        with self.db.transaction() as session:
            closed = link_approvals.expire_due(session, now)
            for gone in closed:
                notify.approval_ended(session, gone, expired=True)
        if closed:
            log.info("removed %d pending link(s) nobody approved", len(closed))
        return len(closed)


class Jobs:
    """Several jobs as one batch; one failing job does not hold up the others."""

    def __init__(self, *jobs: Job) -> None:
        self.jobs = jobs

    def run_once(self) -> int:
        busy = 0
        for job in self.jobs:
            try:
                busy += job.run_once()
            except Exception as exc:  # a database or SMTP outage must not end the worker
                log.error("%s batch failed: %s", type(job).__name__, type(exc).__name__)
        return busy


def run(sender: Job, stop: threading.Event, poll: float = POLL_SECONDS) -> None:
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
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = Settings.from_env()
        redaction.install(keep_whole_allowed=settings.environment == "development")
        db = Database(settings.database_url)
        sender = OutboxSender(db, settings)
        jobs = Jobs(
            sender,
            EmailJob(db, settings),
            RetentionJob(db, settings.retention),
            ApprovalExpiryJob(db),
        )
    except (SettingsError, ValueError) as exc:
        log.error("%s", exc)
        return 2
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("outbox worker started")
    run(jobs, stop)
    sender.close()
    db.dispose()
    log.info("outbox worker stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

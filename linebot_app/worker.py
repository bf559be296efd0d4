"""The `worker` process: applies the webhook's events and sends the outbox until stopped
(SIGTERM or SIGINT finish a batch).

It applies the LINE events the webhook stored (linebot_app.inbox: one user's events in
order, several workers in parallel) and delivers both kinds of outbox rows: LINE replies and
pushes (OutboxSender) and staff emails (authencode.services.mail, through SMTP_URL; logged
in development without one). It also purges what is past its retention period
(authencode.services.retention: among others chat dialogues nobody came back to, whose
answers hold CIDs), and removes pending links whose approval request went unanswered for a day.

Run with ``python -m linebot_app.worker``; configuration comes from the environment only.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any, Protocol

import psycopg

from authencode import redaction
from authencode.crypto import DataProtector
from authencode.db import Database, utcnow
from authencode.ratelimit import RateLimiter
from authencode.services import link_approvals, mail, retention
from authencode.settings import RetentionPolicy, Settings, SettingsError
from linebot_app import assistant, notify
from linebot_app.inbox import EventApplier
from linebot_app.sender import OutboxSender
from linebot_app.state import make_state
from linebot_app.wake import NOTIFY_CHANNEL, listen_url

log = logging.getLogger("linebot_app.worker")

# How long an idle worker sleeps before looking again on SQLite (the demo): a reply waits at
# most this long before it is picked up. On PostgreSQL an idle worker waits on LISTEN
# instead, woken by the web processes' nudges (linebot_app.wake) and by the trigger of every
# queued message, and looks again after IDLE_SECONDS anyway (a retry coming due, the periodic
# sweeps, a lost nudge).
POLL_SECONDS = 0.1
IDLE_SECONDS = 1.0


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


class Waker:
    """How an idle worker waits for work: LISTEN on PostgreSQL, a short sleep on SQLite."""

    def __init__(self, database_url: str) -> None:
        self.listen_url = listen_url(database_url)
        self._conn: psycopg.Connection[Any] | None = None

    def wait(self, stop: threading.Event, poll: float = POLL_SECONDS) -> None:
        if self.listen_url is None:
            stop.wait(poll)
            return
        try:
            conn = self._listening()
            for _ in conn.notifies(timeout=IDLE_SECONDS, stop_after=1):
                pass
        except psycopg.Error as exc:
            log.warning("LISTEN connection lost (%s): sleeping instead", type(exc).__name__)
            self.close()
            stop.wait(IDLE_SECONDS)

    def _listening(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            assert self.listen_url is not None
            self._conn = psycopg.connect(self.listen_url, autocommit=True, connect_timeout=5)
            self._conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def run(
    sender: Job, stop: threading.Event, poll: float = POLL_SECONDS, waker: Waker | None = None
) -> None:
    """Do what is due until ``stop`` is set; waits (``waker``) only when nothing was due."""
    while not stop.is_set():
        try:
            busy = sender.run_once()
        except Exception as exc:  # a database outage must not end the worker
            log.error("worker batch failed: %s", type(exc).__name__)
            busy = 0
        if not busy:
            if waker is None:
                stop.wait(poll)
            else:
                waker.wait(stop, poll)


def main() -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = Settings.from_env()
        redaction.install(keep_whole_allowed=settings.environment == "development")
        db = Database(settings.database_url)
        sender = OutboxSender(db, settings)
        applier = EventApplier(
            db,
            settings,
            rate=RateLimiter(settings.rate_limits, settings.redis_url),
            state=make_state(settings),
        )
        # Two loops, each on its own thread and connections: the events are applied while
        # the replies of those applied before are on their way to LINE (a reply goes out as
        # soon as its user's transaction commits, not after the applier's whole round).
        applying = Jobs(applier)
        sending = Jobs(
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
    assistant.warm()  # the Thai dictionary, before the first message rather than during it
    log.info("worker started")
    wakers = [Waker(settings.database_url), Waker(settings.database_url)]
    applying_thread = threading.Thread(
        target=run, args=(applying, stop), kwargs={"waker": wakers[0]}, name="apply"
    )
    applying_thread.start()
    run(sending, stop, waker=wakers[1])
    applying_thread.join()
    for waker in wakers:
        waker.close()
    sender.close()
    db.dispose()
    log.info("worker stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

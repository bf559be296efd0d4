"""The webhook's inbox: events stored by the webhook, applied by the workers.

The webhook only stores: every event of a delivery goes into ``webhook_events`` as
``pending`` (its JSON encrypted, de-duplicated by ``webhookEventId`` with ON CONFLICT DO
NOTHING) in one autocommitted statement, and LINE gets its 200. That row is what makes a
worker pick the event up, so an acknowledged event cannot be left unprocessed.

A worker (:class:`EventApplier`) applies one LINE user's pending events in LINE's order — by
(``timestamp``, arrival) — in one transaction per user: the effects, the replies queued in the
outbox and the events marked ``applied`` commit together or not at all, so an event takes
effect exactly once even when a worker dies half-way. On PostgreSQL the transaction first
takes the user's advisory lock (``pg_try_advisory_xact_lock``): another worker skips that user
and takes the next, and a killed worker's lock ends with its connection, at once. SQLite
serialises writers anyway (BEGIN IMMEDIATE), the same code without the lock.

A try is counted when a worker takes the events, before it applies them (committed on its
own on PostgreSQL), so an event whose worker dies while applying it — every time — uses up
its tries too; once a try ended without applying its events, the user's events are taken one
a transaction, so that only the one at fault is counted again. A handler that raises rolls
the user's transaction back; the event's try stays counted (the others' are undone) and it
is tried again after a back-off, and the user's later events are applied meanwhile
(a bug in one event must not silence the chat): such an event alone may take effect after
newer ones. After ``LINE_EVENT_MAX_ATTEMPTS`` tries it is ``dead`` (``authencode line
events``, /metrics) until an operator retries it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from linebot.v3.webhooks import Event
from sqlalchemy import Connection, Table, bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from authencode.crypto import DataProtector
from authencode.db import Database
from authencode.models import WebhookEvent
from authencode.ratelimit import RateLimiter
from authencode.services.inbox import PAYLOAD_CONTEXT, THROTTLED, bump
from authencode.services.people import LocalRegistryRights, RightsLookup
from authencode.settings import Settings
from linebot_app import messages
from linebot_app.context import EventContext
from linebot_app.events import handle_event
from linebot_app.outbox import enqueue_reply
from linebot_app.state import BotState, bot_state

log = logging.getLogger(__name__)

MAX_EVENT_ID = 64
# Events a person sends; follow/unfollow change state and are never throttled.
THROTTLED_EVENTS = ("message", "postback")
SLOW_DOWN_TH = "คุณส่งข้อความถี่เกินไป ระบบขอพักการตอบสักครู่ กรุณารอประมาณ 1 นาทีแล้วส่งใหม่อีกครั้งนะคะ"
LOCK_NAMESPACE = 19  # the first key of the users' advisory locks

_EVENTS = cast(Table, WebhookEvent.__table__)
_INSERT_ONE = postgresql.insert(_EVENTS).on_conflict_do_nothing()
_DUE_USERS = (
    select(_EVENTS.c.line_user_id)
    .where(_EVENTS.c.status == "pending", _EVENTS.c.next_attempt_at <= bindparam("now"))
    .group_by(_EVENTS.c.line_user_id)
    .order_by(func.min(_EVENTS.c.received_at))
    .limit(bindparam("limit"))
)
_PENDING_OF_USER = (
    select(
        _EVENTS.c.webhook_event_id,
        _EVENTS.c.event_type,
        _EVENTS.c.payload,
        _EVENTS.c.attempts,
        _EVENTS.c.next_attempt_at,
    )
    .where(_EVENTS.c.status == "pending", _EVENTS.c.line_user_id == bindparam("user"))
    .order_by(_EVENTS.c.event_ts, _EVENTS.c.received_at, _EVENTS.c.webhook_event_id)
    .limit(bindparam("limit"))
)
_MARK_APPLIED = (
    update(_EVENTS)
    .where(
        _EVENTS.c.webhook_event_id.in_(bindparam("ids", expanding=True)),
        _EVENTS.c.status == "pending",
    )
    .values(status="applied", payload=None, last_error=None)
)
_MARK_FAILED = (
    update(_EVENTS)
    .where(_EVENTS.c.webhook_event_id == bindparam("event_id"), _EVENTS.c.status == "pending")
    .values(
        status=bindparam("new_status"),
        attempts=bindparam("attempts"),
        next_attempt_at=bindparam("due"),
        last_error=bindparam("error"),
    )
)
# A try counted when the events are taken, before they are applied: a worker that dies
# applying one (every time) still uses up its tries. Due again after the back-off, should
# this try end with the worker.
_CLAIM = (
    update(_EVENTS)
    .where(_EVENTS.c.webhook_event_id.in_(bindparam("ids", expanding=True)))
    .values(attempts=_EVENTS.c.attempts + 1, next_attempt_at=bindparam("due"))
)
# The events of a try that failed on another one: that try was not theirs, due at once.
_RELEASE = (
    update(_EVENTS)
    .where(
        _EVENTS.c.webhook_event_id.in_(bindparam("ids", expanding=True)),
        _EVENTS.c.status == "pending",
    )
    .values(attempts=_EVENTS.c.attempts - 1, next_attempt_at=bindparam("now"))
)
_DEAD = (
    update(_EVENTS)
    .where(_EVENTS.c.webhook_event_id == bindparam("event_id"), _EVENTS.c.status == "pending")
    .values(status="dead", last_error=bindparam("error"))
)
CRASHED = "worker ended while applying it"  # last_error of an event that never finished
_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(:ns, hashtext(:user))")
_LOCK = text("SELECT pg_advisory_xact_lock(:ns, hashtext(:user))")


class StoreError(Exception):
    """The database could not store a delivery (LINE is answered 503 and redelivers)."""


def row_of(
    raw: Any, protector: DataProtector, now: dt.datetime, position: int
) -> dict[str, Any] | None:
    """The inbox row of one raw event; None for one without a usable ``webhookEventId``."""
    event_id = raw.get("webhookEventId") if isinstance(raw, dict) else None
    if not isinstance(event_id, str) or not 0 < len(event_id) <= MAX_EVENT_ID:
        return None
    source = raw.get("source")
    user = source.get("userId") if isinstance(source, dict) else None
    timestamp = raw.get("timestamp")
    return {
        "webhook_event_id": event_id,
        "event_type": str(raw.get("type", "?"))[:32],
        # The delivery's order among events of one timestamp: a microsecond apart.
        "received_at": now + dt.timedelta(microseconds=position),
        "line_user_id": user if isinstance(user, str) and len(user) <= 64 else "",
        "event_ts": timestamp if type(timestamp) is int and 0 <= timestamp < 2**62 else 0,
        "payload": protector.encrypt(json.dumps(raw, ensure_ascii=False), PAYLOAD_CONTEXT),
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
    }


def store(db: Database, rows: Sequence[dict[str, Any]]) -> None:
    """Store a delivery's events with one multi-row INSERT, committed on its own (autocommit):
    one statement is atomic by itself, so no BEGIN and COMMIT round trips are needed, and the
    delivery is stored whole or not at all (the webhook then wakes the workers:
    linebot_app.wake). An event stored before, or named twice in the delivery, is stored once."""
    first: dict[str, dict[str, Any]] = {}
    for row in rows:
        first.setdefault(row["webhook_event_id"], row)
    unique = list(first.values())
    if not unique:
        return
    if db.dialect != "postgresql":  # SQLite: its own BEGIN IMMEDIATE (authencode.db)
        with db.engine.begin() as conn:
            conn.execute(sqlite.insert(_EVENTS).values(unique).on_conflict_do_nothing())
        return
    # One event (most deliveries): a statement compiled once; several: one multi-row VALUES.
    statement = (
        _INSERT_ONE
        if len(unique) == 1
        else postgresql.insert(_EVENTS).values(unique).on_conflict_do_nothing()
    )
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(statement, unique[0] if len(unique) == 1 else None)


@dataclass(frozen=True)
class ApplyPolicy:
    max_attempts: int = 5  # tries of an event whose handler fails, then dead
    base_delay: float = 1.0  # seconds before the 2nd try; doubled after each failure
    max_delay: float = 60.0
    batch: int = 50  # events of one user applied in one transaction

    def backoff(self, attempts: int) -> float:
        return float(min(self.max_delay, self.base_delay * 2 ** max(0, attempts - 1)))


class _Pending(NamedTuple):
    event_id: str
    event_type: str
    payload: bytes | None
    attempts: int  # tries so far, this one not counted
    due: dt.datetime | None


class _Failed(Exception):
    def __init__(self, event: _Pending, error: str, others: list[str]) -> None:
        super().__init__(error)
        self.event = event
        self.error = error
        self.others = others  # the try's other events, whose claim is undone


class EventApplier:
    """Applies pending events, one user's at a time; safe to run as several workers at once.

    ``wait_for_lock`` (the webhook's inline mode, LINE_EVENTS_INLINE): wait for a user's lock
    instead of leaving the user to another worker, so each request sees its own events
    applied.
    """

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        rate: RateLimiter | None = None,
        rights: RightsLookup | None = None,
        policy: ApplyPolicy | None = None,
        state: BotState | None = None,
        wait_for_lock: bool = False,
    ) -> None:
        self.db = db
        self.settings = settings
        self.rate = rate
        self.rights = rights or LocalRegistryRights()
        self.policy = policy or ApplyPolicy(max_attempts=settings.line_event_max_attempts)
        self.protector = DataProtector(settings.data_key)
        self.state = state
        self.wait_for_lock = wait_for_lock

    def _now(self) -> dt.datetime:
        return (self.state or bot_state(self.settings)).clock()

    def run_once(self, limit: int = 25) -> int:
        """Apply what is due for up to ``limit`` users; returns how many events were applied
        or failed. Small rounds: the worker sends the replies of each round before the next
        (under a backlog a reply should not wait behind a hundred users' events)."""
        with self.db.engine.connect() as conn:
            users = list(conn.scalars(_DUE_USERS, {"now": self._now(), "limit": limit}))
        return sum(self.apply_user(user) for user in users)

    def apply_users(self, users: Iterable[str]) -> int:
        return sum(self.apply_user(user) for user in dict.fromkeys(users))

    def apply_user(self, user: str) -> int:
        """Apply one user's due events in order, in one transaction; 0 when another worker
        holds the user."""
        done = 0
        # A failure rolls the user's transaction back and leaves that event to its next try;
        # the events behind it are applied again at once (bounded: each round counts a try).
        for _ in range(self.policy.max_attempts + self.policy.batch):
            try:
                applied, more = self._apply(user)
            except _Failed as failed:
                self._record_failure(failed)
                done += 1
                continue
            done += applied
            if not more:
                return done
        return done

    def _apply(self, user: str) -> tuple[int, bool]:
        """Apply the user's due events (or the first of them alone, see below); returns how
        many were applied or given up on, and whether to go on with the user's next ones."""
        now = self._now()
        with self.db.transaction() as session:
            conn = session.connection()
            separate = conn.dialect.name == "postgresql"
            if separate:
                if self.wait_for_lock:
                    conn.execute(_LOCK, {"ns": LOCK_NAMESPACE, "user": user})
                elif not conn.scalar(_TRY_LOCK, {"ns": LOCK_NAMESPACE, "user": user}):
                    return 0, False  # another worker is applying this user's events
            rows = conn.execute(_PENDING_OF_USER, {"user": user, "limit": self.policy.batch})
            # One that failed before waits for its next try: the others go on.
            due = [e for e in map(_Pending._make, rows.all()) if e.due is None or e.due <= now]
            if not due:
                return 0, False
            # A try of one of these ended without applying it (a handler failed, or the worker
            # died): one event a transaction, so that only the one at fault uses up its tries.
            alone = any(e.attempts for e in due)
            if alone:
                due = due[:1]
            # Counted before applying, committed on its own on PostgreSQL (a worker killed
            # while applying still counts the try; no other worker takes the user meanwhile:
            # this transaction holds the user's lock); SQLite (the demo's one worker) counts
            # it in this transaction, which a killed worker rolls back.
            with self._claiming(conn, separate) as claim:
                if due[0].attempts >= self.policy.max_attempts:
                    self._give_up(claim, due[0], CRASHED)
                    return 1, True
                claim.execute(
                    _CLAIM,
                    {
                        "ids": [e.event_id for e in due],
                        "due": now + dt.timedelta(seconds=self.policy.backoff(1 + due[0].attempts)),
                    },
                )
            ctx = EventContext(session=session, settings=self.settings, rate=self.rate)
            ctx.rights = self.rights
            if self.state is not None:
                ctx.bot = self.state
            applied: list[str] = []
            for event in due:
                try:
                    self._apply_one(ctx, event)
                except Exception as exc:
                    # Only the exception's type: its message may quote user data.
                    others = [e.event_id for e in due if e is not event] if separate else []
                    raise _Failed(event, type(exc).__name__, others) from exc
                applied.append(event.event_id)
            marked = conn.execute(_MARK_APPLIED, {"ids": applied}).rowcount
            if marked != len(applied):
                # Someone else applied one meanwhile (it cannot happen under the lock):
                # none of this transaction's effects may stand.
                raise RuntimeError("inbox events applied twice; rolled back")
        return len(applied), alone

    @contextmanager
    def _claiming(self, conn: Connection, separate: bool) -> Iterator[Connection]:
        if not separate:
            yield conn
            return
        # Committed on its own without waiting for the disk: the count has to outlive this
        # worker, not the database (a try lost with a database crash is only counted once
        # less), and the user's transaction waits for the flush anyway. Autocommitted
        # statements on connections set up for it (``Database.unflushed``): one round trip a
        # claim, not four (BEGIN, SET LOCAL synchronous_commit, the UPDATE, COMMIT).
        with self.db.unflushed().connect() as own:
            yield own

    def _give_up(self, conn: Connection, event: _Pending, error: str) -> None:
        log.error(
            "webhook event %s (type %s) dead after %d attempts: %s",
            event.event_id,
            event.event_type,
            event.attempts,
            error,
        )
        conn.execute(_DEAD, {"event_id": event.event_id, "error": error})

    def _apply_one(self, ctx: EventContext, event: _Pending) -> None:
        raw = (
            json.loads(self.protector.decrypt(event.payload, PAYLOAD_CONTEXT))
            if event.payload
            else None
        )
        try:
            parsed = Event.from_dict(raw) if isinstance(raw, dict) else None
        except Exception:  # the SDK raises ValueError, KeyError, TypeError... on malformed events
            parsed = None
        if parsed is None:
            log.warning(
                "malformed webhook event %s (type %s) skipped", event.event_id, event.event_type
            )
            return
        assert isinstance(raw, dict)
        if self._throttled(ctx, raw, event.event_type):
            return
        handle_event(ctx, parsed)

    def _throttled(self, ctx: EventContext, raw: dict[str, Any], event_type: str) -> bool:
        """Count a person's event; over the ``line_user`` limit it is not handled, and the
        first event over it in a window is answered with a request to slow down."""
        rate = self.rate
        if rate is None or event_type not in THROTTLED_EVENTS or not rate.enabled("line_user"):
            return False
        source = raw.get("source")
        user_id = source.get("userId") if isinstance(source, dict) else None
        if not isinstance(user_id, str) or not user_id:
            return False
        decision = rate.hit("line_user", user_id)
        if decision.allowed:
            return False
        bump(ctx.session.connection(), THROTTLED)
        log.info("LINE user over the event rate limit: event not handled")
        if decision.count == rate.limits["line_user"] + 1:
            token = raw.get("replyToken")
            enqueue_reply(
                ctx.session,
                user_id,
                token if isinstance(token, str) else None,
                [messages.text(SLOW_DOWN_TH)],
                token_at=raw.get("timestamp"),
            )
        return True

    def _record_failure(self, failed: _Failed) -> None:
        event = failed.event
        attempts = event.attempts + 1  # this try, counted when it began
        dead = attempts >= self.policy.max_attempts
        due = self._now() + dt.timedelta(seconds=self.policy.backoff(attempts))
        log.error(
            "error %s applying webhook event %s (type %s), attempt %d%s",
            failed.error,
            event.event_id,
            event.event_type,
            attempts,
            ": dead" if dead else "",
        )
        with self.db.engine.begin() as conn:
            conn.execute(
                _MARK_FAILED,
                {
                    "event_id": event.event_id,
                    "new_status": "dead" if dead else "pending",
                    "attempts": attempts,
                    "due": due,
                    "error": failed.error[:200],
                },
            )
            if failed.others:
                conn.execute(_RELEASE, {"ids": failed.others, "now": self._now()})

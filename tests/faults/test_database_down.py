"""PostgreSQL stopped under webhook load: 503 for what could not be stored, never a lost 200."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from typing import Any

from sqlalchemy import func, select, update

from authencode.app import create_app
from authencode.db import Database
from authencode.models import OutboxMessage, WebhookEvent
from authencode.settings import Settings
from linebot_app.inbox import EventApplier
from tests.support.line_bot import sign, text, webhook
from tests.support.live_server import free_port, serve
from tests.support.postgres import PostgresCluster


def _post(url: str, event: dict[str, Any]) -> int:
    body = json.dumps(webhook(event), ensure_ascii=False).encode()
    request = urllib.request.Request(  # noqa: S310 - the local test server
        url + "/line/webhook",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "X-Line-Signature": sign(body)},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - http://127.0.0.1
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _status(url: str, path: str) -> int:
    try:
        with urllib.request.urlopen(url + path, timeout=60) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


class Load:
    """Threads posting one-event deliveries, as LINE does, until told to stop."""

    def __init__(self, url: str, threads: int = 4) -> None:
        self.url = url
        self.answers: list[tuple[dict[str, Any], int]] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.counter = 0
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _next_event(self) -> dict[str, Any]:
        with self.lock:
            self.counter += 1
            n = self.counter
        return text(f"สวัสดี {n}", user_id=f"U{n % 16:032x}")

    def _run(self) -> None:
        while not self.stop.is_set():
            event = self._next_event()
            status = _post(self.url, event)
            with self.lock:
                self.answers.append((event, status))

    def start(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def count(self) -> int:
        with self.lock:
            return len(self.answers)

    def wait_for(self, more: int, timeout: float = 120) -> None:
        target = self.count() + more
        deadline = time.monotonic() + timeout
        while self.count() < target:
            assert time.monotonic() < deadline, "the load stalled"
            time.sleep(0.01)

    def finish(self) -> list[tuple[dict[str, Any], int]]:
        self.stop.set()
        for thread in self.threads:
            thread.join(120)
        with self.lock:
            return list(self.answers)


def _stored(db: Database) -> tuple[set[str], Counter[str]]:
    with db.sessionmaker() as session:
        ids = set(session.scalars(select(WebhookEvent.webhook_event_id)))
        replies: Counter[str] = Counter()
        for token, count in session.execute(
            select(OutboxMessage.reply_token, func.count())
            .where(OutboxMessage.reply_token.is_not(None))
            .group_by(OutboxMessage.reply_token)
        ):
            assert token is not None
            replies[token] = count
    return ids, replies


def _worker_catches_up(db: Database, settings: Settings) -> None:
    """What the worker processes do: apply what the webhook stored but could not apply inline
    (the database went away between the two), without waiting out their retry delay."""
    applier = EventApplier(db, settings)
    for _ in range(50):
        with db.transaction() as session:
            session.execute(
                update(WebhookEvent)
                .where(WebhookEvent.status == "pending")
                .values(next_attempt_at=func.now())
            )
        if applier.run_once() == 0:
            with db.sessionmaker() as session:
                left = session.scalar(
                    select(func.count())
                    .select_from(WebhookEvent)
                    .where(WebhookEvent.status != "applied")
                )
            assert left == 0, "events left unapplied or dead"
            return
    raise AssertionError("the worker never caught up")


def test_webhook_under_load_survives_postgres_stop_and_restart(
    fault_settings: Settings, own_postgres: PostgresCluster
) -> None:
    app = create_app(fault_settings)
    db = app.extensions["authencode"].db
    try:
        with serve(app, free_port()) as url:
            assert _status(url, "/readyz") == 200
            load = Load(url).start()
            load.wait_for(40)
            own_postgres.stop("fast")  # connections in use are cut mid-transaction
            down_from = load.count()
            load.wait_for(30)
            assert _status(url, "/readyz") == 503
            during = load.count()
            own_postgres.restart()
            load.wait_for(40)
            answers = load.finish()
            assert _status(url, "/readyz") == 200

            statuses = Counter(status for _, status in answers)
            assert set(statuses) <= {200, 503}, statuses  # never a 500, never a lost 200
            assert all(status == 503 for _, status in answers[down_from + 8 : during]), (
                "deliveries made while the database was down must be refused"
            )
            assert [status for _, status in answers[-10:]] == [200] * 10  # the pool recovered

            acknowledged = [event for event, status in answers if status == 200]
            refused = [event for event, status in answers if status == 503]
            _worker_catches_up(db, fault_settings)
            ids, replies = _stored(db)
            for event in acknowledged:
                assert event["webhookEventId"] in ids
                assert replies[event["replyToken"]] == 1, "an acknowledged event handled once"

            # LINE redelivers what was refused (and, to be sure, some of what was not).
            for event in refused + acknowledged[:20]:
                redelivered = {**event, "deliveryContext": {"isRedelivery": True}}
                assert _post(url, redelivered) == 200
            ids, replies = _stored(db)
            for event, _ in answers:
                assert event["webhookEventId"] in ids
                assert replies[event["replyToken"]] == 1, "every event handled exactly once"
            assert len(ids) == len(answers)
    finally:
        db.dispose()

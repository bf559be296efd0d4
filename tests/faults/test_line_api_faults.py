"""The LINE Messaging API failing (unreachable, 500, 429, timeouts) and a worker killed
mid-send: every reply and push is delivered exactly once after recovery."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from authencode.db import Database, utcnow
from authencode.models import OutboxMessage
from authencode.settings import Settings
from linebot_app import messages
from linebot_app.outbox import enqueue_push, enqueue_reply
from linebot_app.sender import OutboxSender
from tests.support.fake_line import FakeLineServer
from tests.support.line_bot import FAST, Clock, drain
from tests.support.live_server import free_port
from tests.support.shared import worker_env


@pytest.fixture
def db(fault_settings: Settings) -> Iterator[Database]:
    database = Database(fault_settings.database_url)
    yield database
    database.dispose()


def _queue(db: Database, kinds: str) -> list[str]:
    """One row per letter (r = reply, p = push), each with its own text; returns the texts."""
    texts = []
    with db.transaction() as session:
        for n, kind in enumerate(kinds):
            body = f"ข้อความที่ {n} ({kind})"
            user = f"U{n:032x}"
            if kind == "r":
                enqueue_reply(session, user, f"rt-fault-{n}", [messages.text(body)])
            else:
                enqueue_push(session, user, [messages.text(body)])
            texts.append(body)
    return texts


def _rows(db: Database) -> list[OutboxMessage]:
    with db.sessionmaker() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def _delivered_once(fake_line: FakeLineServer, texts: list[str]) -> None:
    counts = Counter(fake_line.texts())
    assert counts == Counter(texts), "each message delivered exactly once"


def test_api_unreachable_then_failing_then_recovered(
    db: Database, fault_settings: Settings, fake_line: FakeLineServer
) -> None:
    texts = _queue(db, "rprprprp")
    clock = Clock()
    # LINE unreachable: nothing connects, so nothing can have been delivered.
    dead = fault_settings.with_overrides(line_api_base_url=f"http://127.0.0.1:{free_port()}")
    assert OutboxSender(db, dead, FAST, clock=clock).run_once() == len(texts)
    assert all(
        r.status == "pending" and (r.last_error or "").startswith("network:") for r in _rows(db)
    )
    # Back, but failing: 500s, 429 with Retry-After, and answers that never come in time
    # (LINE took the request; the answer was lost) — for replies and pushes alike.
    fake_line.fail_next(1, status=500)
    fake_line.fail_next(1, status=429, retry_after=7)
    fake_line.stall_next(0.6, count=2)  # reply 2 and push 2 time out after delivery
    fake_line.fail_next(1, status=503)
    fake_line.stall_next(0.6)  # push 3
    fake_line.fail_next(1, status=429, retry_after=1)
    sender = OutboxSender(db, fault_settings, FAST, clock=clock)
    drain(sender, clock)
    _delivered_once(fake_line, texts)
    rows = _rows(db)
    assert all(r.status == "sent" for r in rows)
    # Replies stayed replies: a reply that timed out after LINE took it is not pushed again.
    assert [d.kind for d in fake_line.delivered].count("reply") == 4
    assert all(r.kind == "reply" for r in rows[::2])
    pushes = [r for r in fake_line.requests if r.path == "/v2/bot/message/push"]
    assert {r.headers["X-Line-Retry-Key"] for r in pushes} == {r.retry_key for r in rows[1::2]}


def test_a_reply_whose_token_expired_before_any_attempt_falls_back_to_push(
    db: Database, fault_settings: Settings, fake_line: FakeLineServer
) -> None:
    [body] = _queue(db, "r")
    fake_line.invalidate_reply_token("rt-fault-0")
    drain(OutboxSender(db, fault_settings, FAST, clock=Clock()), Clock())
    assert [(d.kind, d.messages[0]["text"]) for d in fake_line.delivered] == [("push", body)]


def _start_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "linebot_app.worker"],
            env=worker_env(settings),
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def _wait(condition: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


@pytest.mark.parametrize("first", ["r", "p"])
def test_worker_killed_mid_send_loses_and_duplicates_nothing(
    db: Database, fault_settings: Settings, fake_line: FakeLineServer, first: str, tmp_path: Path
) -> None:
    texts = _queue(db, first + "rprp")
    log = tmp_path / "worker.log"
    # LINE takes the first message at once but answers late; the others of the batch go out
    # beside it and are answered, but the batch is recorded only once all are back, and the
    # worker dies waiting.
    fake_line.stall_next(60)
    worker = _start_worker(fault_settings, log)
    try:
        _wait(lambda: len(fake_line.requests) >= len(texts) or worker.poll() is not None)
        assert worker.poll() is None, log.read_text()
        worker.send_signal(signal.SIGKILL)
        worker.wait(30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(30)
    assert len(fake_line.delivered) == len(texts)  # all reached LINE; one answer never came
    assert all(r.status == "pending" for r in _rows(db))  # claimed, leased, not settled

    # The lease of the dead worker's rows runs out (without waiting two minutes for it).
    with db.transaction() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "pending")
            .values(next_attempt_at=utcnow())
        )
    worker = _start_worker(fault_settings, log)
    try:
        _wait(lambda: all(r.status != "pending" for r in _rows(db)))
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
    assert all(r.status == "sent" for r in _rows(db))
    _delivered_once(fake_line, texts)
    if first == "p":  # the push was retried with its key, and LINE answered 409
        assert 409 in [r.status for r in fake_line.requests]

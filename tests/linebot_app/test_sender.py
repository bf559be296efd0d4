"""The outbox worker with the real line-bot-sdk against the fake Messaging API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update

from authencode.db import Database
from authencode.models import OutboxMessage
from linebot_app import messages
from linebot_app.outbox import enqueue_push, enqueue_reply
from linebot_app.sender import OutboxSender
from tests.support.fake_line import FakeLineServer
from tests.support.line_bot import (
    USER_ID,
    Clock,
    drain,
    follow,
    outbox,
    post,
    unfollow,
    webhook,
)


def _push(db: Database, body: str = "ทดสอบ") -> OutboxMessage:
    with db.transaction() as session:
        enqueue_push(session, USER_ID, [messages.text(body)])
        newest = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
        assert newest is not None
        return newest


def _keys(fake_line: FakeLineServer, path: str = "/v2/bot/message/push") -> list[str | None]:
    return [r.headers.get("X-Line-Retry-Key") for r in fake_line.requests if r.path == path]


def test_push_arrives_with_content_and_retry_key(
    db: Database, sender: OutboxSender, clock: Clock, fake_line: FakeLineServer
) -> None:
    row = _push(db, "สวัสดีค่ะ")
    drain(sender, clock)
    [delivery] = fake_line.delivered
    assert delivery.to == USER_ID and delivery.messages[0]["text"] == "สวัสดีค่ะ"
    assert delivery.retry_key == row.retry_key
    [stored] = outbox(db)
    assert stored.status == "sent" and stored.sent_at is not None and stored.attempts == 1


def test_500_then_recovery_delivers_once_with_the_same_key(
    db: Database, sender: OutboxSender, clock: Clock, fake_line: FakeLineServer
) -> None:
    row = _push(db)
    fake_line.fail_next(2, status=500)
    start = clock.now
    sender.run_once()
    [stored] = outbox(db)
    assert stored.status == "pending" and stored.last_error == "HTTP 500"
    assert stored.next_attempt_at == start + dt.timedelta(seconds=2)  # back-off
    drain(sender, clock)
    assert len(fake_line.delivered) == 1
    assert _keys(fake_line) == [row.retry_key] * 3
    assert outbox(db)[0].status == "sent"


def test_429_waits_for_retry_after(
    db: Database, sender: OutboxSender, clock: Clock, fake_line: FakeLineServer
) -> None:
    _push(db)
    fake_line.fail_next(1, status=429, retry_after=30)
    start = clock.now
    sender.run_once()
    [stored] = outbox(db)
    assert stored.next_attempt_at == start + dt.timedelta(seconds=30)
    clock.advance(29)
    assert sender.run_once() == 0  # not due yet
    drain(sender, clock)
    assert len(fake_line.delivered) == 1


def test_timeout_whose_push_was_accepted_is_not_delivered_twice(
    db: Database, sender: OutboxSender, clock: Clock, fake_line: FakeLineServer
) -> None:
    row = _push(db)
    fake_line.stall_next(0.6)  # longer than the read timeout: LINE took it, the answer is lost
    sender.run_once()
    [stored] = outbox(db)
    assert stored.status == "pending" and (stored.last_error or "").startswith("network:")
    drain(sender, clock)
    assert len(fake_line.delivered) == 1  # the retry got 409: already accepted
    assert [r.status for r in fake_line.requests] == [200, 409]
    assert _keys(fake_line) == [row.retry_key, row.retry_key]
    assert outbox(db)[0].status == "sent"


def test_worker_killed_mid_send_leaves_the_row_to_be_retried(
    db: Database, sender: OutboxSender, clock: Clock, fake_line: FakeLineServer
) -> None:
    _push(db)
    claimed = sender.claim(10)  # claimed, then the worker dies before settling
    assert len(claimed) == 1
    assert sender.run_once() == 0  # leased: another worker does not take it meanwhile
    clock.advance(61)
    drain(sender, clock)
    assert len(fake_line.delivered) == 1
    assert outbox(db)[0].attempts == 2


def test_invalid_reply_token_falls_back_to_push(
    client: Any, db: Database, sender: OutboxSender, clock: Clock, fake_line: FakeLineServer
) -> None:
    post(client, webhook(follow(reply_token="rt-expired")))
    fake_line.invalidate_reply_token("rt-expired")
    drain(sender, clock)
    [delivery] = fake_line.delivered
    assert delivery.kind == "push" and delivery.to == USER_ID
    assert delivery.retry_key == outbox(db)[0].retry_key
    [stored] = outbox(db)
    assert stored.status == "sent" and stored.kind == "push" and stored.reply_token is None


def _now(event: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """The event as LINE sends it live: stamped now (its reply token issued now)."""
    return {**event, "timestamp": int(clock.now.timestamp() * 1000)}


def _fallbacks(db: Database) -> int:
    from authencode.services.inbox import PUSH_FALLBACKS, counters

    with db.sessionmaker() as session:
        return counters(session)[PUSH_FALLBACKS]


def test_a_reply_in_doubt_whose_token_lived_out_its_minute_is_pushed_once(
    client: Any, db: Database, sender: OutboxSender, clock: Clock, fake_line: FakeLineServer
) -> None:
    """The worker died while sending (the reply marked in doubt), before the reply left; by
    its retry the token had expired, so LINE's refusal proves nothing: pushed, counted."""
    post(client, webhook(_now(follow(reply_token="rt-lost"), clock)))
    assert [c.in_doubt for c in sender.claim(10)] == [False]  # claimed, then the worker dies
    assert "in doubt" in (outbox(db)[0].last_error or "")
    fake_line.invalidate_reply_token("rt-lost")  # its minute is over
    clock.advance(61)  # the lease ends
    drain(sender, clock)
    [delivery] = fake_line.delivered
    assert delivery.kind == "push" and delivery.retry_key == outbox(db)[0].retry_key
    assert outbox(db)[0].status == "sent" and outbox(db)[0].kind == "push"
    assert _fallbacks(db) == 1


def test_a_reply_in_doubt_refused_while_its_token_must_live_was_delivered(
    client: Any, db: Database, sender: OutboxSender, clock: Clock, fake_line: FakeLineServer
) -> None:
    """LINE took the reply but its answer never came; retried within the token's minute, the
    refusal can only mean the token was used: nothing more is sent."""
    post(client, webhook(_now(follow(reply_token="rt-landed"), clock)))
    fake_line.stall_next(0.6)  # delivered, answered after the sender's read timeout
    drain(sender, clock)
    assert [d.kind for d in fake_line.delivered] == ["reply"]
    assert outbox(db)[0].status == "sent" and outbox(db)[0].kind == "reply"
    assert _fallbacks(db) == 0


def test_unfollowed_accounts_get_no_push(
    client: Any, db: Database, sender: OutboxSender, clock: Clock, fake_line: FakeLineServer
) -> None:
    post(client, webhook(follow()))
    drain(sender, clock)
    post(client, webhook(unfollow()))
    _push(db)
    drain(sender, clock)
    assert len(fake_line.delivered) == 1
    stored = outbox(db)[-1]
    assert stored.status == "failed" and "unfollowed" in (stored.last_error or "")


def test_permanent_4xx_is_failed_with_its_reason(
    db: Database, sender: OutboxSender, clock: Clock, fake_line: FakeLineServer
) -> None:
    _push(db)
    fake_line.fail_next(1, status=400)
    drain(sender, clock)
    [stored] = outbox(db)
    assert stored.status == "failed" and stored.last_error == "HTTP 400: fake failure"
    assert fake_line.delivered == []


def test_stored_json_goes_out_as_it_is_and_an_invalid_message_fails_with_lines_reason(
    db: Database, sender: OutboxSender, clock: Clock, fake_line: FakeLineServer
) -> None:
    flex = {
        "type": "flex",
        "altText": "รหัส PP0000000001",
        "contents": {
            "type": "bubble",
            "body": {
                "type": "box",
                "layout": "vertical",
                "contents": [{"type": "text", "text": "ก"}],
            },
        },
    }
    broken = {
        "type": "flex",
        "altText": "x",
        "contents": {"type": "bubble", "size": "enormous"},
    }  # not a size LINE knows
    with db.transaction() as session:
        enqueue_push(session, USER_ID, [flex])
        enqueue_reply(session, USER_ID, "rt-broken", [broken])
    drain(sender, clock)
    [delivery] = fake_line.delivered
    assert delivery.kind == "push" and delivery.messages == [flex]
    sent, failed = outbox(db)
    assert sent.status == "sent"
    assert failed.status == "failed" and failed.attempts == 1
    assert failed.last_error == "HTTP 400: A message (messages[0]) in the request body is invalid"


def test_gives_up_after_max_attempts(
    db: Database, sender: OutboxSender, clock: Clock, fake_line: FakeLineServer
) -> None:
    _push(db)
    fake_line.fail_next(10, status=503)
    drain(sender, clock)
    [stored] = outbox(db)
    assert stored.status == "failed" and stored.attempts == sender.policy.max_attempts


def test_many_messages_each_delivered_exactly_once_through_faults(
    db: Database, sender: OutboxSender, clock: Clock, fake_line: FakeLineServer
) -> None:
    rows = [_push(db, f"ข้อความ {i}") for i in range(6)]
    with db.transaction() as session:
        enqueue_reply(session, USER_ID, "rt-ok", [messages.text("ตอบกลับ")])
    fake_line.fail_next(1, status=500)
    fake_line.fail_next(1, status=429, retry_after=5)
    fake_line.stall_next(0.6)
    drain(sender, clock)
    texts = sorted(m["text"] for d in fake_line.delivered for m in d.messages)
    assert texts == sorted([f"ข้อความ {i}" for i in range(6)] + ["ตอบกลับ"])
    assert {d.retry_key for d in fake_line.delivered if d.kind == "push"} == {
        r.retry_key for r in rows
    }
    assert all(row.status == "sent" for row in outbox(db))


def test_rows_not_due_are_left_alone(
    db: Database, sender: OutboxSender, clock: Clock, fake_line: FakeLineServer
) -> None:
    _push(db)
    with db.transaction() as session:
        session.execute(
            update(OutboxMessage).values(next_attempt_at=clock.now + dt.timedelta(minutes=5))
        )
    assert sender.run_once() == 0
    assert fake_line.requests == []


def test_worker_loop_sends_until_stopped(
    db: Database, sender: OutboxSender, fake_line: FakeLineServer
) -> None:
    import threading

    from linebot_app.worker import run

    _push(db)
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(sender, stop, 0.01))
    thread.start()
    try:
        for _ in range(200):
            if fake_line.delivered:
                break
            stop.wait(0.01)
    finally:
        stop.set()
        thread.join(5)
    assert len(fake_line.delivered) == 1

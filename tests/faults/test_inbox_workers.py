"""Real worker processes applying the webhook's inbox on PostgreSQL: several at once keep
each user's order, a worker killed mid-work loses and repeats nothing, and two web groups
with two worker groups (each its own environment, as on its own machine) share one database."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select
from sqlalchemy import text as sql

from authencode.db import Database
from authencode.models import OutboxMessage, WebhookEvent
from authencode.services import line_accounts
from authencode.settings import Settings
from linebot_app import inbox
from tests.support.fake_line import FakeLineServer
from tests.support.line_bot import post, sign, text, webhook
from tests.support.procfile import procfile_web
from tests.support.shared import worker_env

USERS = [f"U{n:032x}" for n in range(1, 7)]


@pytest.fixture
def db(fault_settings: Settings) -> Iterator[Database]:
    database = Database(fault_settings.database_url)
    yield database
    database.dispose()


@pytest.fixture
def store_only(fault_settings: Settings) -> Iterator[Any]:
    """A web worker as in production: it stores and answers, nothing else."""
    from authencode.app import create_app

    app = create_app(fault_settings.with_overrides(line_events_inline=False))
    app.config["TESTING"] = True
    yield app.test_client()
    app.extensions["authencode"].db.dispose()


def _worker(
    settings: Settings, log: Path, module: str = "linebot_app.worker", **extra: str
) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", module],
            env={**worker_env(settings), **extra},
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def _stop(*workers: subprocess.Popen[bytes]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(30)


def _wait(condition: Any, what: str, timeout: float = 120.0) -> None:
    """Wait for a state (a deadline only so a broken run ends; no speed is asserted)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _pending(db: Database) -> int:
    with db.sessionmaker() as session:
        return len(
            session.scalars(
                select(WebhookEvent.webhook_event_id).where(WebhookEvent.status == "pending")
            ).all()
        )


def _outbox(db: Database) -> list[OutboxMessage]:
    with db.sessionmaker() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def _interleaved(
    per_user: int, users: list[str] = USERS
) -> tuple[list[list[dict[str, Any]]], dict[str, list[str]]]:
    """Deliveries mixing users' events; and each user's reply tokens in LINE's order (by
    timestamp: some deliveries carry a user's two events newest first)."""
    events: dict[str, list[dict[str, Any]]] = {user: [] for user in users}
    deliveries: list[list[dict[str, Any]]] = []
    clock = itertools.count(1_780_000_000_000)
    for round_ in range(per_user // 2):
        delivery = []
        for user in users:
            first, second = text(f"สวัสดี {round_}", user), text(f"ช่วยด้วย {round_}", user)
            first["timestamp"], second["timestamp"] = next(clock), next(clock)
            events[user] += [first, second]
            # Every other round a user's newer event arrives before the older one.
            delivery += [second, first] if round_ % 2 else [first, second]
        deliveries.append(delivery)
    order = {
        user: [e["replyToken"] for e in sorted(evs, key=lambda e: e["timestamp"])]
        for user, evs in events.items()
    }
    return deliveries, order


def _assert_once_and_in_order(db: Database, order: dict[str, list[str]]) -> None:
    rows = _outbox(db)
    for user, tokens in order.items():
        # Outbox ids follow the order the events took effect in (the user's lock serialises).
        assert [r.reply_token for r in rows if r.recipient == user] == tokens, user
    with db.sessionmaker() as session:
        statuses = set(session.scalars(select(WebhookEvent.status)))
    assert statuses == {"applied"}


def test_two_worker_processes_keep_each_users_order(
    db: Database,
    fault_settings: Settings,
    store_only: Any,
    fake_line: FakeLineServer,
    tmp_path: Path,
) -> None:
    deliveries, order = _interleaved(per_user=8)
    for delivery in deliveries:  # stored while no worker runs: a backlog to share
        assert post(store_only, webhook(*delivery)).status_code == 200
    log = tmp_path / "workers.log"
    workers = [_worker(fault_settings, log) for _ in range(2)]
    try:
        _wait(lambda: _pending(db) == 0, "the backlog applied")
        _wait(lambda: all(r.status == "sent" for r in _outbox(db)), "the replies sent")
    finally:
        _stop(*workers)
    _assert_once_and_in_order(db, order)
    delivered = [d.reply_token or "" for d in fake_line.delivered]
    assert sorted(delivered) == sorted(t for tokens in order.values() for t in tokens)


def test_a_worker_killed_mid_work_repeats_nothing_and_holds_nothing(
    db: Database,
    fault_settings: Settings,
    store_only: Any,
    fake_line: FakeLineServer,
    tmp_path: Path,
) -> None:
    user = USERS[0]
    with db.transaction() as session:
        line_accounts.get_or_create_account(session, user)
    event = text("สวัสดี", user)
    assert post(store_only, webhook(event)).status_code == 200
    log = tmp_path / "workers.log"
    # The test holds the user's account row: the worker takes the user, starts applying,
    # and waits on that row inside its transaction, mid-work.
    blocker = db.engine.connect()
    blocker.execute(
        sql("SELECT id FROM line_accounts WHERE line_user_id = :u FOR UPDATE"), {"u": user}
    )
    doomed = _worker(fault_settings, log)
    try:
        _wait(lambda: _advisory_locks(db) == 1 and _lock_waits(db) >= 1, "the worker mid-work")
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(30)
    finally:
        if doomed.poll() is None:
            doomed.kill()
    survivor = _worker(fault_settings, log)
    try:
        blocker.rollback()  # the dead worker's transaction ends with its connection
        blocker.close()
        _wait(lambda: _pending(db) == 0, "the event applied by the other worker")
        _wait(lambda: all(r.status == "sent" for r in _outbox(db)), "the reply sent")
    finally:
        _stop(survivor)
    assert [r.reply_token for r in _outbox(db)] == [event["replyToken"]]  # one reply
    assert [d.reply_token for d in fake_line.delivered] == [event["replyToken"]]
    assert _advisory_locks(db) == 0


def test_a_burst_while_the_workers_run_drains_with_each_event_applied_once_in_order(
    db: Database, fault_settings: Settings, fake_line: FakeLineServer, tmp_path: Path
) -> None:
    """Many users' events at once against the Procfile's web line, one event a delivery (as
    LINE sends a chat's messages, each user's in order, users side by side), while two
    workers apply them: once the backlog drains, each event was applied once, each user's in
    LINE's order, each reply delivered once. No speed is asserted (the bench measures it)."""
    users = [f"U{n:032x}" for n in range(100, 124)]
    deliveries, order = _interleaved(per_user=8, users=users)
    chats: dict[str, list[dict[str, Any]]] = {user: [] for user in users}
    for delivery in deliveries:
        for event in sorted(delivery, key=lambda e: e["timestamp"]):
            chats[event["source"]["userId"]].append(event)
    log = tmp_path / "workers.log"
    env = {k: v for k, v in worker_env(fault_settings).items() if k not in os.environ}
    with procfile_web(fault_settings.database_url, tmp_path, workers=2, env=env) as web:
        workers = [_worker(fault_settings, log) for _ in range(2)]
        try:
            statuses: list[int] = []

            def chat(group: list[str]) -> None:
                for events in itertools.zip_longest(*(chats[user] for user in group)):
                    for event in events:
                        if event is not None:
                            statuses.append(_post_http(web.base_url, webhook(event)))

            threads = [threading.Thread(target=chat, args=(users[n::6],)) for n in range(6)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert statuses == [200] * sum(len(events) for events in chats.values())
            _wait(lambda: _pending(db) == 0, "the backlog drained")
            _wait(lambda: all(r.status == "sent" for r in _outbox(db)), "every reply sent")
        finally:
            _stop(*workers)
    _assert_once_and_in_order(db, order)
    delivered = [d.reply_token or "" for d in fake_line.delivered]
    assert sorted(delivered) == sorted(t for tokens in order.values() for t in tokens)


def test_an_event_that_kills_its_worker_every_time_ends_dead_and_can_be_retried(
    db: Database,
    fault_settings: Settings,
    store_only: Any,
    fake_line: FakeLineServer,
    tmp_path: Path,
) -> None:
    from click.testing import CliRunner

    from authencode import cli
    from tests.support.crashing_worker import POISON

    user, other = USERS[0], USERS[1]
    poison, after, elsewhere = text(POISON, user), text("สวัสดี", user), text("สวัสดี", other)
    poison["timestamp"], after["timestamp"] = 1_000, 2_000
    assert post(store_only, webhook(poison, after, elsewhere)).status_code == 200
    log = tmp_path / "workers.log"
    # A supervisor restarting a worker that dies on the same event, again and again.
    for _ in range(3 + 2):  # the tries, and a run that finds nothing left to die on
        crashing = _worker(
            fault_settings, log, "tests.support.crashing_worker", LINE_EVENT_MAX_ATTEMPTS="3"
        )
        try:
            _wait(lambda w=crashing: w.poll() is not None or _pending(db) == 0, "a crash or done")
        finally:
            _stop(crashing)
        if crashing.returncode == -signal.SIGKILL:
            continue
        break
    events = _stored(db)
    dead = events[poison["webhookEventId"]]
    assert (dead.status, dead.attempts, dead.last_error) == ("dead", 3, inbox.CRASHED)
    # The events behind it and beside it were applied, once.
    assert events[after["webhookEventId"]].status == "applied"
    assert events[elsewhere["webhookEventId"]].status == "applied"
    assert sorted(r.reply_token or "" for r in _outbox(db)) == sorted(
        [after["replyToken"], elsewhere["replyToken"]]
    )

    metrics = store_only.get("/metrics").get_data(as_text=True)
    assert 'authencode_line_events{status="dead"} 1.0' in metrics
    env = {**worker_env(fault_settings), "AUTHENCODE_INSTANCE_PATH": str(tmp_path / "cli")}
    listed = CliRunner().invoke(cli.main, ["line", "events", "list"], env=env)
    assert listed.exit_code == 0 and poison["webhookEventId"] in listed.output, listed.output
    retried = CliRunner().invoke(
        cli.main, ["line", "events", "retry", poison["webhookEventId"]], env=env
    )
    assert retried.exit_code == 0, retried.output
    again = _stored(db)[poison["webhookEventId"]]
    assert (again.status, again.attempts) == ("pending", 0)


def _stored(db: Database) -> dict[str, WebhookEvent]:
    with db.sessionmaker() as session:
        return {e.webhook_event_id: e for e in session.scalars(select(WebhookEvent))}


def _advisory_locks(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.scalar(sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")))


def _lock_waits(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.scalar(sql("SELECT count(*) FROM pg_locks WHERE NOT granted")))


def _post_http(base: str, payload: dict[str, Any]) -> int:
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "X-Line-Signature": sign(body)}
    return requests.post(base + "/line/webhook", data=body, headers=headers, timeout=60).status_code


def test_two_web_groups_and_two_worker_groups_share_one_database(
    db: Database, fault_settings: Settings, fake_line: FakeLineServer, tmp_path: Path
) -> None:
    # Two streams of deliveries (as LINE sends a user's events one after another), each
    # spread over both web groups, and each delivery redelivered to the other group.
    streams = [_interleaved(per_user=10, users=USERS[:3]), _interleaved(10, USERS[3:])]
    order = {user: tokens for _, part in streams for user, tokens in part.items()}
    log = tmp_path / "workers.log"
    machines = []
    for name in ("a", "b"):  # each group its own environment and instance folder
        instance = tmp_path / f"machine-{name}"
        instance.mkdir()
        machines.append(instance)
    env = {k: v for k, v in worker_env(fault_settings).items() if k not in os.environ}
    with (
        procfile_web(fault_settings.database_url, machines[0], env=env) as one,
        procfile_web(fault_settings.database_url, machines[1], env=env) as two,
    ):
        workers = [
            _worker(fault_settings, log, AUTHENCODE_INSTANCE_PATH=str(instance))
            for instance in machines
        ]
        try:
            statuses: list[int] = []

            def deliver(deliveries: list[list[dict[str, Any]]]) -> None:
                for n, delivery in enumerate(deliveries):
                    first, other = (one, two) if n % 2 else (two, one)
                    statuses.append(_post_http(first.base_url, webhook(*delivery)))
                    statuses.append(_post_http(other.base_url, webhook(*delivery)))

            threads = [threading.Thread(target=deliver, args=(part,)) for part, _ in streams]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert statuses and set(statuses) == {200}
            _wait(lambda: _pending(db) == 0, "every event applied")
            _wait(lambda: all(r.status == "sent" for r in _outbox(db)), "every reply sent")
        finally:
            _stop(*workers)
    _assert_once_and_in_order(db, order)
    delivered = [d.reply_token or "" for d in fake_line.delivered]
    assert sorted(delivered) == sorted(t for tokens in order.values() for t in tokens)

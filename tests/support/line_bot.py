"""The LINE bot's test helpers and fixtures: signed webhook posts, the fake Messaging API, a
controllable clock, a chatting user (tests/linebot_app/conftest.py and other suites use them)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import itertools
import json
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.db import Database
from authencode.models import OutboxMessage
from authencode.settings import Settings
from linebot_app.sender import OutboxSender, SendPolicy
from tests.support.factories import birth_date
from tests.support.fake_line import FakeLineServer
from tests.support.liff import World, build_world
from tests.support.shared import ACCESS_TOKEN, CHANNEL_SECRET

USER_ID = "U" + "a" * 32
_ids = itertools.count(1)


@pytest.fixture
def settings(settings: Settings, fake_line: FakeLineServer) -> Settings:
    return settings.with_overrides(
        line_channel_secret=CHANNEL_SECRET,
        line_channel_access_token=ACCESS_TOKEN,
        line_api_base_url=fake_line.url,
    )


@pytest.fixture
def db(app: Any) -> Database:
    return app.extensions["authencode"].db


class Clock:
    def __init__(self) -> None:
        # A little ahead of real time, so rows queued during the test are already due.
        self.now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


# Short timeouts keep the timeout tests fast; the real defaults are in SendPolicy.
FAST = SendPolicy(connect_timeout=1.0, read_timeout=0.3, max_attempts=5, base_delay=2.0, lease=60.0)


@pytest.fixture
def sender(db: Database, settings: Settings, clock: Clock) -> OutboxSender:
    return OutboxSender(db, settings, FAST, clock=clock)


def drain(sender: OutboxSender, clock: Clock, rounds: int = 20) -> None:
    """Run the worker, moving the clock to the next due row, until nothing is pending."""
    for _ in range(rounds):
        sender.run_once()
        with sender.db.sessionmaker() as session:
            due = session.scalar(
                select(OutboxMessage.next_attempt_at)
                .where(OutboxMessage.status == "pending")
                .order_by(OutboxMessage.next_attempt_at)
                .limit(1)
            )
        if due is None:
            return
        if due > clock.now:
            clock.now = due
    raise AssertionError("outbox still pending after many rounds")


def outbox(db: Database) -> list[OutboxMessage]:
    with db.sessionmaker() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def sign(body: bytes, secret: str = CHANNEL_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def post(
    client: Any, payload: Any, *, signature: str | None = "auto", raw: bytes | None = None
) -> Any:
    body = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    if signature == "auto":
        headers["X-Line-Signature"] = sign(body)
    elif signature is not None:
        headers["X-Line-Signature"] = signature
    return client.post("/line/webhook", data=body, headers=headers)


def webhook(*events: dict[str, Any]) -> dict[str, Any]:
    return {"destination": "U" + "0" * 32, "events": list(events)}


def _base(kind: str, user_id: str, event_id: str | None, **extra: Any) -> dict[str, Any]:
    n = next(_ids)
    event = {
        "type": kind,
        "mode": "active",
        "timestamp": 1_780_000_000_000 + n,
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": event_id or f"01HEVENT{n:018d}",
        "deliveryContext": {"isRedelivery": False},
    }
    event.update(extra)
    return event


def follow(
    user_id: str = USER_ID,
    event_id: str | None = None,
    unblocked: bool = False,
    reply_token: str | None = None,
) -> dict[str, Any]:
    return _base(
        "follow",
        user_id,
        event_id,
        replyToken=reply_token or f"rt-{next(_ids)}",
        follow={"isUnblocked": unblocked},
    )


def unfollow(user_id: str = USER_ID) -> dict[str, Any]:
    return _base("unfollow", user_id, None)


def text(message: str, user_id: str = USER_ID, event_id: str | None = None) -> dict[str, Any]:
    return _base(
        "message",
        user_id,
        event_id,
        replyToken=f"rt-{next(_ids)}",
        message={"id": str(next(_ids)), "type": "text", "text": message, "quoteToken": "q"},
    )


def postback(data: str, user_id: str = USER_ID) -> dict[str, Any]:
    return _base("postback", user_id, None, replyToken=f"rt-{next(_ids)}", postback={"data": data})


def session_of(db: Database) -> Session:
    return db.sessionmaker()


# --- the chat path: a registry, a clinic's QR links, and a user who types ---------------------


@pytest.fixture
def world(db: Database, protector: DataProtector, settings: Settings) -> World:
    """The LIFF suite's world: a facility's QR links and registry persons to register."""
    return build_world(db, protector, settings.public_base_url)


def wrong_check_digit(cid: str) -> str:
    return cid[:12] + str((int(cid[12]) + 1) % 10)


@pytest.fixture
def chat_clock(app: Any, clock: Clock) -> Clock:
    """The bot's clock, moved by the test (a dialogue's silence without waiting for it)."""
    app.extensions["linebot"].clock = clock
    return clock


def read_aloud(message: dict[str, Any]) -> str:
    """What a person reads in a message: its text, or a Flex message's texts, one line each,
    a card's label/value row read as "label: value"."""
    if "text" in message and message.get("type") != "flex":
        return str(message["text"])

    def walk(node: Any) -> list[str]:
        if isinstance(node, list):
            return [line for item in node for line in walk(item)]
        if not isinstance(node, dict):
            return []
        if node.get("type") == "text":
            return [str(node.get("text", ""))]
        if node.get("type") == "box" and node.get("layout") == "baseline":
            return [": ".join(t for item in node.get("contents", []) for t in walk(item))]
        return [line for value in node.values() for line in walk(value)]

    return "\n".join(walk(message.get("contents", message)))


class ChatUser:
    """A LINE user typing and tapping; every answer is read back from the outbox."""

    def __init__(self, client: Any, db: Database, user_id: str = USER_ID) -> None:
        self.client = client
        self.db = db
        self.user_id = user_id

    def via(self, client: Any) -> ChatUser:
        """The same user, whose next events reach another web worker."""
        return ChatUser(client, self.db, self.user_id)

    def say(self, message: str) -> list[dict[str, Any]]:
        assert post(self.client, webhook(text(message, self.user_id))).status_code == 200
        return self.last()

    def tap(self, data: str) -> list[dict[str, Any]]:
        assert post(self.client, webhook(postback(data, self.user_id))).status_code == 200
        return self.last()

    def choose(self, message: dict[str, Any], label: str) -> list[dict[str, Any]]:
        """Tap one of a message's quick replies (or a confirm template's buttons)."""
        action = quick_reply_action(message, label)
        if action["type"] == "postback":
            return self.tap(action["data"])
        return self.say(action["text"])

    def consent(self) -> None:
        from linebot_app.messages import PB_CONSENT_ACCEPT

        self.tap(PB_CONSENT_ACCEPT)

    def register(self, cid: str, phone: str = "0812345678") -> None:
        self.say("ลงทะเบียน")
        self.say(cid)
        self.say(birth_date(cid, be=True))
        [done] = self.say(phone)
        assert done["text"].startswith("ลงทะเบียนเรียบร้อยแล้ว"), done["text"]

    def last(self) -> list[dict[str, Any]]:
        with self.db.sessionmaker() as session:
            row = session.scalar(
                select(OutboxMessage)
                .where(OutboxMessage.recipient == self.user_id)
                .order_by(OutboxMessage.id.desc())
                .limit(1)
            )
            assert row is not None
            return row.payload["messages"]


def quick_reply_labels(message: dict[str, Any]) -> list[str]:
    return [item["action"]["label"] for item in message.get("quickReply", {}).get("items", [])]


def quick_reply_action(message: dict[str, Any], label: str) -> dict[str, Any]:
    actions = [item["action"] for item in message.get("quickReply", {}).get("items", [])]
    actions += message.get("template", {}).get("actions", [])
    for action in actions:
        if action["label"] == label:
            return action
    raise AssertionError(f"no button {label!r} in {[a['label'] for a in actions]}")


@pytest.fixture
def chat(client: Any, db: Database) -> ChatUser:
    return ChatUser(client, db)

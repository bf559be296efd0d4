"""Development only: a small Messaging API served by the app itself, for the LINE simulator.

With AUTHENCODE_ENV=development and no LINE channel configured, LINE_API_BASE_URL points here
(``/dev/line/api``), so the real SDK in the outbox worker and in `authencode line richmenu
deploy` talks to this instead of LINE. It answers like LINE: reply tokens are single use, a
push's X-Line-Retry-Key once accepted is answered with 409, messages are checked against the
SDK's models, rich menus against LINE's documented limits (`devline_richmenu`). It keeps, in
memory of the web process, what the bot sent to each simulated user, the rich menus with
their images, aliases, the default and per-user links. Never registered in production.

The tests serve the same blueprint on a port of their own (tests/support/fake_line.py) and
use the store's test hooks: ``faults`` (answer the next calls with a status, or stall past
the client's timeout) and ``accept_unknown_reply_tokens``. Nothing in development sets them.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import MutableSequence
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from linebot.v3.messaging import Message

from linebot_app.devline_richmenu import Answer, rich_menus

MAX_FEED = 500  # items kept per simulated user
MAX_KEPT = 10_000  # requests and deliveries kept for inspection

dev_line_api = Blueprint("dev_line_api", __name__, url_prefix="/dev/line/api")


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int


@dataclass
class Fault:
    status: int | None = None  # answer with this status...
    retry_after: int | None = None
    stall: float | None = None  # ...or handle normally, then answer this many seconds late


@dataclass
class Delivery:
    kind: str  # "reply" or "push"
    to: str | None
    reply_token: str | None
    retry_key: str | None
    messages: list[dict[str, Any]]


@dataclass
class DevLineStore:
    """What the fake Messaging API knows; every access holds ``lock``."""

    access_token: str | None
    lock: threading.Lock = field(default_factory=threading.Lock)
    seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    feeds: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    reply_tokens: dict[str, str] = field(default_factory=dict)  # token -> user
    used_reply_tokens: set[str] = field(default_factory=set)
    invalid_reply_tokens: set[str] = field(default_factory=set)
    accepted_retry_keys: dict[str, str] = field(default_factory=dict)
    requests: MutableSequence[Recorded] = field(default_factory=lambda: deque(maxlen=MAX_KEPT))
    delivered: MutableSequence[Delivery] = field(default_factory=lambda: deque(maxlen=MAX_KEPT))
    rich_menus: dict[str, dict[str, Any]] = field(default_factory=dict)
    images: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    default_menu: str | None = None
    user_menus: dict[str, str] = field(default_factory=dict)
    batches: dict[str, str] = field(default_factory=dict)
    batch_phase: str = "succeeded"
    # Test hooks (tests/support/fake_line.py); development leaves them as they are.
    faults: list[Fault] = field(default_factory=list)
    accept_unknown_reply_tokens: bool = False  # the tests' webhooks make up their own tokens
    # LINE checks messages against its models (400 if one is not a LINE message); the HTTP
    # bench turns this off: LINE's checking is not our CPU.
    check_messages: bool = True

    def add(self, user_id: str, sender: str, **item: Any) -> None:
        """Append to a user's conversation (caller holds the lock)."""
        feed = self.feeds.setdefault(user_id, [])
        feed.append({"seq": next(self.seq), "from": sender, "at": time.time(), **item})
        del feed[:-MAX_FEED]

    def menu_of(self, user_id: str) -> dict[str, Any] | None:
        menu_id = self.user_menus.get(user_id, self.default_menu)
        return self.rich_menus.get(menu_id) if menu_id else None


def store(app: Flask | None = None) -> DevLineStore:
    return (app or current_app).extensions["dev_line"]


@dev_line_api.route("/<path:path>", methods=["GET", "POST", "DELETE"])
def call(path: str) -> Response:
    """One Messaging API call: faults first, then the token, then the endpoint."""
    db = store()
    raw = request.get_data()
    body = request.get_json(silent=True) if raw and request.mimetype.endswith("json") else None
    body = body if isinstance(body, dict) else {}
    target = "/" + path + (f"?{request.query_string.decode()}" if request.query_string else "")
    with db.lock:
        fault = db.faults.pop(0) if db.faults else None
    if fault and fault.status:
        extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
        answer: Answer = (fault.status, {"message": "fake failure"}, extra)
    elif (
        db.access_token is None
        or request.headers.get("Authorization") != f"Bearer {db.access_token}"
    ):
        answer = _error(401, "Authentication failed. Confirm that the access token is valid.")
    elif request.method == "POST" and path == "v2/bot/message/reply":
        answer = _reply(db, body)
    elif request.method == "POST" and path == "v2/bot/message/push":
        answer = _push(db, body, request.headers.get("X-Line-Retry-Key"))
    elif path.startswith(("v2/bot/richmenu", "v2/bot/user/")):
        answer = rich_menus(db, request.method, target, body, raw, request.mimetype)
    else:
        answer = _error(404, "Not found")
    status, payload, headers = answer
    with db.lock:
        db.requests.append(
            Recorded(
                target,
                dict(request.headers.items()),
                body if isinstance(payload, dict) else {},
                status,
            )
        )
    if fault and fault.stall:
        time.sleep(fault.stall)  # LINE took it; the answer comes after the client gave up
    headers = {"x-line-request-id": str(uuid.uuid4()), **headers}
    if isinstance(payload, bytes):
        return Response(
            payload, status, headers=headers, mimetype=headers.pop("Content-Type", "image/png")
        )
    return Response(json.dumps(payload), status, headers=headers, mimetype="application/json")


def _error(status: int, message: str) -> Answer:
    return status, {"message": message}, {}


def _refused(db: DevLineStore, messages: Any) -> Answer | None:
    if not isinstance(messages, list) or not 1 <= len(messages) <= 5:
        return _error(400, "The request body has 1 error(s)")
    for n, message in enumerate(messages if db.check_messages else ()):
        try:
            Message.from_dict(message)
        except (ValueError, TypeError, KeyError, AttributeError):
            return _error(400, f"A message (messages[{n}]) in the request body is invalid")
    return None


def _reply(db: DevLineStore, body: dict[str, Any]) -> Answer:
    token = body.get("replyToken")
    messages: list[dict[str, Any]] = body.get("messages") or []
    refused = _refused(db, messages)
    if refused:
        return refused
    with db.lock:
        if (
            not isinstance(token, str)
            or token in db.used_reply_tokens
            or token in db.invalid_reply_tokens
            or (token not in db.reply_tokens and not db.accept_unknown_reply_tokens)
        ):
            return _error(400, "Invalid reply token")
        db.used_reply_tokens.add(token)
        db.delivered.append(Delivery("reply", None, token, None, messages))
        user_id = db.reply_tokens.pop(token, None)
        if user_id:
            db.add(user_id, "bot", messages=messages, via="reply")
    return 200, {"sentMessages": _sent(messages)}, {}


def _push(db: DevLineStore, body: dict[str, Any], key: str | None) -> Answer:
    to = body.get("to")
    messages: list[dict[str, Any]] = body.get("messages") or []
    if not isinstance(to, str) or not to:
        return _error(400, "The request body has 1 error(s)")
    refused = _refused(db, messages)
    if refused:
        return refused
    with db.lock:
        accepted = db.accepted_retry_keys.get(key) if key else None
        if accepted is None:
            if key:
                db.accepted_retry_keys[key] = str(uuid.uuid4())
            db.delivered.append(Delivery("push", to, None, key, messages))
            db.add(to, "bot", messages=messages, via="push")
    if accepted is not None:
        return (
            409,
            {"message": "The retry key is already accepted", "sentMessages": _sent(messages)},
            {"x-line-accepted-request-id": accepted},
        )
    return 200, {"sentMessages": _sent(messages)}, {}


def _sent(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"id": str(uuid.uuid4().int)[:18], "quoteToken": uuid.uuid4().hex} for _ in messages]

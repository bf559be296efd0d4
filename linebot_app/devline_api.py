"""Development only: a small Messaging API served by the app itself, for the LINE simulator.

With AUTHENCODE_ENV=development and no LINE channel configured, LINE_API_BASE_URL points here
(``/dev/line/api``), so the real SDK in the outbox worker and in `authencode line richmenu
deploy` talks to this instead of LINE. It keeps, in memory of the web process, what the bot
sent to each simulated user, the rich menus with their images, aliases, the default and
per-user links. Never registered in production.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from authencode.web.context import services

MAX_FEED = 500  # items kept per simulated user
ALIAS_ID = re.compile(r"^[a-z0-9_-]{1,32}$")

dev_line_api = Blueprint("dev_line_api", __name__, url_prefix="/dev/line/api")


@dataclass
class DevLineStore:
    """What the fake Messaging API knows; every access holds ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    feeds: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    reply_tokens: dict[str, str] = field(default_factory=dict)  # token -> user
    retry_keys: set[str] = field(default_factory=set)
    menus: dict[str, dict[str, Any]] = field(default_factory=dict)
    images: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    default_menu: str | None = None
    user_menus: dict[str, str] = field(default_factory=dict)

    def add(self, user_id: str, sender: str, **item: Any) -> None:
        """Append to a user's conversation (caller holds the lock)."""
        feed = self.feeds.setdefault(user_id, [])
        feed.append({"seq": next(self.seq), "from": sender, "at": time.time(), **item})
        del feed[:-MAX_FEED]

    def menu_of(self, user_id: str) -> dict[str, Any] | None:
        menu_id = self.user_menus.get(user_id, self.default_menu)
        return self.menus.get(menu_id) if menu_id else None


def store(app: Flask | None = None) -> DevLineStore:
    return (app or current_app).extensions["dev_line"]  # type: ignore[no-any-return]


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify(message=message), status


@dev_line_api.before_request
def _check_token() -> tuple[Response, int] | None:
    token = services().settings.line_channel_access_token
    if request.headers.get("Authorization") != f"Bearer {token}":
        return _error(401, "Authentication failed. Confirm that the access token is valid.")
    return None


def _messages() -> list[dict[str, Any]] | None:
    messages = (request.get_json(silent=True) or {}).get("messages")
    if not isinstance(messages, list) or not 1 <= len(messages) <= 5:
        return None
    return messages


@dev_line_api.post("/v2/bot/message/reply")
def reply() -> Any:
    body = request.get_json(silent=True) or {}
    messages = _messages()
    if messages is None:
        return _error(400, "The request body has 1 error(s)")
    db = store()
    with db.lock:
        user_id = db.reply_tokens.pop(str(body.get("replyToken")), None)
        if user_id is None:
            return _error(400, "Invalid reply token")
        db.add(user_id, "bot", messages=messages, via="reply")
    return jsonify(sentMessages=[{"id": uuid.uuid4().hex[:18]} for _ in messages])


@dev_line_api.post("/v2/bot/message/push")
def push() -> Any:
    body = request.get_json(silent=True) or {}
    messages = _messages()
    to = body.get("to")
    if messages is None or not isinstance(to, str) or not to:
        return _error(400, "The request body has 1 error(s)")
    key = request.headers.get("X-Line-Retry-Key")
    db = store()
    with db.lock:
        if key and key in db.retry_keys:
            return _error(409, "The retry key is already accepted")
        if key:
            db.retry_keys.add(key)
        db.add(to, "bot", messages=messages, via="push")
    return jsonify(sentMessages=[{"id": uuid.uuid4().hex[:18]} for _ in messages])


# --- rich menus ---------------------------------------------------------------------------

@dev_line_api.post("/v2/bot/richmenu")
def create_menu() -> Any:
    body = request.get_json(silent=True) or {}
    size = body.get("size") or {}
    if not isinstance(body.get("areas"), list) or not size.get("width") or not size.get("height"):
        return _error(400, "invalid rich menu")
    menu_id = f"richmenu-{uuid.uuid4().hex}"
    db = store()
    with db.lock:
        db.menus[menu_id] = {**body, "richMenuId": menu_id}
    return jsonify(richMenuId=menu_id)


@dev_line_api.get("/v2/bot/richmenu/list")
def list_menus() -> Any:
    db = store()
    with db.lock:
        return jsonify(richmenus=list(db.menus.values()))


@dev_line_api.route("/v2/bot/richmenu/<menu_id>", methods=["GET", "DELETE"])
def one_menu(menu_id: str) -> Any:
    db = store()
    with db.lock:
        if menu_id not in db.menus:
            return _error(404, "Not found")
        if request.method == "GET":
            return jsonify(db.menus[menu_id])
        del db.menus[menu_id]
        db.images.pop(menu_id, None)
        db.default_menu = None if db.default_menu == menu_id else db.default_menu
        db.user_menus = {u: m for u, m in db.user_menus.items() if m != menu_id}
    return jsonify({})


@dev_line_api.route("/v2/bot/richmenu/<menu_id>/content", methods=["GET", "POST"])
def menu_image(menu_id: str) -> Any:
    db = store()
    with db.lock:
        if menu_id not in db.menus:
            return _error(404, "Not found")
        if request.method == "GET":
            if menu_id not in db.images:
                return _error(404, "Not found")
            mime, data = db.images[menu_id]
            return Response(data, mimetype=mime)
        mime = request.mimetype
        if mime not in ("image/png", "image/jpeg"):
            return _error(415, "Unsupported Media Type")
        db.images[menu_id] = (mime, request.get_data())
    return jsonify({})


def _usable(db: DevLineStore, menu_id: str) -> tuple[Response, int] | None:
    if menu_id not in db.menus or menu_id not in db.images:
        return _error(400, "the rich menu does not exist or has no image")
    return None


@dev_line_api.route("/v2/bot/user/all/richmenu", methods=["GET", "DELETE"])
@dev_line_api.post("/v2/bot/user/all/richmenu/<menu_id>")
def default_menu(menu_id: str | None = None) -> Any:
    db = store()
    with db.lock:
        if request.method == "GET":
            if db.default_menu is None:
                return _error(404, "no default richmenu")
            return jsonify(richMenuId=db.default_menu)
        if request.method == "DELETE":
            db.default_menu = None
            return jsonify({})
        problem = _usable(db, menu_id or "")
        if problem:
            return problem
        db.default_menu = menu_id
    return jsonify({})


@dev_line_api.route("/v2/bot/user/<user_id>/richmenu", methods=["GET", "DELETE"])
@dev_line_api.post("/v2/bot/user/<user_id>/richmenu/<menu_id>")
def user_menu(user_id: str, menu_id: str | None = None) -> Any:
    db = store()
    with db.lock:
        if request.method == "GET":
            if user_id not in db.user_menus:
                return _error(404, "the user has no richmenu")
            return jsonify(richMenuId=db.user_menus[user_id])
        if request.method == "DELETE":
            db.user_menus.pop(user_id, None)
            return jsonify({})
        problem = _usable(db, menu_id or "")
        if problem:
            return problem
        db.user_menus[user_id] = str(menu_id)
    return jsonify({})


@dev_line_api.get("/v2/bot/richmenu/alias/list")
def list_aliases() -> Any:
    db = store()
    with db.lock:
        return jsonify(aliases=[{"richMenuAliasId": a, "richMenuId": m}
                                for a, m in db.aliases.items()])


@dev_line_api.post("/v2/bot/richmenu/alias")
def create_alias() -> Any:
    body = request.get_json(silent=True) or {}
    alias_id, menu_id = str(body.get("richMenuAliasId") or ""), str(body.get("richMenuId") or "")
    db = store()
    with db.lock:
        if not ALIAS_ID.match(alias_id) or alias_id in db.aliases:
            return _error(400, "invalid or conflicting richMenuAliasId")
        problem = _usable(db, menu_id)
        if problem:
            return problem
        db.aliases[alias_id] = menu_id
    return jsonify({})


@dev_line_api.route("/v2/bot/richmenu/alias/<alias_id>", methods=["GET", "POST", "DELETE"])
def one_alias(alias_id: str) -> Any:
    db = store()
    with db.lock:
        if alias_id not in db.aliases:
            return _error(404, "richmenu alias not found")
        if request.method == "GET":
            return jsonify(richMenuAliasId=alias_id, richMenuId=db.aliases[alias_id])
        if request.method == "DELETE":
            del db.aliases[alias_id]
            return jsonify({})
        menu_id = str((request.get_json(silent=True) or {}).get("richMenuId") or "")
        problem = _usable(db, menu_id)
        if problem:
            return problem
        db.aliases[alias_id] = menu_id
    return jsonify({})


@dev_line_api.post("/v2/bot/richmenu/batch")
def batch() -> Any:
    operations = (request.get_json(silent=True) or {}).get("operations") or []
    db = store()
    with db.lock:
        for op in operations:
            if op.get("type") == "link":
                db.user_menus = {u: (op["to"] if m == op.get("from") else m)
                                 for u, m in db.user_menus.items()}
    response = jsonify({})
    response.status_code = 202
    response.headers["x-line-request-id"] = uuid.uuid4().hex
    return response


@dev_line_api.get("/v2/bot/richmenu/progress/batch")
def batch_progress() -> Any:
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    return jsonify(phase="succeeded", acceptedTime=now, completedTime=now)

"""Development only: /dev/line, a chat page that acts as a LINE user.

The page asks this blueprint for a signed webhook body (follow, text, postback...) and posts
it to the real ``/line/webhook`` itself, like LINE's servers would. What the bot sends goes
through the outbox and the worker to the built-in fake Messaging API (`devline_api`), and
the page polls it from there, with the rich menu the user currently has. Registered only in
development (or when a test explicitly enables it), never in production.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, render_template, request, url_for

from authencode import thaiwords
from authencode.settings import DEV_LINE_API_PATH, Settings
from authencode.web.context import services
from linebot_app import devline_api
from linebot_app.devline_api import DevLineStore, store

BOT_USER_ID = "U" + "0" * 32  # the webhook's "destination": the simulated official account
_USER_ID = re.compile(r"^U[0-9a-f]{32}$")
MAX_TEXT = 5000

simulator = Blueprint(
    "dev_line",
    __name__,
    url_prefix="/dev/line",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


def enabled(settings: Settings) -> bool:
    """Development mode, or a test that asks for it; never production."""
    if settings.is_production:
        return False
    return settings.environment == "development" or settings.line_simulator


def register(app: Flask) -> None:
    from authencode.web.security_headers import content_policy

    settings = app.extensions["authencode"].settings
    thaiwords.warm_up()  # the feed cuts Thai texts into words
    app.extensions["dev_line"] = DevLineStore(access_token=settings.line_channel_access_token)
    app.register_blueprint(devline_api.dev_line_api)
    app.register_blueprint(simulator)
    # A development tool: it shows whatever images the bot's messages name.
    content_policy(app, "dev_line.", {"img-src": "'self' data: blob: https:"})


def _error(message: str, status: int = 400) -> tuple[Response, int]:
    return jsonify(
        error={"code": "SIMULATOR_INVALID", "message": message, "message_th": message}
    ), status


@simulator.get("/")
def page() -> str:
    settings = services().settings
    config = {
        "eventsUrl": url_for("dev_line.event"),
        "feedUrl": url_for("dev_line.feed"),
        "deployUrl": url_for("dev_line.deploy"),
        "switchUrl": url_for("dev_line.switch"),
        "webhookUrl": url_for("line_webhook.webhook"),
        "simulatorApi": settings.line_api_base_url.rstrip("/").endswith(DEV_LINE_API_PATH),
    }
    return render_template("dev_line/simulator.html", config=config)


def _user() -> str | None:
    body = request.get_json(silent=True) or {}
    user_id = body.get("user_id") if isinstance(body, dict) else None
    return user_id if isinstance(user_id, str) and _USER_ID.match(user_id) else None


def _event(kind: str, user_id: str, body: dict[str, Any], reply_token: str | None) -> Any:
    event: dict[str, Any] = {
        "type": kind,
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": "01SIM" + secrets.token_hex(10).upper(),
        "deliveryContext": {"isRedelivery": False},
    }
    if reply_token:
        event["replyToken"] = reply_token
    if kind == "follow":
        event["follow"] = {"isUnblocked": bool(body.get("unblocked"))}
    elif kind == "message":
        text = str(body.get("text") or "")[:MAX_TEXT]
        if not text.strip():
            return None
        event["message"] = {
            "id": str(secrets.randbelow(10**18)),
            "type": "text",
            "text": text,
            "quoteToken": secrets.token_hex(16),
        }
    elif kind == "postback":
        data = str(body.get("data") or "")[:300]
        params = body.get("params") if isinstance(body.get("params"), dict) else None
        event["postback"] = {"data": data, **({"params": params} if params else {})}
    return event


@simulator.post("/events")
def event() -> Any:
    """A signed webhook body for one user action; the page posts it to /line/webhook."""
    user_id = _user()
    body = request.get_json(silent=True) or {}
    kind = body.get("type")
    if user_id is None or kind not in ("follow", "unfollow", "message", "postback"):
        return _error("user_id (U + 32 hex) and a type are required")
    db = store()
    reply_token = secrets.token_hex(16) if kind != "unfollow" else None
    payload = _event(kind, user_id, body, reply_token)
    if payload is None:
        return _error("empty message")
    with db.lock:
        if reply_token:
            db.reply_tokens[reply_token] = user_id
        shown = body.get("display_text") or (payload.get("message") or {}).get("text")
        if kind == "follow":
            db.add(user_id, "system", text="คุณเพิ่มบัญชีนี้เป็นเพื่อนแล้ว")
        elif kind == "unfollow":
            db.add(user_id, "system", text="คุณบล็อกบัญชีนี้แล้ว")
        elif shown:
            db.add(user_id, "user", text=str(shown)[:MAX_TEXT])
    raw = json.dumps({"destination": BOT_USER_ID, "events": [payload]}, ensure_ascii=False)
    secret = services().settings.line_channel_secret or ""
    signature = base64.b64encode(
        hmac.new(secret.encode(), raw.encode(), hashlib.sha256).digest()
    ).decode()
    return jsonify(body=raw, signature=signature)


@simulator.get("/feed")
def feed() -> Any:
    """What the bot sent this user after ``after``, and the rich menu they see."""
    user_id = request.args.get("user_id", "")
    after = request.args.get("after", "0")
    if not _USER_ID.match(user_id) or not after.isdigit():
        return _error("user_id and after are required")
    db = store()
    with db.lock:
        items = [i for i in db.feeds.get(user_id, []) if i["seq"] > int(after)]
        menu = db.menu_of(user_id)
        deployed = db.default_menu is not None
    if menu is not None:
        menu = {
            "id": menu["richMenuId"],
            "size": menu["size"],
            "areas": menu["areas"],
            "chatBarText": menu.get("chatBarText", ""),
            "image": url_for("dev_line.menu_image", menu_id=menu["richMenuId"]),
        }
    return jsonify(items=items, menu=menu, deployed=deployed, words=_thai_words(items))


def _thai_words(value: Any, found: dict[str, list[tuple[str, bool]]] | None = None) -> Any:
    """Every Thai text in the items, cut into words (authencode.thaiwords): the page keeps
    each word on one line and breaks lines between words only."""
    found = {} if found is None else found
    if isinstance(value, str):
        if value not in found and thaiwords.has_thai(value):
            found[value] = [(p, thaiwords.is_thai_word(p)) for p in thaiwords.segments(value)]
    elif isinstance(value, dict):
        for item in value.values():
            _thai_words(item, found)
    elif isinstance(value, list):
        for item in value:
            _thai_words(item, found)
    return found


@simulator.get("/richmenu/<menu_id>.img")
def menu_image(menu_id: str) -> Any:
    """The menu image for the page (the API's own endpoint wants the access token)."""
    db = store()
    with db.lock:
        found = db.images.get(menu_id)
    if found is None:
        return _error("no such image", 404)
    return Response(found[1], mimetype=found[0])


@simulator.post("/richmenu/deploy")
def deploy() -> Any:
    """Run the same deploy as `authencode line richmenu deploy` against the built-in API."""
    from linebot_app.richmenu import RichMenuError, deploy
    from linebot_app.richmenu_image import FontMissing

    try:
        report = deploy(services().settings, poll_seconds=0.2, wait_seconds=5)
    except (RichMenuError, FontMissing) as exc:
        return _error(str(exc), 503)
    return jsonify(menus=report.menus)


@simulator.post("/richmenu/switch")
def switch() -> Any:
    """A richmenuswitch tap: LINE links the alias's menu to the user, then posts a postback."""
    user_id = _user()
    alias = (request.get_json(silent=True) or {}).get("alias")
    db = store()
    with db.lock:
        menu_id = db.aliases.get(str(alias))
        if user_id is None or menu_id is None:
            return _error("unknown user or alias", 404)
        db.user_menus[user_id] = menu_id
    return jsonify(status="SUCCESS", newRichMenuAliasId=alias)

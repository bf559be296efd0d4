"""The built-in fake Messaging API's rich menu endpoints, with LINE's documented checks.

Limits enforced (Messaging API reference, "Rich menu"): size width 800-2500, height at least
250, width/height at least 1.45; name 1-300 characters; chatBarText 1-14; 1-20 areas, each
inside the menu; action labels at most 20 characters, postback data at most 300; image JPEG
or PNG, at most 1 MB, of exactly the menu's size, uploaded once; a menu needs its image
before it can be the default, linked to a user or aliased; alias ids are 1-32 of
[a-z0-9_-] and unique. Deleting a menu an alias still points to is refused here (stricter
than needed), so a deploy must move its aliases first.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from PIL import Image

if TYPE_CHECKING:
    from linebot_app.devline_api import DevLineStore

MAX_IMAGE_BYTES = 1024 * 1024
ALIAS_ID = re.compile(r"^[a-z0-9_-]{1,32}$")
ACTION_TYPES = {
    "postback",
    "message",
    "uri",
    "datetimepicker",
    "richmenuswitch",
    "camera",
    "cameraRoll",
    "location",
    "clipboard",
}
URI_SCHEMES = ("http://", "https://", "line://", "tel:")

Answer = tuple[int, dict[str, Any] | bytes, dict[str, str]]


def _error(status: int, message: str) -> Answer:
    return status, {"message": message}, {}


def _ok(payload: dict[str, Any] | None = None) -> Answer:
    return 200, payload or {}, {}


def rich_menus(
    state: DevLineStore,
    method: str,
    target: str,
    body: dict[str, Any],
    raw: bytes,
    content_type: str,
) -> Answer:
    """Answer one rich menu call (the caller already checked the access token)."""
    url = urlsplit(target)
    parts = url.path.strip("/").split("/")[2:]  # after "v2/bot"
    query = parse_qs(url.query)
    lock: threading.Lock = state.lock
    with lock:
        return _route(state, method, parts, query, body, raw, content_type)


def _route(
    state: DevLineStore,
    method: str,
    parts: list[str],
    query: dict[str, list[str]],
    body: dict[str, Any],
    raw: bytes,
    content_type: str,
) -> Answer:
    match method, parts:
        case "POST", ["richmenu"]:
            return _create(state, body)
        case "POST", ["richmenu", "validate"]:
            problem = _problem(body)
            return _error(400, problem) if problem else _ok()
        case "GET", ["richmenu", "list"]:
            return _ok({"richmenus": [dict(m) for m in state.rich_menus.values()]})
        case "POST", ["richmenu", "batch"]:
            return _batch(state, body)
        case "GET", ["richmenu", "progress", "batch"]:
            phase = state.batches.get((query.get("requestId") or [""])[0])
            if phase is None:
                return _error(404, "Not found")
            now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
            done = {"completedTime": now} if phase != "ongoing" else {}
            return _ok({"phase": phase, "acceptedTime": now, **done})
        case "GET", ["richmenu", "alias", "list"]:
            return _ok(
                {
                    "aliases": [
                        {"richMenuAliasId": a, "richMenuId": m} for a, m in state.aliases.items()
                    ]
                }
            )
        case "POST", ["richmenu", "alias"]:
            return _create_alias(state, body)
        case _, ["richmenu", "alias", alias_id]:
            return _alias(state, method, alias_id, body)
        case "GET", ["richmenu", menu_id]:
            menu = state.rich_menus.get(menu_id)
            return _ok(dict(menu)) if menu else _error(404, "Not found")
        case "DELETE", ["richmenu", menu_id]:
            return _delete(state, menu_id)
        case "POST", ["richmenu", menu_id, "content"]:
            return _upload(state, menu_id, raw, content_type)
        case "GET", ["richmenu", menu_id, "content"]:
            image = state.images.get(menu_id)
            if image is None:
                return _error(404, "Not found")
            return 200, image[1], {"Content-Type": image[0]}
        case "POST", ["user", "all", "richmenu", menu_id]:
            unusable = _usable(state, menu_id)
            if unusable:
                return unusable
            state.default_menu = menu_id
            return _ok()
        case "GET", ["user", "all", "richmenu"]:
            if state.default_menu is None:
                return _error(404, "no default richmenu")
            return _ok({"richMenuId": state.default_menu})
        case "DELETE", ["user", "all", "richmenu"]:
            state.default_menu = None
            return _ok()
        case "POST", ["user", user_id, "richmenu", menu_id]:
            unusable = _usable(state, menu_id)
            if unusable:
                return unusable
            state.user_menus[user_id] = menu_id
            return _ok()
        case "GET", ["user", user_id, "richmenu"]:
            linked = state.user_menus.get(user_id)
            if linked is None:
                return _error(404, "the user has no richmenu")
            return _ok({"richMenuId": linked})
        case "DELETE", ["user", user_id, "richmenu"]:
            state.user_menus.pop(user_id, None)
            return _ok()
    return _error(404, "Not found")


def _problem(menu: dict[str, Any]) -> str | None:
    size = menu.get("size") or {}
    width, height = size.get("width"), size.get("height")
    if not isinstance(width, int) or not isinstance(height, int):
        return "size is required"
    if not 800 <= width <= 2500 or height < 250 or width / height < 1.45:
        return "invalid size"
    if not isinstance(menu.get("selected"), bool):
        return "selected is required"
    if not 1 <= len(menu.get("name") or "") <= 300:
        return "name must be 1-300 characters"
    if not 1 <= len(menu.get("chatBarText") or "") <= 14:
        return "chatBarText must be 1-14 characters"
    areas = menu.get("areas")
    if not isinstance(areas, list) or not 1 <= len(areas) <= 20:
        return "areas must hold 1-20 objects"
    for area in areas:
        b = area.get("bounds") or {}
        if any(not isinstance(b.get(k), int) for k in ("x", "y", "width", "height")):
            return "bounds are required"
        if (
            b["x"] < 0
            or b["y"] < 0
            or b["width"] <= 0
            or b["height"] <= 0
            or b["x"] + b["width"] > width
            or b["y"] + b["height"] > height
        ):
            return "an area is outside the rich menu"
        action = area.get("action") or {}
        if action.get("type") not in ACTION_TYPES:
            return "unknown action type"
        if len(action.get("label") or "") > 20:
            return "label must be at most 20 characters"
        if action["type"] == "postback" and not 1 <= len(action.get("data") or "") <= 300:
            return "postback data must be 1-300 characters"
        if action["type"] == "uri" and not str(action.get("uri", "")).startswith(URI_SCHEMES):
            return "invalid uri"
        if action["type"] == "richmenuswitch" and not action.get("richMenuAliasId"):
            return "richMenuAliasId is required"
    return None


def _create(state: DevLineStore, body: dict[str, Any]) -> Answer:
    problem = _problem(body)
    if problem:
        return _error(400, problem)
    menu_id = f"richmenu-{uuid.uuid4().hex}"
    state.rich_menus[menu_id] = {**body, "richMenuId": menu_id}
    return _ok({"richMenuId": menu_id})


def _upload(state: DevLineStore, menu_id: str, raw: bytes, content_type: str) -> Answer:
    menu = state.rich_menus.get(menu_id)
    if menu is None:
        return _error(404, "Not found")
    if menu_id in state.images:
        return _error(400, "An image has already been uploaded to the richmenu")
    if content_type not in ("image/png", "image/jpeg"):
        return _error(415, "Unsupported Media Type")
    if len(raw) > MAX_IMAGE_BYTES:
        return _error(413, "Payload Too Large")
    try:
        with Image.open(io.BytesIO(raw)) as image:
            fmt, dims = image.format, image.size
    except OSError:
        return _error(400, "invalid image")
    if (fmt, content_type) not in (("PNG", "image/png"), ("JPEG", "image/jpeg")):
        return _error(400, "the image does not match its Content-Type")
    if dims != (menu["size"]["width"], menu["size"]["height"]):
        return _error(400, "image size does not match the rich menu size")
    state.images[menu_id] = (content_type, raw)
    return _ok()


def _usable(state: DevLineStore, menu_id: str) -> Answer | None:
    if menu_id not in state.rich_menus:
        return _error(404, "richmenu not found")
    if menu_id not in state.images:
        return _error(400, "must upload richmenu image before applying it to user")
    return None


def _delete(state: DevLineStore, menu_id: str) -> Answer:
    if menu_id not in state.rich_menus:
        return _error(404, "Not found")
    if menu_id in state.aliases.values():
        return _error(400, "the richmenu is still used by an alias")
    del state.rich_menus[menu_id]
    state.images.pop(menu_id, None)
    if state.default_menu == menu_id:
        state.default_menu = None
    for user, linked in list(state.user_menus.items()):
        if linked == menu_id:
            del state.user_menus[user]
    return _ok()


def _create_alias(state: DevLineStore, body: dict[str, Any]) -> Answer:
    alias_id, menu_id = body.get("richMenuAliasId") or "", body.get("richMenuId") or ""
    if not ALIAS_ID.match(alias_id):
        return _error(400, "invalid richMenuAliasId")
    if alias_id in state.aliases:
        return _error(400, "conflict richmenu alias id")
    problem = _usable(state, menu_id)
    if problem:
        return _error(400, str(problem[1]))
    state.aliases[alias_id] = menu_id
    return _ok()


def _alias(state: DevLineStore, method: str, alias_id: str, body: dict[str, Any]) -> Answer:
    if alias_id not in state.aliases:
        return _error(404, "richmenu alias not found")
    if method == "GET":
        return _ok({"richMenuAliasId": alias_id, "richMenuId": state.aliases[alias_id]})
    if method == "DELETE":
        del state.aliases[alias_id]
        return _ok()
    problem = _usable(state, body.get("richMenuId") or "")
    if problem:
        return _error(400, str(problem[1]))
    state.aliases[alias_id] = body["richMenuId"]
    return _ok()


def _batch(state: DevLineStore, body: dict[str, Any]) -> Answer:
    operations = body.get("operations")
    if not isinstance(operations, list) or not 1 <= len(operations) <= 1000:
        return _error(400, "operations must hold 1-1000 objects")
    request_id = str(uuid.uuid4())
    for op in operations:
        if op.get("type") == "link" and op.get("to") in state.rich_menus:
            for user, linked in list(state.user_menus.items()):
                if linked == op.get("from"):
                    state.user_menus[user] = op["to"]
        elif op.get("type") == "unlink":
            for user, linked in list(state.user_menus.items()):
                if linked == op.get("from"):
                    del state.user_menus[user]
        elif op.get("type") == "unlinkAll":
            state.user_menus.clear()
        else:
            return _error(400, "invalid operation")
    state.batches[request_id] = state.batch_phase
    return 202, {}, {"x-line-request-id": request_id}

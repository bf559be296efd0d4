"""A fake LINE Messaging API: a real HTTP server on 127.0.0.1, in a thread, for the real SDK.

It answers /v2/bot/message/reply and /v2/bot/message/push like LINE does (reply tokens are
single use; a push's X-Line-Retry-Key once accepted is answered with 409), records every
request, and can be told to fail the next calls with a status (500, 429 + Retry-After) or to
stall past the client's timeout — stalled pushes are still accepted, like a response lost
on the way back, which is exactly what the retry key protects against.

The rich menu endpoints (create, list, delete, image upload on the data host, default,
per-user links, aliases and batch moves) check LINE's documented limits; see
`tests/support/fake_line_richmenu.py`.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from linebot.v3.messaging import Message

from tests.support.fake_line_richmenu import rich_menus as _rich_menus


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
    stall: float | None = None  # ...or sleep this long, then handle normally


@dataclass
class Delivery:
    kind: str  # "reply" or "push"
    to: str | None
    reply_token: str | None
    retry_key: str | None
    messages: list[dict[str, Any]]


@dataclass
class FakeLineState:
    access_token: str
    requests: list[Recorded] = field(default_factory=list)
    delivered: list[Delivery] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    used_reply_tokens: set[str] = field(default_factory=set)
    invalid_reply_tokens: set[str] = field(default_factory=set)
    accepted_retry_keys: dict[str, str] = field(default_factory=dict)
    rich_menus: dict[str, dict[str, Any]] = field(default_factory=dict)
    images: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    default_menu: str | None = None
    user_menus: dict[str, str] = field(default_factory=dict)
    batches: dict[str, str] = field(default_factory=dict)
    batch_phase: str = "succeeded"
    # Messages are checked against the SDK's models, as LINE checks them (400 if one is not a
    # LINE message); the HTTP bench turns this off: LINE's checking is not our CPU.
    check_messages: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)


class FakeLineServer:
    def __init__(self, access_token: str) -> None:
        self.state = FakeLineState(access_token=access_token)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)

    @property
    def url(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def start(self) -> FakeLineServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # --- scripting -------------------------------------------------------------------------
    def fail_next(self, count: int = 1, status: int = 500, retry_after: int | None = None) -> None:
        with self.state.lock:
            self.state.faults.extend(Fault(status=status, retry_after=retry_after)
                                     for _ in range(count))

    def fail_nth(self, n: int, status: int = 500) -> None:
        """Answer the n-th next request (1 = the next one) with ``status``."""
        with self.state.lock:
            self.state.faults.extend(Fault() for _ in range(n - 1))
            self.state.faults.append(Fault(status=status))

    def set_batch_phase(self, phase: str) -> None:
        """What later rich menu batch moves report: "succeeded", "ongoing" or "failed"."""
        with self.state.lock:
            self.state.batch_phase = phase

    def stall_next(self, seconds: float, count: int = 1) -> None:
        with self.state.lock:
            self.state.faults.extend(Fault(stall=seconds) for _ in range(count))

    def invalidate_reply_token(self, token: str) -> None:
        with self.state.lock:
            self.state.invalid_reply_tokens.add(token)

    # --- inspection ------------------------------------------------------------------------
    @property
    def delivered(self) -> list[Delivery]:
        with self.state.lock:
            return list(self.state.delivered)

    @property
    def requests(self) -> list[Recorded]:
        with self.state.lock:
            return list(self.state.requests)

    def texts(self) -> list[str]:
        return [m.get("text", m.get("altText", "")) for d in self.delivered for m in d.messages]

    # --- rich menus ------------------------------------------------------------------------
    def link_user(self, user_id: str, rich_menu_id: str) -> None:
        """What a user's richmenuswitch tap or an earlier deploy's link left on LINE."""
        with self.state.lock:
            self.state.user_menus[user_id] = rich_menu_id

    def menu_shown_to(self, user_id: str) -> str | None:
        """The rich menu a user sees: their linked menu, else the default."""
        with self.state.lock:
            return self.state.user_menus.get(user_id, self.state.default_menu)

    @property
    def rich_menus(self) -> dict[str, dict[str, Any]]:
        with self.state.lock:
            return {k: dict(v) for k, v in self.state.rich_menus.items()}

    @property
    def aliases(self) -> dict[str, str]:
        with self.state.lock:
            return dict(self.state.aliases)

    def image_of(self, rich_menu_id: str) -> tuple[str, bytes] | None:
        with self.state.lock:
            return self.state.images.get(rich_menu_id)


def _handler(state: FakeLineState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        stall = 0.0

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.raw = self.rfile.read(length)
            body: dict[str, Any] = {}
            if "json" in (self.headers.get("Content-Type") or "json") and self.raw:
                try:
                    body = json.loads(self.raw)
                except ValueError:
                    body = {}
            with state.lock:
                fault = state.faults.pop(0) if state.faults else None
            # A stalled request is handled at once but answered late: LINE took it, and the
            # client gave up waiting before the answer came.
            self.stall = fault.stall if fault and fault.stall else 0.0
            if fault and fault.status:
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
                self._answer(fault.status, {"message": "fake failure"}, body, headers)
                return
            if self.headers.get("Authorization") != f"Bearer {state.access_token}":
                self._answer(401, {"message": "Authentication failed"}, body)
                return
            path = self.path.split("?", 1)[0]
            if method == "POST" and path == "/v2/bot/message/reply":
                self._reply(body)
            elif method == "POST" and path == "/v2/bot/message/push":
                self._push(body)
            elif path.startswith(("/v2/bot/richmenu", "/v2/bot/user/")):
                status, payload, headers = _rich_menus(state, method, self.path, body, self.raw,
                                                       self.headers.get("Content-Type") or "")
                if isinstance(payload, bytes):
                    self._answer_bytes(status, payload, headers)
                else:
                    self._answer(status, payload, body, headers)
            else:
                self._answer(404, {"message": "Not found"}, body)

        def _refused(self, messages: Any, body: dict[str, Any]) -> bool:
            if not isinstance(messages, list) or not 1 <= len(messages) <= 5:
                self._answer(400, {"message": "The request body has 1 error(s)"}, body)
                return True
            for n, message in enumerate(messages if state.check_messages else ()):
                try:
                    Message.from_dict(message)
                except (ValueError, TypeError, KeyError, AttributeError):
                    self._answer(400, {"message": f"A message (messages[{n}]) in the request "
                                                  "body is invalid"}, body)
                    return True
            return False

        def _reply(self, body: dict[str, Any]) -> None:
            token = body.get("replyToken")
            messages = body.get("messages") or []
            if self._refused(messages, body):
                return
            with state.lock:
                invalid = (not isinstance(token, str) or token in state.used_reply_tokens
                           or token in state.invalid_reply_tokens)
                if isinstance(token, str) and not invalid:
                    state.used_reply_tokens.add(token)
                    state.delivered.append(Delivery("reply", None, token, None, messages))
            if invalid:
                self._answer(400, {"message": "Invalid reply token"}, body)
            else:
                self._answer(200, {"sentMessages": _sent(messages)}, body)

        def _push(self, body: dict[str, Any]) -> None:
            key = self.headers.get("X-Line-Retry-Key")
            messages = body.get("messages") or []
            if not body.get("to"):
                self._answer(400, {"message": "The request body has 1 error(s)"}, body)
                return
            if self._refused(messages, body):
                return
            with state.lock:
                accepted = state.accepted_retry_keys.get(key) if key else None
                if accepted is None:
                    request_id = str(uuid.uuid4())
                    if key:
                        state.accepted_retry_keys[key] = request_id
                    state.delivered.append(
                        Delivery("push", body["to"], None, key, messages))
            if accepted is not None:
                self._answer(409, {"message": "The retry key is already accepted",
                                   "sentMessages": _sent(messages)}, body,
                             {"x-line-accepted-request-id": accepted})
            else:
                self._answer(200, {"sentMessages": _sent(messages)}, body)

        def _record(self, status: int, request_body: dict[str, Any]) -> None:
            with state.lock:
                state.requests.append(Recorded(self.path, dict(self.headers.items()),
                                               request_body, status))

        def _answer(self, status: int, payload: dict[str, Any], request_body: dict[str, Any],
                    headers: dict[str, str] | None = None) -> None:
            self._record(status, request_body)
            self._send(status, json.dumps(payload).encode(), "application/json", headers)

        def _answer_bytes(self, status: int, data: bytes, headers: dict[str, str]) -> None:
            self._record(status, {})
            headers = dict(headers)
            self._send(status, data, headers.pop("Content-Type", "image/png"), headers)

        def _send(self, status: int, data: bytes, content_type: str,
                  headers: dict[str, str] | None) -> None:
            if self.stall:
                time.sleep(self.stall)
            headers = dict(headers or {})
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-line-request-id",
                                 headers.pop("x-line-request-id", str(uuid.uuid4())))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout): like a response lost on the way

    return Handler


def _sent(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"id": str(uuid.uuid4().int)[:18], "quoteToken": uuid.uuid4().hex} for _ in messages]

"""The fake LINE Messaging API for tests: the shipped one (`linebot_app.devline_api`, what
`/dev/line` uses) served on a port of its own at the root, as LINE serves it, for the real SDK.

On top of what development sees, a test can script faults — fail the next calls with a
status (500, 429 + Retry-After) or stall past the client's timeout; stalled calls are still
accepted, like a response lost on the way back, which is exactly what the retry key protects
against — and inspect every request and delivery.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler, make_server

from linebot_app.devline_api import Delivery, DevLineStore, Fault, Recorded, dev_line_api

__all__ = ["Delivery", "FakeLineServer", "Recorded"]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class FakeLineServer:
    def __init__(self, access_token: str, *, nodelay: bool = False) -> None:
        self.state = DevLineStore(access_token=access_token, accept_unknown_reply_tokens=True)
        app = Flask(__name__)
        app.extensions["dev_line"] = self.state
        app.register_blueprint(dev_line_api, url_prefix="/")
        # LINE's servers answer in one segment; the bench sets TCP_NODELAY so the fake's
        # header and body writes do not meet the client's delayed ACK (40 ms each call).
        # LINE keeps connections open (HTTP/1.1 keep-alive); werkzeug's default HTTP/1.0 would
        # close each one and make every call pay a new TCP connection that LINE does not cost.
        # An idle connection is dropped after ``timeout`` seconds, and stop() does not wait for
        # the clients' open connections.
        handler = type(
            "Handler",
            (_QuietHandler,),
            {"disable_nagle_algorithm": nodelay, "protocol_version": "HTTP/1.1", "timeout": 30},
        )
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=handler)
        assert isinstance(server, ThreadedWSGIServer)
        server.block_on_close = False
        self._server = server
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

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
            self.state.faults.extend(
                Fault(status=status, retry_after=retry_after) for _ in range(count)
            )

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

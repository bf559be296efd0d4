"""The local HTTP API on 127.0.0.1:8189, compatible with the existing NHSO agent.

Routing, CORS and error answers live here; the actions are in :mod:`agent_service`.
Errors are answered in the Spring style those clients parse:
``{"timestamp", "status", "error", "message", "path"}``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import re
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from reader_agent.agent_service import AgentService
from reader_agent.errors import (
    AgentError,
    BadRequestError,
    CardDataError,
    CardReadError,
    CardRemovedError,
    NoCardError,
    NoReaderError,
    ServerError,
    ServerUnavailableError,
    UnlockRequiredError,
)
from reader_agent.privacy import mask_cids_in

log = logging.getLogger(__name__)

LISTEN_HOST = "127.0.0.1"  # never anything else: the API hands out ID card data
_MAX_BODY = 64 * 1024
_LATEST_CODE = re.compile(r"/api/nhso-service/latest-authen-code/([^/]+)")
_ALLOWED_METHODS = "GET, POST, OPTIONS"
# Sec-Fetch-Site values a browser gives a request made by a page of another site.
_OTHER_SITE = frozenset({"cross-site", "same-site"})


class HttpError(Exception):
    """An error answer decided by the HTTP layer itself (bad route, origin, host)."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def status_for(error: AgentError) -> HTTPStatus:
    """Map an agent error to the status the NHSO agent's clients expect."""
    if isinstance(error, NoReaderError):
        return HTTPStatus.IM_A_TEAPOT  # 418: the NHSO agent's "no reader"
    if isinstance(error, NoCardError | CardRemovedError | CardReadError | CardDataError):
        return HTTPStatus.INTERNAL_SERVER_ERROR  # 500: the NHSO agent's "no (readable) card"
    if isinstance(error, BadRequestError):
        return HTTPStatus.BAD_REQUEST
    if isinstance(error, UnlockRequiredError):
        return HTTPStatus.FORBIDDEN
    if isinstance(error, ServerError):
        if error.status in (401, 403) and error.code.startswith("TOKEN_"):
            # The server refused the facility token (unknown, revoked, or not an agent token):
            # the agent's setup, not the caller's fault.
            return HTTPStatus.BAD_GATEWAY
        if 400 <= error.status < 500:
            with contextlib.suppress(ValueError):  # a status http.HTTPStatus doesn't know
                return HTTPStatus(error.status)
        return HTTPStatus.BAD_GATEWAY
    if isinstance(error, ServerUnavailableError):
        return HTTPStatus.SERVICE_UNAVAILABLE
    return HTTPStatus.INTERNAL_SERVER_ERROR


def spring_error(status: HTTPStatus, message: str, path: str) -> dict[str, Any]:
    """Build the Spring Boot style error body."""
    return {
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        "status": int(status),
        "error": status.phrase,
        "message": message,
        "path": path,
    }


def _image_flag(query: dict[str, list[str]]) -> bool:
    value = query.get("readImageFlag", ["false"])[-1].strip().lower()
    if value not in ("true", "false", ""):
        raise BadRequestError("readImageFlag must be true or false")
    return value == "true"


class AgentHttpServer(ThreadingHTTPServer):
    """The HTTP server, bound to 127.0.0.1 only, carrying the service and allowed origins."""

    daemon_threads = True

    def __init__(self, service: AgentService, port: int, allowed_origins: tuple[str, ...]) -> None:
        self.service = service
        self.allowed_origins = frozenset(allowed_origins)
        super().__init__((LISTEN_HOST, port), AgentRequestHandler)

    @property
    def port(self) -> int:
        """The port actually bound (useful when 0 asked for any free one)."""
        return int(self.server_address[1])


class AgentRequestHandler(BaseHTTPRequestHandler):
    """One request: check host and origin, route, answer JSON."""

    server: AgentHttpServer
    protocol_version = "HTTP/1.1"
    server_version = "reader-agent"

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_OPTIONS(self) -> None:
        self._handle("OPTIONS")

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        try:
            self._check_host()
            origin = self._checked_origin()
            if method == "OPTIONS":
                self._preflight(origin)
                return
            status, body = self._route(method, url.path, parse_qs(url.query))
        except HttpError as error:
            origin = None
            status, body = error.status, spring_error(error.status, error.message, url.path)
        except AgentError as error:
            status = status_for(error)
            body = spring_error(status, error.message, url.path)
            if isinstance(error, ServerError) and error.message_th:
                body["messageTh"] = error.message_th
        except Exception:  # a bug must still give the client a well-formed answer
            log.exception("unexpected error on %s %s", method, mask_cids_in(url.path))
            status = HTTPStatus.INTERNAL_SERVER_ERROR
            body = spring_error(status, "unexpected error in the reader agent", url.path)
        self._send_json(status, body, origin)

    def _route(self, method: str, path: str, query: dict[str, list[str]]) -> tuple[HTTPStatus, Any]:
        service = self.server.service
        routes: dict[tuple[str, str], Callable[[], Any]] = {
            ("GET", "/api/smartcard/terminals"): service.terminals,
            ("GET", "/api/smartcard/read"): lambda: service.read(_image_flag(query)),
            ("GET", "/api/smartcard/read-card-only"): lambda: service.read_card_only(
                _image_flag(query)
            ),
            ("POST", "/api/nhso-service/confirm-save"): lambda: service.confirm_save(
                self._json_body()
            ),
            ("POST", "/api/agent/unlock"): lambda: service.unlock(self._json_body()),
            ("POST", "/api/agent/lock"): service.lock,
            ("GET", "/api/agent/status"): service.status,
        }
        action = routes.get((method, path))
        if action is None:
            latest = _LATEST_CODE.fullmatch(path)
            if latest and method == "GET":
                return HTTPStatus.OK, service.latest_authen_code(latest.group(1))
            if any(p == path for _m, p in routes) or latest:
                raise HttpError(HTTPStatus.METHOD_NOT_ALLOWED, f"{method} is not supported here")
            raise HttpError(HTTPStatus.NOT_FOUND, "no such endpoint")
        return HTTPStatus.OK, action()

    def _check_host(self) -> None:
        # A page whose DNS name is rebound to 127.0.0.1 would be "same origin" and send no
        # Origin header; the Host header still names the page's host, so refuse it.
        host = (self.headers.get("Host") or "").lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if name not in ("127.0.0.1", "localhost", "[::1]"):
            raise HttpError(HTTPStatus.FORBIDDEN, "requests must be addressed to localhost")

    def _checked_origin(self) -> str | None:
        """Return the request's Origin if it may call us; refuse every other origin."""
        origin = self.headers.get("Origin")
        if origin is None:
            # A browser marks what another site's page asks for, even a plain <img> GET that
            # carries no Origin; kiosk software and curl send neither header.
            if self.headers.get("Sec-Fetch-Site", "").lower() in _OTHER_SITE:
                raise HttpError(HTTPStatus.FORBIDDEN, "another site may not call the reader agent")
            return None
        if origin not in self.server.allowed_origins:
            raise HttpError(HTTPStatus.FORBIDDEN, "this origin may not call the reader agent")
        return origin

    def _preflight(self, origin: str | None) -> None:
        if origin is None or self.headers.get("Access-Control-Request-Method") is None:
            raise HttpError(HTTPStatus.BAD_REQUEST, "not a CORS preflight request")
        self.send_response(HTTPStatus.NO_CONTENT)
        self._cors_headers(origin)
        self.send_header("Access-Control-Allow-Methods", _ALLOWED_METHODS)
        self.send_header("Access-Control-Allow-Headers", "Content-Type")
        # Chrome's Private Network Access: a public page may reach a localhost service only
        # if the preflight says so.
        self.send_header("Access-Control-Allow-Private-Network", "true")
        self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _cors_headers(self, origin: str | None) -> None:
        if origin is not None:
            self.send_header("Access-Control-Allow-Origin", origin)
        self.send_header("Vary", "Origin")

    def _json_body(self) -> Any:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            raise BadRequestError("bad Content-Length") from None
        if length <= 0:
            raise BadRequestError("a JSON body is required")
        if length > _MAX_BODY:
            raise HttpError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "the body is too large")
        try:
            return json.loads(self.rfile.read(length))
        except ValueError:
            raise BadRequestError("the body is not JSON") from None

    def _send_json(self, status: HTTPStatus, body: Any, origin: str | None) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self._cors_headers(origin)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        if status >= 400:
            # A refused request's body may be unread; don't reuse the connection after it.
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        # The request line can hold a CID (latest-authen-code/<pid>): mask before logging.
        log.info("%s %s", self.address_string(), mask_cids_in(format % args))

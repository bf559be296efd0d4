"""Talking to the Authen Code server: rights for a card read, confirm-save, staff unlock.

Plain urllib with JSON in and out, authenticated with the facility's API token. The
server answers errors as ``{"error": {"code", "message", "message_th"}}``; they become
:class:`ServerError` with the server's status.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

from reader_agent.errors import ServerError, ServerUnavailableError

log = logging.getLogger(__name__)

JsonObject = dict[str, Any]


class ServerClient:
    """The four agent-facing calls of the server."""

    def __init__(self, base_url: str, api_token: str, timeout: float = 10.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._api_token = api_token
        self._timeout = timeout

    def card_read(self, card: JsonObject) -> JsonObject:
        """Report a card read; returns rights, claim types and the read's ``correlationId``."""
        return self._call("POST", "/agent/api/card-reads", card)

    def confirm_save(self, body: JsonObject, session_token: str | None) -> JsonObject:
        """Ask the server to issue the code for a visit: with a staff unlock session, or
        (a kiosk's token) without one."""
        headers = {"X-Agent-Session": session_token} if session_token else {}
        return self._call("POST", "/agent/api/confirm-save", body, headers)

    def latest_authen_code(self, pid: str) -> JsonObject:
        """Return the person's latest code at this facility."""
        return self._call("GET", f"/agent/api/latest-authen-code/{quote(pid, safe='')}")

    def staff_unlock(self, staff_pid: str, pin: str) -> JsonObject:
        """Check a staff member's card CID and PIN; returns ``sessionToken`` and ``expiresAt``."""
        return self._call("POST", "/agent/api/staff-unlock", {"staffPid": staff_pid, "pin": pin})

    def _call(
        self,
        method: str,
        path: str,
        body: JsonObject | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> JsonObject:
        headers = {
            "Authorization": f"Bearer {self._api_token}",
            "Accept": "application/json",
            **(extra_headers or {}),
        }
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json; charset=utf-8"
        # The base URL's scheme is checked (http/https only) when the config is loaded.
        url = self._base_url + path
        request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                return _json_object(response.read())
        except urllib.error.HTTPError as error:
            with error:
                raise _server_error(error.code, error.read()) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            # The path may hold a CID (latest-authen-code): log the endpoint kind only.
            log.warning("server unreachable for %s %s: %s", method, path.split("/")[3], error)
            raise ServerUnavailableError("the Authen Code server cannot be reached") from None


def _json_object(raw: bytes) -> JsonObject:
    try:
        value = json.loads(raw)
    except ValueError:
        raise ServerUnavailableError("the Authen Code server answered something not JSON") from None
    if not isinstance(value, dict):
        raise ServerUnavailableError("the Authen Code server answered something unexpected")
    return value


def _server_error(status: int, raw: bytes) -> ServerError:
    try:
        error = json.loads(raw)["error"]
        return ServerError(
            status,
            str(error.get("code", "")),
            str(error.get("message", "")),
            str(error.get("message_th", "")),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return ServerError(status, "", f"the Authen Code server answered HTTP {status}")

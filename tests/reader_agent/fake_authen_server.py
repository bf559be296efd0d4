"""A small stand-in for the Authen Code server's agent endpoints, for the agent's tests.

It keeps the rules (and the error codes and statuses) of the real server's agent API in
``clinic_qr/agent_api.py``: the facility token (of scope agent) is required; a confirm-save
needs a staff session and a ``correlationId`` from a read, used once; one code per person and
service.
"""

from __future__ import annotations

import itertools
import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FACILITY_TOKEN = "facility-token-for-tests"  # of scope agent
HIS_TOKEN = "his-token-for-tests"  # the same facility's token of scope his
HCODE = "10670"
# The origin of the clinic web page that the agent lets call it from a browser.
CLINIC_ORIGIN = "https://clinic.example.org"
CLAIM_TYPES = [
    {"claimType": "PG0060001", "claimTypeName": "เข้ารับบริการรักษาทั่วไป (OPD/ IPD/ PP)"},
    {"claimType": "PG0150001", "claimTypeName": "บริการดูแลอาการเจ็บป่วยเบื้องต้น"},
]


@dataclass
class FakeState:
    """What the fake server remembers, for the tests to look at."""

    staff_pins: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str], Any]] = field(default_factory=list)
    correlations: dict[str, str] = field(default_factory=dict)  # correlationId -> pid
    used_correlations: set[str] = field(default_factory=set)
    sessions: set[str] = field(default_factory=set)
    codes: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    numbers: itertools.count = field(default_factory=lambda: itertools.count(1004579732))


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"code": code, "message": message, "message_th": message}}


class _Handler(BaseHTTPRequestHandler):
    server: FakeAuthenServer

    def do_GET(self) -> None:
        self._handle("GET", None)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self._handle("POST", json.loads(self.rfile.read(length)) if length else None)

    def _handle(self, method: str, body: Any) -> None:
        state = self.server.state
        with self.server.lock:
            state.requests.append((method, self.path, dict(self.headers), body))
            if self.headers.get("Authorization") == f"Bearer {HIS_TOKEN}":
                status, answer = _error(403, "TOKEN_SCOPE", "needs a token of scope agent")
            elif self.headers.get("Authorization") != f"Bearer {FACILITY_TOKEN}":
                status, answer = _error(401, "TOKEN_INVALID", "unknown facility token")
            else:
                status, answer = self._route(method, body)
        payload = json.dumps(answer, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _route(self, method: str, body: Any) -> tuple[int, dict[str, Any]]:
        state = self.server.state
        if method == "POST" and self.path == "/agent/api/card-reads":
            correlation = str(uuid.uuid4())
            state.correlations[correlation] = body["pid"]
            return 200, {
                "correlationId": correlation,
                "mainInscl": "(UCS) สิทธิหลักประกันสุขภาพแห่งชาติ",
                "subInscl": "(89) ช่วงอายุ 12-59 ปี",
                "hospMain": {"hcode": HCODE, "hname": "โรงพยาบาลตัวอย่าง"},
                "hospMainOp": {"hcode": HCODE, "hname": "โรงพยาบาลตัวอย่าง"},
                "hospSub": {"hcode": "03768", "hname": "รพ.สต.ตัวอย่าง"},
                "claimTypes": CLAIM_TYPES,
                "age": "37 ปี 2 เดือน 3 วัน",
                "checkDate": "2025-03-18T09:15:02",
                "nation": "ไทย",
                "transDate": "20250318091502",
            }
        if method == "POST" and self.path == "/agent/api/staff-unlock":
            # Not staff and a wrong PIN get one answer, as from the real server.
            if state.staff_pins.get(body.get("staffPid")) != body.get("pin"):
                return _error(401, "UNLOCK_REFUSED", "wrong PIN, or not staff of this facility")
            token = str(uuid.uuid4())
            state.sessions.add(token)
            return 200, {"sessionToken": token, "expiresAt": "2999-12-31T23:59:59+07:00"}
        if method == "POST" and self.path == "/agent/api/confirm-save":
            if self.headers.get("X-Agent-Session") not in state.sessions:
                return _error(401, "AGENT_LOCKED", "no valid staff session")
            correlation = body.get("correlationId")
            if correlation in state.used_correlations:
                return _error(409, "CORRELATION_USED", "this card read was already used")
            if state.correlations.pop(correlation, None) != body.get("pid"):
                return _error(403, "CORRELATION_UNKNOWN", "no such card read by this agent")
            state.used_correlations.add(correlation)
            key = (body["pid"], body["claimType"])
            if key not in state.codes:
                state.codes[key] = {
                    "claimType": body["claimType"],
                    "claimCode": f"PP{next(state.numbers):010d}",
                    "hcode": HCODE,
                    "claimDateTime": "2025-03-18T09:15:30",
                    "checkDate": "2025-03-18T09:15:02",
                }
            code = state.codes[key]
            return 200, {
                "pid": body["pid"],
                "claimType": body["claimType"],
                "correlationId": body["correlationId"],
                "createdDate": code["claimDateTime"],
                "claimCode": code["claimCode"],
            }
        if method == "GET" and self.path.startswith("/agent/api/latest-authen-code/"):
            pid = self.path.rsplit("/", 1)[1]
            codes = [c for (p, _t), c in state.codes.items() if p == pid]
            if not codes:
                return _error(404, "NOT_FOUND", "no code issued for this person")
            return 200, codes[-1]
        return _error(404, "not_found", "no such endpoint")

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet


class FakeAuthenServer(ThreadingHTTPServer):
    """The fake server, serving on 127.0.0.1 in a background thread."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = FakeState()
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        """The base URL to configure the agent with."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> None:
        """Serve in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.shutdown()
        self._thread.join(timeout=5)
        self.server_close()

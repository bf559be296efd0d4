"""What the local API does, without HTTP: read cards, ask the server, hold the staff session.

The JSON field names produced here are those of the existing NHSO agent, which kiosk and
hospital software already parse; they must not change.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import re
import threading
from dataclasses import dataclass
from typing import Any

from reader_agent.card_reader import ThaiIdCardReader
from reader_agent.errors import (
    BadRequestError,
    CardExpiredError,
    NoReaderError,
    ServerError,
    ServerUnavailableError,
    UnlockRequiredError,
)
from reader_agent.privacy import mask_cid
from reader_agent.server_client import JsonObject, ServerClient
from reader_agent.thai_id import ThaiIdCard, is_valid_cid

log = logging.getLogger(__name__)

_PIN = re.compile(r"\d{4}")
_SEX_TH = {"1": "ชาย", "2": "หญิง"}
# Fields of a read that come from the server, in the order the NHSO agent lists them.
_SERVER_FIELDS = (
    "nation", "transDate", "mainInscl", "subInscl", "age", "checkDate", "claimTypes",
    "correlationId", "hospMain", "hospMainOp", "hospSub",
)  # fmt: skip


@dataclass(frozen=True)
class StaffSession:
    """The unlock a staff member's card and PIN gave this agent, valid until ``expires_at``."""

    token: str
    expires_at: dt.datetime

    def valid(self, now: dt.datetime) -> bool:
        """True until the session expires."""
        return now < self.expires_at


def card_fields(card: ThaiIdCard) -> JsonObject:
    """Return the card-only fields of the NHSO answer (no image)."""
    name = card.name_th
    # The NHSO answer has no middle-name field; a middle name is kept with the first name,
    # as paper forms with only first/last boxes do, rather than silently dropped.
    first = f"{name.first} {name.middle}" if name.middle else name.first
    return {
        "pid": card.cid,
        "titleName": name.title,
        "fname": first,
        "lname": name.last,
        "birthDate": card.birth_date.card_string(),
        "sex": _SEX_TH[card.sex],
    }


def image_field(card: ThaiIdCard) -> str | None:
    """Return the face photo as base64 JPEG, or None when there is none."""
    return base64.b64encode(card.photo).decode("ascii") if card.photo else None


class AgentService:
    """The actions behind the local API."""

    def __init__(
        self,
        reader: ThaiIdCardReader,
        server: ServerClient,
        default_reader: str | None = None,
        *,
        kiosk: bool = False,
    ) -> None:
        self._reader = reader
        self._server = server
        self._default_reader = default_reader
        self._kiosk = kiosk
        self._session: StaffSession | None = None
        self._session_lock = threading.Lock()

    def terminals(self) -> list[JsonObject]:
        """List the readers: ``[{"terminalName", "isPresent"}]``; raises NoReaderError if none."""
        terminals = self._reader.terminals()
        if not terminals:
            raise NoReaderError("no card reader is connected")
        return [{"terminalName": t.name, "isPresent": t.card_present} for t in terminals]

    def read_card_only(self, with_image: bool) -> JsonObject:
        """Read the card in the default reader; card data only."""
        card, _reader = self._read(with_image)
        answer = card_fields(card)
        if with_image:
            answer["image"] = image_field(card)
        return answer

    def read(self, with_image: bool) -> JsonObject:
        """Read the card and fetch the person's rights and a ``correlationId`` from the server."""
        card, reader = self._read(with_image)
        fields = card_fields(card)
        # The server gets the card's sex code (1/2), not the Thai word kiosks display.
        rights = self._server.card_read({**fields, "sex": card.sex, "terminalName": reader})
        answer: JsonObject = dict(fields)
        for key in _SERVER_FIELDS:
            answer[key] = rights.get(key)
        answer["image"] = image_field(card) if with_image else None
        log.info("card %s read on %s", mask_cid(card.cid), reader)
        return answer

    def latest_authen_code(self, pid: str) -> JsonObject:
        """Return the person's latest code from the server; raises BadRequestError."""
        if not is_valid_cid(pid):
            raise BadRequestError("pid must be a valid 13-digit citizen ID")
        return self._server.latest_authen_code(pid)

    def confirm_save(self, body: Any) -> JsonObject:
        """Have the server issue the visit's code; refuses until a staff member unlocked (a
        kiosk's agent needs no unlock: its token gets kiosk codes only)."""
        if self._kiosk:
            request = _confirm_save_request(body)
            answer = self._server.confirm_save(request, None)
            log.info("kiosk visit confirmed for %s", mask_cid(request["pid"]))
            return answer
        session = self.current_session()
        if session is None:
            raise UnlockRequiredError(
                "the agent is locked: a staff member must insert their own ID card and "
                "unlock it with their PIN (POST /api/agent/unlock) before visits are confirmed"
            )
        request = _confirm_save_request(body)
        try:
            answer = self._server.confirm_save(request, session.token)
        except ServerError as error:
            if error.code == "AGENT_LOCKED":  # the server ended the session (e.g. revoked)
                self.lock()
            raise
        log.info("visit confirmed for %s", mask_cid(request["pid"]))
        return answer

    def unlock(self, body: Any) -> JsonObject:
        """Unlock with the staff member's own card (in the reader now) and PIN."""
        if self._kiosk:
            raise BadRequestError("a kiosk's agent is not unlocked by staff")
        pin = body.get("pin") if isinstance(body, dict) else None
        if not isinstance(pin, str) or not _PIN.fullmatch(pin):
            raise BadRequestError("pin must be 4 digits")
        card, _reader = self._read(with_photo=False)
        answer = self._server.staff_unlock(card.cid, pin)
        token, expires = answer.get("sessionToken"), answer.get("expiresAt")
        try:
            # A time without offset is the server's local time, which is the clinic's too.
            expires_at = dt.datetime.fromisoformat(str(expires)).astimezone()
        except ValueError:
            expires_at = None
        if not isinstance(token, str) or expires_at is None:
            raise ServerUnavailableError("the server's unlock answer is incomplete")
        with self._session_lock:
            self._session = StaffSession(token, expires_at)
        log.info("agent unlocked by staff %s until %s", mask_cid(card.cid), expires_at)
        return {"unlocked": True, "expiresAt": expires_at.isoformat()}

    def lock(self) -> JsonObject:
        """End the staff session now (e.g. at the end of a shift)."""
        with self._session_lock:
            self._session = None
        return {"unlocked": False, "expiresAt": None}

    def status(self) -> JsonObject:
        """Tell whether the agent is unlocked and until when."""
        session = self.current_session()
        return {
            "unlocked": session is not None,
            "expiresAt": session.expires_at.isoformat() if session else None,
        }

    def current_session(self) -> StaffSession | None:
        """Return the staff session if there is a valid one."""
        with self._session_lock:
            session = self._session
            if session is not None and not session.valid(dt.datetime.now(dt.UTC)):
                self._session = session = None
            return session

    def _read(self, with_photo: bool) -> tuple[ThaiIdCard, str]:
        reader = self._reader.choose_reader(self._default_reader)
        card = self._reader.read(reader, with_photo=with_photo)
        if self._kiosk and _expired(card, dt.date.today()):
            raise CardExpiredError("the card has expired")
        return card, reader


def _expired(card: ThaiIdCard, today: dt.date) -> bool:
    """True when the card's expiry date has passed (a lifelong card never expires)."""
    if card.expiry_date is None:
        return False
    expiry = card.expiry_date.to_gregorian()
    return expiry is not None and expiry < today


def _confirm_save_request(body: Any) -> JsonObject:
    """Check confirm-save's body ``{pid, claimType, mobile, correlationId, hn?, hcode?}``."""
    if not isinstance(body, dict):
        raise BadRequestError("the body must be a JSON object")
    for name in ("pid", "claimType", "mobile", "correlationId"):
        if not isinstance(body.get(name), str) or not body[name].strip():
            raise BadRequestError(f"{name} is required")
    if not is_valid_cid(body["pid"]):
        raise BadRequestError("pid must be a valid 13-digit citizen ID")
    request = {name: body[name].strip() for name in ("pid", "claimType", "mobile", "correlationId")}
    for name in ("hn", "hcode"):
        value = body.get(name)
        if value is not None:
            if not isinstance(value, str):
                raise BadRequestError(f"{name} must be a string")
            request[name] = value.strip()
    return request

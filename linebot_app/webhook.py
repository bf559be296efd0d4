"""POST /line/webhook: check the signature on the raw body, store the events, answer.

Everything the events do (accounts, dialogues, per-user rate limits, replies) happens in the
workers (linebot_app.inbox), at their own pace: the request only verifies the signature and
stores the delivery's events in one statement and one transaction, so LINE's later
deliveries never wait behind our processing. 503 when they cannot be stored (LINE redelivers;
de-duplication by webhookEventId sorts out what was stored).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import RequestEntityTooLarge

from authencode.db import utcnow
from authencode.errors import DomainError, register
from authencode.web.context import services
from authencode.web.limits import check, client_ip, limiter
from linebot_app.inbox import EventApplier, row_of, store
from linebot_app.wake import nudge

log = logging.getLogger(__name__)

# LINE's webhook bodies are a few kilobytes; anything near this is not from LINE.
WEBHOOK_MAX_BYTES = 512 * 1024

register(
    "LINE_SIGNATURE_INVALID",
    "invalid",
    "Missing or invalid X-Line-Signature.",
    "ลายมือชื่อ X-Line-Signature ไม่ถูกต้องหรือไม่มี",
)
register(
    "LINE_WEBHOOK_INVALID",
    "invalid",
    "The body is not a LINE webhook.",
    "ข้อมูลที่ส่งมาไม่ใช่ webhook ของ LINE",
)
register(
    "LINE_NOT_CONFIGURED",
    "unavailable",
    "The LINE channel is not configured.",
    "ยังไม่ได้ตั้งค่าช่องทาง LINE",
)

bp = Blueprint("line_webhook", __name__)


@bp.post("/line/webhook")
def webhook() -> Response:
    svc = services()
    secret = svc.settings.line_channel_secret
    if not secret:
        raise DomainError("LINE_NOT_CONFIGURED")
    body = _raw_body()
    if not _signed(secret, body, request.headers.get("X-Line-Signature", "")):
        # Only unsigned posts count against an address: LINE's own deliveries all come
        # from a few addresses and are never refused.
        check("bad_signature", client_ip())
        raise DomainError("LINE_SIGNATURE_INVALID")
    events = _events(body)
    now = utcnow()
    rows = [row_of(raw, svc.protector, now, n) for n, raw in enumerate(events)]
    stored = [row for row in rows if row is not None]
    if len(stored) < len(events):
        log.warning(
            "%d webhook event(s) without a usable webhookEventId skipped", len(events) - len(stored)
        )
    try:
        store(svc.db, stored)
    except DBAPIError as exc:
        log.warning("database unavailable while storing a delivery: %s", type(exc.orig).__name__)
        raise DomainError("DATABASE_UNAVAILABLE") from None
    if svc.settings.line_events_inline and stored:
        _apply_inline([row["line_user_id"] for row in stored])
    elif stored:
        nudge(svc.settings.database_url)  # after the commit: the workers find the rows
    return jsonify({})


def _apply_inline(users: list[str]) -> None:
    """LINE_EVENTS_INLINE: apply the delivery's users' events now, the workers' own code; a
    failure is the workers' to retry, LINE has its 200 either way."""
    svc = services()
    applier = EventApplier(
        svc.db, svc.settings, rate=limiter(), rights=svc.rights, wait_for_lock=True
    )
    try:
        applier.apply_users(users)
    except Exception as exc:
        log.error("inline apply failed: %s (the workers retry)", type(exc).__name__)


def _raw_body() -> bytes:
    if (request.content_length or 0) > WEBHOOK_MAX_BYTES:
        raise DomainError("BODY_TOO_LARGE")
    request.max_content_length = WEBHOOK_MAX_BYTES  # also bounds chunked bodies
    try:
        return request.get_data(cache=False)
    except RequestEntityTooLarge:
        raise DomainError("BODY_TOO_LARGE") from None


def _signed(secret: str, body: bytes, signature: str) -> bool:
    """LINE's signature: base64 of the body's HMAC-SHA256 under the channel secret, checked on
    the raw bytes (what the SDK's SignatureValidator does after decoding and re-encoding)."""
    if not signature:
        return False
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), signature.encode("ascii", "replace"))


def _events(body: bytes) -> list[Any]:
    try:
        payload = json.loads(body.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError included
        raise DomainError("LINE_WEBHOOK_INVALID") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise DomainError("LINE_WEBHOOK_INVALID")
    destination = payload.get("destination")
    if destination is not None and not isinstance(destination, str):
        raise DomainError("LINE_WEBHOOK_INVALID")
    return payload["events"]

"""POST /line/webhook: check the signature on the raw body, then one transaction per event."""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request
from linebot.v3.webhook import SignatureValidator
from linebot.v3.webhooks import Event
from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from werkzeug.exceptions import RequestEntityTooLarge

from authencode.db import Database, utcnow
from authencode.errors import DomainError, register
from authencode.models import WebhookEvent
from authencode.ratelimit import RateLimiter
from authencode.services.people import RightsLookup
from authencode.settings import Settings
from authencode.web.context import services
from authencode.web.limits import check, client_ip, limiter
from authencode.web.metrics import note_rate_limited
from linebot_app import messages
from linebot_app.context import EventContext
from linebot_app.events import handle_event
from linebot_app.outbox import enqueue_reply

log = logging.getLogger(__name__)

# LINE's webhook bodies are a few kilobytes; anything near this is not from LINE.
WEBHOOK_MAX_BYTES = 512 * 1024
MAX_EVENT_ID = 64
_INSERT_EVENT = insert(WebhookEvent.__table__)  # type: ignore[arg-type]  # cached; values as parameters
# Events a person sends; follow/unfollow change state and are never throttled.
THROTTLED_EVENTS = ("message", "postback")
SLOW_DOWN_TH = "คุณส่งข้อความถี่เกินไป ระบบขอพักการตอบสักครู่ กรุณารอประมาณ 1 นาทีแล้วส่งใหม่อีกครั้งนะคะ"

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
    signature = request.headers.get("X-Line-Signature", "")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise DomainError("LINE_SIGNATURE_INVALID") from None
    if not signature or not SignatureValidator(secret).validate(text, signature):
        # Only unsigned posts count against an address: LINE's own deliveries all come
        # from a few addresses and are never refused.
        check("bad_signature", client_ip())
        raise DomainError("LINE_SIGNATURE_INVALID")
    events = _events(text)
    rate = limiter()
    handled = sum(process_event(svc.db, svc.settings, raw, svc.rights, rate) for raw in events)
    log.info("webhook: %d event(s) received, %d handled", len(events), handled)
    return jsonify({})


def _raw_body() -> bytes:
    if (request.content_length or 0) > WEBHOOK_MAX_BYTES:
        raise DomainError("BODY_TOO_LARGE")
    request.max_content_length = WEBHOOK_MAX_BYTES  # also bounds chunked bodies
    try:
        return request.get_data(cache=False)
    except RequestEntityTooLarge:
        raise DomainError("BODY_TOO_LARGE") from None


def _events(text: str) -> list[Any]:
    try:
        payload = json.loads(text)
    except ValueError:
        raise DomainError("LINE_WEBHOOK_INVALID") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise DomainError("LINE_WEBHOOK_INVALID")
    destination = payload.get("destination")
    if destination is not None and not isinstance(destination, str):
        raise DomainError("LINE_WEBHOOK_INVALID")
    return payload["events"]


def process_event(
    db: Database,
    settings: Settings,
    raw: Any,
    rights: RightsLookup | None = None,
    rate: RateLimiter | None = None,
) -> bool:
    """Store and handle one event in its own transaction; True when it was new.

    A malformed event is stored (so a redelivery is not handled again) and skipped; a bug in
    a handler rolls back that event only. When the database is unavailable the whole
    delivery answers 503, so LINE redelivers and de-duplication sorts out what was stored.
    A user over the ``line_user`` rate limit has the event stored but not handled; the first
    such event of a window is answered with a request to slow down.
    """
    event_id = raw.get("webhookEventId") if isinstance(raw, dict) else None
    if not isinstance(event_id, str) or not 0 < len(event_id) <= MAX_EVENT_ID:
        log.warning("webhook event without a usable webhookEventId skipped")
        return False
    event_type = str(raw.get("type", "?"))[:32]
    try:
        event = Event.from_dict(raw)
    except Exception:  # the SDK raises ValueError, KeyError, TypeError... on malformed events
        log.warning("malformed webhook event %s (type %s) skipped", event_id, event_type)
        event = None
    throttled = _throttle(rate, raw, event_type) if event is not None else None
    try:
        with db.transaction() as session:
            # No look-up first: a redelivered event fails this insert (IntegrityError below),
            # which saves every new event a round trip to the database.
            session.connection().execute(
                _INSERT_EVENT,
                {"webhook_event_id": event_id, "event_type": event_type, "received_at": utcnow()},
            )
            if throttled is not None:
                if throttled.slow_down:
                    token = raw.get("replyToken")
                    enqueue_reply(
                        session,
                        throttled.user_id,
                        token if isinstance(token, str) else None,
                        [messages.text(SLOW_DOWN_TH)],
                    )
            elif event is not None:
                ctx = EventContext(session=session, settings=settings, rate=rate)
                if rights is not None:
                    ctx.rights = rights
                handle_event(ctx, event)
        return True
    except IntegrityError:
        return False  # a redelivery, or the same event delivered twice at once: stored once
    except OperationalError as exc:
        log.warning(
            "database unavailable while handling event %s: %s", event_id, type(exc.orig).__name__
        )
        raise DomainError("DATABASE_UNAVAILABLE") from None
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise DomainError("DATABASE_UNAVAILABLE") from None
        log.error(
            "database error %s handling event %s (type %s)",
            type(exc.orig).__name__,
            event_id,
            event_type,
        )
    except Exception as exc:
        # Only the exception's type: its message may quote user data.
        log.error("error %s handling event %s (type %s)", type(exc).__name__, event_id, event_type)
    _store_failed(db, event_id, event_type)
    return False


class _Throttled:
    def __init__(self, user_id: str, slow_down: bool) -> None:
        self.user_id = user_id
        self.slow_down = slow_down  # the first event over the limit in this window


def _throttle(rate: RateLimiter | None, raw: dict[str, Any], event_type: str) -> _Throttled | None:
    """Count a person's event; over the limit says so (and whether to ask them to wait)."""
    if rate is None or event_type not in THROTTLED_EVENTS or not rate.enabled("line_user"):
        return None
    source = raw.get("source")
    user_id = source.get("userId") if isinstance(source, dict) else None
    if not isinstance(user_id, str) or not user_id:
        return None
    decision = rate.hit("line_user", user_id)
    if decision.allowed:
        return None
    note_rate_limited("line_user")
    log.info("LINE user over the event rate limit: event not handled")
    return _Throttled(user_id, slow_down=decision.count == rate.limits["line_user"] + 1)


def _store_failed(db: Database, event_id: str, event_type: str) -> None:
    """Remember an event whose handler failed, so LINE's redelivery does not repeat it."""
    try:
        with db.transaction() as session:
            if session.get(WebhookEvent, event_id) is None:
                session.add(WebhookEvent(webhook_event_id=event_id, event_type=event_type))
    except DBAPIError:
        log.warning("could not record failed event %s", event_id)

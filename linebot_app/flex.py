"""Flex messages: an issued Authen Code, code carousels (history, today), rights cards.

Everything shown comes from a plain `CodeView`, so the LIFF API (which pushes the code to the
patient's chat) and the bot build the same message. Names from the registry are sent as Flex
text components, which LINE renders as text, never as markup.

The messages are written as LINE's JSON directly: building them through the SDK's pydantic
models cost about 2 ms a message, more than the rest of issuing a code. The tests check them
against the SDK's models (``FlexMessage.from_dict``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from authencode.crypto import DataProtector
from authencode.models import AuthenCode
from authencode.services.people import person_masked_cid
from authencode.thaidate import datetime_label
from linebot_app.messages import Json

MAX_ALT_TEXT = 400


@dataclass(frozen=True)
class CodeView:
    """What a patient sees about one issued code (the CID already masked)."""

    code: str
    hcode: str
    facility_name: str
    service_code: str
    service_name_th: str
    service_at: dt.datetime
    masked_cid: str
    person_name: str
    status: str = "active"


def code_view(protector: DataProtector, code: AuthenCode) -> CodeView:
    """The view of a stored code, for the chat (bot answers and the LIFF API's push)."""
    return CodeView(
        code=code.code,
        hcode=code.facility.hcode,
        facility_name=code.facility.name,
        service_code=code.service_code,
        service_name_th=code.service.name_th,
        service_at=code.service_at,
        masked_cid=person_masked_cid(protector, code.person),
        person_name=code.person.full_name_th,
        status=code.status,
    )


def _text(text: str, **style: object) -> Json:
    return {"type": "text", "text": text, **style}


def _row(label: str, value: str) -> Json:
    return {
        "type": "box",
        "layout": "baseline",
        "spacing": "sm",
        "contents": [
            _text(label, size="sm", color="#6b7280", flex=2),
            _text(value or "-", size="sm", color="#111827", flex=5, wrap=True),
        ],
    }


def code_bubble(view: CodeView) -> Json:
    cancelled = view.status != "active"
    header = "รหัสถูกยกเลิกแล้ว" if cancelled else "รหัสเข้ารับบริการ (Authen Code)"
    return {
        "type": "bubble",
        "size": "mega",
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "md",
            "contents": [
                _text(
                    header, size="sm", weight="bold", color="#b91c1c" if cancelled else "#047857"
                ),
                _text(
                    view.code,
                    size="xxl",
                    weight="bold",
                    color="#111827",
                    decoration="line-through" if cancelled else "none",
                ),
                {"type": "separator"},
                _row("ชื่อ", view.person_name),
                _row("เลขบัตร", view.masked_cid),
                _row("หน่วยบริการ", f"{view.facility_name} ({view.hcode})"),
                _row("บริการ", view.service_name_th),
                _row("วันเวลา", datetime_label(view.service_at, "th")),
                _text("แสดงรหัสนี้ต่อเจ้าหน้าที่ที่หน่วยบริการ", size="xs", color="#6b7280", wrap=True),
            ],
        },
    }


def code_message(view: CodeView) -> Json:
    """One Flex message for an issued code."""
    alt = (
        f"รหัส Authen Code {view.code} {view.facility_name} {datetime_label(view.service_at, 'th')}"
    )
    return {"type": "flex", "altText": alt[:MAX_ALT_TEXT], "contents": code_bubble(view)}


MAX_BUBBLES = 12  # LINE: a carousel holds at most 12 bubbles


def history_message(views: list[CodeView]) -> Json:
    """The newest codes as one carousel (1 to 12 bubbles, newest first)."""
    return codes_carousel(views, f"ประวัติการขอรหัสเข้ารับบริการ {len(views)} รายการล่าสุด")


def codes_carousel(views: list[CodeView], intro: str) -> Json:
    """Codes as one carousel (1 to 12 bubbles), its alt text the intro and the codes."""
    if not 1 <= len(views) <= MAX_BUBBLES:
        raise ValueError("a carousel holds 1 to 12 bubbles")
    alt = f"{intro}: " + ", ".join(v.code for v in views)
    carousel = {"type": "carousel", "contents": [code_bubble(view) for view in views]}
    return {"type": "flex", "altText": alt[:MAX_ALT_TEXT], "contents": carousel}


@dataclass(frozen=True)
class Card:
    """One person's card of a carousel: a title, a subtitle, label/value rows and notes."""

    title: str
    subtitle: str
    rows: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()


def card_bubble(card: Card) -> Json:
    contents: list[Json] = [
        _text(card.title, size="md", weight="bold", color="#111827", wrap=True),
        _text(card.subtitle, size="xs", color="#6b7280", wrap=True),
        {"type": "separator"},
        *(_row(label, value) for label, value in card.rows),
        *(_text(note, size="xs", color="#6b7280", wrap=True) for note in card.notes),
    ]
    return {
        "type": "bubble",
        "size": "mega",
        "body": {"type": "box", "layout": "vertical", "spacing": "md", "contents": contents},
    }


def cards_carousel(cards: list[Card], alt: str) -> Json:
    """One card a person (rights of the holder and family: 1 to 12 cards)."""
    if not 1 <= len(cards) <= MAX_BUBBLES:
        raise ValueError("a carousel holds 1 to 12 bubbles")
    carousel = {"type": "carousel", "contents": [card_bubble(card) for card in cards]}
    return {"type": "flex", "altText": alt[:MAX_ALT_TEXT], "contents": carousel}

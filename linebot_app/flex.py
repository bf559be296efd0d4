"""Flex messages: an issued Authen Code, and a person's code history as a carousel.

Everything shown comes from a plain `CodeView`, so the LIFF API (which pushes the code to the
patient's chat) and the bot build the same message. Names from the registry are sent as Flex
text components, which LINE renders as text, never as markup.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from linebot.v3.messaging import (
    FlexBox,
    FlexBubble,
    FlexCarousel,
    FlexMessage,
    FlexSeparator,
    FlexText,
)

from authencode.crypto import DataProtector
from authencode.models import AuthenCode
from authencode.services.people import person_masked_cid
from authencode.thaidate import be_datetime
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
        code=code.code, hcode=code.facility.hcode, facility_name=code.facility.name,
        service_code=code.service_code, service_name_th=code.service.name_th,
        service_at=code.service_at, masked_cid=person_masked_cid(protector, code.person),
        person_name=code.person.full_name_th, status=code.status,
    )


def _row(label: str, value: str) -> FlexBox:
    return FlexBox(layout="baseline", spacing="sm", contents=[
        FlexText(text=label, size="sm", color="#6b7280", flex=2),
        FlexText(text=value or "-", size="sm", color="#111827", flex=5, wrap=True),
    ])


def code_bubble(view: CodeView) -> FlexBubble:
    cancelled = view.status != "active"
    header = "รหัสถูกยกเลิกแล้ว" if cancelled else "รหัสเข้ารับบริการ (Authen Code)"
    return FlexBubble(size="mega", body=FlexBox(layout="vertical", spacing="md", contents=[
        FlexText(text=header, size="sm", weight="bold",
                 color="#b91c1c" if cancelled else "#047857"),
        FlexText(text=view.code, size="xxl", weight="bold", color="#111827",
                 decoration="line-through" if cancelled else "none"),
        FlexSeparator(),
        _row("ชื่อ", view.person_name),
        _row("เลขบัตร", view.masked_cid),
        _row("หน่วยบริการ", f"{view.facility_name} ({view.hcode})"),
        _row("บริการ", view.service_name_th),
        _row("วันเวลา", be_datetime(view.service_at)),
        FlexText(text="แสดงรหัสนี้ต่อเจ้าหน้าที่ที่หน่วยบริการ", size="xs", color="#6b7280",
                 wrap=True),
    ]))


def code_message(view: CodeView) -> Json:
    """One Flex message for an issued code."""
    alt = f"รหัส Authen Code {view.code} {view.facility_name} {be_datetime(view.service_at)}"
    return FlexMessage(alt_text=alt[:MAX_ALT_TEXT], contents=code_bubble(view)).to_dict()


MAX_BUBBLES = 12  # LINE: a carousel holds at most 12 bubbles


def history_message(views: list[CodeView]) -> Json:
    """The newest codes as one carousel (1 to 12 bubbles, newest first)."""
    if not 1 <= len(views) <= MAX_BUBBLES:
        raise ValueError("a carousel holds 1 to 12 bubbles")
    alt = f"ประวัติการขอรหัสเข้ารับบริการ {len(views)} รายการล่าสุด: " + ", ".join(
        v.code for v in views)
    carousel = FlexCarousel(contents=[code_bubble(view) for view in views])
    return FlexMessage(alt_text=alt[:MAX_ALT_TEXT], contents=carousel).to_dict()

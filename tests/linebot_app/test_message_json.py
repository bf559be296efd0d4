"""Messages written as LINE's JSON by hand (text, Flex): the SDK's models must read them back
unchanged (field names, types and values LINE accepts)."""

from __future__ import annotations

import datetime as dt

import pytest
from linebot.v3.messaging import FlexMessage, TextMessage

from linebot_app import assistant, messages
from linebot_app.flex import CodeView, code_message, history_message


def view(status: str = "active", name: str = "นายสมชาย ใจดี") -> CodeView:
    return CodeView(
        code="PP0000000001",
        hcode="10675",
        facility_name="รพ.สต.บ้านทดสอบ",
        service_code="PG0060001",
        service_name_th="เข้ารับบริการรักษาทั่วไป",
        service_at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        masked_cid="1-xxxx-xxxxx-12-3",
        person_name=name,
        status=status,
    )


@pytest.mark.parametrize("status", ["active", "cancelled"])
@pytest.mark.parametrize("name", ["นายสมชาย ใจดี", "", "<b>ชื่อ</b>"])
def test_code_message_is_what_the_sdk_builds(status: str, name: str) -> None:
    message = code_message(view(status, name))
    assert FlexMessage.from_dict(message).to_dict() == message
    texts = [c.get("text") for c in message["contents"]["body"]["contents"]]
    assert "PP0000000001" in texts
    assert message["altText"].startswith("รหัส Authen Code PP0000000001")


def test_history_carousel_is_what_the_sdk_builds() -> None:
    message = history_message([view(), view("cancelled")])
    assert FlexMessage.from_dict(message).to_dict() == message
    assert [b["type"] for b in message["contents"]["contents"]] == ["bubble", "bubble"]


@pytest.mark.parametrize("quick_reply", [None, "model", "json"])
def test_text_is_what_the_sdk_builds(quick_reply: str | None) -> None:
    reply = {"model": messages.menu_quick_reply(), "json": messages.menu_quick_reply_json()}.get(
        quick_reply or ""
    )
    message = messages.text("สวัสดีค่ะ", reply)
    expected = TextMessage(
        text="สวัสดีค่ะ", quick_reply=messages.menu_quick_reply() if quick_reply else None
    ).to_dict()
    assert message == expected
    assert TextMessage.from_dict(message).to_dict() == message


def test_assistant_answers_do_not_share_their_quick_reply() -> None:
    first, second = assistant.answer("rights")[0], assistant.answer("rights")[0]
    assert first == second
    first["quickReply"]["items"].clear()
    assert second["quickReply"]["items"]

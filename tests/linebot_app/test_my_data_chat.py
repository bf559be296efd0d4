"""An erasure asked for on the LIFF page "ข้อมูลของฉัน" is confirmed in the chat: the worker
delivers the confirmation through the real SDK to the fake LINE API, after putting the user
back on the guest rich menu (consent is gone)."""

from __future__ import annotations

from typing import Any

import pytest

from authencode.db import Database
from authencode.settings import Settings
from linebot_app.richmenu import GUEST, MEMBER, deploy
from linebot_app.sender import OutboxSender
from tests.support.fake_line import FakeLineServer
from tests.support.liff import CHANNEL_ID, JwksServer, World, bearer, jwks
from tests.support.line_bot import ChatUser, Clock, drain

__all__ = ["jwks"]


@pytest.fixture
def settings(settings: Settings, jwks: JwksServer) -> Settings:
    return settings.with_overrides(line_login_channel_id=CHANNEL_ID, line_jwks_url=jwks.url)


def test_the_erasure_confirmation_reaches_the_chat_and_the_menu_turns_guest(
    client: Any,
    chat: ChatUser,
    world: World,
    db: Database,
    settings: Settings,
    sender: OutboxSender,
    clock: Clock,
    fake_line: FakeLineServer,
    jwks: JwksServer,
) -> None:
    menus = deploy(settings, poll_seconds=0).menus
    chat.consent()
    chat.register(world.adult_cid)
    drain(sender, clock)
    assert fake_line.menu_shown_to(chat.user_id) == menus[MEMBER]
    before = len(fake_line.delivered)

    token = jwks.token(chat.user_id)
    erased = client.post(
        "/liff/api/my-data/erase", headers=bearer(token), json={"confirm": "erase"}
    )
    assert erased.status_code == 200, erased.json
    drain(sender, clock)

    [confirmation] = fake_line.delivered[before:]
    assert (confirmation.kind, confirmation.to) == ("push", chat.user_id)
    text = confirmation.messages[0]["text"]
    assert text.startswith("ลบข้อมูลของท่านตามคำขอเรียบร้อยแล้ว")
    assert "การเชื่อมโยงบัญชี LINE นี้กับบุคคล (ตนเองและครอบครัว) 1" in text
    assert "ลงทะเบียนใหม่" in text and world.adult_cid not in text
    assert fake_line.menu_shown_to(chat.user_id) == menus[GUEST]

    # The same request again (a double tap) sends nothing more.
    again = client.post("/liff/api/my-data/erase", headers=bearer(token), json={"confirm": "erase"})
    assert again.json["created"] is False
    drain(sender, clock)
    assert len(fake_line.delivered) == before + 1

"""Registering on the LIFF pages is confirmed in the chat as the chat's own registration is:
one push through the outbox, delivered by the real SDK to the fake LINE API; nothing when the
registration is refused; once when the request is sent again, or several times at once (the
live server on PostgreSQL)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

import pytest
import requests
from sqlalchemy import select

from authencode.db import Database
from authencode.models import OutboxMessage
from authencode.services import consent
from authencode.settings import Settings
from linebot_app.sender import OutboxSender
from tests.support.factories import birth_date
from tests.support.fake_line import FakeLineServer
from tests.support.liff import (
    CHANNEL_ID,
    JwksServer,
    World,
    bearer,
    consented,
    jwks,
    live_world,
    new_user_id,
)
from tests.support.line_bot import ChatUser, Clock, drain

__all__ = ["jwks", "live_world"]
DONE = "ลงทะเบียนเรียบร้อยแล้วค่ะ"


@pytest.fixture
def settings(settings: Settings, jwks: JwksServer) -> Settings:
    return settings.with_overrides(line_login_channel_id=CHANNEL_ID, line_jwks_url=jwks.url)


@pytest.fixture
def live_settings(live_settings: Settings, jwks: JwksServer) -> Settings:
    return live_settings.with_overrides(line_login_channel_id=CHANNEL_ID, line_jwks_url=jwks.url)


def _register(client: Any, token: str, cid: str, birth: str | None = None) -> Any:
    body = {"cid": cid, "phone": "0812345678", "birthDate": birth or birth_date(cid)}
    return client.post("/liff/api/register", headers=bearer(token), json=body)


def _pushed(fake_line: FakeLineServer, user: str, since: int) -> list[list[dict[str, Any]]]:
    return [d.messages for d in fake_line.delivered[since:] if d.kind == "push" and d.to == user]


def _quick_replies(message: dict[str, Any]) -> list[str]:
    return [item["action"]["label"] for item in message["quickReply"]["items"]]


def test_a_liff_registration_is_confirmed_in_the_chat_once(
    client: Any,
    chat: ChatUser,
    world: World,
    sender: OutboxSender,
    clock: Clock,
    fake_line: FakeLineServer,
    jwks: JwksServer,
) -> None:
    # The chat's own registration, for comparison (another account, another person).
    chat.consent()
    chat.register(world.spouse_cid)
    [in_chat] = chat.last()

    user = new_user_id()
    token = jwks.token(user)
    consented(client, token)
    drain(sender, clock)
    before = len(fake_line.delivered)

    refused = _register(client, token, world.adult_cid, birth="01/01/1900")
    assert 400 <= refused.status_code < 500, refused.json
    drain(sender, clock)
    assert _pushed(fake_line, user, before) == []  # a refused registration is not confirmed

    assert _register(client, token, world.adult_cid).status_code == 200
    drain(sender, clock)
    [[message]] = _pushed(fake_line, user, before)
    text = message["text"]
    cid = world.adult_cid
    assert text.startswith(DONE) and f"{cid[0]}-{cid[1:5]}-xxxxx-{cid[10:12]}-{cid[12]}" in text
    assert "081-xxx-5678" in text and cid not in text and "ระดับการยืนยัน" in text
    assert text.split("\n")[0] == in_chat["text"].split("\n")[0]
    assert _quick_replies(message) == _quick_replies(in_chat)

    # The page's request sent again (a retry or a double tap) is answered but not re-told.
    again = _register(client, token, world.adult_cid)
    assert again.status_code == 200
    drain(sender, clock)
    assert len(_pushed(fake_line, user, before)) == 1


def _registration_pushes(db: Database, user: str) -> int:
    with db.sessionmaker() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == user))
        return sum(DONE in json.dumps(row.payload, ensure_ascii=False) for row in rows)


def test_parallel_registrations_confirm_once_on_postgresql(
    live_app: Any, live_server: str, live_world: World, jwks: JwksServer
) -> None:
    user = new_user_id()
    token = jwks.token(user)
    accepted = requests.post(
        f"{live_server}/liff/api/consent",
        headers=bearer(token),
        json={"decision": "accept", "version": consent.CONSENT_VERSION},
        timeout=30,
    )
    assert accepted.status_code == 200, accepted.text
    cid = live_world.adult_cid
    body = {"cid": cid, "phone": "0812345678", "birthDate": birth_date(cid)}
    start = Barrier(6)

    def register(_: int) -> int:
        start.wait(timeout=30)
        answer = requests.post(
            f"{live_server}/liff/api/register", headers=bearer(token), json=body, timeout=60
        )
        return answer.status_code

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(register, range(6)))
    assert 200 in answers and set(answers) <= {200, 409}
    assert _registration_pushes(live_app.extensions["authencode"].db, user) == 1

"""Citizen IDs looked up per LINE user an hour (`cid_lookup`): on the LIFF pages and in the
chat alike, past the limit nothing more is looked up and the person is told how long to wait."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from authencode.crypto import DataProtector
from authencode.models import FamilyLink, OutboxMessage
from authencode.settings import Settings
from linebot_app.chat import CID_WITHOUT_DIALOGUE_TH
from linebot_app.messages import PB_CONSENT_ACCEPT
from tests.authencode.test_ratelimit import _app, _limited_settings, sqlite_only
from tests.support.factories import birth_date, new_cid
from tests.support.liff import JwksServer, bearer, build_world, consented, new_user_id
from tests.support.line_bot import post, postback, text, webhook


@pytest.fixture
def limited(settings: Settings, jwks: JwksServer, protector: DataProtector) -> Iterator[Any]:
    app = _app(_limited_settings(settings, jwks, cid_lookup=2))
    app.world = build_world(app.extensions["authencode"].db, protector, "http://127.0.0.1:5000")
    yield app
    app.extensions["authencode"].db.dispose()


def _links(app: Any) -> list[FamilyLink]:
    with app.extensions["authencode"].db.sessionmaker() as session:
        return list(session.scalars(select(FamilyLink)))


@sqlite_only
def test_liff_registration_past_the_limit_is_429_with_how_long_to_wait(
    limited: Any, jwks: JwksServer
) -> None:
    client = limited.test_client()
    token, other = jwks.token(new_user_id()), jwks.token(new_user_id())
    consented(client, token)
    for _ in range(2):  # CIDs nobody has: each one looked up
        response = client.post(
            "/liff/api/register",
            headers=bearer(token),
            json={"cid": new_cid(), "phone": "0812345678", "birthDate": "2533-05-17"},
        )
        assert response.json["error"]["code"] == "PERSON_NOT_FOUND"
    # Now even the right CID is not looked up, on either form.
    right = {
        "cid": limited.world.adult_cid,
        "phone": "0812345678",
        "birthDate": birth_date(limited.world.adult_cid),
    }
    for path, body in (
        ("/liff/api/register", right),
        ("/liff/api/members", {**right, "relation": "spouse"}),
    ):
        refused = client.post(path, headers=bearer(token), json=body)
        assert refused.status_code == 429
        # the hour's window (aligned to the clock), not a minute's: the wait is what is left of
        # the current hour, however close to its end the test runs
        left = 3600 - time.time() % 3600
        drift = (int(refused.headers["Retry-After"]) - left) % 3600
        assert min(drift, 3600 - drift) <= 5
        error = refused.json["error"]
        assert error["code"] == "CID_LOOKUPS_EXCEEDED"
        assert "นาที" in error["message_th"] and "minutes" in error["message"]
    assert _links(limited) == []
    # Another LINE user is not held up.
    consented(client, other)
    assert client.post("/liff/api/register", headers=bearer(other), json=right).status_code == 200
    assert [link.slot for link in _links(limited)] == [0]


def _replies(app: Any, user_id: str) -> list[str]:
    with app.extensions["authencode"].db.sessionmaker() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.recipient == user_id)
            .order_by(OutboxMessage.id)
        )
        return [row.payload["messages"][0].get("text", "") for row in rows]


@sqlite_only
def test_chat_registration_past_the_limit_ends_the_dialogue_with_how_long_to_wait(
    limited: Any,
) -> None:
    client = limited.test_client()
    user = "U" + "e" * 32
    adult = limited.world.adult_cid
    said = [
        postback(PB_CONSENT_ACCEPT, user),
        text("ลงทะเบียน", user),
        text(new_cid(), user),
        text("17/05/2533", user),
        text(new_cid(), user),
        text("17/05/2533", user),
        text(adult, user),
        text(birth_date(adult, be=True), user),
    ]
    for event in said:
        assert post(client, webhook(event)).status_code == 200
    answers = _replies(limited, user)[2:]  # the registry is asked with each birth date
    assert all("ไม่พบเลขประจำตัวประชาชนนี้" in answer for answer in answers[1:4:2])
    assert "กรอกเลขประจำตัวประชาชนหลายครั้งเกินไป" in answers[5] and "นาที" in answers[5]
    # The dialogue is over: a CID typed now is not taken as an answer.
    post(client, webhook(text(limited.world.adult_cid, user)))
    assert _replies(limited, user)[-1] == CID_WITHOUT_DIALOGUE_TH
    assert _links(limited) == []

"""POST /line/webhook through the Flask app with real signatures."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from authencode.app import create_app
from authencode.db import Database
from authencode.models import LineAccount, OutboxMessage, WebhookEvent
from authencode.settings import Settings
from tests.support.line_bot import (
    CHANNEL_SECRET,
    USER_ID,
    follow,
    outbox,
    post,
    sign,
    text,
    unfollow,
    webhook,
)


def _count(db: Database, model: Any) -> int:
    with db.sessionmaker() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_empty_events_is_the_verify_call(client: Any) -> None:
    response = post(client, webhook())
    assert response.status_code == 200


@pytest.mark.parametrize("signature", [None, "", "bm90IGEgc2lnbmF0dXJl", sign(b"other body")])
def test_missing_or_wrong_signature_is_refused_and_nothing_stored(
    client: Any, db: Database, signature: str | None
) -> None:
    response = post(client, webhook(follow()), signature=signature)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "LINE_SIGNATURE_INVALID"
    assert response.get_json()["error"]["message_th"]
    assert _count(db, WebhookEvent) == 0
    assert _count(db, LineAccount) == 0
    assert _count(db, OutboxMessage) == 0


def test_signature_made_with_another_secret_is_refused(client: Any) -> None:
    body = b'{"events": []}'
    response = post(client, None, raw=body, signature=sign(body, "another-secret"))
    assert response.status_code == 400


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"events": {}}',
        b'{"hello": 1}',
        b'{"events": [], "destination": 5}',
        "ไทย".encode("cp874"),
    ],
)
def test_signed_body_that_is_not_a_line_webhook_is_400(client: Any, raw: bytes) -> None:
    response = post(client, None, raw=raw, signature=sign(raw))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] in (
        "LINE_WEBHOOK_INVALID",
        "LINE_SIGNATURE_INVALID",
    )


def test_oversized_body_is_413(client: Any) -> None:
    raw = b'{"events": [], "pad": "' + b"x" * (600 * 1024) + b'"}'
    response = post(client, None, raw=raw, signature=sign(raw))
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "BODY_TOO_LARGE"


def test_redelivered_event_is_handled_once(client: Any, db: Database) -> None:
    event = follow(event_id="01HREDELIVERED000000000001")
    assert post(client, webhook(event)).status_code == 200
    event["deliveryContext"] = {"isRedelivery": True}
    assert post(client, webhook(event, event)).status_code == 200
    assert _count(db, WebhookEvent) == 1
    assert len(outbox(db)) == 1


def test_bad_events_do_not_block_good_ones(client: Any, db: Database) -> None:
    good1 = text("1330", user_id="U" + "1" * 32)
    missing_fields = {"type": "message", "webhookEventId": "01HMALFORMED0000000000001"}
    unknown_type = {
        "type": "somethingNew",
        "webhookEventId": "01HUNKNOWN00000000000001",
        "timestamp": 1,
        "mode": "active",
    }
    not_an_object: Any = "event"
    no_id = {"type": "follow"}
    sticker = text("x", user_id="U" + "2" * 32)
    sticker["message"] = {
        "id": "9",
        "type": "sticker",
        "packageId": "1",
        "stickerId": "2",
        "stickerResourceType": "STATIC",
        "quoteToken": "q",
    }
    good2 = follow(user_id="U" + "3" * 32)
    response = post(
        client, webhook(good1, missing_fields, unknown_type, not_an_object, no_id, sticker, good2)
    )
    assert response.status_code == 200
    rows = outbox(db)
    assert {row.recipient for row in rows} == {"U" + "1" * 32, "U" + "2" * 32, "U" + "3" * 32}
    # The malformed and unknown events are remembered, so a redelivery is not retried.
    assert _count(db, WebhookEvent) == 5


def test_handler_failure_rolls_back_that_event_only(
    client: Any, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from linebot_app import events

    real = events._on_message

    def flaky(ctx: Any, event: Any) -> None:
        real(ctx, event)
        if event.message.text == "boom":
            raise RuntimeError("bug")

    monkeypatch.setattr(events, "_on_message", flaky)
    response = post(client, webhook(text("boom"), text("สวัสดี")))
    assert response.status_code == 200
    rows = outbox(db)
    assert len(rows) == 1
    assert "สวัสดี" in rows[0].payload["messages"][0]["text"]


def test_unfollow_marks_the_account(client: Any, db: Database) -> None:
    post(client, webhook(follow()))
    post(client, webhook(unfollow()))
    with db.sessionmaker() as session:
        account = session.scalar(select(LineAccount).where(LineAccount.line_user_id == USER_ID))
        assert account is not None and account.status == "unfollowed"
    post(client, webhook(follow(unblocked=True)))
    with db.sessionmaker() as session:
        account = session.scalar(select(LineAccount).where(LineAccount.line_user_id == USER_ID))
        assert account is not None and account.status == "active"
    welcome_back = outbox(db)[-1].payload["messages"][0]["text"]
    assert welcome_back.startswith("ยินดีต้อนรับกลับมา")


def test_group_events_are_ignored_safely(client: Any, db: Database) -> None:
    event = text("สวัสดี")
    event["source"] = {"type": "group", "groupId": "C" + "1" * 32, "userId": USER_ID}
    assert post(client, webhook(event)).status_code == 200
    assert outbox(db) == []


def test_database_unavailable_is_503(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(
        environment="test",
        secret_key="x" * 32,
        data_key=os.urandom(32),
        database_url=f"postgresql+psycopg://u@127.0.0.1:{port}/none",
        instance_path=tmp_path,
        line_channel_secret=CHANNEL_SECRET,
    )
    app = create_app(settings)
    response = post(app.test_client(), webhook(follow()))
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "DATABASE_UNAVAILABLE"
    # LINE's verify call touches no database, so it still succeeds.
    assert post(app.test_client(), webhook()).status_code == 200
    app.extensions["authencode"].db.dispose()


def test_webhook_without_channel_secret_is_unavailable(client: Any, app: Any) -> None:
    services = app.extensions["authencode"]
    services.settings = services.settings.with_overrides(line_channel_secret=None)
    assert post(client, webhook()).status_code == 503

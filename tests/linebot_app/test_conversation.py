"""Follow, consent and the Thai assistant, from signed webhook posts to delivered messages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from authencode.db import Database
from authencode.models import ConsentRecord, FamilyLink, LineAccount
from authencode.services.consent import CONSENT_TEXT_TH, CONSENT_VERSION
from linebot_app.chat_messages import CONSENT_FIRST_TH
from linebot_app.messages import (
    MAX_POSTBACK_DATA,
    MAX_QUICK_REPLY_ITEMS,
    PB_CONSENT_ACCEPT,
    PB_CONSENT_DECLINE,
    PB_WITHDRAW_ASK,
    PB_WITHDRAW_CANCEL,
    PB_WITHDRAW_CONFIRM,
)
from linebot_app.sender import OutboxSender
from tests.support.factories import make_person
from tests.support.fake_line import FakeLineServer
from tests.support.line_bot import (
    USER_ID,
    Clock,
    drain,
    follow,
    outbox,
    post,
    postback,
    text,
    webhook,
)


def _account(db: Database) -> LineAccount:
    with db.sessionmaker() as session:
        account = session.scalar(select(LineAccount).where(LineAccount.line_user_id == USER_ID))
        assert account is not None
        return account


def _records(db: Database) -> list[tuple[str, str]]:
    with db.sessionmaker() as session:
        rows = session.scalars(select(ConsentRecord).order_by(ConsentRecord.id))
        return [(row.decision, row.version) for row in rows]


def _last_messages(db: Database) -> list[dict[str, Any]]:
    return outbox(db)[-1].payload["messages"]


def test_follow_sends_welcome_and_consent_through_the_worker(
    client: Any, db: Database, sender: OutboxSender, clock: Clock, fake_line: FakeLineServer
) -> None:
    assert post(client, webhook(follow(reply_token="rt-follow"))).status_code == 200
    assert fake_line.delivered == []  # nothing leaves before the worker runs
    drain(sender, clock)
    [delivery] = fake_line.delivered
    assert delivery.kind == "reply" and delivery.reply_token == "rt-follow"
    welcome, consent_text, confirm = delivery.messages
    assert welcome["text"].startswith("สวัสดีค่ะ ยินดีต้อนรับ")
    assert consent_text["text"] == CONSENT_TEXT_TH
    assert "สายด่วน สปสช. 1330" in consent_text["text"]
    actions = confirm["template"]["actions"]
    assert [a["label"] for a in actions] == ["ยอมรับ", "ไม่ยอมรับ"]
    assert [a["data"] for a in actions] == [PB_CONSENT_ACCEPT, PB_CONSENT_DECLINE]
    assert fake_line.requests[0].headers["Authorization"] == "Bearer test-access-token"
    assert [row.status for row in outbox(db)] == ["sent"]


def test_accept_records_version_and_time(client: Any, db: Database) -> None:
    post(client, webhook(follow()))
    post(client, webhook(postback(PB_CONSENT_ACCEPT)))
    account = _account(db)
    assert account.consent_version == CONSENT_VERSION
    assert account.consented_at is not None
    assert _records(db) == [("accepted", CONSENT_VERSION)]
    assert _last_messages(db)[0]["text"].startswith("ขอบคุณค่ะ บันทึกการให้ความยินยอม")
    # Pressing accept again changes nothing and says so.
    post(client, webhook(postback(PB_CONSENT_ACCEPT)))
    assert _records(db) == [("accepted", CONSENT_VERSION)]
    assert "ให้ความยินยอมไว้แล้ว" in _last_messages(db)[0]["text"]


def test_accepting_an_old_version_shows_the_new_text(client: Any, db: Database) -> None:
    post(client, webhook(postback("consent:accept:2020-01")))
    assert _account(db).consent_version is None
    assert _records(db) == []
    stale, consent_text, _confirm = _last_messages(db)
    assert "ฉบับใหม่" in stale["text"]
    assert consent_text["text"] == CONSENT_TEXT_TH


def test_decline_explains_and_offers_a_second_look(client: Any, db: Database) -> None:
    post(client, webhook(postback(PB_CONSENT_DECLINE)))
    assert _account(db).consent_version is None
    assert _records(db) == [("declined", CONSENT_VERSION)]
    [message] = _last_messages(db)
    assert "ไม่สามารถใช้บริการ" in message["text"]
    labels = [item["action"]["label"] for item in message["quickReply"]["items"]]
    assert "อ่านข้อตกลงอีกครั้ง" in labels


def test_withdraw_asks_first_then_unlinks_everyone(
    client: Any, db: Database, protector: Any
) -> None:
    post(client, webhook(postback(PB_CONSENT_ACCEPT)))
    with db.transaction() as session:
        account = session.scalar(select(LineAccount))
        assert account is not None
        for slot in (0, 1):
            person = make_person(session, protector)
            session.add(
                FamilyLink(
                    line_account_id=account.id,
                    person_id=person.id,
                    slot=slot,
                    relation="self" if slot == 0 else "child",
                    phone="0812345678",
                )
            )

    post(client, webhook(postback(PB_WITHDRAW_ASK)))
    [confirm] = _last_messages(db)
    assert [a["data"] for a in confirm["template"]["actions"]] == [
        PB_WITHDRAW_CONFIRM,
        PB_WITHDRAW_CANCEL,
    ]
    post(client, webhook(postback(PB_WITHDRAW_CANCEL)))
    assert _account(db).consent_version == CONSENT_VERSION

    post(client, webhook(postback(PB_WITHDRAW_CONFIRM)))
    assert _account(db).consent_version is None
    with db.sessionmaker() as session:
        assert session.scalars(select(FamilyLink)).all() == []
    assert _records(db) == [("accepted", CONSENT_VERSION), ("withdrawn", CONSENT_VERSION)]
    assert _last_messages(db)[0]["text"].startswith("ถอนความยินยอมเรียบร้อยแล้ว")
    # A second confirmation (e.g. a double tap) has nothing left to withdraw.
    post(client, webhook(postback(PB_WITHDRAW_CONFIRM)))
    assert len(_records(db)) == 2


def test_withdraw_by_text(client: Any, db: Database) -> None:
    post(client, webhook(postback(PB_CONSENT_ACCEPT)))
    post(client, webhook(text("ขอถอนความยินยอม")))
    explained, confirm = _last_messages(db)
    assert "สิ่งที่จะถูกลบ" in explained["text"] and "สิ่งที่ยังเก็บไว้" in explained["text"]
    assert confirm["type"] == "template"
    assert _account(db).consent_version == CONSENT_VERSION  # nothing withdrawn before the tap


ASKED = {
    "Authen Code คืออะไร": "รหัสยืนยันการเข้ารับบริการ",
    "วิธีลงทะเบียน": "เลขประจำตัวประชาชน 13 หลัก",
    "วิธีขอรหัส": "สแกน QR Code",
    "สิทธิการรักษา คืออะไร": "สิทธิว่าง",
    "เบอร์ติดต่อ": "1330",
    "สายด่วน 1330": "24 ชั่วโมง",
}


def test_assistant_answers_common_questions_in_thai(client: Any, db: Database) -> None:
    for question, expected in ASKED.items():
        post(client, webhook(text(question)))
        [answer] = _last_messages(db)
        assert expected in answer["text"], question
        items = answer["quickReply"]["items"]
        assert 1 <= len(items) <= MAX_QUICK_REPLY_ITEMS
        assert all(len(item["action"]["label"]) <= 20 for item in items)


def test_unknown_text_gets_a_menu_never_silence(client: Any, db: Database) -> None:
    post(client, webhook(text("ฝนตกไหมวันนี้")))
    [answer] = _last_messages(db)
    assert answer["text"].startswith("ขออภัยค่ะ")
    assert len(answer["quickReply"]["items"]) >= 5


def test_menu_pages_need_consent(client: Any, db: Database) -> None:
    # A rich menu tap is answered as the typed command would be: consent first.
    for item, typed in (
        ("history", "ประวัติ"),
        ("rights", "ตรวจสอบสิทธิ"),
        ("request", "ขอรหัส"),
        ("family", "ครอบครัว"),
    ):
        post(client, webhook(postback(f"menu:{item}")))
        tapped = _last_messages(db)
        assert [m.get("text") for m in tapped][:2] == [CONSENT_FIRST_TH, CONSENT_TEXT_TH], item
        post(client, webhook(text(typed)))
        assert _last_messages(db) == tapped, typed
    post(client, webhook(postback(PB_CONSENT_ACCEPT)))
    post(client, webhook(postback("menu:family")))
    assert "/liff/family" in _last_messages(db)[0]["text"]
    post(client, webhook(postback("menu:history")))  # no person linked yet: register first
    assert "/liff/register" in _last_messages(db)[0]["text"]


def test_every_postback_we_send_fits_line_limits(client: Any, db: Database) -> None:
    post(
        client,
        webhook(
            follow(),
            postback(PB_CONSENT_DECLINE),
            postback(PB_CONSENT_ACCEPT),
            postback(PB_WITHDRAW_ASK),
        ),
    )
    for row in outbox(db):
        assert 1 <= len(row.payload["messages"]) <= 5
        for message in row.payload["messages"]:
            actions = message.get("template", {}).get("actions", [])
            actions += [i["action"] for i in message.get("quickReply", {}).get("items", [])]
            for action in actions:
                assert len(action.get("data", "")) <= MAX_POSTBACK_DATA

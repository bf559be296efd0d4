"""A code from the chat: the clinic link sent in the chat, the person chosen, the Flex code."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from authencode.db import Database
from authencode.errors import DomainError
from authencode.models import AuthenCode
from linebot_app.chat_code import QR_READER_URL
from linebot_app.sender import OutboxSender
from tests.support.factories import birth_date
from tests.support.fake_line import FakeLineServer
from tests.support.liff import World
from tests.support.line_bot import (
    ChatUser,
    Clock,
    drain,
    quick_reply_action,
    quick_reply_labels,
)


def _th(code: str) -> str:
    return DomainError(code).message_th


def _code_of(flex: dict[str, Any]) -> str:
    assert flex["type"] == "flex"
    return str(flex["contents"]["body"]["contents"][1]["text"])


def _codes(db: Database) -> int:
    with db.sessionmaker() as session:
        return session.scalar(select(func.count()).select_from(AuthenCode)) or 0


def test_a_code_by_sending_the_clinic_link(
    chat: ChatUser,
    world: World,
    db: Database,
    sender: OutboxSender,
    clock: Clock,
    fake_line: FakeLineServer,
) -> None:
    chat.consent()
    chat.register(world.adult_cid)
    # A typed (claimed) registration: not with a poster, which works from a photo at home...
    [refused] = chat.say(world.poster_url())
    assert DomainError("LINK_NOT_VERIFIED").message_th in refused["text"]
    assert _codes(db) == 0
    # ...but with the counter's rotating QR, where staff see the person.
    link = world.display_url()
    flex, note = chat.say(link)
    code = _code_of(flex)
    assert code.startswith("PP") and len(code) == 12
    assert "สมชาย ใจดี" in str(flex) and world.adult_cid not in str(flex)
    assert "แสดงรหัสนี้ต่อเจ้าหน้าที่" in note["text"]

    # The same link again the same day (pasted with words around it): the same code.
    again, repeated = chat.say(f"ขอรหัสค่ะ {link} ")
    assert _code_of(again) == code
    assert "ได้รหัสเดิม" in repeated["text"]
    assert _codes(db) == 1
    with db.sessionmaker() as session:
        row = session.scalar(select(AuthenCode))
        assert row is not None and (row.channel, row.service_code) == ("line", "PG0060001")
        assert row.phones == "0812345678"

    # The Flex message reaches LINE through the worker.
    drain(sender, clock)
    flexes = [m for d in fake_line.delivered for m in d.messages if m["type"] == "flex"]
    assert [_code_of(m) for m in flexes] == [code, code]


def test_which_person_when_the_account_acts_for_several(
    chat: ChatUser, world: World, db: Database
) -> None:
    chat.consent()
    chat.register(world.adult_cid)
    chat.say("เพิ่มสมาชิก")
    chat.say(world.child_cid)
    chat.say(birth_date(world.child_cid, be=True))
    [relation] = chat.say("0898765432")
    chat.choose(relation, "บุตร")

    [choose] = chat.say(world.display_url("PG0090001"))
    assert "รพ.สต.บ้านทดสอบ (10675)" in choose["text"]
    assert quick_reply_labels(choose) == ["นายสมชาย ใจดี", "ด.ช.ภูมิ ใจดี", "ยกเลิก"]
    assert all(
        len(quick_reply_action(choose, label).get("data", "")) <= 300
        for label in quick_reply_labels(choose)
    )
    flex, _note = chat.choose(choose, "ด.ช.ภูมิ ใจดี")
    assert "ภูมิ ใจดี" in str(flex) and "สมชาย" not in str(flex)
    child_code = _code_of(flex)
    # The holder's own code is another one; the child's again is the same.
    own, _ = chat.choose(choose, "นายสมชาย ใจดี")
    assert _code_of(own) != child_code
    again, _ = chat.choose(choose, "ด.ช.ภูมิ ใจดี")
    assert _code_of(again) == child_code
    assert _codes(db) == 2
    [cancelled] = chat.choose(choose, "ยกเลิก")
    assert "ไม่มีขั้นตอนที่ค้างอยู่" in cancelled["text"]

    # History per linked person.
    _intro, carousel, hint = chat.say("ประวัติ")
    assert carousel["type"] == "flex" and len(carousel["contents"]["contents"]) == 2
    only_child = chat.choose(hint, "ประวัติ ภูมิ")
    assert "ภูมิ ใจดี" in only_child[0]["text"]
    assert [b["body"]["contents"][1]["text"] for b in only_child[1]["contents"]["contents"]] == [
        child_code
    ]


def test_a_forged_link_is_refused(chat: ChatUser, world: World, db: Database) -> None:
    chat.consent()
    chat.register(world.adult_cid)
    [refused] = chat.say(world.forged_url())
    assert refused["text"] == _th("QR_FORGED")
    [malformed] = chat.say("http://127.0.0.1:5000/q/not-a-token")
    assert malformed["text"] == _th("QR_MALFORMED")
    # A forged token inside a person-choice postback is refused as well.
    forged_token = world.forged_url().rsplit("/", 1)[1]
    [also] = chat.tap(f"chat:code:1:{forged_token}")
    assert also["text"] == _th("QR_FORGED")
    assert _codes(db) == 0


def test_a_link_before_registering_asks_to_register(
    chat: ChatUser, world: World, db: Database
) -> None:
    first, _consent_text, _confirm = chat.say(world.poster_url())  # consent comes first
    assert "ความยินยอม" in first["text"]
    chat.consent()
    [register] = chat.say(world.poster_url())
    assert "ลงทะเบียน" in register["text"] and "ลงทะเบียน" in quick_reply_labels(register)
    assert _codes(db) == 0


def test_the_menu_offers_lines_qr_reader(chat: ChatUser, world: World) -> None:
    chat.consent()
    for ask in (lambda: chat.tap("menu:request"), lambda: chat.say("ขอรหัส")):
        [answer] = ask()
        assert "สแกน QR Code" in answer["text"] and "/liff/request" in answer["text"]
        assert quick_reply_action(answer, "สแกน QR")["uri"] == QR_READER_URL

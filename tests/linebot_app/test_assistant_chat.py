"""The assistant answers about *this* person, through the webhook, the outbox and the real SDK
to the fake LINE API: their rights (one card a person), today's codes, the unit-change page,
thanks, and "delete my data" as the withdrawal flow, explained and confirmed first."""

from __future__ import annotations

from typing import Any

from linebot.v3.messaging import FlexMessage, TemplateMessage, TextMessage
from sqlalchemy import select

from authencode.db import Database
from authencode.errors import DomainError
from authencode.models import ConsentRecord, FamilyLink
from authencode.reference import RIGHTS
from authencode.services.consent import CONSENT_VERSION
from authencode.services.erasure import KEPT_REASONS
from linebot_app.assistant import ANSWERS_TH
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


def _add(chat: ChatUser, cid: str) -> dict[str, Any]:
    chat.say("เพิ่มสมาชิก")
    chat.say(cid)
    chat.say(birth_date(cid, be=True))
    chat.say("0898765432")
    [done] = chat.say("บุตร")
    return done


def _links(db: Database) -> int:
    with db.sessionmaker() as session:
        return len(session.scalars(select(FamilyLink)).all())


def _sdk_accepts(message: dict[str, Any]) -> None:
    """Each message parses as the SDK's own model of its type."""
    model = {"flex": FlexMessage, "template": TemplateMessage, "text": TextMessage}
    model[message["type"]].from_dict(message)


def test_a_registered_person_asking_about_their_rights_gets_theirs(
    chat: ChatUser, world: World, sender: OutboxSender, clock: Clock, fake_line: FakeLineServer
) -> None:
    chat.consent()
    chat.register(world.adult_cid)
    world.verify(chat.user_id)
    asked = chat.say("สิทธิ์ของฉันคืออะไร")
    assert asked == chat.say("ตรวจสอบสิทธิ")  # as the rights command answers
    assert asked == chat.say("เช็คสิทธิ์หน่อยค่ะ")
    carousel, footer = asked
    [card] = carousel["contents"]["contents"]
    assert "สมชาย ใจดี" in str(card) and "(UCS) สิทธิหลักประกันสุขภาพแห่งชาติ" in str(card)
    assert world.adult_cid not in str(asked)
    assert ANSWERS_TH["rights"] not in str(asked) and "ลงทะเบียน" not in footer["text"]
    # The general question still gets the general answer.
    [general] = chat.say("สิทธิการรักษา คืออะไร")
    assert general["text"] == ANSWERS_TH["rights"]

    drain(sender, clock)
    delivered = [m for d in fake_line.delivered for m in d.messages]
    assert carousel in delivered
    for message in delivered:
        _sdk_accepts(message)


def test_rights_of_six_people_come_as_six_cards(chat: ChatUser, world: World, db: Database) -> None:
    chat.consent()
    chat.register(world.adult_cid)
    for cid in world.family_cids[:5]:
        _add(chat, cid)
    world.verify(chat.user_id)
    carousel, footer = chat.say("สิทธิ์ของฉัน")
    _sdk_accepts(carousel)
    cards = carousel["contents"]["contents"]
    assert carousel["contents"]["type"] == "carousel" and len(cards) == 6
    assert all(card["type"] == "bubble" for card in cards)
    assert "6 คน" in footer["text"] and len(carousel["altText"]) <= 400


def test_todays_codes_of_a_registered_person(chat: ChatUser, world: World, db: Database) -> None:
    chat.consent()
    chat.register(world.adult_cid)
    [none] = chat.say("รหัสวันนี้ของฉัน")
    assert none["text"].startswith("วันนี้ (") and "ยังไม่มีรหัส" in none["text"]
    assert "ขอรหัส" in quick_reply_labels(none)

    flex, _note = chat.say(world.display_url())
    code = flex["contents"]["body"]["contents"][1]["text"]
    for asked in ("รหัสวันนี้ของฉัน", "code วันนี้ครับ", "โค้ดวันนี้"):
        intro, carousel, more = chat.say(asked)
        assert "รหัสเข้ารับบริการของวันนี้" in intro["text"] and "1 รายการ" in intro["text"]
        assert "25" in intro["text"].split("(")[1]  # the day in the Buddhist era
        [bubble] = carousel["contents"]["contents"]
        assert bubble["body"]["contents"][1]["text"] == code
        _sdk_accepts(carousel)
        assert "ประวัติ" in quick_reply_labels(more)


def test_unit_change_leads_to_the_page(chat: ChatUser, world: World, settings: Any) -> None:
    chat.consent()
    chat.register(world.adult_cid)
    for asked in ("อยากเปลี่ยนหน่วยบริการ", "ขอย้ายโรงบาลค่ะ"):
        [answer] = chat.say(asked)
        assert f"{settings.public_base_url}/liff/rights" in answer["text"]
        assert "หน่วยบริการปฐมภูมิ" in answer["text"]


def test_thanks_are_taken_politely(chat: ChatUser) -> None:
    for said in ("ขอบคุณครับ", "ขอบคุนค่ะ", "thank you"):
        [answer] = chat.say(said)
        assert answer["text"] == ANSWERS_TH["thanks"]
        assert quick_reply_labels(answer)


def test_people_not_registered_get_the_general_answer_and_how_to_register(
    chat: ChatUser,
) -> None:
    for consented in (False, True):
        if consented:
            chat.consent()
        for asked, general in (
            ("สิทธิ์ของฉันคืออะไร", "rights"),
            ("รหัสวันนี้ของฉัน", "what_is"),
            ("อยากเปลี่ยนหน่วยบริการ", "rights"),
        ):
            [answer] = chat.say(asked)
            assert answer["text"].startswith(ANSWERS_TH[general]), asked
            assert 'พิมพ์ "ลงทะเบียน"' in answer["text"]
            assert {"ลงทะเบียน", "วิธีลงทะเบียน"} <= set(quick_reply_labels(answer))


def test_delete_my_data_explains_then_withdraws_only_once_confirmed(
    chat: ChatUser, world: World, db: Database, settings: Any
) -> None:
    chat.consent()
    chat.register(world.adult_cid)
    explained, confirm = chat.say("ไม่ต้องการใช้บริการแล้ว ลบข้อมูลของฉัน")
    body = explained["text"]
    removed, kept = body.split("สิ่งที่ยังเก็บไว้")
    assert "สิ่งที่จะถูกลบ" in removed and "รายชื่อบุคคล" in removed
    for key in ("codes", "consent_records", "audit_log"):  # what stays, each with why
        assert f"• {KEPT_REASONS[key][0]}: " in kept
    assert "สปสช." in kept and f"{settings.public_base_url}/liff/my-data" in kept
    assert confirm["type"] == "template" and len(confirm["template"]["text"]) <= 240
    _sdk_accepts(confirm)
    assert _links(db) == 1  # nothing gone before the tap

    [kept_on] = chat.choose(confirm, "ยกเลิก")
    assert kept_on["text"].startswith("ยกเลิกการถอนความยินยอมแล้ว") and _links(db) == 1

    for phrasing in ("ลบบัญชี", "ขอถอนความยินยอมค่ะ", "เลิกใช้บริการ"):
        assert chat.say(phrasing)[-1]["type"] == "template", phrasing
    [done] = chat.choose(confirm, "ยืนยัน")
    assert done["text"].startswith("ถอนความยินยอมเรียบร้อยแล้ว") and _links(db) == 0
    with db.sessionmaker() as session:
        decisions = [r.decision for r in session.scalars(select(ConsentRecord))]
    assert decisions == ["accepted", "withdrawn"]
    # Asked again, with nothing left to withdraw: said so, with where data can be seen.
    [nothing] = chat.say("ลบข้อมูลของฉัน")
    assert "ไม่มีความยินยอมที่ต้องถอน" in nothing["text"] and "/liff/my-data" in nothing["text"]


def test_negated_or_embedded_words_withdraw_nothing(chat: ChatUser, world: World) -> None:
    chat.consent()
    chat.register(world.adult_cid)
    for said in ("ไม่ต้องการลบข้อมูล", "กลบข้อมูล", "ลบล้างความผิด"):
        messages = chat.say(said)
        assert all(m["type"] == "text" for m in messages), said
        assert "ถอนความยินยอม" not in str(messages), said


def test_the_sixth_member_is_offered_removing_one(
    chat: ChatUser, world: World, db: Database
) -> None:
    chat.consent()
    chat.register(world.adult_cid)
    for cid in world.family_cids[:5]:
        _add(chat, cid)
    [full] = chat.say("เพิ่มสมาชิก")
    assert DomainError("FAMILY_FULL").message_th in full["text"]
    labels = quick_reply_labels(full)
    assert "ลบสมาชิก" in labels and "เพิ่มสมาชิก" not in labels
    assert chat.say("อยากเพิ่มลูกอีกคนค่ะ") == [full]  # asked in other words: the same
    [choose] = chat.choose(full, "ลบสมาชิก")  # into the removal flow
    assert len(quick_reply_labels(choose)) == 6  # five members and "ยกเลิก"
    [confirm] = chat.choose(choose, quick_reply_labels(choose)[0])
    assert confirm["type"] == "template"
    chat.tap(quick_reply_action(confirm, "ยืนยัน")["data"])
    assert _links(db) == 5
    [asked] = chat.say("เพิ่มลูกค่ะ")  # a place again
    assert asked["text"].startswith("เพิ่มสมาชิกในครอบครัว")


def test_a_refused_right_is_named_in_thai(chat: ChatUser, world: World) -> None:
    chat.consent()
    chat.say("ลงทะเบียน")
    chat.say(world.officer_cid)
    [refused] = chat.say(birth_date(world.officer_cid, be=True))
    assert f"สิทธิหลักที่บันทึกไว้: {RIGHTS[('main', 'OFC')].label_th}" in refused["text"]
    assert ": OFC" not in refused["text"]


def test_consent_version_is_told_when_asked_about_consent(chat: ChatUser) -> None:
    [prompt, _confirm] = chat.say("ความยินยอมคืออะไร")
    assert "ความยินยอม" in prompt["text"]
    chat.consent()
    [given] = chat.say("ความยินยอมคืออะไร")
    assert CONSENT_VERSION in given["text"]


def test_no_one_sees_anothers_codes_or_rights_by_asking(
    chat: ChatUser, world: World, db: Database
) -> None:
    chat.consent()
    chat.register(world.adult_cid)
    flex, _note = chat.say(world.display_url())
    code = flex["contents"]["body"]["contents"][1]["text"]
    other = ChatUser(chat.client, db, "U" + "c" * 32)
    other.consent()
    other.register(world.family_cids[0])
    stranger = ChatUser(chat.client, db, "U" + "d" * 32)
    for who in (other, stranger):
        for asked in ("รหัสวันนี้ของฉัน", "สิทธิ์ของฉันคืออะไร", "ประวัติการขอรหัสของฉัน"):
            answer = str(who.say(asked))
            assert code not in answer and "สมชาย" not in answer, asked
            assert world.adult_cid not in answer


def test_the_longest_message_line_allows_is_answered(chat: ChatUser) -> None:
    for text in ("ลบข้อมูลของฉัน" * 357, "ก" * 5000, "กขคง" * 1250):
        answer = chat.say(text[:5000])
        assert answer and all(m["type"] in ("text", "template") for m in answer)

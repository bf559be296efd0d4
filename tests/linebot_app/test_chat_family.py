"""Family in the LINE chat: add (CID, phone, relation as quick replies), list, remove; five."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from authencode.cid import mask_cid
from authencode.db import Database
from authencode.errors import DomainError
from authencode.models import ChatConversation, FamilyLink
from tests.support.factories import birth_date
from tests.support.liff import World
from tests.support.line_bot import (
    ChatUser,
    quick_reply_action,
    quick_reply_labels,
    wrong_check_digit,
)


def _th(code: str) -> str:
    return DomainError(code).message_th


def _family(db: Database) -> list[tuple[int, str, str]]:
    with db.sessionmaker() as session:
        links = session.scalars(
            select(FamilyLink).where(FamilyLink.slot > 0).order_by(FamilyLink.slot)
        )
        return [(link.slot, link.relation, link.phone) for link in links]


def _add(
    chat: ChatUser, cid: str, relation: str = "บุตร", phone: str = "0898765432"
) -> dict[str, Any]:
    chat.say("เพิ่มสมาชิก")
    chat.say(cid)
    chat.say(birth_date(cid, be=True))
    [ask_relation] = chat.say(phone)
    [done] = chat.choose(ask_relation, relation)
    return done


def test_add_a_family_member(chat: ChatUser, world: World, db: Database) -> None:
    chat.consent()
    chat.register(world.adult_cid)
    [ask] = chat.say("เพิ่มสมาชิก")
    assert "เลขประจำตัวประชาชน 13 หลัก" in ask["text"] and "ยกเลิก" in quick_reply_labels(ask)
    [wrong] = chat.say(wrong_check_digit(world.child_cid))
    assert _th("CID_CHECK_DIGIT") in wrong["text"]
    [ask_birth] = chat.say(world.child_cid)
    assert mask_cid(world.child_cid) in ask_birth["text"]
    assert world.child_cid not in ask_birth["text"] and "วันเดือนปีเกิด" in ask_birth["text"]
    [ask_phone] = chat.say(birth_date(world.child_cid, be=True))
    assert "เบอร์โทรศัพท์มือถือ" in ask_phone["text"]
    [ask_relation] = chat.say("0898765432")
    labels = quick_reply_labels(ask_relation)
    assert labels[:3] == ["คู่สมรส", "บุตร", "บิดา/มารดา"] and labels[-1] == "ยกเลิก"
    assert all(len(label) <= 20 for label in labels) and len(labels) <= 13

    [unknown] = chat.say("เพื่อนบ้าน")
    assert _th("RELATION_INVALID") in unknown["text"]
    assert "บุตร" in quick_reply_labels(unknown)  # asked again with the same choices

    [done] = chat.choose(unknown, "บุตร")
    assert done["text"].startswith("เพิ่มบุคคลในครอบครัวเรียบร้อยแล้ว")
    assert "ภูมิ ใจดี" in done["text"] and "1/5" in done["text"]
    assert _family(db) == [(1, "child", "0898765432")]

    [listing] = chat.say("ครอบครัว")
    assert "สมชาย ใจดี" in listing["text"] and "ภูมิ ใจดี (บุตร)" in listing["text"]
    assert mask_cid(world.child_cid) in listing["text"]
    assert world.child_cid not in listing["text"] and "089-xxx-5432" in listing["text"]
    assert "ยังไม่ยืนยันตัวตน" in listing["text"] and "ThaID" in listing["text"]
    assert {"เพิ่มสมาชิก", "ลบสมาชิก"} <= set(quick_reply_labels(listing))


def test_family_needs_the_holder_registered_first(
    chat: ChatUser, world: World, db: Database
) -> None:
    chat.consent()
    [answer] = chat.say("เพิ่มสมาชิก")
    assert "ลงทะเบียน" in answer["text"] and "ลงทะเบียน" in quick_reply_labels(answer)
    with db.sessionmaker() as session:
        assert session.scalars(select(ChatConversation)).all() == []


def test_the_same_refusals_and_the_cap_of_five(chat: ChatUser, world: World, db: Database) -> None:
    chat.consent()
    chat.register(world.adult_cid)
    chat.say("เพิ่มสมาชิก")
    chat.say(world.adult_cid)
    [again] = chat.say(birth_date(world.adult_cid, be=True))  # the holder is listed already
    assert _th("FAMILY_ALREADY_LINKED") in again["text"]
    chat.say("ยกเลิก")
    for cid in world.family_cids[:5]:
        done = _add(chat, cid)
        assert done["text"].startswith("เพิ่มบุคคลในครอบครัวเรียบร้อยแล้ว"), done["text"]
    assert [slot for slot, _, _ in _family(db)] == [1, 2, 3, 4, 5]
    assert "5/5" in done["text"] and "เพิ่มสมาชิก" not in quick_reply_labels(done)
    [full] = chat.say("เพิ่มสมาชิก")
    assert _th("FAMILY_FULL") in full["text"]
    assert len(_family(db)) == 5


def test_remove_a_family_member_after_confirming(
    chat: ChatUser, world: World, db: Database
) -> None:
    chat.consent()
    chat.register(world.adult_cid)
    _add(chat, world.child_cid)
    _add(chat, world.spouse_cid, relation="คู่สมรส")
    [choose] = chat.say("ลบสมาชิก")
    assert set(quick_reply_labels(choose)) == {"ด.ช.ภูมิ ใจดี", "นางสมหญิง ใจดี", "ยกเลิก"}
    [confirm] = chat.choose(choose, "ด.ช.ภูมิ ใจดี")
    assert confirm["type"] == "template" and "ยืนยันการลบ" in confirm["template"]["text"]
    [kept] = chat.choose(confirm, "ไม่ลบ")
    assert kept["text"].startswith("ไม่ได้ลบ") and len(_family(db)) == 2

    removed, listing = chat.choose(confirm, "ยืนยัน")
    assert removed["text"].startswith("ลบ ด.ช.ภูมิ ใจดี ออกจากรายชื่อเรียบร้อยแล้ว")
    assert "ภูมิ" not in listing["text"] and "(ครอบครัว 1/5 คน)" in listing["text"]
    assert _family(db) == [(2, "spouse", "0898765432")]
    # The holder is never offered, and another account's link id is not found.
    assert "สมชาย" not in str(quick_reply_labels(chat.say("ลบสมาชิก")[0]))
    data = quick_reply_action(confirm, "ยืนยัน")["data"]
    [gone] = chat.tap(data)
    assert _th("FAMILY_MEMBER_NOT_FOUND") in gone["text"]

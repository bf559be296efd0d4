"""Registering oneself inside the LINE chat: each answer checked like the LIFF pages."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from authencode.cid import mask_cid
from authencode.db import Database
from authencode.errors import DomainError
from authencode.models import ChatConversation, FamilyLink, LineAccount
from authencode.reference import RIGHTS
from authencode.services.consent import CONSENT_TEXT_TH
from authencode.services.registration import SELF_PENDING_TH
from linebot_app.sender import OutboxSender
from tests.support.factories import birth_date, make_person, new_cid
from tests.support.fake_line import FakeLineServer
from tests.support.liff import World
from tests.support.line_bot import (
    ChatUser,
    Clock,
    drain,
    quick_reply_labels,
    wrong_check_digit,
)


def _th(code: str, **params: Any) -> str:
    """The Thai message the LIFF API answers with for this refusal."""
    return DomainError(code, **params).message_th


def _links(db: Database) -> list[FamilyLink]:
    with db.sessionmaker() as session:
        return list(session.scalars(select(FamilyLink).order_by(FamilyLink.slot)))


def _conversations(db: Database) -> list[ChatConversation]:
    with db.sessionmaker() as session:
        return list(session.scalars(select(ChatConversation)))


def test_register_with_a_wrong_check_digit_then_the_right_one(
    chat: ChatUser,
    world: World,
    db: Database,
    sender: OutboxSender,
    clock: Clock,
    fake_line: FakeLineServer,
) -> None:
    chat.consent()
    [ask] = chat.say("ลงทะเบียน")
    assert "เลขประจำตัวประชาชน 13 หลัก" in ask["text"]
    assert "ยกเลิก" in quick_reply_labels(ask)

    [wrong] = chat.say(wrong_check_digit(world.adult_cid))
    assert _th("CID_CHECK_DIGIT") in wrong["text"]
    assert "อีกครั้ง" in wrong["text"] and "ยกเลิก" in quick_reply_labels(wrong)

    [ask_birth] = chat.say(world.adult_cid)
    assert mask_cid(world.adult_cid) in ask_birth["text"]
    assert "วันเดือนปีเกิด" in ask_birth["text"] and "2533" in ask_birth["text"]
    [bad_birth] = chat.say("31/02/2533")
    assert _th("BIRTH_DATE_INVALID") in bad_birth["text"]
    [ask_phone] = chat.say(birth_date(world.adult_cid, be=True))  # as Thai users type it
    assert "เบอร์โทรศัพท์มือถือ" in ask_phone["text"]

    [bad_phone] = chat.say("02-123-4567")
    assert _th("PHONE_INVALID") in bad_phone["text"]
    assert _links(db) == []

    [done] = chat.say("081-234-5678")
    assert done["text"].startswith("ลงทะเบียนเรียบร้อยแล้ว")
    assert "สมชาย ใจดี" in done["text"] and "081-xxx-5678" in done["text"]
    assert "ยังไม่ยืนยันตัวตน" in done["text"] and "ThaID" in done["text"]
    [link] = _links(db)
    assert (link.slot, link.relation, link.phone) == (0, "self", "0812345678")
    assert _conversations(db) == []  # the typed answers are gone with the dialogue

    # Everything reaches LINE through the worker; a typed CID is never echoed in full.
    drain(sender, clock)
    delivered = json.dumps([d.messages for d in fake_line.delivered], ensure_ascii=False)
    assert "ลงทะเบียนเรียบร้อยแล้ว" in delivered
    assert world.adult_cid not in delivered
    assert wrong_check_digit(world.adult_cid) not in delivered


def test_the_same_refusals_as_the_liff_pages(
    chat: ChatUser, world: World, db: Database, protector: Any
) -> None:
    chat.consent()
    chat.say("ลงทะเบียน")
    for typed, expected in {
        "12345": _th("CID_LENGTH"),
        "abcdefghijklm": _th("CID_NOT_DIGITS"),
    }.items():
        [answer] = chat.say(typed)
        assert expected in answer["text"], typed
    # Nothing is said about a person before their birth date matches: a wrong one gets
    # the answer of an unknown CID, and the CID is asked for again.
    wrong_birth = "01/01/2500"
    cases = {
        (new_cid(), wrong_birth): _th("PERSON_NOT_FOUND"),
        (world.teen_cid, wrong_birth): _th("PERSON_NOT_FOUND"),
        (world.officer_cid, wrong_birth): _th("PERSON_NOT_FOUND"),
        (world.teen_cid, birth_date(world.teen_cid, be=True)): _th("AGE_TOO_YOUNG", min_age=15),
        (world.officer_cid, birth_date(world.officer_cid, be=True)): _th(
            "RIGHT_NOT_ELIGIBLE",
            right=RIGHTS[("main", "OFC")].label_th,
            right_en=RIGHTS[("main", "OFC")].label_en,
        ),
    }
    for (cid, birth), expected in cases.items():
        [ask_birth] = chat.say(cid)
        assert "วันเดือนปีเกิด" in ask_birth["text"], cid
        [answer] = chat.say(birth)
        assert expected in answer["text"], (cid, birth)
        assert "เลขประจำตัวประชาชน 13 หลักอีกครั้ง" in answer["text"]
    # A CID that is already another LINE account's own: a pending link, and how to move it.
    other = ChatUser(chat.client, db, "U" + "b" * 32)
    other.consent()
    other.register(world.spouse_cid)
    chat.say(world.spouse_cid)
    chat.say(birth_date(world.spouse_cid, be=True))
    [pending] = chat.say("0812345678")
    assert pending["text"] == SELF_PENDING_TH and "1330" not in pending["text"]
    assert sorted(link.level for link in _links(db)) == ["claimed", "pending"]
    [again] = chat.say("ลงทะเบียน")  # no name of the person while it waits
    assert again["text"] == SELF_PENDING_TH


def test_consent_comes_first(chat: ChatUser, world: World, db: Database) -> None:
    first, consent_text, confirm = chat.say("ลงทะเบียน")
    assert "ความยินยอม" in first["text"]
    assert consent_text["text"] == CONSENT_TEXT_TH and confirm["type"] == "template"
    assert _conversations(db) == []
    [answer] = chat.say(world.adult_cid)  # not taken as an answer: no dialogue is open
    assert 'พิมพ์ "ลงทะเบียน"' in answer["text"]
    assert world.adult_cid not in answer["text"]


def test_cancel_at_any_step(chat: ChatUser, world: World, db: Database) -> None:
    chat.consent()
    [ask] = chat.say("ลงทะเบียน")
    [cancelled] = chat.choose(ask, "ยกเลิก")
    assert cancelled["text"].startswith("ยกเลิกแล้ว")
    assert _conversations(db) == []

    chat.say("ลงทะเบียน")
    [ask_phone] = chat.say(world.adult_cid)
    [cancelled] = chat.choose(ask_phone, "ยกเลิก")
    assert cancelled["text"].startswith("ยกเลิกแล้ว")
    [after] = chat.say("0812345678")  # no longer an answer to anything
    assert not after["text"].startswith("ลงทะเบียนเรียบร้อย")
    assert _links(db) == [] and _conversations(db) == []
    [nothing] = chat.say("ยกเลิก")
    assert "ไม่มีขั้นตอนที่ค้างอยู่" in nothing["text"]


def test_typed_answers_are_stored_encrypted(chat: ChatUser, world: World, db: Database) -> None:
    chat.consent()
    chat.say("ลงทะเบียน")
    chat.say(world.adult_cid)
    chat.say(birth_date(world.adult_cid, be=True))
    [row] = _conversations(db)
    assert (row.flow, row.step) == ("register", "phone")
    assert row.data_enc is not None
    assert world.adult_cid.encode() not in row.data_enc
    assert birth_date(world.adult_cid).encode() not in row.data_enc


def test_the_dialogue_expires_after_minutes_of_silence(
    chat: ChatUser, world: World, db: Database, chat_clock: Clock
) -> None:
    chat.consent()
    chat.say("ลงทะเบียน")
    chat_clock.advance(4 * 60)
    chat.say(world.adult_cid)  # an answer starts the silence again
    chat_clock.advance(4 * 60)
    chat.say(birth_date(world.adult_cid, be=True))
    chat_clock.advance(4 * 60)
    [ask] = chat.say("12")
    assert _th("PHONE_INVALID") in ask["text"]
    chat_clock.advance(5 * 60 + 1)
    [expired] = chat.say("0812345678")
    assert "หมดเวลา" in expired["text"] and "5 นาที" in expired["text"]
    assert "ลงทะเบียน" in quick_reply_labels(expired)
    assert _links(db) == [] and _conversations(db) == []
    # Starting again works from the first step.
    [ask_cid] = chat.say("ลงทะเบียน")
    assert "เลขประจำตัวประชาชน 13 หลัก" in ask_cid["text"]


def test_a_registered_account_is_told_so(chat: ChatUser, world: World, db: Database) -> None:
    chat.consent()
    chat.register(world.adult_cid)
    [answer] = chat.say("ลงทะเบียน")
    assert answer["text"].startswith("บัญชี LINE นี้ลงทะเบียนแล้ว")
    assert mask_cid(world.adult_cid) in answer["text"]
    assert _conversations(db) == []


def test_withdrawing_consent_ends_the_dialogue(
    chat: ChatUser, world: World, db: Database, protector: Any
) -> None:
    from linebot_app.messages import PB_WITHDRAW_CONFIRM

    chat.consent()
    chat.say("ลงทะเบียน")
    chat.say(world.adult_cid)
    chat.tap(PB_WITHDRAW_CONFIRM)
    assert _conversations(db) == []
    with db.sessionmaker() as session:
        account = session.scalar(select(LineAccount))
        assert account is not None and account.consent_version is None


def test_the_worker_purges_forgotten_dialogues(
    chat: ChatUser, world: World, db: Database, chat_clock: Clock
) -> None:
    from authencode.settings import RetentionPolicy
    from linebot_app.worker import RetentionJob

    chat.consent()
    chat.say("ลงทะเบียน")
    chat.say(world.adult_cid)
    job = RetentionJob(db, RetentionPolicy(), clock=chat_clock)
    assert job.run_once() == 0 and len(_conversations(db)) == 1
    chat_clock.advance(6 * 60)
    job.run_once()
    assert _conversations(db) == []


def test_registry_person_made_here_can_register(
    chat: ChatUser, db: Database, protector: Any, world: World
) -> None:
    # A CID typed with dashes and spaces, as people copy it from their card.
    cid = new_cid()
    with db.transaction() as session:
        make_person(session, protector, cid, first_name_th="มานี")
    chat.consent()
    chat.say("ลงทะเบียน")
    chat.say(f"{cid[0]}-{cid[1:5]}-{cid[5:10]}-{cid[10:12]}-{cid[12]}")
    chat.say("๑๗/๐๕/๒๕๓๓")  # Thai digits, Buddhist era
    [done] = chat.say("+66812345678")
    assert "มานี" in done["text"]


def test_a_new_command_replaces_the_open_dialogue(
    chat: ChatUser, world: World, db: Database
) -> None:
    chat.consent()
    chat.register(world.adult_cid)
    chat.say("เพิ่มสมาชิก")
    chat.say(world.child_cid)
    [listing] = chat.say("ครอบครัว")  # a command in between leaves the dialogue open
    assert "สมชาย ใจดี" in listing["text"]
    chat.say(birth_date(world.child_cid, be=True))
    [ask_relation] = chat.say("0898765432")
    assert "บุตร" in quick_reply_labels(ask_relation)
    [ask_cid] = chat.say("เพิ่มสมาชิก")  # starting again starts from the first step
    assert "ขั้นตอนที่ 1/4" in ask_cid["text"]
    [row] = _conversations(db)
    assert (row.flow, row.step) == ("family_add", "cid")

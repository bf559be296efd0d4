"""Who may act for a person, through the LINE chat: the attack of issue 17 replayed (a
stranger adds a self-registered, verified person's ID), and levels shown in Thai."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from authencode.db import Database
from authencode.errors import DomainError
from authencode.models import AuthenCode, FamilyLink, LineAccount
from authencode.services import link_trust
from linebot_app.chat_code import PB_CODE
from tests.support.factories import birth_date
from tests.support.liff import World
from tests.support.line_bot import ChatUser
from tests.support.links import verify_links

VICTIM = "U" + "v" * 32


def _code_of(flex: dict[str, object]) -> str:
    text = json.dumps(flex, ensure_ascii=False)
    return next(word for word in text.replace('"', " ").split() if word.startswith("PP"))


def _pending_link_id(db: Database, user_id: str) -> int:
    with db.sessionmaker() as session:
        link_id = session.scalar(
            select(FamilyLink.id)
            .join(LineAccount)
            .where(LineAccount.line_user_id == user_id, FamilyLink.level == "pending")
        )
        assert link_id is not None
        return link_id


def _codes(db: Database) -> int:
    with db.sessionmaker() as session:
        return session.scalar(select(func.count()).select_from(AuthenCode)) or 0


def test_a_stranger_adding_a_verified_persons_id_in_the_chat_gets_nothing(
    chat: ChatUser, world: World, db: Database
) -> None:
    victim = ChatUser(chat.client, db, VICTIM)
    victim.consent()
    victim.register(world.adult_cid)
    verify_links(db, VICTIM)
    flex, _note = victim.say(world.poster_url())
    own = _code_of(flex)

    chat.consent()
    chat.register(world.family_cids[0])
    chat.say("เพิ่มสมาชิก")
    chat.say(world.adult_cid)
    chat.say(birth_date(world.adult_cid, be=True))
    [relation] = chat.say("0898765432")
    [added] = chat.choose(relation, "ญาติ")
    assert added["text"].startswith("บันทึกคำขอเพิ่มบุคคลแล้ว")
    assert link_trust.PENDING_TH in added["text"] and "สมชาย" not in added["text"]

    [listing] = chat.say("ครอบครัว")
    assert "รอการอนุมัติ" in listing["text"] and "สมชาย" not in listing["text"]
    history = json.dumps(chat.say("ประวัติ"), ensure_ascii=False)
    assert own not in history and "สมชาย" not in history
    rights = json.dumps(chat.say("ตรวจสอบสิทธิ"), ensure_ascii=False)
    assert "สมชาย" not in rights and "(UCS)" not in rights
    assert "รอการอนุมัติ" in rights

    # No code in their name: the chat does not offer the person, and a forged tap is refused.
    before = _codes(db)
    for scanned in (world.poster_url("PG0090001"), world.display_url("PG0090001")):
        token = scanned.rsplit("/", 1)[1]
        [refused] = chat.tap(
            PB_CODE.format(link_id=_pending_link_id(db, chat.user_id), token=token)
        )
        assert DomainError("LINK_PENDING").message_th in refused["text"]
    assert _codes(db) == before


def test_levels_and_how_to_verify_in_the_chat(chat: ChatUser, world: World, db: Database) -> None:
    chat.consent()
    chat.register(world.adult_cid)
    [listing] = chat.say("ครอบครัว")
    assert "ยังไม่ยืนยันตัวตน" in listing["text"] and "ThaID" in listing["text"]
    rights = json.dumps(chat.say("ตรวจสอบสิทธิ"), ensure_ascii=False)
    assert "มีสิทธิใช้บริการนี้" in rights and "(UCS)" not in rights
    verify_links(db, chat.user_id)
    [listing] = chat.say("ครอบครัว")
    assert "ยืนยันตัวตนแล้ว" in listing["text"] and "ThaID" not in listing["text"]
    rights = json.dumps(chat.say("ตรวจสอบสิทธิ"), ensure_ascii=False)
    assert '"สิทธิหลัก"' in rights and "(UCS) สิทธิหลักประกันสุขภาพแห่งชาติ" in rights

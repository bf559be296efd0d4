"""Counter verification in the LINE chat: "ยืนยันตัวตน" gives a one-time code that a clinic's
counter page accepts, choosing the person first when several links are unverified."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from authencode.crypto import DataProtector
from authencode.db import Database
from authencode.errors import DomainError
from authencode.models import FamilyLink
from authencode.services import counter_verify
from tests.support.factories import birth_date
from tests.support.liff import World
from tests.support.line_bot import ChatUser, quick_reply_labels

_CODE = re.compile(r"รหัสยืนยันตัวตนของ .+: (\d{6})")


def _code(message: dict[str, object]) -> str:
    found = _CODE.search(str(message["text"]))
    assert found, message["text"]
    return found.group(1)


def test_the_chat_gives_a_code_the_counter_accepts(
    chat: ChatUser, world: World, db: Database, protector: DataProtector
) -> None:
    chat.consent()
    chat.register(world.adult_cid)
    [answer] = chat.say("ยืนยันตัวตน")
    code = _code(answer)
    assert "บัตรประชาชน" in answer["text"] and "/family" in answer["text"]
    with db.sessionmaker() as session:
        case = counter_verify.look_up(session, protector, code)
        assert case.person.full_name_th.endswith("สมชาย ใจดี")

    # A second request replaces the first code.
    [again] = chat.say("ยืนยันตัวตน")
    if _code(again) != code:
        with db.sessionmaker() as session, pytest.raises(DomainError) as replaced:
            counter_verify.look_up(session, protector, code)
        assert replaced.value.code == "VERIFY_CODE_UNKNOWN"


def test_with_several_unverified_people_the_chat_asks_whose(
    chat: ChatUser, world: World, db: Database
) -> None:
    chat.consent()
    chat.register(world.adult_cid)
    chat.say("เพิ่มสมาชิก")
    chat.say(world.child_cid)
    chat.say(birth_date(world.child_cid, be=True))
    [ask_relation] = chat.say("0898765432")
    chat.choose(ask_relation, "บุตร")
    [choose] = chat.say("ยืนยันตัวตน")
    labels = quick_reply_labels(choose)
    assert any("ภูมิ" in label for label in labels) and labels[-1] == "ยกเลิก"
    [answer] = chat.choose(choose, next(label for label in labels if "ภูมิ" in label))
    assert "ภูมิ" in answer["text"] and "ของผู้ปกครอง" in answer["text"]  # a child: 9 years
    _code(answer)

    with db.transaction() as session:
        for link in session.scalars(select(FamilyLink)):
            link.level = "verified"
    [done] = chat.say("ยืนยันตัวตน")
    assert "ยืนยันตัวตนเรียบร้อยแล้ว" in done["text"]

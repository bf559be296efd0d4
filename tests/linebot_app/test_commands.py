"""The command table: every row answers by its typed aliases, its ``chat:`` postback and its
rich-menu item, through the webhook, with what its handler answers."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from authencode.db import Database
from authencode.errors import DomainError
from authencode.models import FamilyLink, LineAccount
from authencode.settings import Settings
from linebot_app import chat as chat_path
from linebot_app import commands, richmenu
from linebot_app.chat_messages import refusal
from linebot_app.commands import Command
from linebot_app.context import EventContext
from tests.support.factories import birth_date
from tests.support.liff import World
from tests.support.line_bot import USER_ID, ChatUser


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # One user asks for every command every way: more events than a minute's fair share.
    return settings.with_overrides(rate_limits={**settings.rate_limits, "line_user": 1000})


def _handler_answer(
    app: Any, db: Database, command: Command, args: list[str] | None = None
) -> list[dict[str, Any]]:
    """What the row's handler answers now (consent first), its effects rolled back."""
    with app.app_context(), db.sessionmaker() as session:
        account = session.scalar(select(LineAccount).where(LineAccount.line_user_id == USER_ID))
        assert account is not None
        ctx = EventContext(session=session, settings=app.extensions["authencode"].settings)
        try:
            return chat_path.run_command(ctx, account, command, args)
        except DomainError as error:
            return refusal(error)
        finally:
            session.rollback()


def _same(answer: list[dict[str, Any]], expected: list[dict[str, Any]]) -> bool:
    """Equal but for digits (an issued code's number, a clock read a moment later)."""

    def shape(messages: list[dict[str, Any]]) -> str:
        return re.sub(r"\d", "0", json.dumps(messages, ensure_ascii=False, sort_keys=True))

    return shape(answer) == shape(expected)


def _member_with_family(chat: ChatUser, world: World) -> None:
    chat.consent()
    chat.register(world.adult_cid)
    chat.say("เพิ่มสมาชิก")
    chat.say(world.child_cid)
    chat.say(birth_date(world.child_cid, be=True))
    [ask_relation] = chat.say("0898765432")
    [done] = chat.choose(ask_relation, "บุตร")
    assert "เรียบร้อย" in done["text"], done["text"]


def _args(db: Database, world: World) -> dict[str, list[str]]:
    with db.sessionmaker() as session:
        child = session.scalars(select(FamilyLink).where(FamilyLink.slot > 0)).one()
    token = world.poster_url().rsplit("/", 1)[1]
    return {
        "code": [str(child.id), token],
        "remove": [str(child.id)],
        "history_of": [str(child.id)],
        "verify_code": [str(child.id)],
        # Nothing to approve, decline or unlink here: the core's refusal (or the list of
        # who linked the person) answers, as from a copied postback.
        "approve": ["999999"],
        "decline": ["999999"],
        "not_me": ["a", "999999"],
        "unlink": ["999999"],
    }


def test_every_command_answers_by_each_way_it_is_asked(
    app: Any, chat: ChatUser, world: World, db: Database
) -> None:
    _member_with_family(chat, world)
    args = _args(db, world)
    menus = {
        spec.kind: spec.to_json()["areas"]
        for spec in richmenu.menu_specs(app.extensions["authencode"].settings)
    }
    asked = {"typed": 0, "postback": 0, "menu": 0, "button": 0}
    for command in commands.COMMANDS:
        assert command.aliases or command.postback or command.menu_item, command.name
        for alias in command.aliases:
            for typed in (alias, f"  {alias.upper()} "):
                expected = _handler_answer(app, db, command)
                assert _same(chat.say(typed), expected), (command.name, typed)
                asked["typed"] += 1
        if command.postback:
            data = ":".join((command.postback, *args[command.name]))
            expected = _handler_answer(app, db, command, args[command.name])
            assert _same(chat.tap(data), expected), (command.name, data)
            asked["postback"] += 1
        if command.menu_item:
            expected = _handler_answer(app, db, command)
            assert _same(chat.tap(f"menu:{command.menu_item}"), expected), command.name
            asked["menu"] += 1
        if command.button:
            for kind, place in command.button.places:
                action = menus[kind][place]["action"]
                assert action["label"] == command.button.label, command.name
                if action["type"] == "postback":  # tapped as deployed menus post it back
                    expected = _handler_answer(app, db, command)
                    assert _same(chat.tap(action["data"]), expected), (command.name, kind)
                else:
                    assert action["uri"] == command.button.uri or action["uri"].endswith(
                        f"/liff{command.button.liff_path}"
                    ), command.name
                asked["button"] += 1
    assert asked == {"typed": 2 * 22, "postback": 8, "menu": 10, "button": 9}


def test_a_row_answers_apart_from_what_is_not_a_command(chat: ChatUser, world: World) -> None:
    # The table decides: an unknown action or item gets the fallback, not some row's answer.
    _member_with_family(chat, world)
    [unknown_item] = chat.tap("menu:nothing")
    [unknown_action] = chat.tap("chat:nothing:1")
    own_unknown = chat.tap("own:nothing")
    assert unknown_item["text"].startswith("ขออภัยค่ะ")
    assert unknown_action["text"] == "ไม่มีขั้นตอนที่ค้างอยู่ค่ะ เลือกบริการจากเมนูด้านล่างได้เลย"
    assert own_unknown == chat.say("ใครเชื่อมโยงฉัน")  # the person's own list of links
    assert commands.typed("ยกเลิก") is commands.CANCEL
    assert commands.of_postback("chat", "remove", ["1", "yes", "extra"]) is None


def test_the_postbacks_the_bot_sends_are_rows_of_the_table() -> None:
    from linebot_app import chat_code, chat_family, chat_owner, chat_verify, notify

    sent = {
        "code": chat_code.PB_CODE.format(link_id=1, token="t"),
        "remove": chat_family.PB_REMOVE.format(link_id=1),
        "history_of": "chat:history:1",  # answers' per-person history quick replies
        "verify_code": chat_verify.PB_VERIFY.format(link_id=1),
        "approve": notify.PB_APPROVE.format(approval_id=1),
        "decline": notify.PB_DECLINE.format(approval_id=1),
        "not_me": notify.PB_NOT_ME_CODE.format(code_id=1),
        "unlink": chat_owner.PB_UNLINK.format(link_id=1),
    }
    for name, data in sent.items():
        kind, action, *args = data.split(":")
        assert commands.of_postback(kind, action, args) is commands.named(name), data
    assert notify.PB_NOT_ME_ACCOUNT.format(account_id=1).split(":")[:3] == ["own", "notme", "a"]

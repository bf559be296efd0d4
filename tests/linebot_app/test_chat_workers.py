"""The dialogue state lives in the database: several web workers, restarts, concurrent messages."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from authencode.cid import mask_cid
from authencode.crypto import DataProtector
from authencode.db import Database, utcnow
from authencode.errors import DomainError
from authencode.models import FamilyLink, LineAccount, OutboxMessage
from authencode.services import conversations
from authencode.settings import Settings
from tests.support.factories import birth_date
from tests.support.liff import World
from tests.support.line_bot import USER_ID, ChatUser, post, text, webhook


def _new_app(settings: Settings) -> Any:
    from authencode.app import create_app

    app = create_app(settings)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def second_app(settings: Settings) -> Iterator[Any]:
    """Another web worker: its own application, engine and connections, the same database."""
    app = _new_app(settings)
    yield app
    app.extensions["authencode"].db.dispose()


def _links(db: Database) -> list[FamilyLink]:
    with db.sessionmaker() as session:
        return list(session.scalars(select(FamilyLink).order_by(FamilyLink.slot)))


def test_consecutive_messages_on_two_workers_and_a_restart(
    app: Any, second_app: Any, settings: Settings, db: Database, world: World
) -> None:
    one = ChatUser(app.test_client(), db)
    two = one.via(second_app.test_client())
    one.consent()
    two.say("ลงทะเบียน")
    one.say(world.adult_cid)
    two.say(birth_date(world.adult_cid, be=True))
    [registered] = one.say("0812345678")
    assert registered["text"].startswith("ลงทะเบียนเรียบร้อยแล้ว")

    one.say("เพิ่มสมาชิก")
    two.say(world.child_cid)
    one.say(birth_date(world.child_cid, be=True))
    # The second worker restarts between two answers: nothing was kept in its memory.
    second_app.extensions["authencode"].db.dispose()
    restarted = _new_app(settings)
    try:
        three = one.via(restarted.test_client())
        [ask_relation] = three.say("0898765432")
        assert "บุตร" in [i["action"]["label"] for i in ask_relation["quickReply"]["items"]]
        [added] = one.choose(ask_relation, "บุตร")
        assert added["text"].startswith("เพิ่มบุคคลในครอบครัวเรียบร้อยแล้ว")
    finally:
        restarted.extensions["authencode"].db.dispose()
    assert [(link.slot, link.relation) for link in _links(db)] == [(0, "self"), (1, "child")]


def _at_once(clients: list[Any], messages: list[str]) -> None:
    """Each client posts its message at the same moment (two workers, one user)."""
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def send(client: Any, message: str) -> None:
        barrier.wait()
        statuses.append(post(client, webhook(text(message))).status_code)

    threads = [
        threading.Thread(target=send, args=pair) for pair in zip(clients, messages, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * len(clients)


def _last_texts(db: Database, count: int) -> list[str]:
    with db.sessionmaker() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.recipient == USER_ID)
            .order_by(OutboxMessage.id.desc())
            .limit(count)
        )
        return [row.payload["messages"][0]["text"] for row in rows]


def _stored_cid(db: Database, protector: DataProtector) -> str:
    with db.transaction() as session:
        account = session.scalar(select(LineAccount).where(LineAccount.line_user_id == USER_ID))
        assert account is not None
        current = conversations.lock_current(session, protector, account, utcnow())
        assert current.conversation is not None
        assert (current.conversation.flow, current.conversation.step) == ("family_add", "birth")
        return current.conversation.data["cid"]


def test_two_answers_at_once_are_applied_one_after_the_other(
    app: Any, second_app: Any, db: Database, world: World, protector: DataProtector
) -> None:
    one = ChatUser(app.test_client(), db)
    clients = [app.test_client(), second_app.test_client()]
    one.consent()
    one.register(world.adult_cid)
    for round_ in range(3):
        one.say("เพิ่มสมาชิก")
        first, second = world.family_cids[2 * round_], world.family_cids[2 * round_ + 1]
        _at_once(clients, [first, second])
        # One CID was taken at the CID step; the other then reached the birth date step.
        replies = _last_texts(db, 2)
        asked = [r for r in replies if "ขั้นตอนที่ 2/4" in r]
        refused = [r for r in replies if DomainError("BIRTH_DATE_INVALID").message_th in r]
        assert len(asked) == 1 and len(refused) == 1, replies
        kept = _stored_cid(db, protector)
        assert kept in (first, second) and mask_cid(kept) in asked[0]
        one.say("ยกเลิก")


def test_the_last_answer_sent_twice_at_once_registers_once(
    app: Any, second_app: Any, db: Database, world: World
) -> None:
    one = ChatUser(app.test_client(), db)
    one.consent()
    one.say("ลงทะเบียน")
    one.say(world.adult_cid)
    one.say(birth_date(world.adult_cid, be=True))
    _at_once([app.test_client(), second_app.test_client()], ["0812345678", "0812345678"])
    replies = _last_texts(db, 2)
    assert sum(r.startswith("ลงทะเบียนเรียบร้อยแล้ว") for r in replies) == 1, replies
    assert len(_links(db)) == 1

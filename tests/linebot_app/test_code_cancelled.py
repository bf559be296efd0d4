"""A code the clinic cancels is told to the LINE account that got it (linebot_app.notify's
code_cancelled), delivered by the outbox through the real line-bot-sdk to the fake LINE API:
which code, clinic, service and date (BE), and that the old code no longer works. Codes not
got in LINE are told to no one, no other account hears of it, and two cancels at once on
PostgreSQL send one message."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

import pytest
from sqlalchemy import select

from authencode.crypto import DataProtector
from authencode.db import Database
from authencode.models import AuthenCode, Facility, FamilyLink, LineAccount, OutboxMessage
from authencode.services import issuance, registration
from authencode.services.people import find_person
from authencode.thaidate import date_label
from linebot_app.sender import OutboxSender
from tests.support.clinic import ClinicClient, signed_in
from tests.support.factories import birth_date
from tests.support.fake_line import FakeLineServer
from tests.support.liff import World, new_user_id
from tests.support.line_bot import USER_ID, ChatUser, Clock, drain

FACILITY = "10675"  # the world's facility, รพ.สต.บ้านทดสอบ


@pytest.fixture
def clinic(client: Any, db: Database, protector: DataProtector) -> ClinicClient:
    """A staff member of the world's facility, signed in."""
    with db.sessionmaker() as session:
        facility = session.scalars(select(Facility).where(Facility.hcode == FACILITY)).one()
    return signed_in(client, db, protector, "counter", "staff", facility)


def _code_in_line(chat: ChatUser, world: World, cid: str) -> AuthenCode:
    """The chat user registers and gets today's code at the counter's QR."""
    chat.consent()
    chat.register(cid)
    flex, _note = chat.say(world.display_url())
    assert flex["type"] == "flex"
    with chat.db.sessionmaker() as session:
        code = session.scalars(select(AuthenCode).order_by(AuthenCode.id.desc()).limit(1)).one()
        assert code.line_account_id is not None
        session.expunge(code)
        return code


def _cancel(staff: ClinicClient, code_id: int, reason: str = "บันทึกผิดบริการ") -> Any:
    url = f"/clinic/facilities/{FACILITY}/records/{code_id}/cancel"
    return staff.post(url, {"cancel_reason": reason})


def _pushes(fake_line: FakeLineServer, to: str) -> list[list[dict[str, Any]]]:
    return [d.messages for d in fake_line.delivered if d.kind == "push" and d.to == to]


def _queued_pushes(db: Database) -> list[OutboxMessage]:
    with db.sessionmaker() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "push")))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_patient_is_told_which_code_and_that_it_no_longer_works(
    chat: ChatUser,
    world: World,
    clinic: ClinicClient,
    sender: OutboxSender,
    clock: Clock,
    fake_line: FakeLineServer,
) -> None:
    code = _code_in_line(chat, world, world.adult_cid)
    drain(sender, clock)  # the chat's own replies are out of the way
    # LINE takes the first push but its answer is lost: the worker sends it again with the
    # same retry key, and LINE delivers it once.
    fake_line.stall_next(1.0)
    assert _cancel(clinic, code.id).status_code == 302
    drain(sender, clock)

    [(text, shown)] = _pushes(fake_line, USER_ID)
    day = date_label(code.service_date)
    assert text["text"] == (
        f"หน่วยบริการยกเลิกรหัสเข้ารับบริการ {code.code} แล้วค่ะ\n"
        "ผู้รับบริการ: นายสมชาย ใจดี\n"
        "หน่วยบริการ: รพ.สต.บ้านทดสอบ (10675)\n"
        "บริการ: เข้ารับบริการรักษาทั่วไป (OPD/ IPD/ PP)\n"
        f"วันที่: {day}\n"
        f"รหัส {code.code} ใช้ไม่ได้อีกต่อไป หากยังต้องการรับบริการ กรุณาสอบถามเจ้าหน้าที่ที่หน่วยบริการ "
        "หรือขอรหัสใหม่โดยสแกน QR Code ของหน่วยบริการ"
    )
    assert day.endswith(str(code.service_date.year + 543))  # Buddhist era
    assert shown["type"] == "flex" and shown["altText"] == f"รหัส {code.code} ถูกยกเลิกแล้ว"
    assert "รหัสถูกยกเลิกแล้ว" in str(shown["contents"])  # the code shown struck through
    pushed = [r for r in fake_line.requests if r.path.endswith("/message/push")]
    assert len(pushed) == 2  # the lost answer and the retry...
    assert len({r.headers.get("X-Line-Retry-Key") for r in pushed}) == 1  # ...with one key
    # Cancelled already: a second cancel is refused and tells no one again.
    assert _cancel(clinic, code.id).status_code == 409
    drain(sender, clock)
    assert len(_pushes(fake_line, USER_ID)) == 1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_code_not_got_in_line_is_told_to_no_one(
    chat: ChatUser, world: World, clinic: ClinicClient, db: Database, protector: DataProtector
) -> None:
    chat.consent()
    chat.register(world.adult_cid)  # the person has a LINE account, but got this code at the desk
    with db.transaction() as session:
        person = find_person(session, protector, world.adult_cid)
        assert person is not None
        counter = issuance.issue_code(
            session,
            person,
            hcode=FACILITY,
            service_code="PG0060001",
            phones="0812345678",
            channel="smartcard",
        ).code
        code_id = counter.id
    before = len(_queued_pushes(db))
    assert _cancel(clinic, code_id).status_code == 302
    assert len(_queued_pushes(db)) == before


def _with_child(user: ChatUser, cid: str, child_cid: str) -> None:
    """The user registers themself and adds the child."""
    user.consent()
    user.register(cid)
    user.say("เพิ่มสมาชิก")
    user.say(child_cid)
    user.say(birth_date(child_cid, be=True))
    [relation] = user.say("0898765432")
    user.choose(relation, "บุตร")


def _childs_code(user: ChatUser, world: World, service: str) -> AuthenCode:
    [choose] = user.say(world.display_url(service))
    flex, _note = user.choose(choose, "ด.ช.ภูมิ ใจดี")
    code = flex["contents"]["body"]["contents"][1]["text"]
    with user.db.sessionmaker() as session:
        row = session.scalars(select(AuthenCode).where(AuthenCode.code == code)).one()
        session.expunge(row)
        return row


def _pushes_by_recipient(db: Database) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in _queued_pushes(db):
        counts[row.recipient] = counts.get(row.recipient, 0) + 1
    return counts


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_no_other_account_hears_of_it_nor_one_that_no_longer_acts_for_the_person(
    chat: ChatUser, client: Any, world: World, clinic: ClinicClient, db: Database
) -> None:
    # Both parents' accounts act for the child; the father's got the code.
    father, mother = chat, ChatUser(client, db, new_user_id())
    _with_child(father, world.adult_cid, world.child_cid)
    _with_child(mother, world.spouse_cid, world.child_cid)
    code = _childs_code(father, world, "PG0060001")
    before = _pushes_by_recipient(db)
    assert _cancel(clinic, code.id).status_code == 302
    after = _pushes_by_recipient(db)
    assert after.get(father.user_id, 0) == before.get(father.user_id, 0) + 1
    assert after.get(mother.user_id, 0) == before.get(mother.user_id, 0)

    # The father removes the child; a later code he got for the child, cancelled, is told to
    # no one (not to him, not to the mother who did not get it).
    second = _childs_code(father, world, "PG0090001")
    with db.transaction() as session:
        account = session.scalars(
            select(LineAccount).where(LineAccount.line_user_id == father.user_id)
        ).one()
        link = session.scalars(
            select(FamilyLink).where(
                FamilyLink.line_account_id == account.id,
                FamilyLink.person_id == second.person_id,
            )
        ).one()
        registration.remove_family_member(session, account, link.id)
    before = _pushes_by_recipient(db)
    assert _cancel(clinic, second.id).status_code == 302
    assert _pushes_by_recipient(db) == before


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_cancels_at_once_send_one_message(
    app: Any,
    chat: ChatUser,
    world: World,
    clinic: ClinicClient,
    db: Database,
    sender: OutboxSender,
    clock: Clock,
    fake_line: FakeLineServer,
) -> None:
    code = _code_in_line(chat, world, world.adult_cid)
    drain(sender, clock)
    tries = 6
    staff = [clinic] + [ClinicClient(app.test_client()) for _ in range(tries - 1)]
    for each in staff[1:]:
        each.login("counter")
    start = Barrier(tries)

    def cancel(n: int) -> int:
        start.wait(timeout=30)
        return int(_cancel(staff[n], code.id, f"ยกเลิกครั้งที่ {n}").status_code)

    with ThreadPoolExecutor(tries) as pool:
        statuses = sorted(pool.map(cancel, range(tries)))
    assert statuses == [302] + [409] * (tries - 1)
    drain(sender, clock)
    assert len(_pushes(fake_line, USER_ID)) == 1

"""The person's own say in the chat: approval requests, notices with "this was not me",
who has linked me, and reclaiming an ID, delivered through the real SDK to the fake LINE."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from authencode.crypto import DataProtector
from authencode.db import Database
from authencode.errors import DomainError
from authencode.models import AuditEntry, AuthenCode, FamilyLink, LinkApproval, OutboxMessage
from authencode.services import consent, line_accounts, link_trust
from authencode.services.people import find_person
from linebot_app import notify
from linebot_app.sender import OutboxSender
from linebot_app.worker import ApprovalExpiryJob
from tests.support.fake_line import FakeLineServer
from tests.support.liff import World, new_user_id
from tests.support.line_bot import (
    ChatUser,
    Clock,
    drain,
    quick_reply_action,
    quick_reply_labels,
)


def _th(code: str) -> str:
    return DomainError(code).message_th


def _owner(chat: ChatUser, world: World, db: Database, *, verified: bool = True) -> int:
    """The person (world.adult_cid) registered from their own account; verified at a counter."""
    chat.consent()
    chat.register(world.adult_cid)
    with db.transaction() as session:
        account, _ = line_accounts.get_or_create_account(session, chat.user_id)
        link = session.scalar(
            select(FamilyLink).where(FamilyLink.line_account_id == account.id, FamilyLink.slot == 0)
        )
        assert link is not None
        if verified:
            link_trust.verify_link(session, link, method="counter", actor="staff:1")
        return account.id


def _other_link(
    db: Database,
    protector: DataProtector,
    user_id: str,
    cid: str,
    *,
    level: str,
    slot: int = 1,
    relation: str = "child",
) -> int:
    """Another account's link to the person, made as registration makes it, then announced
    through notify.link_added as the front ends do after the registration service returns."""
    with db.transaction() as session:
        account, _ = line_accounts.get_or_create_account(session, user_id)
        if not account.has_consented:
            consent.accept(session, account, consent.CONSENT_VERSION)
        person = find_person(session, protector, cid)
        assert person is not None
        link = FamilyLink(
            line_account_id=account.id,
            person_id=person.id,
            slot=slot,
            relation=relation,
            phone="0898765432",
            level=level,
        )
        session.add(link)
        session.flush()
        notify.link_added(session, link)
        return link.id


def _link(db: Database, link_id: int) -> FamilyLink | None:
    with db.sessionmaker() as session:
        return session.get(FamilyLink, link_id)


def _actions(db: Database) -> list[str]:
    with db.sessionmaker() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def _approvals(db: Database) -> int:
    with db.sessionmaker() as session:
        return len(session.scalars(select(LinkApproval)).all())


def test_approving_by_quick_reply_verifies_the_link(
    chat: ChatUser,
    world: World,
    db: Database,
    protector: DataProtector,
    sender: OutboxSender,
    clock: Clock,
    fake_line: FakeLineServer,
) -> None:
    owner_id = _owner(chat, world, db)
    stranger = ChatUser(chat.client, db, new_user_id())
    link_id = _other_link(db, protector, stranger.user_id, world.adult_cid, level="pending")

    [ask] = chat.last()
    assert "สมชาย ใจดี" in ask["text"] and "24 ชั่วโมง" in ask["text"] and "บุตร" in ask["text"]
    assert quick_reply_labels(ask)[:2] == ["อนุมัติ", "ไม่อนุมัติ"]
    assert _approvals(db) == 1
    drain(sender, clock)  # the request reaches the person's LINE through the real SDK
    pushed = [d for d in fake_line.delivered if d.kind == "push" and d.to == chat.user_id]
    assert pushed and "24 ชั่วโมง" in pushed[-1].messages[0]["text"]

    [done] = chat.choose(ask, "อนุมัติ")
    assert done["text"].startswith("อนุมัติแล้ว")
    link = _link(db, link_id)
    assert link is not None and link.level == "verified"
    assert (link.verified_method, link.verified_by) == ("approval", f"line:{owner_id}")
    assert _approvals(db) == 0
    assert {"link.approval_requested", "link.verified"} <= set(_actions(db))

    # The same tap again: the request is closed, nothing changes.
    [again] = chat.choose(ask, "อนุมัติ")
    assert _th("APPROVAL_GONE") in again["text"]


def test_declining_removes_the_pending_link_and_tells_the_requester(
    chat: ChatUser, world: World, db: Database, protector: DataProtector
) -> None:
    _owner(chat, world, db)
    stranger = ChatUser(chat.client, db, new_user_id())
    link_id = _other_link(db, protector, stranger.user_id, world.adult_cid, level="pending")
    [ask] = chat.last()

    # Another account tapping the same postback (data copied from the chat) does nothing.
    [refused] = stranger.tap(quick_reply_action(ask, "อนุมัติ")["data"])
    assert _th("APPROVAL_GONE") in refused["text"]
    assert _link(db, link_id) is not None and _link(db, link_id).level == "pending"  # type: ignore[union-attr]

    [done] = chat.choose(ask, "ไม่อนุมัติ")
    assert done["text"].startswith("ไม่อนุมัติ")
    assert _link(db, link_id) is None and _approvals(db) == 0
    [told] = stranger.last()
    assert "ไม่ได้รับการอนุมัติ" in told["text"] and "สมชาย" not in told["text"]
    assert "link.approval_declined" in _actions(db)


def test_an_unanswered_request_expires_after_a_day(
    chat: ChatUser, world: World, db: Database, protector: DataProtector, chat_clock: Clock
) -> None:
    _owner(chat, world, db)
    stranger = ChatUser(chat.client, db, new_user_id())
    link_id = _other_link(db, protector, stranger.user_id, world.adult_cid, level="pending")
    [ask] = chat.last()
    job = ApprovalExpiryJob(db, clock=chat_clock)

    chat_clock.now = dt.datetime.now(dt.UTC) + dt.timedelta(hours=23)
    assert job.run_once() == 0 and _link(db, link_id) is not None

    chat_clock.now = dt.datetime.now(dt.UTC) + dt.timedelta(hours=24, seconds=1)
    # Tapped after the day and before the sweep: refused on the spot.
    [late] = chat.choose(ask, "อนุมัติ")
    assert _th("APPROVAL_GONE") in late["text"]
    assert _link(db, link_id) is not None and _link(db, link_id).level == "pending"  # type: ignore[union-attr]

    job = ApprovalExpiryJob(db, clock=chat_clock)
    assert job.run_once() == 1
    assert _link(db, link_id) is None and _approvals(db) == 0
    [told] = stranger.last()
    assert "ภายใน 24 ชั่วโมง" in told["text"]
    assert "link.approval_expired" in _actions(db)


def test_a_claimed_self_link_is_never_asked(
    chat: ChatUser, world: World, db: Database, protector: DataProtector
) -> None:
    _owner(chat, world, db, verified=False)
    before = chat.last()
    stranger = ChatUser(chat.client, db, new_user_id())
    _other_link(db, protector, stranger.user_id, world.adult_cid, level="pending")
    _other_link(db, protector, new_user_id(), world.adult_cid, level="claimed")
    assert chat.last() == before  # nothing pushed to the (maybe impostor) claimed account
    assert _approvals(db) == 0

    [refused] = chat.say("ใครเชื่อมโยงฉัน")
    assert _th("LINK_NOT_VERIFIED") in refused["text"]


def test_a_new_link_notice_and_this_was_not_me(
    chat: ChatUser, world: World, db: Database, protector: DataProtector
) -> None:
    _owner(chat, world, db)
    stranger = ChatUser(chat.client, db, new_user_id())
    link_id = _other_link(
        db, protector, stranger.user_id, world.adult_cid, level="claimed", relation="spouse"
    )
    [notice] = chat.last()
    assert "บัญชี LINE อื่น" in notice["text"] and "คู่สมรส" in notice["text"]
    assert "ยังไม่ยืนยันตัวตน" in notice["text"]

    [done] = chat.choose(notice, "ไม่ใช่ฉัน")
    assert "ยกเลิกการเชื่อมโยง" in done["text"]
    assert _link(db, link_id) is None
    [again] = chat.choose(notice, "ไม่ใช่ฉัน")
    assert "ไม่มีรายการที่ต้องดำเนินการเพิ่ม" in again["text"]
    assert "link.not_me" in _actions(db)


def _verified_family_link(
    db: Database, protector: DataProtector, stranger: ChatUser, world: World
) -> int:
    """The stranger registered with their own CID and holds a verified link to the person."""
    stranger.consent()
    stranger.register(world.spouse_cid)
    link_id = _other_link(db, protector, stranger.user_id, world.adult_cid, level="claimed")
    with db.transaction() as session:
        link = session.get(FamilyLink, link_id)
        assert link is not None
        link_trust.verify_link(session, link, method="counter", actor="staff:1")
    return link_id


def test_a_code_through_another_account_is_told_and_disputed(
    chat: ChatUser,
    world: World,
    db: Database,
    protector: DataProtector,
    sender: OutboxSender,
    clock: Clock,
    fake_line: FakeLineServer,
) -> None:
    _owner(chat, world, db)
    stranger = ChatUser(chat.client, db, new_user_id())
    link_id = _verified_family_link(db, protector, stranger, world)

    [choose] = stranger.say(world.poster_url())
    flex, _note = stranger.choose(choose, "นายสมชาย ใจดี")
    code = flex["contents"]["body"]["contents"][1]["text"]

    text, carousel = chat.last()
    assert "ผ่านบัญชี LINE อื่น" in text["text"]
    [bubble] = carousel["contents"]["contents"]
    assert bubble["body"]["contents"][1]["text"] == code
    button = bubble["footer"]["contents"][0]["action"]
    assert button["label"] == "ไม่ใช่ฉัน"
    drain(sender, clock)
    assert any(
        m.get("type") == "flex" and code in m.get("altText", "")
        for d in fake_line.delivered
        if d.to == chat.user_id
        for m in d.messages
    )

    # The stranger asking again the same day gets the same code: no second notice.
    before = chat.last()
    stranger.choose(choose, "นายสมชาย ใจดี")
    assert chat.last() == before

    [done] = chat.tap(button["data"])
    assert code in done["text"] and "ยกเลิกการเชื่อมโยง" in done["text"]
    assert _link(db, link_id) is None
    with db.sessionmaker() as session:
        row = session.scalar(select(AuthenCode).where(AuthenCode.code == code))
        assert row is not None and row.disputed_at is not None
    assert {"code.disputed", "link.not_me"} <= set(_actions(db))


def test_codes_of_the_account_itself_cannot_be_disputed(
    chat: ChatUser, world: World, db: Database
) -> None:
    _owner(chat, world, db)
    chat.say(world.poster_url())
    with db.sessionmaker() as session:
        own_code = session.scalar(select(AuthenCode))
        assert own_code is not None
    [refused] = chat.tap(notify.PB_NOT_ME_CODE.format(code_id=own_code.id))
    assert _th("CODE_NOT_FOUND") in refused["text"]


def test_who_has_linked_me_and_removing_one(
    chat: ChatUser, world: World, db: Database, protector: DataProtector
) -> None:
    _owner(chat, world, db)
    first = _other_link(
        db, protector, new_user_id(), world.adult_cid, level="claimed", relation="sibling"
    )
    second = _other_link(db, protector, new_user_id(), world.adult_cid, level="pending")
    [listing] = chat.say("ใครเชื่อมโยงฉัน")
    lines = listing["text"].splitlines()
    assert lines[0].endswith("(2 รายการ)")
    assert "บัญชี LINE อื่น" in lines[1] and "พี่/น้อง" in lines[1]
    assert "ยังไม่ยืนยันตัวตน" in lines[1] and "ตั้งแต่" in lines[1]
    assert str(dt.date.today().year + 543) in lines[1]
    assert "รออนุมัติจากท่าน" in lines[2]
    assert "อนุมัติรายการที่ 2" in quick_reply_labels(listing)  # the request, answerable here

    [confirm] = chat.choose(listing, "ยกเลิกรายการที่ 1")
    assert confirm["type"] == "template"
    [kept] = chat.choose(confirm, "ไม่ยกเลิก")
    assert _link(db, first) is not None and kept["text"].startswith("ไม่ได้ยกเลิก")
    done, relisted = chat.choose(confirm, "ยืนยัน")
    assert "พี่/น้อง" in done["text"] and _link(db, first) is None
    assert relisted["text"].splitlines()[0].endswith("(1 รายการ)")
    # Removing the pending one takes its open request with it.
    [confirm2] = chat.choose(relisted, "ยกเลิกรายการที่ 1")
    chat.choose(confirm2, "ยืนยัน")
    assert _link(db, second) is None and _approvals(db) == 0
    assert _actions(db).count("link.removed_by_person") == 2


def test_reclaiming_tells_both_and_shows_the_codes_asked_through_the_removed_link(
    chat: ChatUser, world: World, db: Database, protector: DataProtector
) -> None:
    impostor = ChatUser(chat.client, db, new_user_id())
    impostor.consent()
    impostor.register(world.adult_cid)
    impostor.say(world.display_url())  # a code in the person's name, from the impostor

    chat.consent()
    with db.transaction() as session:
        account, _ = line_accounts.get_or_create_account(session, chat.user_id)
        person = find_person(session, protector, world.adult_cid)
        assert person is not None
        mine = FamilyLink(
            line_account_id=account.id,
            person_id=person.id,
            slot=0,
            relation="self",
            phone="0812345678",
            level="pending",
        )
        session.add(mine)
        session.flush()
        outcome = link_trust.verify_link(session, mine, method="counter", actor="staff:1")
        assert len(outcome.displaced_account_ids) == 1
        notify.self_link_reclaimed(session, outcome.link, outcome.displaced_account_ids)

    told, codes_intro, carousel = chat.last()
    assert "สมชาย ใจดี" in told["text"] and "1 บัญชี" in told["text"]
    assert "ไม่ใช่ฉัน" in codes_intro["text"]
    [bubble] = carousel["contents"]["contents"]
    [displaced] = impostor.last()
    assert "ยกเลิกการลงทะเบียนของบัญชีนี้" in displaced["text"]
    assert "สมชาย" not in displaced["text"]

    [done] = chat.tap(bubble["footer"]["contents"][0]["action"]["data"])
    assert "ตรวจสอบรหัส 1 รายการ" in done["text"]
    with db.sessionmaker() as session:
        row = session.scalar(select(AuthenCode))
        assert row is not None and row.disputed_at is not None


def test_approving_another_account_as_oneself_moves_the_person_there(
    chat: ChatUser, world: World, db: Database, protector: DataProtector
) -> None:
    owner_id = _owner(chat, world, db)
    new_phone = ChatUser(chat.client, db, new_user_id())
    link_id = _other_link(
        db, protector, new_phone.user_id, world.adult_cid, level="pending", slot=0, relation="self"
    )
    [ask] = chat.last()
    assert "เป็นบัญชีของท่านเอง" in ask["text"]
    chat.choose(ask, "อนุมัติ")
    link = _link(db, link_id)
    assert link is not None and link.level == "verified" and link.slot == 0
    with db.sessionmaker() as session:
        assert (
            session.scalar(select(FamilyLink).where(FamilyLink.line_account_id == owner_id)) is None
        )
    [moved] = new_phone.last()
    assert "บัญชี LINE นี้เป็นบัญชีของท่าน" in moved["text"]
    with db.sessionmaker() as session:
        told = [
            m["text"]
            for row in session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.recipient == chat.user_id, OutboxMessage.kind == "push"
                )
            )
            for m in row.payload["messages"]
        ]
    assert "ยกเลิกการลงทะเบียนของบัญชีนี้" in told[-1]
    assert "link.displaced" in _actions(db)

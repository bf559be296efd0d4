"""The menu's "history" (a carousel of codes) and "rights" (text) answers, from real data."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from linebot.v3.messaging import FlexMessage
from sqlalchemy import select

from authencode.crypto import DataProtector
from authencode.db import Database
from authencode.models import FamilyLink, LineAccount
from authencode.services.issuance import issue_code
from linebot_app.flex import CodeView, history_message
from linebot_app.messages import MAX_POSTBACK_DATA, MAX_QUICK_REPLY_ITEMS, PB_CONSENT_ACCEPT
from tests.support.factories import make_facility, make_person, new_cid
from tests.support.line_bot import outbox, post, postback, webhook

NOW = dt.datetime(2026, 11, 20, 3, 15, tzinfo=dt.UTC)  # 10:15 in Bangkok


def _last(db: Database) -> list[dict[str, Any]]:
    return outbox(db)[-1].payload["messages"]


def _link_family(
    db: Database, protector: DataProtector, codes_each: int, own_cid: str | None = None
) -> list[str]:
    """The account holder and a child, each with codes on consecutive days; plus a stranger."""
    issued = []
    with db.transaction() as session:
        account = session.scalar(select(LineAccount))
        assert account is not None
        make_facility(session, hcode="10675", name="รพ.สต.บ้านตัวอย่าง")
        me = make_person(
            session,
            protector,
            cid=own_cid,
            first_name_th="สมชาย",
            last_name_th="ใจดี",
            hosp_main="10675",
            hosp_sub="10675",
        )
        child = make_person(
            session,
            protector,
            title_th="ด.ช.",
            first_name_th="ภูมิ",
            last_name_th="ใจดี",
            main_right="UCS",
            sub_right="73",
        )
        stranger = make_person(session, protector, first_name_th="คนอื่น")
        for slot, person in enumerate((me, child)):
            session.add(
                FamilyLink(
                    line_account_id=account.id,
                    person_id=person.id,
                    slot=slot,
                    relation="self" if slot == 0 else "child",
                    phone="0812345678",
                    level="verified",
                )
            )
        for person in (me, child, stranger):
            for day in range(codes_each):
                code = issue_code(
                    session,
                    person,
                    hcode="10675",
                    service_code="PG0060001",
                    phones="0812345678",
                    channel="line",
                    now=NOW - dt.timedelta(days=day),
                )
                if person is not stranger:
                    issued.append(code.code.code)
    return issued


def test_history_before_registering_points_to_registration(client: Any, db: Database) -> None:
    post(client, webhook(postback(PB_CONSENT_ACCEPT)))
    post(client, webhook(postback("menu:history")))
    [message] = _last(db)
    assert "ยังไม่ได้ลงทะเบียน" in message["text"] and "/liff/register" in message["text"]


def test_history_is_a_carousel_of_the_newest_codes(
    client: Any, db: Database, protector: DataProtector
) -> None:
    post(client, webhook(postback(PB_CONSENT_ACCEPT)))
    cid = new_cid()
    issued = _link_family(db, protector, codes_each=7, own_cid=cid)  # 14 codes of ours
    post(client, webhook(postback("menu:history")))
    intro, carousel, hint = _last(db)
    assert "12 รายการล่าสุด" in intro["text"] and "ทั้งหมด 14 รายการ" in intro["text"]
    assert "/liff/history" in intro["text"]
    assert carousel["type"] == "flex" and carousel["contents"]["type"] == "carousel"
    bubbles = carousel["contents"]["contents"]
    assert len(bubbles) == 12
    shown = [b["body"]["contents"][1]["text"] for b in bubbles]
    assert set(shown) <= set(issued)  # never the stranger's codes
    first = bubbles[0]["body"]["contents"]
    texts = [c["contents"][1]["text"] for c in first if c["type"] == "box"]
    assert "20/11/2569 10:15" in texts  # newest first, in BE, Bangkok time
    assert cid not in str(carousel) and f"{cid[0]}-{cid[1:5]}-xxxxx" in str(carousel)
    assert len(carousel["altText"]) <= 400
    assert 1 <= len(hint["quickReply"]["items"]) <= MAX_QUICK_REPLY_ITEMS


def test_history_with_no_codes_says_so(client: Any, db: Database, protector: DataProtector) -> None:
    post(client, webhook(postback(PB_CONSENT_ACCEPT)))
    _link_family(db, protector, codes_each=0)
    post(client, webhook(postback("menu:history")))
    [message] = _last(db)
    assert message["text"].startswith("ยังไม่มีประวัติการขอรหัส")


def test_rights_lists_each_linked_person(
    client: Any, db: Database, protector: DataProtector
) -> None:
    post(client, webhook(postback(PB_CONSENT_ACCEPT)))
    _link_family(db, protector, codes_each=0)
    post(client, webhook(postback("menu:rights")))
    carousel, footer = _last(db)
    FlexMessage.from_dict(carousel)  # what the SDK accepts
    cards = carousel["contents"]["contents"]
    assert carousel["contents"]["type"] == "carousel" and len(cards) == 2  # one card a person
    holder, child = (_card_text(card) for card in cards)
    assert holder[0] == "นายสมชาย ใจดี" and child[0] == "ด.ช.ภูมิ ใจดี"
    assert "คนอื่น" not in str(carousel)
    for card in (holder, child):
        assert "(UCS) สิทธิหลักประกันสุขภาพแห่งชาติ" in card
        assert "-xxxxx-" in card[1]  # CIDs masked
    assert "รพ.สต.บ้านตัวอย่าง (10675)" in holder
    assert "(89) ช่วงอายุ 12-59 ปี" in holder and "(73) เด็กอายุไม่เกิน 12 ปีบริบูรณ์" in child
    assert "นายสมชาย ใจดี" in carousel["altText"] and len(carousel["altText"]) <= 400
    assert re.search(r"ข้อมูล ณ \d\d/\d\d/25\d\d \d\d:\d\d\n", footer["text"])  # BE
    assert footer["quickReply"]["items"]


def _card_text(bubble: dict[str, Any]) -> list[str]:
    """A card's texts in order, rows' values included."""
    out = []
    for part in bubble["body"]["contents"]:
        if part["type"] == "text":
            out.append(part["text"])
        elif part["type"] == "box":
            out.append(part["contents"][1]["text"])
    return out


def test_rights_and_history_need_consent(client: Any, db: Database) -> None:
    for item in ("menu:rights", "menu:history"):
        post(client, webhook(postback(item)))
        assert _last(db)[-1]["type"] == "template"  # the consent question


def test_carousel_limits() -> None:
    view = CodeView(
        code="PP1000000001",
        hcode="10675",
        facility_name="ทดสอบ",
        service_code="PG0060001",
        service_name_th="ทั่วไป",
        service_at=NOW,
        masked_cid="1-1017-xxxxx-03-0",
        person_name="ทดสอบ",
    )
    assert len(history_message([view] * 12)["contents"]["contents"]) == 12
    for count in (0, 13):
        with pytest.raises(ValueError, match="1 to 12"):
            history_message([view] * count)


def test_every_answer_fits_line_limits(client: Any, db: Database, protector: DataProtector) -> None:
    post(client, webhook(postback(PB_CONSENT_ACCEPT)))
    _link_family(db, protector, codes_each=3)
    post(
        client,
        webhook(
            postback("menu:history"),
            postback("menu:rights"),
            postback("menu:howto"),
            postback("menu:family"),
        ),
    )
    for row in outbox(db):
        assert 1 <= len(row.payload["messages"]) <= 5
        for message in row.payload["messages"]:
            items = message.get("quickReply", {}).get("items", [])
            assert len(items) <= MAX_QUICK_REPLY_ITEMS
            assert all(len(i["action"].get("data", "")) <= MAX_POSTBACK_DATA for i in items)

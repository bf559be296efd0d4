"""One truth about the unit: a change request moves the primary care unit, and the chat (its
rights answer and the registry office's decision, delivered by the real line-bot-sdk to the
fake LINE API), the LIFF rights page's API and the clinic's unit-change page all say so in the
same words, with facility names, the unchanged main unit beside it, and a pending request
shown as pending, not as used — through request, pending, approval and a rejection."""

from __future__ import annotations

import html
from typing import Any

import pytest
from sqlalchemy import select

from authencode.crypto import DataProtector
from authencode.db import Database
from authencode.models import PcuChangeRequest
from authencode.settings import Settings
from linebot_app.sender import OutboxSender
from tests.support.clinic import ClinicClient, signed_in
from tests.support.factories import make_facility
from tests.support.fake_line import FakeLineServer
from tests.support.liff import CHANNEL_ID, JwksServer, World, bearer, jwks
from tests.support.line_bot import USER_ID, ChatUser, Clock, drain, read_aloud

__all__ = ["jwks"]

MAIN = "โรงพยาบาลทดสอบอำเภอเมือง (10676)"  # the person's main unit: never moves here
OLD = "รพ.สต.บ้านทดสอบ (10675)"  # the primary care unit before
NEW = "โรงพยาบาลปลายทาง (10677)"  # the one asked for
MAIN_LINE = f"หน่วยบริการประจำ: {MAIN}"
MAIN_UNCHANGED = f"{MAIN_LINE} (ไม่เปลี่ยน)"
ASKED = f"ขอเปลี่ยนหน่วยบริการปฐมภูมิจาก {OLD} เป็น {NEW}"
ASKED_BACK = f"ขอเปลี่ยนหน่วยบริการปฐมภูมิจาก {NEW} เป็น {OLD}"


@pytest.fixture
def settings(settings: Settings, jwks: JwksServer) -> Settings:
    """The bot's settings (fake LINE API) that also trust the LIFF ID tokens."""
    return settings.with_overrides(line_login_channel_id=CHANNEL_ID, line_jwks_url=jwks.url)


@pytest.fixture
def registry(client: Any, db: Database, protector: DataProtector, world: World) -> ClinicClient:
    """The registry office, signed in to the clinic app; and a third facility to move to."""
    with db.transaction() as session:
        make_facility(session, "10677", "โรงพยาบาลปลายทาง")
    return signed_in(client, db, protector, "registry", "registry_admin")


class Liff:
    def __init__(self, client: Any, token: str) -> None:
        self.client, self.headers = client, bearer(token)
        me = client.get("/liff/api/me", headers=self.headers).json
        self.member_id = me["self"]["id"]

    def rights(self) -> dict[str, Any]:
        answer = self.client.get(f"/liff/api/members/{self.member_id}/rights", headers=self.headers)
        assert answer.status_code == 200, answer.json
        return dict(answer.json)

    def ask(self, hcode: str) -> None:
        sent = self.client.post(
            "/liff/api/pcu-changes",
            headers=self.headers,
            json={"member_id": self.member_id, "hcode": hcode},
        )
        assert sent.status_code == 201, sent.json


def _chat_rights(chat: ChatUser) -> str:
    # The rich menu's command: one card per person, then a text.
    return "\n".join(read_aloud(answer) for answer in chat.say("ตรวจสอบสิทธิ"))


def _clinic_page(registry: ClinicClient) -> str:
    page = registry.get("/clinic/pcu-changes")
    assert page.status_code == 200
    return html.unescape(page.get_data(as_text=True))


def _told(fake_line: FakeLineServer) -> list[str]:
    return [
        m["text"]
        for d in fake_line.delivered
        if d.kind == "push" and d.to == USER_ID
        for m in d.messages
    ]


def _request_id(db: Database) -> int:
    with db.sessionmaker() as session:
        return (
            session.scalars(
                select(PcuChangeRequest.id).order_by(PcuChangeRequest.id.desc())
            ).first()
            or 0
        )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_unit_change_reads_the_same_in_the_chat_liff_and_the_clinic(
    client: Any,
    chat: ChatUser,
    world: World,
    jwks: JwksServer,
    registry: ClinicClient,
    db: Database,
    sender: OutboxSender,
    clock: Clock,
    fake_line: FakeLineServer,
) -> None:
    chat.consent()
    chat.register(world.adult_cid)
    world.verify(USER_ID)
    liff = Liff(client, jwks.token(USER_ID))

    # Before: the main unit and the primary care unit by name, nothing used or pending.
    rights = liff.rights()
    assert (rights["hosp_main"]["label"], rights["hosp_sub"]["label"]) == (MAIN, OLD)
    assert rights["pcu_change"]["quota_th"].endswith(": ใช้ไปแล้ว 0 จาก 4 ครั้ง")
    said = _chat_rights(chat)
    assert MAIN_LINE in said and f"หน่วยบริการปฐมภูมิ: {OLD}" in said
    assert rights["pcu_change"]["quota_th"] in said

    # Pending: shown as pending in all three, with both units named, the main unit beside.
    liff.ask("10677")
    rights = liff.rights()
    quota = rights["pcu_change"]["quota_th"]
    year = rights["pcu_change"]["fiscal_year_be"]
    assert quota == f"เปลี่ยนหน่วยบริการปฐมภูมิ ปีงบประมาณ {year}: ใช้ไปแล้ว 0 จาก 4 ครั้ง, รออนุมัติ 1"
    pending = rights["pcu_change"]["pending"]
    assert ASKED in pending["text_th"] and pending["main_unchanged_th"] == MAIN_UNCHANGED
    # The LIFF page's English mode says the same, its years in the Common Era.
    assert rights["pcu_change"]["quota_en"] == (
        f"Primary care unit changes, fiscal year {year - 543}: 0 of 4 used, 1 pending"
    )
    assert f"Change of primary care unit from {OLD} to {NEW}" in pending["text_en"]
    assert pending["main_unchanged_en"] == f"Main unit: {MAIN} (unchanged)"
    assert rights["hosp_sub"]["label"] == OLD  # not moved yet
    said = _chat_rights(chat)
    assert quota in said and ASKED in said and f"หน่วยบริการปฐมภูมิ: {OLD}" in said
    assert pending["text_th"] in said
    page = _clinic_page(registry)
    assert ASKED in page and MAIN_UNCHANGED in page
    assert "10677" not in page.replace(NEW, "")  # no bare code anywhere

    # Approved: the primary care unit moved, the main unit did not; the chat is told so.
    first = _request_id(db)
    assert registry.post(f"/clinic/pcu-changes/{first}/approve").status_code == 302
    drain(sender, clock)
    [approved] = _told(fake_line)
    assert approved == (
        "คำขอเปลี่ยนหน่วยบริการปฐมภูมิของ นายสมชาย ใจดี ได้รับการอนุมัติแล้วค่ะ\n"
        f"หน่วยบริการปฐมภูมิใหม่: {NEW}\n{MAIN_UNCHANGED}"
    )
    rights = liff.rights()
    assert (rights["hosp_main"]["label"], rights["hosp_sub"]["label"]) == (MAIN, NEW)
    assert rights["pcu_change"]["pending"] is None
    assert rights["pcu_change"]["quota_th"].endswith(": ใช้ไปแล้ว 1 จาก 4 ครั้ง")
    said = _chat_rights(chat)
    assert MAIN_LINE in said and f"หน่วยบริการปฐมภูมิ: {NEW}" in said
    assert rights["pcu_change"]["quota_th"] in said and "รออนุมัติ" not in said
    page = _clinic_page(registry)
    assert ASKED in page and MAIN_UNCHANGED in page

    # Rejected: nothing moves, the chat says which unit stays, and the counter is unchanged.
    liff.ask("10675")
    said = _chat_rights(chat)
    assert ASKED_BACK in said and "ใช้ไปแล้ว 1 จาก 4 ครั้ง, รออนุมัติ 1" in said
    assert ASKED_BACK in liff.rights()["pcu_change"]["pending"]["text_th"]
    assert ASKED_BACK in _clinic_page(registry)
    second = _request_id(db)
    refused = registry.post(f"/clinic/pcu-changes/{second}/reject", {"note": "เอกสารไม่ครบ"})
    assert refused.status_code == 302
    drain(sender, clock)
    rejected = _told(fake_line)[-1]
    assert rejected.startswith(
        "คำขอเปลี่ยนหน่วยบริการปฐมภูมิของ นายสมชาย ใจดี ไม่ได้รับการอนุมัติค่ะ\n"
        f"หน่วยบริการปฐมภูมิ: {NEW} (คงเดิม)\n{MAIN_UNCHANGED}\nเหตุผล: เอกสารไม่ครบ"
    )
    rights = liff.rights()
    assert (rights["hosp_main"]["label"], rights["hosp_sub"]["label"]) == (MAIN, NEW)
    assert rights["pcu_change"]["quota_th"].endswith(": ใช้ไปแล้ว 1 จาก 4 ครั้ง")
    assert ASKED_BACK in _clinic_page(registry)
    # Every text about the unit, everywhere, names the primary care unit and never calls the
    # change a change of the main unit.
    for text in (approved, rejected, _chat_rights(chat), _clinic_page(registry)):
        assert "หน่วยบริการประจำใหม่" not in text
        assert "เปลี่ยนหน่วยบริการประจำ" not in text

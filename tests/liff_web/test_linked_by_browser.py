"""The "who has linked me" LIFF page in headless Chromium against the real server on
PostgreSQL: the person sees another account's link and a code it asked for in their name,
says "this was not me", and removes a link."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from authencode.models import AuthenCode, FamilyLink
from authencode.services import issuance, line_accounts
from authencode.services.people import find_person
from tests.liff_web.test_linked_by import _verify_self
from tests.liff_web.test_pages_browser import _open, _own_code, _ready, _registered
from tests.support.liff import JwksServer, World, new_user_id

pytestmark = pytest.mark.usefixtures("live_server")


class Linked(NamedTuple):
    code: str  # asked for by another account in the person's name
    person_id: int


THAI = re.compile("[\u0e00-\u0e7f]")


def _linked_by_others(live_server: str, live_world: World, token: str, owner: str) -> Linked:
    """The owner registered and verified; two other accounts link them (a sibling, then a
    child), and the child's asked for a code in their name."""
    _registered(live_server, token, live_world.adult_cid)
    db, protector = live_world.db, live_world.protector
    _verify_self(db, owner)
    with db.transaction() as session:
        person = find_person(session, protector, live_world.adult_cid)
        assert person is not None
        for user_id, relation in ((new_user_id(), "sibling"), (new_user_id(), "child")):
            other, _ = line_accounts.get_or_create_account(session, user_id)
            session.add(
                FamilyLink(
                    line_account_id=other.id,
                    person_id=person.id,
                    slot=1,
                    relation=relation,
                    phone="0898765432",
                )
            )
        code = issuance.issue_code(
            session,
            person,
            hcode="10675",
            service_code="PG0060001",
            phones="0898765432",
            channel="line",
            verify_method="line_qr",
            line_account_id=other.id,
        ).code.code
        return Linked(code, person.id)


def test_the_person_disputes_a_code_and_removes_a_link(
    mobile_page: Any, live_server: str, live_world: World, jwks: JwksServer, screenshot: Any
) -> None:
    owner = new_user_id()
    token = jwks.token(owner)
    code, person_id = _linked_by_others(live_server, live_world, token, owner)
    db = live_world.db
    page = mobile_page
    _open(page, f"{live_server}/liff/linked-by", token)
    _ready(page, "/liff/linked-by")
    rows = page.locator("#linked-list li[data-link]")
    assert rows.count() == 2
    assert "บัญชี LINE อื่น" in rows.nth(0).inner_text()
    assert "พี่/น้อง" in rows.nth(0).inner_text() and "ยังไม่ยืนยันตัวตน" in rows.nth(0).inner_text()
    assert code in page.inner_text("#other-codes")
    screenshot(page, "linked-by-01")

    not_me = page.locator("#other-codes button[data-not-me]")
    not_me.click()
    assert not_me.inner_text() == "แตะอีกครั้งเพื่อยืนยัน"
    not_me.click()
    page.locator("#not-me-result").wait_for(state="visible")
    assert code in page.inner_text("#not-me-result")
    expect(rows).to_have_count(1)
    assert "แจ้งว่าไม่ได้ขอแล้ว" in page.inner_text("#other-codes")
    screenshot(page, "linked-by-02-not-me")

    remove = page.locator("#linked-list button[data-unlink]")
    remove.click()
    remove.click()
    expect(rows).to_have_count(0)
    assert "ยังไม่มีบัญชี LINE อื่นเชื่อมโยงกับท่าน" in page.inner_text("#linked-list")
    with db.sessionmaker() as session:
        row = session.scalar(select(AuthenCode).where(AuthenCode.code == code))
        assert row is not None and row.disputed_at is not None
        assert (
            session.scalars(
                select(FamilyLink).where(FamilyLink.person_id == person_id, FamilyLink.slot > 0)
            ).all()
            == []
        )


def test_in_english_the_labels_are_english(
    mobile_page: Any, live_server: str, live_world: World, jwks: JwksServer
) -> None:
    """English mode: the relations, levels and "this was not me" answer on the linked-by page,
    and the statuses, channels, decisions and relations on ข้อมูลของฉัน, carry no Thai."""
    owner = new_user_id()
    token = jwks.token(owner)
    code = _linked_by_others(live_server, live_world, token, owner).code
    own_code = _own_code(live_server, token, live_world)

    page = mobile_page
    page.add_init_script("window.localStorage.setItem('authencode.liff.lang', 'en');")
    _open(page, f"{live_server}/liff/linked-by", token)
    _ready(page, "/liff/linked-by")
    rows = " ".join(page.locator("#linked-list li[data-link] .meta").all_inner_texts())
    assert "Sibling" in rows and "Child" in rows and not THAI.search(rows)
    not_me = page.locator("#other-codes button[data-not-me]")
    not_me.click()
    not_me.click()
    page.locator("#not-me-result").wait_for(state="visible")
    result = page.inner_text("#not-me-result")
    assert code in result and not THAI.search(result)

    page.goto(f"{live_server}/liff/my-data")
    _ready(page, "/liff/my-data")
    notes = page.locator(f"#my-codes li[data-code='{own_code}'] .meta").last.inner_text()
    assert "Active" in notes and "LINE (QR scan)" in notes and not THAI.search(notes)
    consent = page.inner_text("#consent-history")
    assert "Gave consent" in consent and not THAI.search(consent)
    linked_by = page.inner_text("#my-linked-by")
    assert "Another LINE account" in linked_by and "Sibling" in linked_by  # the child undone
    assert not THAI.search(linked_by)
    levels = page.locator("#my-links .level").all_inner_texts()
    assert levels and not any(THAI.search(level) for level in levels)
    assert not THAI.search(page.inner_text("#erase-verified-only"))

"""Counter verification with the ID card read through the real reader agent (pcscd + vpcd and
the tests' virtual Thai ID card) in headless Chromium: the card of the link's person verifies
it; another person's card is refused with a clear Thai message and nothing is verified."""

from __future__ import annotations

import importlib.util

import pytest
from conftest import LIVE_HCODE, LiveAuthenServer
from pcsc_stack import require
from sqlalchemy import select
from virtual_card import CardContent, VirtualThaiIdCard

from authencode.models import FamilyLink, LineAccount, LinkVerification, Person, StaffUser
from authencode.passwords import hash_password
from authencode.services import counter_verify
from tests.support.factories import make_person
from tests.support.live_server import free_port

require(importlib.util.find_spec("smartcard") is not None, "pyscard is not installed")

CARD_CID = "1101700207030"  # the virtual card's, the live server's registry patient
PASSWORD = "counter-password-1"


@pytest.fixture
def agent_port() -> int:
    return free_port()


@pytest.fixture
def live_settings(live_settings, agent_port):
    """The live server's counter pages point at the agent this test starts."""
    return live_settings.with_overrides(reader_agent_url=f"http://127.0.0.1:{agent_port}")


def _link_with_code(
    server: LiveAuthenServer, protector, user: str, person_id: int | None = None
) -> tuple[int, str]:
    with server.db.transaction() as session:
        if person_id is None:
            person_id = make_person(session, protector, first_name_th="สมศรี").id
        account = LineAccount(line_user_id=user, consent_version="1")
        session.add(account)
        session.flush()
        link = FamilyLink(
            line_account_id=account.id,
            person_id=person_id,
            slot=0,
            relation="self",
            phone="0812345678",
        )
        session.add(link)
        session.flush()
        return link.id, counter_verify.issue_code(session, protector, link).code


def _log_in(page, server: LiveAuthenServer) -> None:
    with server.db.transaction() as session:
        staff = session.get(StaffUser, server.staff_id)
        staff.password_hash = hash_password(PASSWORD)
        staff.must_change_password = False
        username = staff.username
    page.goto(f"{server.url}/clinic/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{server.url}/clinic/")


def _look_up_and_read(page, server: LiveAuthenServer, code: str) -> None:
    page.goto(f"{server.url}/clinic/facilities/{LIVE_HCODE}/verify")
    page.fill("#verify-code", code)
    page.click("#lookup-code button[type=submit]")
    page.wait_for_selector("#verify-person")
    page.click("#read-card")
    page.wait_for_selector("#card-message[data-read=ok]")
    assert page.is_checked("input[name=card_check][value=card]")
    assert "สมชาย" in page.inner_text("#card-message")
    page.click("#confirm-verify button[type=submit]")


def test_the_persons_card_read_by_the_agent_verifies_and_another_card_is_refused(
    live_authen_server, agent_factory, agent_port, pcscd, insert_card, page, protector, screenshot
) -> None:
    server = live_authen_server
    page.set_default_timeout(30_000)
    agent_factory(
        server_url=server.url,
        api_token=server.token,
        port=agent_port,
        allowed_origins=(server.url,),
    )
    insert_card(VirtualThaiIdCard(CardContent()))
    _log_in(page, server)

    # Someone else's link: the card in the reader (สมชาย's) is not this person's.
    other_link, other_code = _link_with_code(server, protector, "U-other")
    _look_up_and_read(page, server, other_code)
    page.wait_for_selector(".error")
    assert "บัตรประชาชนที่อ่านได้ไม่ใช่บัตรของ" in page.inner_text(".error")
    assert "สมศรี" in page.inner_text(".error")
    screenshot(page, "card-mismatch")

    with server.db.sessionmaker() as session:
        person_id = session.scalar(
            select(Person.id).where(Person.cid_hash == protector.lookup_hash(CARD_CID))
        )
    link_id, code = _link_with_code(server, protector, "U-owner", person_id)
    _look_up_and_read(page, server, code)
    page.wait_for_selector("#verified")
    with server.db.sessionmaker() as session:
        link = session.get(FamilyLink, link_id)
        assert link is not None and (link.level, link.verified_by) == (
            "verified",
            f"staff:{server.staff_id}",
        )
        row = session.scalar(
            select(LinkVerification).where(LinkVerification.family_link_id == link_id)
        )
        assert row is not None and row.card_check == "card"
        refused = session.get(FamilyLink, other_link)
        assert refused is not None and refused.level == "claimed"
        kept = session.scalar(
            select(LinkVerification).where(LinkVerification.family_link_id == other_link)
        )
        assert kept is not None and kept.failures == 1  # counted against that code

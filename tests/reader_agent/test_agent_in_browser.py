"""The counter page's smart-card way in headless Chromium: the page calls the real reader
agent on this machine (pcscd + vpcd, the tests' virtual Thai ID card), shows the reader and
the card, fills the person's details and card photo, and saves against the real server.
"""

from __future__ import annotations

import importlib.util

import pytest
from conftest import LIVE_HCODE, LiveAuthenServer
from pcsc_stack import require, wait_for_card
from sqlalchemy import select
from virtual_card import READER_NAMES, CardContent, VirtualThaiIdCard

from authencode.models import AuthenCode, CardRead, StaffUser
from authencode.passwords import hash_password
from tests.support.live_server import free_port

require(importlib.util.find_spec("smartcard") is not None, "pyscard is not installed")

PATIENT_CID = "1101700207030"
PASSWORD = "counter-password-1"


@pytest.fixture
def agent_port() -> int:
    return free_port()


@pytest.fixture
def live_settings(live_settings, agent_port):
    """The live server's counter page points at the agent this test starts."""
    return live_settings.with_overrides(reader_agent_url=f"http://127.0.0.1:{agent_port}")


def _face_jpeg() -> bytes:
    """A small real JPEG, as a card's photo is, so the browser can show it."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (90, 110), (200, 170, 150)).save(out, format="JPEG", quality=70)
    return out.getvalue()


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


def test_the_counter_page_reads_the_card_through_the_agent_and_saves(
    live_authen_server, agent_factory, agent_port, pcscd, insert_card, page, screenshot
) -> None:
    server = live_authen_server
    page.set_default_timeout(30_000)
    agent_factory(
        server_url=server.url,
        api_token=server.token,
        port=agent_port,
        allowed_origins=(server.url,),
    )
    _log_in(page, server)
    page.goto(f"{server.url}/clinic/facilities/{LIVE_HCODE}/visit")

    # No card yet: the page names the reader and says the card is missing.
    page.wait_for_selector("#agent-status[data-card=absent]")
    assert READER_NAMES[0] in page.inner_text("#agent-status")
    page.click("#read-card")
    page.wait_for_selector("#card-message.error")
    assert "ไม่พบบัตร" in page.inner_text("#card-message")

    card = insert_card(VirtualThaiIdCard(CardContent(photo=_face_jpeg())))
    page.wait_for_selector("#agent-status[data-card=present]")
    page.click("#read-card")
    page.wait_for_selector("#card-details:not([hidden])")
    assert page.inner_text("#card-name") == "นาย สมชาย ใจดี"
    assert page.inner_text("#card-cid") == "1-1017-xxxxx-03-0"
    assert page.inner_text("#card-birth") == "15 ม.ค. 2530"
    assert "UCS" in page.inner_text("#card-right")
    assert page.get_attribute("#card-photo", "src").startswith("data:image/jpeg;base64,")
    width = page.eval_on_selector("#card-photo", "img => img.decode().then(() => img.naturalWidth)")
    assert width == 90  # the card's own JPEG, shown
    assert page.input_value("#visit-cid") == PATIENT_CID
    assert page.eval_on_selector("#visit-cid", "el => el.readOnly") is True
    assert "อ่านบัตรเรียบร้อย" in page.inner_text("#card-message")
    correlation = page.input_value("#correlation-id")
    assert correlation
    screenshot(page, "card-read")

    page.fill("input[name=phones]", "0812345678")
    page.select_option("select[name=service]", "PG0150001")
    page.click("#confirm button[type=submit]")
    page.wait_for_selector(".code-large")
    shown = page.inner_text(".code-large").strip()
    with server.db.sessionmaker() as session:
        [code] = session.scalars(select(AuthenCode)).all()
        read = session.scalar(select(CardRead).where(CardRead.correlation_id == correlation))
        assert (code.code, code.channel, code.service_code) == (shown, "smartcard", "PG0150001")
        assert code.recorder_staff_id == server.staff_id  # the signed-in staff member
        assert read is not None and read.used_at is not None
        assert read.terminal_name == READER_NAMES[0]

    # The card pulled out: the page notices.
    page.goto(f"{server.url}/clinic/facilities/{LIVE_HCODE}/visit")
    page.wait_for_selector("#agent-status[data-card=present]")
    card.remove()
    wait_for_card(READER_NAMES[0], present=False)
    page.wait_for_selector("#agent-status[data-card=absent]")

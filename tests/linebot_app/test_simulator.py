"""The development LINE simulator (/dev/line): only in development; a whole chat in Chromium."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from authencode.app import create_app
from authencode.crypto import DataProtector
from authencode.db import Database
from authencode.models import FamilyLink, LineAccount
from authencode.settings import DEV_LINE_API_PATH, Settings
from linebot_app import worker
from linebot_app.sender import OutboxSender, SendPolicy
from tests.support.factories import make_facility, make_person
from tests.support.line_bot import ACCESS_TOKEN, CHANNEL_SECRET
from tests.support.shared import TEST_DATA_KEY


@pytest.mark.parametrize("environment", ["test", "production"])
@pytest.mark.parametrize(
    "path", ["/dev/line/", "/dev/line/api/v2/bot/richmenu/list", "/dev/line/static/simulator.js"]
)
def test_simulator_is_absent_outside_development(
    environment: str, path: str, tmp_path: Path, sqlite_template: Path
) -> None:
    settings = Settings(
        environment=environment,
        database_url=f"sqlite:///{sqlite_template}",
        secret_key="test-secret-key-0123456789abcdef",
        data_key=TEST_DATA_KEY,
        instance_path=tmp_path,
        line_channel_access_token=ACCESS_TOKEN,
        line_simulator=environment == "production",
    )
    app = create_app(settings)
    try:
        response = app.test_client().get(path, headers={"Authorization": f"Bearer {ACCESS_TOKEN}"})
        assert response.status_code == 404
    finally:
        app.extensions["authencode"].db.dispose()


def test_development_settings_point_line_at_the_simulator(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "AUTHENCODE_ENV": "development",
            "AUTHENCODE_INSTANCE_PATH": str(tmp_path),
            "PUBLIC_BASE_URL": "http://127.0.0.1:5001",
        }
    )
    assert settings.line_api_base_url == "http://127.0.0.1:5001" + DEV_LINE_API_PATH
    assert settings.line_channel_secret and settings.line_channel_access_token
    production = Settings.from_env(
        {
            "SECRET_KEY": "9f2c4e7a1b8d3f60c5e29a7b4d1f8e3c",
            "DATA_KEY": "q7gYt8Hc3qQ2C2xjvY2mX8qk6y1J8n0pWcV3bL5rT9E=",
            "AUTHENCODE_INSTANCE_PATH": str(tmp_path),
        }
    )
    assert production.line_api_base_url == "https://api.line.me"
    assert production.line_channel_secret is None


# --- the simulator in a browser, against a development-mode live server -------------------


@pytest.fixture
def live_settings(live_settings: Settings, live_port: int) -> Settings:
    """The live server in development mode, its LINE API being its own simulator."""
    return live_settings.with_overrides(
        environment="development",
        line_channel_secret=CHANNEL_SECRET,
        line_channel_access_token=ACCESS_TOKEN,
        line_api_base_url=f"http://127.0.0.1:{live_port}{DEV_LINE_API_PATH}",
    )


@pytest.fixture
def running_worker(live_app: Any, live_server: str, live_settings: Settings) -> Iterator[None]:
    """The outbox worker (`python -m linebot_app.worker`'s loop) in a thread."""
    db: Database = live_app.extensions["authencode"].db
    sender = OutboxSender(db, live_settings, SendPolicy(base_delay=0.2, max_delay=1.0))
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(sender, stop, 0.1), daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(10)


def _link_self(db: Database, user_id: str) -> None:
    protector = DataProtector(TEST_DATA_KEY)
    with db.transaction() as session:
        account = session.scalar(select(LineAccount).where(LineAccount.line_user_id == user_id))
        assert account is not None
        make_facility(session, hcode="10675", name="รพ.สต.บ้านตัวอย่าง")
        person = make_person(
            session, protector, first_name_th="สมชาย", last_name_th="ใจดี", hosp_main="10675"
        )
        session.add(
            FamilyLink(
                line_account_id=account.id,
                person_id=person.id,
                slot=0,
                relation="self",
                phone="0812345678",
                level="verified",
            )
        )


def test_follow_consent_menu_and_a_question(
    page: Page, live_server: str, live_app: Any, running_worker: None, screenshot: Any
) -> None:
    page.goto(f"{live_server}/dev/line/")
    menu = page.locator("#richmenu")
    # No menus yet: the page deploys them (the same code as `authencode line richmenu deploy`).
    expect(menu.get_by_role("button", name="ให้ความยินยอม")).to_be_visible(timeout=20_000)
    expect(menu.locator("img")).to_have_js_property("complete", True)
    assert menu.locator("img").evaluate("img => img.naturalWidth") == 2500

    page.get_by_role("button", name="เพิ่มเพื่อน").click()
    chat = page.locator("#chat")
    expect(chat).to_contain_text("ยินดีต้อนรับสู่บริการขอรหัสเข้ารับบริการ")
    expect(chat).to_contain_text("ข้อตกลงในการให้ความยินยอม")
    screenshot(page, "1-welcome")

    chat.get_by_role("button", name="ยอมรับ", exact=True).click()
    expect(chat).to_contain_text("บันทึกการให้ความยินยอมเรียบร้อยแล้ว")
    # The worker linked the member menu to this user.
    expect(menu.get_by_role("button", name="ตรวจสอบสิทธิ")).to_be_visible()
    expect(menu.get_by_role("button", name="ให้ความยินยอม")).to_have_count(0)
    screenshot(page, "2-member-menu")

    user_id = page.evaluate("localStorage.getItem('authencode.devLineUserId')")
    _link_self(live_app.extensions["authencode"].db, user_id)
    menu.get_by_role("button", name="ตรวจสอบสิทธิ").click()
    expect(chat).to_contain_text("(UCS) สิทธิหลักประกันสุขภาพแห่งชาติ")  # one card a person
    expect(chat).to_contain_text("รพ.สต.บ้านตัวอย่าง (10675)")

    menu.get_by_role("button", name="ประวัติการขอรหัส").click()
    expect(chat).to_contain_text("ยังไม่มีประวัติการขอรหัส")

    page.get_by_role("textbox", name="ข้อความ").fill("วิธีขอรหัส")
    page.get_by_role("button", name="ส่ง", exact=True).click()
    expect(chat).to_contain_text("สแกน QR Code ของหน่วยบริการ")
    # Quick replies of the last answer are offered, and work.
    page.locator("#quick-replies").get_by_role("button", name="สายด่วน 1330").click()
    expect(chat).to_contain_text("เปิดบริการ 24 ชั่วโมง")
    screenshot(page, "3-answers")


SPLIT_WORDS = """() => [...document.querySelectorAll('#chat .w')]
    .filter(w => w.getClientRects().length > 1).map(w => w.textContent)"""


def test_simulator_fits_a_phone_and_keeps_thai_words_whole(
    mobile_page: Page, live_server: str, running_worker: None, screenshot: Any
) -> None:
    page = mobile_page
    page.goto(f"{live_server}/dev/line/")
    # the page deploys the rich menus first (as the test above); then it chats
    expect(page.locator("#richmenu img")).to_be_visible(timeout=20_000)
    send = page.get_by_role("button", name="ส่ง", exact=True)
    _send_button_fits(page)

    # A long Thai message, typed and sent with the button: its words break between, not inside.
    text = "ขอรหัสที่โรงพยาบาลส่งเสริมสุขภาพตำบลบ้านตัวอย่างหน่วยบริการประจำของเจ้าหน้าที่ครับ"
    page.get_by_role("textbox", name="ข้อความ").fill(text)
    send.click()
    chat = page.locator("#chat")
    expect(chat).to_contain_text(text, timeout=15_000)
    words = page.locator("#chat .row.user .w")
    expect(words.first).to_be_visible()
    assert {"โรงพยาบาล", "หน่วยบริการ", "เจ้าหน้าที่"} <= set(words.all_text_contents())
    lines = page.locator("#chat .row.user .text").last.evaluate(
        "t => new Set([...t.querySelectorAll('.w')].map(w => w.getBoundingClientRect().top)).size"
    )
    assert lines > 1  # it did wrap, so the check below means something
    assert page.evaluate(SPLIT_WORDS) == []
    # The bot's answers too (the welcome after following).
    page.get_by_role("button", name="เพิ่มเพื่อน").click()
    expect(chat).to_contain_text("ยินดีต้อนรับสู่บริการขอรหัสเข้ารับบริการ", timeout=15_000)
    assert page.locator("#chat .row.bot .w").count() > 10
    assert page.evaluate(SPLIT_WORDS) == []
    # With the member menu its chat-bar button reads "เมนูบริการ ▾": the send button still fits.
    chat.get_by_role("button", name="ยอมรับ", exact=True).click()
    expect(page.locator("#menu-toggle")).to_have_text("เมนูบริการ ▾", timeout=15_000)
    _send_button_fits(page)
    screenshot(page, "simulator-360")


def _send_button_fits(page: Page) -> None:
    """The send button lies wholly inside the 360 px viewport, a tap at its centre hits it,
    and nothing scrolls sideways."""
    send = page.locator("#send")
    expect(send).to_be_visible()
    box = send.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360, box
    hit = page.evaluate(
        """() => { const b = document.getElementById('send').getBoundingClientRect();
                   const e = document.elementFromPoint(b.x + b.width / 2, b.y + b.height / 2);
                   return e !== null && e.closest('#send') !== null; }"""
    )
    assert hit, "the send button is covered or off the screen"
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")

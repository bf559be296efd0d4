"""The self-service kiosk (issue 23) in headless Chromium at 1080x1920 against the real
server (PostgreSQL), the real reader agent in kiosk mode and virtual Thai ID cards through
pcscd + vpcd: a full visit with its printed slip, the same card twice, cards the kiosk must
refuse, a card pulled mid-way, the agent or the server gone, the idle reset, a revoked kiosk,
and the browser's Local Network Access check with the server's address treated as public.
"""

from __future__ import annotations

import importlib.util
import io
import subprocess
import sys
import threading
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pcsc_stack import require, wait_for_card
from playwright.sync_api import ViewportSize
from sqlalchemy import select
from virtual_card import READER_NAMES, CardContent, VirtualThaiIdCard
from werkzeug.serving import make_server

from authencode.models import AuthenCode, Facility, Kiosk
from authencode.services import kiosks
from tests.support.browser import CHROMIUM_FLAGS, chromium_path
from tests.support.factories import make_facility, make_person, new_cid
from tests.support.live_server import free_port

require(importlib.util.find_spec("smartcard") is not None, "pyscard is not installed")

HCODE = "10670"
PATIENT_CID = "1101700207030"  # the virtual card's default CID
KIOSK_SIZE: ViewportSize = {"width": 1080, "height": 1920}
PERSONAL = ("สมชาย", "ใจดี", PATIENT_CID, "0812345678", "081-xxx-5678", "PP0")
# Seconds a kiosk screen waits for a touch; the idle test shortens it.
IDLE_SECONDS = {"test_the_idle_reset_leaves_nothing_of_the_person": 6}


@pytest.fixture
def agent_port() -> int:
    return free_port()


@pytest.fixture
def live_settings(live_settings, agent_port, request):
    """The kiosk page points at the agent this test starts."""
    return live_settings.with_overrides(
        reader_agent_url=f"http://127.0.0.1:{agent_port}",
        kiosk_idle_seconds=IDLE_SECONDS.get(request.node.name, 120),
    )


class Site:
    """The real application over HTTP, which a test may stop and start again."""

    def __init__(self, app: Any, port: int) -> None:
        self.app = app
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.db = app.extensions["authencode"].db
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join(timeout=10)
            self._server = None


@pytest.fixture
def site(live_app, live_port, protector) -> Iterator[Site]:
    """The clinic (two services), the card's person, a deceased person; served live."""
    db = live_app.extensions["authencode"].db
    with db.transaction() as session:
        make_facility(
            session, hcode=HCODE, name="โรงพยาบาลตัวอย่าง", services=("PG0060001", "PG0150001")
        )
        make_person(
            session,
            protector,
            cid=PATIENT_CID,
            first_name_th="สมชาย",
            last_name_th="ใจดี",
            birth_year=1987,
            birth_month=1,
            birth_day=15,
        )
    served = Site(live_app, live_port)
    served.start()
    yield served
    served.stop()


@pytest.fixture
def kiosk_page(browser) -> Iterator[Any]:
    """A portrait 1080x1920 touch screen, Thai locale; fails on a CSP violation."""
    context = browser.new_context(
        viewport=KIOSK_SIZE,
        has_touch=True,
        locale="th-TH",
        timezone_id="Asia/Bangkok",
    )
    # Counts the slips printed: headless Chromium has no printer, and a real print job would
    # hold the page (Chromium in kiosk mode with --kiosk-printing prints without a dialog).
    context.add_init_script(
        "window.print = function () { window.__printed = (window.__printed || 0) + 1; };"
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    yield page
    context.close()
    assert violations == []


@dataclass
class PairedKiosk:
    id: int
    token: str
    agent: Any


def _pair(
    page: Any, site: Site, agent_factory: Any, agent_port: int, wait_for_agent: bool = True
) -> PairedKiosk:
    """Open the kiosk screen, pair it as an admin would, start its agent in kiosk mode."""
    page.goto(f"{site.url}/kiosk/")
    code = page.inner_text("#pairing-code").replace("-", "")
    with site.db.transaction() as session:
        facility = session.scalar(select(Facility).where(Facility.hcode == HCODE))
        paired = kiosks.pair(session, facility, "ตู้หน้าอาคาร", "test", code)
        kiosk_id, token = paired.kiosk.id, paired.token_secret
    agent = agent_factory(
        server_url=site.url,
        api_token=token,
        port=agent_port,
        allowed_origins=(site.url,),
        kiosk=True,
    )
    page.wait_for_selector("#kiosk-config", state="attached")  # the pairing screen reloads
    if wait_for_agent:
        page.wait_for_selector("body[data-card=absent]")
    return PairedKiosk(kiosk_id, token, agent)


def _screen(page: Any, name: str) -> None:
    page.wait_for_selector(f"body[data-screen={name}]")


def _nothing_personal_left(page: Any) -> None:
    html = page.content()
    for value in PERSONAL:
        assert value not in html, value
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0


def _codes(site: Site) -> list[AuthenCode]:
    with site.db.sessionmaker() as session:
        return list(session.scalars(select(AuthenCode).order_by(AuthenCode.id)))


def _bare(text: str) -> str:
    """Thai text without spaces, tone marks and vowels above or below, and the private-use
    glyphs a PDF's font gives them: what a PDF's extracted text and ours have in common."""
    return "".join(
        c
        for c in unicodedata.normalize("NFKD", text)
        if not c.isspace()
        and not "\uf700" <= c <= "\uf8ff"
        and c not in "\u0e31\u0e34\u0e35\u0e36\u0e37\u0e38\u0e39\u0e3a"
        and not "\u0e47" <= c <= "\u0e4e"
    )


def _pdf_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    return _bare("".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages))


def _wait_printed(page: Any, times: int, timeout: float = 15.0) -> None:
    """Wait until the page asked to print ``times`` times. Polled with evaluate, which the
    page's CSP allows; wait_for_function compiles its predicate with eval, which it refuses."""
    deadline = time.monotonic() + timeout
    while page.evaluate("window.__printed") != times:
        assert time.monotonic() < deadline, f"printed {page.evaluate('window.__printed')} times"
        page.wait_for_timeout(100)


def test_a_full_visit_prints_the_slip_and_the_same_card_again_shows_the_code(
    site, agent_factory, agent_port, pcscd, insert_card, kiosk_page, screenshot
) -> None:
    page = kiosk_page
    _pair(page, site, agent_factory, agent_port)
    screenshot(page, "1-start")

    card = insert_card(VirtualThaiIdCard(CardContent()))
    _screen(page, "hello")
    assert page.inner_text("#hello-name") == "สวัสดี นาย สมชาย"
    assert page.inner_text("#right-main").startswith("(UCS)")
    screenshot(page, "2-hello")
    page.tap("#hello-next")
    _screen(page, "service")
    assert page.locator("#service-buttons button").all_inner_texts() == [
        "เข้ารับบริการรักษาทั่วไป (OPD/ IPD/ PP)",
        "บริการดูแลอาการเจ็บป่วยเบื้องต้น",
    ]
    screenshot(page, "3-service")
    page.tap("button[data-service=PG0150001]")
    _screen(page, "keypad")  # no phone known yet: type one, on the screen's keypad
    for digit in "0812345678":
        page.tap(f"#keypad button[data-digit='{digit}']")
    assert page.inner_text("#typed") == "081 234 5678"
    screenshot(page, "4-keypad")
    page.tap("#keypad-ok")
    _screen(page, "done")
    shown = page.inner_text("#done-code")
    screenshot(page, "5-code")
    [code] = _codes(site)
    assert (code.code, code.channel, code.service_code) == (shown, "kiosk", "PG0150001")
    assert code.phones == "0812345678" and code.recorder_staff_id is None

    _wait_printed(page, 1)
    # The printed slip: 80 mm wide, the code (large, and as a QR), facility, service, the
    # date in the Buddhist era, the CID masked; nothing of the screen around it.
    page.emulate_media(media="print")
    screenshot(page, "6-slip-print-media")
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    page.emulate_media(media="screen")
    text = _pdf_text(pdf)
    for expected in (shown, "โรงพยาบาลตัวอย่าง", "บริการดูแลอาการเจ็บป่วยเบื้องต้น", "1-1017-xxxxx-03-0"):
        assert _bare(expected) in text, (expected, text)
    assert "256" in text or "257" in text  # the year in the Buddhist era
    assert "สมชาย" not in text and PATIENT_CID not in text
    from pypdf import PdfReader

    [slip] = PdfReader(io.BytesIO(pdf)).pages
    assert round(float(slip.mediabox.width) / 72 * 25.4) == 80
    assert page.locator("#slip-qr").get_attribute("src").startswith("data:image/svg+xml")

    # The card comes out: back to the start, nothing of the person left.
    card.remove()
    wait_for_card(READER_NAMES[0], present=False)
    _screen(page, "start")
    _nothing_personal_left(page)

    # The same card again the same day: the code already issued, not a second one.
    card = insert_card(VirtualThaiIdCard(CardContent()))
    _screen(page, "done")
    assert page.inner_text("#done-title") == "วันนี้ท่านได้รับรหัสแล้ว"
    assert page.inner_text("#done-code") == shown
    screenshot(page, "7-same-card-again")
    assert len(_codes(site)) == 1
    card.remove()  # one card at a time in the reader, also for the fixture's clean-up
    wait_for_card(READER_NAMES[0], present=False)


def test_cards_the_kiosk_refuses_get_a_clear_thai_screen(
    site, agent_factory, agent_port, pcscd, insert_card, kiosk_page, screenshot, protector
) -> None:
    page = kiosk_page
    deceased = new_cid()
    with site.db.transaction() as session:
        make_person(session, protector, cid=deceased, deceased=True)
    _pair(page, site, agent_factory, agent_port)

    cases = (
        ("not-in-registry", CardContent(cid=new_cid()), "ไม่พบข้อมูลสิทธิของท่าน"),
        ("deceased", CardContent(cid=deceased), "ไม่สามารถออกรหัสด้วยบัตรนี้ได้"),
        ("expired", CardContent(expiry_date="25600101"), "บัตรประชาชนหมดอายุ"),
    )
    for label, content, title in cases:
        card = insert_card(VirtualThaiIdCard(content))
        _screen(page, "problem")
        assert page.inner_text("#problem-title") == title
        assert page.is_visible("#problem-counter")
        assert "กรุณาติดต่อเจ้าหน้าที่ที่เคาน์เตอร์" in page.inner_text("#s-problem")
        screenshot(page, label)
        card.remove()
        wait_for_card(READER_NAMES[0], present=False)
        _screen(page, "start")
    assert _codes(site) == []


def test_a_card_pulled_midway_returns_to_the_start(
    site, agent_factory, agent_port, pcscd, insert_card, kiosk_page, screenshot
) -> None:
    page = kiosk_page
    _pair(page, site, agent_factory, agent_port)
    card = insert_card(VirtualThaiIdCard(CardContent()))
    _screen(page, "hello")
    page.tap("#hello-next")
    _screen(page, "service")
    card.remove()
    wait_for_card(READER_NAMES[0], present=False)
    _screen(page, "problem")
    assert page.inner_text("#problem-title") == "ท่านดึงบัตรออกแล้ว"
    screenshot(page, "pulled")
    _nothing_personal_left(page)
    _screen(page, "start")  # by itself, after a few seconds
    assert _codes(site) == []


class AgentProcess:
    """The reader agent as installed on a kiosk: its own process, its TOML configuration."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "reader_agent", "--config", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def test_the_agent_stopped_then_back(
    site, agent_factory, agent_port, pcscd, kiosk_page, screenshot, tmp_path
) -> None:
    page = kiosk_page
    page.goto(f"{site.url}/kiosk/")
    code = page.inner_text("#pairing-code").replace("-", "")
    with site.db.transaction() as session:
        facility = session.scalar(select(Facility).where(Facility.hcode == HCODE))
        token = kiosks.pair(session, facility, "ตู้หน้าอาคาร", "test", code).token_secret
    config = tmp_path / "agent.toml"
    config.write_text(
        f'[server]\nurl = "{site.url}"\napi_token = "{token}"\n\n'
        f'[agent]\nport = {agent_port}\nkiosk = true\nallowed_origins = ["{site.url}"]\n',
        encoding="utf-8",
    )
    agent = AgentProcess(config)
    agent.start()
    try:
        page.wait_for_selector("body[data-card=absent]")
        _screen(page, "start")
        agent.stop()
        _screen(page, "problem")
        assert page.inner_text("#problem-title") == "เครื่องอ่านบัตรไม่พร้อมใช้งาน"
        assert "กรุณาติดต่อเจ้าหน้าที่ที่เคาน์เตอร์" in page.inner_text("#s-problem")
        screenshot(page, "agent-stopped")
        agent.start()
        _screen(page, "start")
    finally:
        agent.stop()


def test_the_server_stopped_before_and_during_a_visit(
    site, agent_factory, agent_port, pcscd, insert_card, kiosk_page, screenshot
) -> None:
    page = kiosk_page
    _pair(page, site, agent_factory, agent_port)
    # During a visit: the card was read, then the server went away before the code.
    card = insert_card(VirtualThaiIdCard(CardContent()))
    _screen(page, "hello")
    site.stop()
    page.tap("#hello-next")
    page.tap("button[data-service=PG0060001]")
    for digit in "0812345678":
        page.tap(f"#keypad button[data-digit='{digit}']")
    page.tap("#keypad-ok")
    _screen(page, "problem")
    assert page.inner_text("#problem-title") == "ระบบขัดข้องชั่วคราว"
    assert "กรุณาติดต่อเจ้าหน้าที่ที่เคาน์เตอร์" in page.inner_text("#s-problem")
    screenshot(page, "server-stopped")
    _nothing_personal_left(page)
    card.remove()
    wait_for_card(READER_NAMES[0], present=False)
    _screen(page, "start")
    # Before a visit: the agent cannot fetch the rights for the card.
    card = insert_card(VirtualThaiIdCard(CardContent()))
    _screen(page, "problem")
    assert page.inner_text("#problem-title") == "ระบบขัดข้องชั่วคราว"
    site.start()
    card.remove()
    wait_for_card(READER_NAMES[0], present=False)
    _screen(page, "start")
    assert _codes(site) == []


def test_the_idle_reset_leaves_nothing_of_the_person(
    site, agent_factory, agent_port, pcscd, insert_card, kiosk_page, screenshot
) -> None:
    page = kiosk_page
    _pair(page, site, agent_factory, agent_port)
    insert_card(VirtualThaiIdCard(CardContent()))
    _screen(page, "hello")
    page.tap("#hello-next")
    page.tap("button[data-service=PG0060001]")
    page.tap("#keypad button[data-digit='0']")
    page.tap("#keypad button[data-digit='8']")
    assert "สมชาย" in page.content() or page.inner_text("#typed") == "08"
    _screen(page, "start")  # nobody touched the screen for IDLE_SECONDS
    _nothing_personal_left(page)
    assert page.inner_text("#typed") == ""
    screenshot(page, "after-idle")
    # The card left in the reader is not read again by itself.
    page.wait_for_timeout(2000)
    assert page.get_attribute("body", "data-screen") == "start"
    assert _codes(site) == []


def test_a_revoked_kiosk_is_refused(
    site, agent_factory, agent_port, pcscd, insert_card, kiosk_page, screenshot
) -> None:
    page = kiosk_page
    kiosk = _pair(page, site, agent_factory, agent_port)
    with site.db.transaction() as session:
        kiosks.revoke(session, session.get(Kiosk, kiosk.id), "staff:1")
    insert_card(VirtualThaiIdCard(CardContent()))
    _screen(page, "problem")
    assert page.inner_text("#problem-title") == "ตู้นี้ปิดให้บริการ"
    screenshot(page, "revoked")
    page.reload()
    assert "ตู้นี้ปิดให้บริการ" in page.inner_text("#refused")
    assert _codes(site) == []


def test_local_network_access_with_the_server_treated_as_public(
    site, agent_factory, agent_port, pcscd, insert_card, screenshot, browser
) -> None:
    """Chromium asks before a public page may call 127.0.0.1, and nobody answers on a kiosk.
    With the server's address made public (--ip-address-space-overrides), the kiosk cannot
    reach its agent until the origin holds the permission that the set-up guide's
    LoopbackNetworkAllowedForUrls policy grants (granted here over CDP: a policy file would
    be machine-wide)."""
    executable = chromium_path()
    require(executable is not None, "chromium is not installed")
    flags = [*CHROMIUM_FLAGS, f"--ip-address-space-overrides=127.0.0.1:{site.port}=public"]
    # Its own Chromium (the flag is per browser), through the session's Playwright.
    public = browser.browser_type.launch(executable_path=executable, args=flags)
    try:
        blocked = public.new_context(viewport=KIOSK_SIZE, locale="th-TH")
        page = blocked.new_page()
        page.set_default_timeout(30_000)
        _pair(page, site, agent_factory, agent_port, wait_for_agent=False)
        _screen(page, "problem")
        assert page.inner_text("#problem-title") == "เครื่องอ่านบัตรไม่พร้อมใช้งาน"
        screenshot(page, "lna-blocked")
        kiosk_cookies = blocked.cookies()
        blocked.close()

        allowed = public.new_context(viewport=KIOSK_SIZE, locale="th-TH")
        allowed.add_cookies(kiosk_cookies)
        page = allowed.new_page()
        page.set_default_timeout(30_000)
        target = allowed.new_cdp_session(page).send("Target.getTargetInfo")["targetInfo"]
        public.new_browser_cdp_session().send(
            "Browser.grantPermissions",
            {
                "permissions": ["loopbackNetwork"],
                "origin": site.url,
                "browserContextId": target["browserContextId"],
            },
        )
        page.goto(f"{site.url}/kiosk/")
        page.wait_for_selector("body[data-card=absent]")
        insert_card(VirtualThaiIdCard(CardContent()))
        _screen(page, "hello")
        screenshot(page, "lna-allowed")
        allowed.close()
    finally:
        public.close()

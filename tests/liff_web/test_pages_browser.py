"""The LIFF pages in headless Chromium (360 px) against the real server on PostgreSQL, with
LINE's LIFF SDK and mock plugin from npm. The mock hands the page a real ES256 ID token and,
for the scanner, a real signed clinic QR link."""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

import pytest

from authencode.cid import mask_cid
from authencode.services import consent
from tests.support.factories import birth_date
from tests.support.liff import JwksServer, World, new_user_id
from tests.support.viewport import assert_in_view

pytestmark = pytest.mark.usefixtures("live_server")


def _api(base: str, token: str, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - the local live server
        f"{base}/liff/api{path}",
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local server
        return json.loads(response.read())


def _open(page: Any, url: str, token: str) -> None:
    page.add_init_script(f"window.AUTHENCODE_LIFF_MOCK = {json.dumps({'getIDToken': token})};")
    page.goto(url)


def _ready(page: Any, url_part: str | None = None) -> None:
    if url_part:
        page.wait_for_url(re.compile(re.escape(url_part)))
    page.wait_for_selector("body[data-ready='true']")


def _scan(page: Any, scanned: str) -> None:
    """What LINE's scanner would return: set through the mock plugin's own API."""
    page.evaluate(
        "v => window.liff.$mock.set(p => Object.assign({}, p, {scanCode: {value: v}}))", scanned
    )
    page.click("#scan")


def _registered(base: str, token: str, cid: str) -> None:
    _api(
        base, token, "POST", "/consent", {"decision": "accept", "version": consent.CONSENT_VERSION}
    )
    _api(
        base,
        token,
        "POST",
        "/register",
        {"cid": cid, "phone": "0812345678", "birthDate": birth_date(cid)},
    )


def _own_code(base: str, token: str, world: World) -> str:
    """A code the registered holder asks for themself by the counter's QR (through the API)."""
    me = _api(base, token, "GET", "/me")
    body = {"member_id": me["self"]["id"], "scanned": world.display_url()}
    return str(_api(base, token, "POST", "/codes", body)["code"]["code"])


def test_consent_register_family_scan_history(
    mobile_page: Any, live_server: str, live_world: World, jwks: JwksServer, screenshot: Any
) -> None:
    page = mobile_page
    user = new_user_id()
    _open(page, f"{live_server}/liff/", jwks.token(user))
    _ready(page, "/liff/consent")
    assert "ข้อตกลงในการให้ความยินยอม" in page.inner_text("h1")
    assert "1330" in page.inner_text("#consent-text")
    screenshot(page, "01-consent")

    page.click("#consent-accept")
    _ready(page, "/liff/register")
    screenshot(page, "02-register")

    page.fill("#cid", "1-2345-67890-12-3")
    page.fill("#birth-date", "17/05/2533")
    page.fill("#phone", "0812345678")
    page.click("#register-form button[type=submit]")
    error = page.locator("#register-form .form-error")
    error.wait_for(state="visible")
    assert "หลักตรวจสอบไม่ตรง" in error.inner_text()
    assert error.get_attribute("data-code") == "CID_CHECK_DIGIT"
    screenshot(page, "03-register-bad-cid")

    page.fill("#cid", live_world.adult_cid)
    page.fill("#birth-date", "01/01/2500")  # a wrong birth date: as if the CID were unknown
    page.fill("#phone", "081-234-5678")
    page.click("#register-form button[type=submit]")
    page.wait_for_selector("#register-form .form-error[data-code='PERSON_NOT_FOUND']")
    page.fill("#birth-date", birth_date(live_world.adult_cid, be=True))
    page.click("#register-form button[type=submit]")
    # A clear confirmation: who was linked (masked ID), the level, and what to do next.
    confirmation = page.locator("#registered")
    confirmation.wait_for(state="visible")
    assert "ลงทะเบียนเรียบร้อยแล้ว" in confirmation.inner_text()
    assert "สมชาย" in page.inner_text("#registered-name")
    assert page.inner_text("#registered-cid") == mask_cid(live_world.adult_cid)
    assert "ยังไม่ยืนยันตัวตน" in page.inner_text("#registered-level")
    assert "สแกนคิวอาร์โค้ด" in confirmation.inner_text()
    assert page.locator("#register-card").is_hidden()
    assert_in_view(page, "#registered-title")
    screenshot(page, "03b-registered")
    page.click("#registered-continue")
    _ready(page, "/liff/request")
    assert "สมชาย" in page.inner_text("#people")
    # Typed, not proven: the level, how to verify, and only whether the right is eligible.
    assert "ยังไม่ยืนยันตัวตน" in page.inner_text("#person-rights")
    assert "มีสิทธิใช้บริการนี้" in page.inner_text("#person-rights")
    assert "(UCS)" not in page.inner_text("#person-rights")
    assert "ThaID" in page.inner_text(".level-note")
    assert live_world.adult_cid not in page.content()
    screenshot(page, "04-request")

    page.click("nav.tabbar a[href='/liff/family']")
    _ready(page, "/liff/family")
    page.fill("#member-cid", live_world.child_cid)
    page.fill("#member-birth-date", birth_date(live_world.child_cid, be=True))
    page.fill("#member-phone", "0898765432")
    page.select_option("#member-relation", "child")
    page.click("#family-form button[type=submit]")
    page.wait_for_selector("#member-list li:nth-child(2)")
    assert "ภูมิ" in page.inner_text("#member-list")
    assert page.locator("#member-list .level[data-level='claimed']").count() == 2
    assert page.inner_text("#family-count") == "1/5"
    assert "089-xxx-5432" in page.inner_text("#member-list")
    screenshot(page, "05-family")

    page.click("nav.tabbar a[href='/liff/request']")
    _ready(page, "/liff/request")
    _scan(page, live_world.poster_url())  # a poster needs a verified link
    page.wait_for_selector("#request-error[data-code='LINK_NOT_VERIFIED']")
    display = live_world.display_url()  # the counter's rotating QR is fine
    _scan(page, display)
    page.wait_for_selector("#result:not([hidden])")
    code = page.inner_text("#code-value")
    assert re.fullmatch(r"PP\d{10}", code)
    assert "รพ.สต.บ้านทดสอบ (10675)" in page.inner_text("#code-facility")
    assert "PG0060001" in page.inner_text("#code-service")
    assert re.search(r"/25\d\d \d\d:\d\d:\d\d", page.inner_text("#code-time"))
    assert page.locator("#code-again").is_hidden()
    page.wait_for_selector(f"#today-list li[data-code='{code}']")
    screenshot(page, "06-code")

    _scan(page, display)
    page.wait_for_selector("#code-again:not([hidden])")
    assert page.inner_text("#code-value") == code

    page.click("nav.tabbar a[href='/liff/history']")
    _ready(page, "/liff/history")
    page.wait_for_selector(f"#history-list li[data-code='{code}']")
    assert "รพ.สต.บ้านทดสอบ" in page.inner_text("#history-list")
    screenshot(page, "07-history")

    page.click("#lang-switch")
    assert page.inner_text("nav.tabbar").count("History") == 1
    assert "Request history" in page.inner_text("main")
    screenshot(page, "08-history-english")
    page.click("#lang-switch")

    page.click("nav.tabbar a[href='/liff/rights']")
    _ready(page, "/liff/rights")
    page.wait_for_selector("#rights-detail dd[data-field='eligible']")
    assert page.locator("#pcu-form").is_hidden()
    live_world.verify(user)  # e.g. at a clinic counter
    page.reload()
    _ready(page, "/liff/rights")
    page.wait_for_selector("#rights-detail dd[data-field='main_right']")
    assert "(UCS)" in page.inner_text("#rights-detail")
    assert page.inner_text("#rights-detail dd[data-field='hosp_sub']") == "รพ.สต.บ้านทดสอบ (10675)"
    page.wait_for_selector("#facility-list [data-hcode='10676']")
    page.click("#facility-list [data-hcode='10676']")
    page.click("#pcu-form button[type=submit]")
    page.wait_for_selector("#pcu-pending:not([hidden])")
    pending = page.inner_text("#pcu-pending")
    assert (
        "ขอเปลี่ยนหน่วยบริการปฐมภูมิจาก รพ.สต.บ้านทดสอบ (10675) เป็น โรงพยาบาลทดสอบอำเภอเมือง (10676)"
        in pending
    )
    assert "หน่วยบริการประจำ: โรงพยาบาลทดสอบอำเภอเมือง (10676) (ไม่เปลี่ยน)" in pending
    # Pending is shown as pending, not as a change used.
    assert page.inner_text("#pcu-quota").endswith(": ใช้ไปแล้ว 0 จาก 4 ครั้ง, รออนุมัติ 1")
    screenshot(page, "09-rights")


def test_declining_consent_explains_and_offers_to_read_again(
    mobile_page: Any, live_server: str, live_world: World, jwks: JwksServer, screenshot: Any
) -> None:
    page = mobile_page
    _open(page, f"{live_server}/liff/register", jwks.token(new_user_id()))
    _ready(page, "/liff/consent")
    page.click("#consent-decline")
    page.wait_for_selector("#consent-declined:not([hidden])")
    assert "ท่านไม่ได้ให้ความยินยอม" in page.inner_text("#consent-declined")
    assert page.locator("#consent-card").is_hidden()
    screenshot(page, "consent-declined")
    page.click("#consent-reread")
    assert page.locator("#consent-card").is_visible()


def test_a_sixth_family_member_is_refused(
    mobile_page: Any, live_server: str, live_world: World, jwks: JwksServer, screenshot: Any
) -> None:
    token = jwks.token(new_user_id())
    _registered(live_server, token, live_world.adult_cid)
    for cid in live_world.family_cids[:5]:
        _api(
            live_server,
            token,
            "POST",
            "/members",
            {
                "cid": cid,
                "phone": "0898765432",
                "relation": "relative",
                "birthDate": birth_date(cid),
            },
        )
    page = mobile_page
    _open(page, f"{live_server}/liff/family", token)
    _ready(page)
    assert page.inner_text("#family-count") == "5/5"
    assert page.locator("#family-full").is_visible()
    assert page.locator("#family-form button[type=submit]").is_disabled()
    screenshot(page, "family-full")
    # Even a form forced open is refused by the server, in Thai.
    page.evaluate(
        "document.querySelectorAll('#family-form [disabled]').forEach(n => { n.disabled = false; })"
    )
    page.fill("#member-cid", live_world.family_cids[5])
    page.fill("#member-birth-date", birth_date(live_world.family_cids[5], be=True))
    page.fill("#member-phone", "0898765432")
    page.select_option("#member-relation", "relative")
    page.click("#family-form button[type=submit]")
    error = page.locator("#family-form .form-error")
    error.wait_for(state="visible")
    assert error.get_attribute("data-code") == "FAMILY_FULL"
    assert "ไม่เกิน 5 คน" in error.inner_text()
    screenshot(page, "family-sixth-refused")


@pytest.mark.parametrize(
    ("which", "code", "thai"),
    [
        ("forged", "QR_FORGED", "ไม่ได้ออกโดยหน่วยบริการ"),
        ("expired", "QR_EXPIRED", "หมดอายุแล้ว"),
    ],
    ids=["forged", "expired"],
)
def test_forged_and_expired_qr_are_refused(
    mobile_page: Any,
    live_server: str,
    live_world: World,
    jwks: JwksServer,
    screenshot: Any,
    which: str,
    code: str,
    thai: str,
) -> None:
    token = jwks.token(new_user_id())
    _registered(live_server, token, live_world.adult_cid)
    page = mobile_page
    _open(page, f"{live_server}/liff/request", token)
    _ready(page)
    scanned = live_world.forged_url() if which == "forged" else live_world.expired_display_url()
    _scan(page, scanned)
    error = page.locator("#request-error")
    error.wait_for(state="visible")
    assert error.get_attribute("data-code") == code
    assert thai in error.inner_text()
    assert page.locator("#result").is_hidden()
    screenshot(page, f"qr-{which}")


def test_the_camera_link_leads_to_a_code(
    mobile_page: Any, live_server: str, live_world: World, jwks: JwksServer, screenshot: Any
) -> None:
    token = jwks.token(new_user_id())
    _registered(live_server, token, live_world.adult_cid)
    page = mobile_page
    _open(page, live_world.display_url("PG0090001"), token)  # {PUBLIC_BASE_URL}/q/<token>
    _ready(page, "/liff/request?qr=")
    assert page.locator("#qr-pending").is_visible()
    screenshot(page, "camera-link")
    page.click("#use-qr")
    page.wait_for_selector("#result:not([hidden])")
    assert re.fullmatch(r"PP\d{10}", page.inner_text("#code-value"))
    assert "PG0090001" in page.inner_text("#code-service")
    assert page.locator("#qr-pending").is_hidden()
    screenshot(page, "camera-link-code")

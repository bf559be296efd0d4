"""Errors a patient can see on a phone (issue 21, item 1), in headless Chromium at 360×740:
every LIFF page's error lands inside the viewport, clear of the fixed tab bar, focused for a
screen reader (tests/support/viewport.py checks elementFromPoint at its centre and quarters).
Also the camera QR's box (which clinic, which service, one primary action), withdrawing
consent on "my data", and English mode's Common Era dates."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from authencode.models import OutboxMessage
from authencode.services import consent
from tests.liff_web.test_pages_browser import _api, _open, _ready, _registered, _scan
from tests.support.factories import birth_date
from tests.support.liff import JwksServer, World, new_user_id
from tests.support.viewport import assert_in_view

pytestmark = pytest.mark.usefixtures("live_server")


def _with_family(base: str, token: str, world: World, count: int = 4) -> None:
    """A registered account with family: a long request page, as a real family's is."""
    _registered(base, token, world.adult_cid)
    for cid in world.family_cids[:count]:
        _api(
            base,
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


def _focused(page: Any) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def _primary_buttons(page: Any) -> list[str]:
    """The visible green (primary) buttons: one clear action at a time."""
    return page.evaluate(
        "[...document.querySelectorAll('.btn-primary')]"
        ".filter(b => b.offsetParent !== null).map(b => b.id)"
    )


def test_an_expired_counter_qr_error_is_in_view_and_focused(
    mobile_page: Any, live_server: str, live_world: World, jwks: JwksServer, screenshot: Any
) -> None:
    token = jwks.token(new_user_id())
    _with_family(live_server, token, live_world)
    page = mobile_page
    _open(page, f"{live_server}/liff/request", token)
    _ready(page)
    _scan(page, live_world.expired_display_url())
    error = page.locator("#request-error[data-code='QR_EXPIRED']")
    error.wait_for(state="visible")
    assert "หมดอายุแล้ว" in error.inner_text()
    assert error.get_attribute("role") == "alert"
    assert_in_view(page, error)  # not below the fold, not under the tab bar
    assert _focused(page) == "request-error"
    screenshot(page, "visible-expired-qr")


def test_the_camera_qr_box_names_the_clinic_and_service_with_one_primary_action(
    mobile_page: Any, live_server: str, live_world: World, jwks: JwksServer, screenshot: Any
) -> None:
    token = jwks.token(new_user_id())
    _registered(live_server, token, live_world.adult_cid)
    page = mobile_page
    _open(page, live_world.display_url("PG0090001"), token)
    _ready(page, "/liff/request?qr=")
    page.wait_for_selector("#qr-details:not([hidden])")
    assert page.inner_text("#qr-facility") == "รพ.สต.บ้านทดสอบ (10675)"
    assert "PG0090001" in page.inner_text("#qr-service")
    assert "สมชาย" in page.inner_text("#qr-person")
    assert _primary_buttons(page) == ["use-qr"]  # scanning another QR is the secondary way
    assert page.locator("#scan-other").is_visible() and page.locator("#scan").is_hidden()
    assert_in_view(page, "#use-qr")
    screenshot(page, "visible-qr-pending")

    page.click("#lang-switch")  # the service in English, the clinic as registered
    assert "PG0090001" in page.inner_text("#qr-service")
    assert page.inner_text("#qr-service") != ""
    page.click("#use-qr")
    page.wait_for_selector("#result:not([hidden])")
    # English mode: the code's date in the Common Era, never the Buddhist era.
    assert re.search(r"/20\d\d \d\d:\d\d", page.inner_text("#code-time"))
    assert not re.search(r"25\d\d", page.inner_text("#code-time"))
    page.wait_for_selector("#today-list li[data-code]")
    assert not re.search(r"/25\d\d", page.inner_text("#today-list"))
    page.click("#lang-switch")
    assert re.search(r"/25\d\d \d\d:\d\d:\d\d", page.inner_text("#code-time"))


def test_an_expired_camera_qr_says_so_in_its_box_and_offers_to_scan_again(
    mobile_page: Any, live_server: str, live_world: World, jwks: JwksServer, screenshot: Any
) -> None:
    token = jwks.token(new_user_id())
    _with_family(live_server, token, live_world)
    page = mobile_page
    _open(page, live_world.expired_display_url(), token)
    _ready(page, "/liff/request")
    error = page.locator("#qr-error[data-code='QR_EXPIRED']")
    error.wait_for(state="visible")
    assert_in_view(page, error)
    assert page.locator("#use-qr").is_hidden()
    assert _primary_buttons(page) == ["scan"]
    screenshot(page, "visible-qr-pending-expired")


def test_the_family_forms_error_is_not_covered(
    mobile_page: Any, live_server: str, live_world: World, jwks: JwksServer, screenshot: Any
) -> None:
    token = jwks.token(new_user_id())
    _with_family(live_server, token, live_world)
    page = mobile_page
    _open(page, f"{live_server}/liff/family", token)
    _ready(page)
    page.fill("#member-cid", "1-2345-67890-12-3")
    page.fill("#member-birth-date", "17/05/2533")
    page.fill("#member-phone", "0898765432")
    page.select_option("#member-relation", "relative")
    submit = page.locator("#family-form button[type=submit]")
    submit.scroll_into_view_if_needed()
    # Where a thumb leaves it: the button just above the tab bar, the error appearing above it.
    page.evaluate(
        "() => { const b = document.querySelector('#family-form button[type=submit]');"
        " window.scrollBy(0, b.getBoundingClientRect().bottom - (window.innerHeight - 60)); }"
    )
    submit.click()
    error = page.locator("#family-form .form-error[data-code='CID_CHECK_DIGIT']")
    error.wait_for(state="visible")
    assert_in_view(page, error)
    screenshot(page, "visible-family-error")


def test_the_register_pages_error_is_in_view(
    mobile_page: Any, live_server: str, live_world: World, jwks: JwksServer, screenshot: Any
) -> None:
    token = jwks.token(new_user_id())
    page = mobile_page
    _api(
        live_server,
        token,
        "POST",
        "/consent",
        {"decision": "accept", "version": consent.CONSENT_VERSION},
    )
    _open(page, f"{live_server}/liff/register", token)
    _ready(page)
    page.fill("#cid", live_world.officer_cid)
    page.fill("#birth-date", birth_date(live_world.officer_cid, be=True))
    page.fill("#phone", "0812345678")
    page.click("#register-form button[type=submit]")
    error = page.locator("#register-form .form-error[data-code='RIGHT_NOT_ELIGIBLE']")
    error.wait_for(state="visible")
    assert_in_view(page, error)
    # The right by its Thai name, never a bare code such as OFC.
    assert "สิทธิสวัสดิการการรักษาพยาบาลของข้าราชการ" in error.inner_text()
    assert "OFC" not in error.inner_text()
    screenshot(page, "visible-register-error")


def test_my_datas_error_is_in_view(
    mobile_page: Any, live_server: str, live_world: World, jwks: JwksServer
) -> None:
    page = mobile_page
    _open(page, f"{live_server}/liff/my-data", jwks.token(new_user_id(), expires_in=-120))
    error = page.locator("#page-error[data-code='LIFF_TOKEN_EXPIRED']")
    error.wait_for(state="visible")
    assert_in_view(page, error)


def test_withdrawing_consent_on_my_data(
    mobile_page: Any, live_server: str, live_world: World, jwks: JwksServer, screenshot: Any
) -> None:
    user = new_user_id()
    token = jwks.token(user)
    _with_family(live_server, token, live_world, count=1)
    page = mobile_page
    _open(page, f"{live_server}/liff/my-data", token)
    _ready(page)
    card = page.locator("#withdraw-card")
    assert card.is_visible()
    # What stays and why (the scheme's claims need the codes), and what goes.
    assert page.locator("#withdraw-keeps li[data-kind='codes'] .why").inner_text()
    assert "เบิก" in page.inner_text("#withdraw-keeps li[data-kind='codes']")
    assert page.locator("#withdraw-removes li[data-kind='links']").is_visible()
    # English mode: every date in the Common Era.
    page.click("#lang-switch")
    assert re.search(r"/20\d\d", page.inner_text("#generated-at"))
    assert not re.search(r"25\d\d", page.inner_text("main"))
    page.click("#lang-switch")

    page.click("#withdraw")  # asked once
    assert_in_view(page, "#withdraw-question")
    assert page.locator("#withdraw").is_hidden()
    screenshot(page, "withdraw-asked")
    page.click("#withdraw-no")
    assert page.locator("#withdraw-confirm").is_hidden()
    assert _api(live_server, token, "GET", "/me")["consent"]["given"] is True

    page.click("#withdraw")
    page.click("#withdraw-yes")
    result = page.locator("#withdraw-result")
    result.wait_for(state="visible")
    assert "ถอนความยินยอมเรียบร้อยแล้ว" in result.inner_text()
    assert_in_view(page, result)
    page.wait_for_selector("#withdraw-card[hidden]", state="attached")
    assert page.locator("#register-again").is_visible()
    screenshot(page, "withdrawn")
    assert _api(live_server, token, "GET", "/me")["consent"]["given"] is False
    with live_world.session() as session:
        pushes = session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == user))
        assert [p for p in pushes if "ถอนความยินยอม" in str(p.payload["messages"])]


def test_a_withdrawal_already_made_elsewhere_is_said_in_view(
    mobile_page: Any, live_server: str, live_world: World, jwks: JwksServer
) -> None:
    """A second tab (or the chat) withdrew first: this page says so; nothing is done twice."""
    token = jwks.token(new_user_id())
    _registered(live_server, token, live_world.adult_cid)
    page = mobile_page
    _open(page, f"{live_server}/liff/my-data", token)
    _ready(page)
    _api(live_server, token, "POST", "/consent/withdraw", {"confirm": "withdraw"})
    page.click("#withdraw")
    page.click("#withdraw-yes")
    result = page.locator("#withdraw-result")
    result.wait_for(state="visible")
    assert "ถอนความยินยอมไว้แล้ว" in result.inner_text()
    assert_in_view(page, result)


def test_english_mode_asks_and_shows_common_era_dates(
    mobile_page: Any, live_server: str, live_world: World, jwks: JwksServer, screenshot: Any
) -> None:
    """One calendar per language: in English no Buddhist-era year is shown or asked for."""
    token = jwks.token(new_user_id())
    _api(
        live_server,
        token,
        "POST",
        "/consent",
        {"decision": "accept", "version": consent.CONSENT_VERSION},
    )
    page = mobile_page
    page.add_init_script("window.localStorage.setItem('authencode.liff.lang', 'en');")
    _open(page, f"{live_server}/liff/register", token)
    _ready(page)
    assert "Register" in page.inner_text("h1")
    assert not re.search(r"25\d\d|Buddhist", page.inner_text("main"))
    assert "1990" in (page.get_attribute("#birth-date", "placeholder") or "")
    year, month, day = birth_date(live_world.adult_cid).split("-")
    page.fill("#cid", live_world.adult_cid)
    page.fill("#birth-date", f"{day}/{month}/{year}")  # typed in the Common Era
    page.fill("#phone", "0812345678")
    page.click("#register-form button[type=submit]")
    page.wait_for_selector("#registered:not([hidden])")
    assert "You are registered" in page.inner_text("#registered")
    screenshot(page, "registered-english")

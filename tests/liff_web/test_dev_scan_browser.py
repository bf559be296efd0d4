"""The demo can be tried end to end (issue 21, item 14): in development, LINE's mock scanner
(which has no camera) is handed a demo clinic's counter QR the page lets the developer pick,
freshly signed by the server; production pages have no such thing."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from authencode.settings import Settings
from tests.liff_web.test_modes import _app
from tests.liff_web.test_pages_browser import _ready
from tests.support.factories import birth_date
from tests.support.liff import World


@pytest.fixture
def live_settings(live_settings: Settings) -> Settings:
    """`make run` without LINE: development, no LINE Login channel (the dev signer)."""
    return live_settings.with_overrides(environment="development", line_login_channel_id=None)


def test_the_development_mock_scans_a_demo_clinic_qr(
    mobile_page: Any, live_server: str, live_world: World, screenshot: Any
) -> None:
    page = mobile_page
    page.goto(f"{live_server}/liff/")  # signed in by the development signer, no LINE
    _ready(page, "/liff/consent")
    page.click("#consent-accept")
    _ready(page, "/liff/register")
    page.fill("#cid", live_world.adult_cid)
    page.fill("#birth-date", birth_date(live_world.adult_cid, be=True))
    page.fill("#phone", "0812345678")
    page.click("#register-form button[type=submit]")
    page.click("#registered-continue")
    _ready(page, "/liff/request")

    page.click("#scan")
    picker = page.locator("#dev-qr-picker")
    picker.wait_for(state="visible")
    choices = page.locator("#dev-qr-list [data-service]")
    assert sorted(choices.evaluate_all("cs => cs.map(c => c.dataset.service)")) == [
        "PG0060001",
        "PG0090001",
    ]
    assert "รพ.สต.บ้านทดสอบ" in choices.first.inner_text()
    screenshot(page, "dev-qr-picker")
    page.click("#dev-qr-list [data-service='PG0090001']")
    page.wait_for_selector("#result:not([hidden])")
    assert re.fullmatch(r"PP\d{10}", page.inner_text("#code-value"))
    assert "PG0090001" in page.inner_text("#code-service")
    assert picker.is_hidden()
    screenshot(page, "dev-qr-code")

    page.click("#scan")  # cancelling the picker scans nothing
    picker.wait_for(state="visible")
    page.click("#dev-qr-cancel")
    assert picker.is_hidden() and page.locator("#request-error").is_hidden()


def test_production_pages_offer_no_demo_qrs(settings: Settings) -> None:
    app = _app(settings, environment="production", liff_id="1657000000-AbCdEfGh")
    try:
        client = app.test_client()
        assert client.post("/dev/liff/demo-qrs").status_code == 404
        page = client.get("/liff/request").get_data(as_text=True)
        config = json.loads(page.split('id="liff-config">', 1)[1].split("</script>", 1)[0])
        assert config["devQrUrl"] is None and config["mode"] == "line"
        assert "dev-qr-picker" not in page
    finally:
        app.extensions["authencode"].db.dispose()

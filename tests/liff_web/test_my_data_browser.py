""" "ข้อมูลของฉัน" in headless Chromium at phone size against the real server on PostgreSQL:
reached from the tab bar, shows the holder's data masked, downloads it as JSON (full values of
the holder's own data only), prints, and erases it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from authencode.models import ErasureRequest, FamilyLink
from tests.liff_web.test_pages_browser import _api, _open, _own_code, _ready, _registered
from tests.support.factories import birth_date
from tests.support.liff import JwksServer, World, new_user_id

pytestmark = pytest.mark.usefixtures("live_server")


def test_view_download_print_and_erase_my_data(
    mobile_page: Any,
    live_server: str,
    live_world: World,
    jwks: JwksServer,
    screenshot: Any,
    tmp_path: Path,
) -> None:
    user = new_user_id()
    token = jwks.token(user)
    _registered(live_server, token, live_world.adult_cid)
    child = live_world.child_cid
    _api(
        live_server,
        token,
        "POST",
        "/members",
        {"cid": child, "phone": "0898765432", "birthDate": birth_date(child), "relation": "child"},
    )
    code = _own_code(live_server, token, live_world)

    page = mobile_page
    _open(page, f"{live_server}/liff/history", token)
    _ready(page, "/liff/history")
    page.click("nav.tabbar a[href='/liff/my-data']")
    _ready(page, "/liff/my-data")
    assert page.locator("nav.tabbar a.active").inner_text() == "ข้อมูลของฉัน"
    text = page.inner_text("#content")
    cid = live_world.adult_cid
    masked = f"{cid[0]}-{cid[1:5]}-xxxxx-{cid[10:12]}-{cid[12]}"
    assert masked in text and cid not in text and "0812345678" not in text
    assert "081-xxx-5678" in text and "089-xxx-5432" in text
    assert page.locator("#my-links li[data-link]").count() == 2
    assert page.locator(f"#my-codes li[data-code='{code}']").count() == 1
    assert "ให้ความยินยอม" in page.inner_text("#consent-history")
    # A claimed own link is not shown who linked the person: it may be the impostor.
    expect(page.locator("#linked-by-note")).to_be_visible()
    assert "ยืนยันตัวตนแล้ว" in page.inner_text("#linked-by-note")
    assert "หลักประกันสุขภาพแห่งชาติ" in page.inner_text("#erase-keeps")
    # Nothing runs off the 360 px screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, "my-data-01")

    with page.expect_download() as download_info:
        page.click("#download-json")
    saved = tmp_path / "my-data.json"
    download_info.value.save_as(saved)
    data = json.loads(saved.read_text(encoding="utf-8"))
    assert download_info.value.suggested_filename.endswith(".json")
    own, member = data["links"]
    assert (own["cid"], own["phone"]) == (cid, "0812345678")
    assert member["cid"] is None and child not in saved.read_text(encoding="utf-8")
    assert data["account"]["line_user_id"] == user

    # Printable: the print stylesheet hides the navigation and the buttons.
    page.emulate_media(media="print")
    assert not page.locator("nav.tabbar").is_visible()
    assert not page.locator("#erase-card").is_visible()
    assert page.locator("#my-codes").is_visible()
    page.emulate_media(media="screen")

    erase = page.locator("#erase")
    erase.click()
    assert erase.inner_text() == "แตะอีกครั้งเพื่อยืนยันการลบข้อมูล"
    erase.click()
    result = page.locator("#erase-result")
    expect(result).to_be_visible()
    assert "ลบข้อมูลเรียบร้อยแล้ว" in result.inner_text()
    expect(page.locator("#my-links li[data-link]")).to_have_count(0)
    expect(page.locator("#register-again")).to_be_visible()
    assert page.locator("#my-erasures li[data-erasure]").count() == 1
    screenshot(page, "my-data-02-erased")
    with live_world.session() as session:
        assert session.scalar(select(func.count()).select_from(FamilyLink)) == 0
        assert session.scalar(select(func.count()).select_from(ErasureRequest)) == 1

    # The erased account opens the page again: unregistered, not sent to consent first.
    page.reload()
    _ready(page, "/liff/my-data")
    assert page.locator("#erase").is_hidden()
    page.click("#register-again")
    _ready(page, "/liff/consent")

"""The LINE official account on the clinic's QR page and poster (LINE_BASIC_ID), and the counter
display's countdown agreeing with the interval it states."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from authencode.passwords import hash_password
from authencode.services import qr_tokens
from authencode.settings import Settings
from tests.support.clinic import (
    PASSWORD,
    ClinicClient,
    decode_qr,
    log_in_in_browser,
    pdf_images,
    svg_to_image,
)
from tests.support.factories import make_facility, make_staff

BASIC_ID = "@authencode"
ADD_FRIEND = "https://line.me/R/ti/p/@authencode"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_overrides(line_basic_id=BASIC_ID)


@pytest.fixture
def staff_client(app, clinic_world) -> ClinicClient:
    cc = ClinicClient(app.test_client())
    cc.login("a-staff")
    return cc


def test_poster_prints_the_line_id_and_its_add_friend_qr(
    staff_client, clinic_world, protector
) -> None:
    response = staff_client.get(
        "/clinic/facilities/10675/poster.pdf?service=PG0060001&service=PG0090001"
    )
    assert response.status_code == 200
    links = [decode_qr(image) for image in pdf_images(response.data)]
    # one service QR a page, and the add-friend QR (the same image, so embedded once)
    assert ADD_FRIEND in links
    services = [link for link in links if link != ADD_FRIEND]
    with clinic_world.db.transaction() as session:
        codes = [qr_tokens.verify(session, protector, link).service_code for link in services]
    assert codes == ["PG0060001", "PG0090001"]
    assert _pdf_text_has(response.data, BASIC_ID)


def test_qr_page_shows_the_line_id_with_its_qr(staff_client) -> None:
    page = staff_client.get("/clinic/facilities/10675/qr").get_data(as_text=True)
    card = page.split('id="official-account"', 1)[1].split("</figure>", 1)[0]
    assert BASIC_ID in card and f'href="{ADD_FRIEND}"' in card
    svg = card[card.index("<svg") : card.index("</svg>") + 6]
    assert decode_qr(svg_to_image(svg)) == ADD_FRIEND
    # the page states the counter display's real interval and lifetime
    refresh = int(qr_tokens.DISPLAY_REFRESH.total_seconds())
    valid = int(qr_tokens.DISPLAY_TTL.total_seconds())
    assert f"ทุก {refresh} วินาที (แต่ละรหัสใช้ได้ {valid} วินาที)" in page


def test_without_a_basic_id_the_poster_keeps_its_generic_step(app, clinic_world, protector) -> None:
    app.extensions["authencode"].settings = app.extensions["authencode"].settings.with_overrides(
        line_basic_id=None
    )
    cc = ClinicClient(app.test_client())
    cc.login("a-staff")
    page = cc.get("/clinic/facilities/10675/qr").get_data(as_text=True)
    assert 'id="official-account"' not in page and "LINE_BASIC_ID" in page
    pdf = cc.get("/clinic/facilities/10675/poster.pdf?service=PG0060001").data
    (only,) = pdf_images(pdf)  # the service QR alone
    assert decode_qr(only).startswith("http://127.0.0.1")


def _pdf_text_has(pdf: bytes, text: str) -> bool:
    """Whether the PDF shows the text (pypdf extracts it from the shaped, embedded font)."""
    import io

    from pypdf import PdfReader

    return any(text in (page.extract_text() or "") for page in PdfReader(io.BytesIO(pdf)).pages)


def test_counter_display_counts_down_to_the_change_it_announces(
    live_server, live_app, page, protector, screenshot
) -> None:
    page.set_default_timeout(30_000)
    db = live_app.extensions["authencode"].db
    with db.transaction() as session:
        clinic = make_facility(session, hcode="10675", name="โรงพยาบาลชุมชนดอยหล่อ")
        make_staff(
            session,
            protector,
            clinic,
            username="counter",
            role="staff",
            password_hash=hash_password(PASSWORD),
            must_change_password=False,
        )
    log_in_in_browser(page, live_server, "counter")
    page.wait_for_url(f"{live_server}/clinic/")
    page.clock.install()  # the page's clock, run forward below; the server's is real
    page.goto(f"{live_server}/clinic/facilities/10675/display/PG0060001")
    refresh = int(qr_tokens.DISPLAY_REFRESH.total_seconds())
    expect(page.locator("#every")).to_have_text(f"เปลี่ยนคิวอาร์โค้ดทุก {refresh} วินาที")
    page.clock.run_for(1000)
    first = _seconds_left(page)
    assert 1 <= first <= refresh
    screenshot(page, "display")
    page.clock.run_for(10_000)
    assert _seconds_left(page) == first - 10
    # at zero the page fetches the next QR and counts the full interval again (the new QR may
    # draw the same as the old: the server's clock is real and tokens change by the second)
    with page.expect_response(lambda r: r.url.endswith("/current.json")) as fetched:
        page.clock.run_for((first - 10) * 1000 + 1000)
    assert fetched.value.ok and fetched.value.json()["svg"].startswith("<svg")
    page.clock.run_for(1000)
    assert refresh - 2 <= _seconds_left(page) <= refresh
    expect(page.locator("#offline")).to_be_hidden()


def _seconds_left(page) -> int:
    text = page.locator("#countdown").inner_text()
    match = re.fullmatch(r"รหัสใหม่ใน (\d+) วินาที", text)
    assert match, text
    return int(match.group(1))

"""In headless Chromium at 1366×900 against the real server (PostgreSQL): the records' date
picker speaks the Buddhist era and its date filters the list; irreversible acts (a unit-change
decision, a token's revocation) ask once, "back" leaves the record as it was, "confirm"
applies it; and the home page shows the work waiting."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from authencode.models import ApiToken, PcuChangeRequest
from authencode.passwords import hash_password
from authencode.services import issuance
from authencode.services.api_tokens import create_token
from authencode.thaidate import MONTHS_LONG, service_day
from tests.clinic_qr.test_pcu_admin import _asked
from tests.support.clinic import PASSWORD, log_in_in_browser
from tests.support.factories import make_facility, make_person, make_staff

HCODE = "10675"


def _log_in(page, base: str, username: str) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in_in_browser(page, base, username)
    page.wait_for_url(f"{base}/clinic/")


def test_the_picker_fills_a_be_date_and_the_filter_uses_it(
    live_server, live_app, protector, page, screenshot
) -> None:
    db = live_app.extensions["authencode"].db
    today = service_day()
    first_of_month = today.replace(day=1)
    with db.transaction() as session:
        clinic = make_facility(session, hcode=HCODE, name="โรงพยาบาลชุมชนดอยหล่อ")
        make_staff(
            session,
            protector,
            clinic,
            username="counter",
            password_hash=hash_password(PASSWORD),
            must_change_password=False,
        )
        codes = {}
        for when in (first_of_month, today):
            issued = issuance.issue_code(
                session,
                make_person(session, protector),
                hcode=HCODE,
                service_code="PG0060001",
                phones="0812345678",
                channel="line",
                now=dt.datetime.combine(when, dt.time(3, 0), dt.UTC),
            )
            codes[when] = issued.code.code
    _log_in(page, live_server, "counter")
    page.goto(f"{live_server}/clinic/facilities/{HCODE}/records")
    field = "form.filters input[name=date_from]"
    page.click(f"{field} + button.datepicker-open")
    title = page.inner_text(".datepicker .datepicker-title")
    assert title == f"{MONTHS_LONG[today.month - 1]} {today.year + 543}"  # Thai month, BE year
    screenshot(page, "date-picker")
    page.click(f".datepicker button[data-day='{first_of_month.isoformat()}']")
    be_first = f"01/{first_of_month.month:02d}/{first_of_month.year + 543}"
    assert page.input_value(field) == be_first
    assert page.locator(".datepicker").count() == 0  # closed once a day is picked
    # The same day in both fields: only that day's code is listed.
    page.click("form.filters input[name=date_to] + button.datepicker-open")
    page.click(f".datepicker button[data-day='{first_of_month.isoformat()}']")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**date_from=**")
    shown = page.eval_on_selector_all(
        "#records tbody tr[data-code]", "r => r.map(x => x.dataset.code)"
    )
    if first_of_month != today:
        assert shown == [codes[first_of_month]]
    assert page.input_value(field) == be_first  # shown back in BE
    # A month back and forth in the picker moves the BE year at January.
    page.click(f"{field} + button.datepicker-open")
    for _ in range(first_of_month.month):
        page.click(".datepicker button[aria-label='เดือนก่อน']")
    assert page.inner_text(".datepicker .datepicker-title") == f"ธันวาคม {today.year + 542}"
    page.keyboard.press("Escape")
    assert page.locator(".datepicker").count() == 0
    # A typed date that is not a date is answered in the page, in Thai and English.
    page.fill(field, "31/02/2569")
    page.click("form.filters button[type=submit]")
    page.wait_for_selector(".error[role=alert]")
    assert "วัน/เดือน/ปี พ.ศ." in page.inner_text(".error")
    # In English: English month names and the Common Era, filled and read back as such.
    page.goto(f"{live_server}/clinic/facilities/{HCODE}/records?lang=en")
    page.click(f"{field} + button.datepicker-open")
    assert page.inner_text(".datepicker .datepicker-title") == today.strftime("%B %Y")
    page.click(f".datepicker button[data-day='{first_of_month.isoformat()}']")
    assert page.input_value(field) == first_of_month.strftime("%d/%m/%Y")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**date_from=**")
    assert page.input_value(field) == first_of_month.strftime("%d/%m/%Y")


def _status(db, request_id: int) -> str:
    with db.sessionmaker() as session:
        return session.scalar(
            select(PcuChangeRequest.status).where(PcuChangeRequest.id == request_id)
        )


def test_a_unit_change_decision_asks_once(
    live_server, live_app, protector, page, screenshot
) -> None:
    db = live_app.extensions["authencode"].db
    with db.transaction() as session:
        for hcode in ("10675", "10676"):
            make_facility(session, hcode=hcode, name=f"หน่วยบริการ {hcode}")
    asked = _asked(db, protector)
    _log_in(page, live_server, "registry")
    # The home page shows the request waiting, with a link to the queue.
    assert page.get_attribute("[data-work=unit-changes]", "data-count") == "1"
    page.click("[data-work=unit-changes] a")
    row = f"tr[data-request='{asked.request_id}']"
    reject = page.locator(f"{row} form[action$='/reject'] button")
    approve = page.locator(f"{row} form[action$='/approve'] button")
    # Reject looks different from approve (a danger button).
    assert "danger" in (reject.get_attribute("class") or "")
    assert reject.evaluate("b => getComputedStyle(b).backgroundColor") != approve.evaluate(
        "b => getComputedStyle(b).backgroundColor"
    )
    # The first click asks; going back leaves the request pending.
    approve.click()
    page.wait_for_selector("#confirm-dialog[open]")
    assert "มานี" in page.inner_text("#confirm-message")
    screenshot(page, "confirm-approve")
    page.click("#confirm-no")
    assert page.locator("#confirm-dialog[open]").count() == 0
    assert "decided=" not in page.url and _status(db, asked.request_id) == "pending"
    # Asking again and confirming applies it.
    reject.click()
    page.wait_for_selector("#confirm-dialog[open]")
    page.click("#confirm-yes")
    page.wait_for_url("**decided=**")
    assert _status(db, asked.request_id) == "rejected"


def test_revoking_a_token_asks_once(live_server, live_app, protector, page, screenshot) -> None:
    db = live_app.extensions["authencode"].db
    with db.transaction() as session:
        clinic = make_facility(session, hcode=HCODE, name="โรงพยาบาลชุมชนดอยหล่อ")
        make_staff(
            session,
            protector,
            clinic,
            username="boss",
            role="facility_admin",
            password_hash=hash_password(PASSWORD),
            must_change_password=False,
        )
        token_id = create_token(session, clinic, "HIS", "test").token.id
    _log_in(page, live_server, "boss")
    assert page.get_attribute("[data-facility='10675'] [data-work=issued]", "data-count") == "0"
    screenshot(page, "home")
    page.goto(f"{live_server}/clinic/facilities/{HCODE}/tokens")
    page.click("form[action$='/revoke'] button")
    page.wait_for_selector("#confirm-dialog[open]")
    page.keyboard.press("Escape")  # closing the dialog any way but "confirm" is going back
    with db.sessionmaker() as session:
        assert session.get(ApiToken, token_id).revoked_at is None
    page.click("form[action$='/revoke'] button")
    page.click("#confirm-yes")
    page.wait_for_selector("form[action$='/revoke']", state="detached")
    with db.sessionmaker() as session:
        assert session.get(ApiToken, token_id).revoked_at is not None

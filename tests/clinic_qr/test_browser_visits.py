"""The counter and the records in headless Chromium against the real server (PostgreSQL):
confirm a visit by webcam photo and by a certified CID, print the slip, search, edit,
cancel, a person's history, the report's filters, paging and chart, and both downloads.

The smart-card way, against the real reader agent and a virtual card, is in
tests/reader_agent/test_agent_in_browser.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from urllib.parse import unquote_plus

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from authencode.cid import format_cid
from authencode.models import AuditEntry, AuthenCode, VisitEvidence
from authencode.passwords import hash_password
from authencode.services import issuance
from authencode.services.report_exports import EXPORT_HEADERS
from authencode.thaidate import BANGKOK, service_day
from tests.support.clinic import PASSWORD, log_in_in_browser
from tests.support.factories import make_facility, make_person, make_staff, new_cid

HCODE = "10675"


@dataclass
class Counter:
    base: str
    db: object
    patient_cid: str
    newborn_cid: str
    staff_id: int


@pytest.fixture
def counter(live_server, live_app, protector) -> Counter:
    """A clinic with a counter staff member, two patients, and 23 LINE codes today."""
    db = live_app.extensions["authencode"].db
    now = dt.datetime.now(dt.UTC)
    with db.transaction() as session:
        clinic = make_facility(
            session, hcode=HCODE, name="โรงพยาบาลชุมชนดอยหล่อ", services=("PG0060001", "PG0090001")
        )
        staff = make_staff(
            session,
            protector,
            clinic,
            username="counter",
            password_hash=hash_password(PASSWORD),
            must_change_password=False,
        )
        patient = make_person(
            session, protector, title_th="นาง", first_name_th="มาลี", last_name_th="ศรีสุข"
        )
        newborn = make_person(
            session,
            protector,
            title_th="ด.ญ.",
            first_name_th="ขวัญข้าว",
            last_name_th="ศรีสุข",
            birth_year=now.year,
            birth_month=None,
            birth_day=None,
        )
        # Within today's service day (Bangkok), also just after its midnight.
        day_start = dt.datetime.combine(service_day(now), dt.time(), tzinfo=BANGKOK)
        for i in range(23):
            person = make_person(session, protector, first_name_th=f"ผู้รับบริการ{i:02d}")
            issuance.issue_code(
                session,
                person,
                hcode=HCODE,
                service_code="PG0090001",
                phones="0811111111",
                channel="line",
                now=max(day_start, now - dt.timedelta(minutes=40 - i)),
            )
        ids = (protector.decrypt(patient.cid_enc), protector.decrypt(newborn.cid_enc), staff.id)
    return Counter(live_server, db, *ids)


def _log_in(page, base: str) -> None:
    log_in_in_browser(page, base, "counter")
    page.wait_for_url(f"{base}/clinic/")


def _code(db, code: str) -> AuthenCode:
    with db.sessionmaker() as session:
        found = session.scalar(select(AuthenCode).where(AuthenCode.code == code))
        assert found is not None
        session.expunge(found)
        return found


def test_confirm_by_webcam_photo_and_by_certified_cid_then_print(
    counter, page, screenshot, protector
) -> None:
    page.set_default_timeout(30_000)
    base = counter.base
    _log_in(page, base)
    page.goto(f"{base}/clinic/facilities/{HCODE}/visit")
    # The smart-card way is first; without an agent on this machine the page says so.
    page.wait_for_selector("#agent-status.error")
    assert "reader agent" in page.inner_text("#agent-status")
    assert page.is_visible("#card-panel") and not page.is_visible("#photo-panel")

    page.check("input[name=method][value=cid_photo]")
    assert page.is_visible("#photo-panel") and not page.is_visible("#card-panel")
    assert not page.is_visible("#certifier-panel")
    page.fill("#visit-cid", counter.patient_cid)
    page.click("#camera-open")
    page.wait_for_selector("#camera[data-ready=true]")
    page.click("#camera-shoot")
    page.wait_for_selector("#photo-preview[data-taken=webcam]")
    assert page.eval_on_selector("#photo-file", "el => el.files[0].type") == "image/jpeg"
    page.fill("input[name=phones]", "081-234-5678")
    page.select_option("select[name=service]", "PG0060001")
    screenshot(page, "webcam-photo-taken")
    page.click("#confirm button[type=submit]")
    page.wait_for_selector(".code-large")
    code = page.inner_text(".code-large").strip()
    assert code.startswith("PP")
    assert "มาลี" in page.inner_text("main")
    saved = _code(counter.db, code)
    assert (saved.channel, saved.phones, saved.recorder_staff_id) == (
        "cid_photo",
        "0812345678",
        counter.staff_id,
    )
    with counter.db.sessionmaker() as session:
        evidence = session.scalar(select(VisitEvidence).where(VisitEvidence.code_id == saved.id))
        assert evidence is not None and evidence.photo_type == "image/jpeg"
        assert evidence.photo_size and evidence.photo_size > 1000  # a real frame, not empty

    # The printed slip: the code and its QR, without the app's header and menus.
    page.emulate_media(media="print")
    assert not page.is_visible("header.top")
    assert page.is_visible(".slip .code-large") and page.is_visible(".slip-qr svg")
    screenshot(page, "slip-print")
    page.emulate_media(media="screen")

    # A certified CID (a newborn): the certifier's CID and relation are recorded.
    _confirm_certified(page, counter)
    newborn_code = _code(counter.db, page.inner_text(".code-large").strip())
    assert newborn_code.channel == "certified_pid"

    # The same visit again today: the page shows the code already issued.
    _confirm_certified(page, counter)
    assert page.inner_text(".code-large").strip() == newborn_code.code


def _confirm_certified(page, counter: Counter) -> None:
    """The newborn, certified by the patient (a parent), at the counter page."""
    page.goto(f"{counter.base}/clinic/facilities/{HCODE}/visit")
    page.check("input[name=method][value=certified_pid]")
    assert page.is_visible("#certifier-panel")
    page.fill("#visit-cid", counter.newborn_cid)
    page.fill("input[name=certifier_cid]", counter.patient_cid)
    page.select_option("select[name=relation]", "parent")
    page.fill("input[name=phones]", "0812345678")
    page.click("#confirm button[type=submit]")
    page.wait_for_selector(".code-large")


def test_search_edit_cancel_history_report_and_downloads(
    counter, page, screenshot, protector, tmp_path
) -> None:
    page.set_default_timeout(30_000)
    base = counter.base
    with counter.db.transaction() as session:
        from authencode.services.people import find_person

        patient = find_person(session, protector, counter.patient_cid)
        assert patient is not None
        first = issuance.issue_code(
            session,
            patient,
            hcode=HCODE,
            service_code="PG0060001",
            phones="0812345678",
            channel="cid_photo",
            now=dt.datetime.now(dt.UTC) - dt.timedelta(days=3),
        ).code.code
        second = issuance.issue_code(
            session,
            patient,
            hcode=HCODE,
            service_code="PG0060001",
            phones="0812345678",
            channel="cid_photo",
        ).code.code
    _log_in(page, base)

    # Search by CID: both of the patient's codes, over a date range.
    page.goto(f"{base}/clinic/facilities/{HCODE}/records")
    page.fill("form.filters input[name=cid]", counter.patient_cid)
    page.fill(
        "form.filters input[name=date_from]", (service_day() - dt.timedelta(days=7)).isoformat()
    )
    # The service day is Bangkok's date (a day ahead of UTC's from 17:00 UTC).
    page.fill("form.filters input[name=date_to]", service_day().isoformat())
    page.click("form.filters button[type=submit]")
    page.wait_for_selector(f"tr[data-code={second}]")
    rows = page.locator("#records tbody tr").all_inner_texts()
    assert len(rows) == 2 and counter.patient_cid not in "".join(rows)  # masked
    assert "person=" in page.url and counter.patient_cid not in page.url  # a reference

    # Open today's record; edit it (a reason is required) and see the change audited.
    page.click(f"tr[data-code={second}] a")
    page.fill("#edit input[name=hn]", "HN-5501")
    page.fill("#edit input[name=reason]", "เพิ่ม HN จากระบบโรงพยาบาล")
    page.click("#edit button[type=submit]")
    page.wait_for_selector("p.notice")
    assert "HN-5501" in page.inner_text("#record")
    assert "เพิ่ม HN จากระบบโรงพยาบาล" in page.inner_text("main")

    # Cancel it with a reason.
    page.fill("input[name=cancel_reason]", "ผู้รับบริการกลับก่อนพบแพทย์")
    page.click("form#cancel button[type=submit]")
    # Asked once: going back leaves the code active; confirming cancels it.
    page.wait_for_selector("#confirm-dialog[open]")
    assert second in page.inner_text("#confirm-message")
    page.click("#confirm-no")
    assert page.locator("#record[data-status=active]").count() == 1
    assert _code(counter.db, second).status == "active"
    page.click("form#cancel button[type=submit]")
    page.click("#confirm-yes")
    page.wait_for_selector("#record[data-status=cancelled]")
    assert "ผู้รับบริการกลับก่อนพบแพทย์" in page.inner_text("#cancel-reason")
    assert _code(counter.db, second).status == "cancelled"
    with counter.db.sessionmaker() as session:
        actions = set(
            session.scalars(
                select(AuditEntry.action).where(
                    AuditEntry.target == f"authen_code:{_code(counter.db, second).id}"
                )
            )
        )
    assert {"code.edit", "code.cancel"} <= actions

    # The person's history: both codes, newest first, the cancelled one marked.
    page.click("#person-history")
    page.wait_for_selector("#records")
    shown = page.eval_on_selector_all("#records tbody tr", "rows => rows.map(r => r.dataset.code)")
    assert shown == [second, first]
    assert (
        page.get_attribute(f"tr[data-code={second}] td[data-status]", "data-status") == "cancelled"
    )
    screenshot(page, "person-history")

    # The report: today's 23 LINE codes + the cancelled one, ten a page, with the chart.
    page.goto(f"{base}/clinic/facilities/{HCODE}/report")
    page.wait_for_selector("#paging")
    assert page.inner_text("#paging span") == "1 - 10 จากทั้งหมด 24 รายการ"
    assert page.locator("#chart-service rect.bar").count() >= 1
    assert "PG0090001" in page.inner_text("#chart-service figcaption")
    page.click("#paging a[rel=next]")
    page.wait_for_selector("#paging a[rel=prev]")
    assert page.inner_text("#paging span") == "11 - 20 จากทั้งหมด 24 รายการ"
    page.select_option("form.filters select[name=channel]", "line")
    page.select_option("form.filters select[name=service]", "PG0090001")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**channel=line**")
    assert page.inner_text("#paging span") == "1 - 10 จากทั้งหมด 23 รายการ"
    screenshot(page, "report")

    # Both downloads, as the browser saves them, open with the Thai headers and names.
    with page.expect_download() as csv_download:
        page.click("#downloads a[href*='report.csv']")
    csv_path = tmp_path / csv_download.value.suggested_filename
    csv_download.value.save_as(csv_path)
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert tuple(table[0]) == EXPORT_HEADERS and len(table) == 24
    assert any("ผู้รับบริการ" in cell for row in table[1:] for cell in row)
    with page.expect_download() as xlsx_download:
        page.click("#downloads a[href*='report.xlsx']")
    xlsx_path = tmp_path / xlsx_download.value.suggested_filename
    xlsx_download.value.save_as(xlsx_path)
    # A read-only workbook keeps its file open until closed (else a ResourceWarning, turned
    # into an error, surfaces in whichever test the garbage collector happens to run in).
    workbook = load_workbook(xlsx_path, read_only=True)
    try:
        values = list(workbook.active.iter_rows(values_only=True))
    finally:
        workbook.close()
    assert tuple(values[0]) == EXPORT_HEADERS and len(values) == 24
    assert all(row[10] for row in values[1:])  # the service type column is filled in
    assert any("ผู้รับบริการ" in str(cell) for row in values[1:] for cell in row)


def test_a_cid_that_is_not_registered_is_explained_in_the_page(counter, page) -> None:
    page.set_default_timeout(30_000)
    _log_in(page, counter.base)
    page.goto(f"{counter.base}/clinic/facilities/{HCODE}/visit")
    page.check("input[name=method][value=cid_photo]")
    page.fill("#visit-cid", new_cid("8"))
    page.set_input_files(
        "#photo-file", files=[{"name": "card.png", "mimeType": "image/png", "buffer": _png()}]
    )
    page.fill("input[name=phones]", "0812345678")
    page.click("#confirm button[type=submit]")
    page.wait_for_selector(".error")
    assert "ไม่พบ" in page.inner_text(".error")
    assert page.is_visible("#photo-panel")  # the chosen way stays chosen


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), "teal").save(out, format="PNG")
    return out.getvalue()


def test_the_counter_lookup_keeps_the_cid_out_of_every_address(counter, page) -> None:
    """In Chromium: the typed CID is posted; neither the address bar nor any request the
    page makes (navigations, redirects, scripts) carries it, and reloading shows the person
    again without posting the form."""
    page.set_default_timeout(30_000)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    _log_in(page, counter.base)
    page.goto(f"{counter.base}/clinic/facilities/{HCODE}/visit")
    page.fill("#lookup input[name=cid]", format_cid(counter.patient_cid))
    page.click("#lookup button[type=submit]")
    page.wait_for_selector("#person")
    assert "person=" in page.url
    page.reload()
    page.wait_for_selector("#person")
    assert "มาลี" in page.inner_text("#person")
    squashed = [re.sub(r"[\s\-+.]", "", unquote_plus(url)) for url in requested]
    assert requested and not any(counter.patient_cid in url for url in squashed), requested

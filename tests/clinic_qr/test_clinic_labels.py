"""The clinic's labels, dates and home page (issue 21, items 7 and 10): statuses and audit
entries in words, every date day first in the language's calendar (Buddhist era in Thai), date
filters that take dd/mm/BE, and the work waiting on the home page, scoped to the role."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from authencode.models import AuthenCode
from authencode.services import issuance, pcu_change
from authencode.thaidate import numeric_date, service_day
from tests.clinic_qr.test_erasure_admin import _erased
from tests.clinic_qr.test_pcu_admin import _asked
from tests.support.clinic import ClinicClient, World
from tests.support.factories import make_person

TODAY = service_day()
CE_YEAR = re.compile(r"(?<![\d/.-])20\d\d(?![\d])")  # a Common-Era year (2000-2099)
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
DAY_FIRST = re.compile(r"\b(\d{2})/(\d{2})/(\d{4})\b")


def _text(html: str) -> str:
    """What a person reads: the page without tags, scripts and attribute values."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def _client(app, username: str, lang: str = "th") -> ClinicClient:
    cc = ClinicClient(app.test_client())
    cc.login(username)
    cc.get(f"/clinic/?lang={lang}")
    return cc


def _issue(world: World, protector, hcode: str, *, days_ago: int = 0) -> AuthenCode:
    with world.db.transaction() as session:
        person = make_person(session, protector)
        code = issuance.issue_code(
            session,
            person,
            hcode=hcode,
            service_code="PG0060001",
            phones="0812345678",
            channel="smartcard",
            recorder_staff_id=world.ids["a-staff" if hcode == "10675" else "b-staff"],
            now=dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago),
        ).code
        session.expunge(code)
        return code


@dataclass
class Busy:
    a: list[AuthenCode]
    b: list[AuthenCode]
    old: AuthenCode
    pcu: int
    erasure: int


def _get(session: Session, code: AuthenCode) -> AuthenCode:
    found = session.get(AuthenCode, code.id)
    assert found is not None
    return found


@pytest.fixture
def busy(app, clinic_world: World, protector) -> Busy:
    """At A: two codes today (one cancelled, one edited and disputed) and one last week; at
    B: three codes today, one cancelled and one disputed; a unit change and an erasure."""
    a = [_issue(clinic_world, protector, "10675") for _ in range(2)]
    old = _issue(clinic_world, protector, "10675", days_ago=7)
    b = [_issue(clinic_world, protector, "10676") for _ in range(3)]
    with clinic_world.db.transaction() as session:
        for code, hcode in ((a[0], "10675"), (b[0], "10676")):
            issuance.cancel_code(
                session,
                _get(session, code),
                reason="ผู้รับบริการกลับก่อน",
                staff_id=clinic_world.ids["a-staff" if hcode == "10675" else "b-staff"],
            )
        issuance.edit_code(
            session,
            _get(session, a[1]),
            staff_id=clinic_world.ids["a-staff"],
            reason="แก้ HN",
            hn="HN-1",
            phones="0899999999",
        )
        for code in (a[1], b[1]):
            _get(session, code).disputed_at = dt.datetime.now(dt.UTC)
    asked = _asked(clinic_world.db, protector)
    erased = _erased(clinic_world.db, protector)
    return Busy(a, b, old, asked.request_id, erased)


def _work(page: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r'data-work="([\w-]+)" data-count="(\d+)"', page)}


def _facility_blocks(page: str) -> dict[str, dict[str, int]]:
    blocks = re.split(r'<div class="today" data-facility="(\d+)">', page)[1:]
    return {blocks[i]: _work(blocks[i + 1].split("</div>")[0]) for i in range(0, len(blocks), 2)}


def test_facility_staff_see_their_facility_s_day_and_no_other(app, busy) -> None:
    page = _client(app, "a-staff").get("/clinic/").get_data(as_text=True)
    blocks = _facility_blocks(page)
    assert set(blocks) == {"10675"}  # never facility B's counts
    assert blocks["10675"] == {"issued": 2, "cancelled": 1, "disputed": 1}
    assert "10676" not in page
    # no account, unit-change or erasure queue for a staff member
    assert not {"accounts", "unit-changes", "erasures"} & set(_work(page))
    a1 = busy.a[1]
    assert f"/clinic/facilities/10675/records/{a1.id}" in page and a1.code in page
    b1 = busy.b[1]
    assert b1.code not in page


def test_a_facility_admin_sees_its_own_accounts_to_approve(app, busy) -> None:
    page = _client(app, "b-admin").get("/clinic/").get_data(as_text=True)
    assert _work(page)["accounts"] == 1  # b-pending only, not a-pending
    assert set(_facility_blocks(page)) == {"10676"}
    assert _facility_blocks(page)["10676"] == {"issued": 3, "cancelled": 1, "disputed": 1}
    assert 'href="/clinic/staff"' in page


def test_the_registry_office_sees_unit_changes_and_erasures_but_no_facility_s_codes(
    app, busy
) -> None:
    page = _client(app, "registry").get("/clinic/").get_data(as_text=True)
    work = _work(page)
    assert work == {"unit-changes": 1, "erasures": 1}
    assert _facility_blocks(page) == {}
    assert 'href="/clinic/pcu-changes"' in page and 'href="/clinic/erasures"' in page


def test_the_system_admin_sees_everything_waiting(app, busy) -> None:
    page = _client(app, "root").get("/clinic/").get_data(as_text=True)
    assert _work(page)["accounts"] == 2
    assert _work(page)["unit-changes"] == 1 and _work(page)["erasures"] == 1
    assert set(_facility_blocks(page)) == {"10675", "10676"}


def test_statuses_and_audit_entries_are_words_in_the_page_s_language(
    app, clinic_world: World, busy
) -> None:
    root = _client(app, "root")
    pending = f"/clinic/staff/{clinic_world.ids['a-pending']}"
    assert "รออนุมัติ" in _text(root.get(pending).get_data(as_text=True))
    assert ">pending<" not in root.get(pending).get_data(as_text=True)
    a1 = busy.a[1]
    detail = root.get(f"/clinic/facilities/10675/records/{a1.id}").get_data(as_text=True)
    text = _text(detail)
    assert "ออกรหัส Authen Code" in text
    assert "แก้ไขรายการ (HN, เบอร์โทรศัพท์)" in text
    assert "code.edit" not in text and "code.issue" not in text and "phones" not in text
    root.get("/clinic/?lang=en")
    english = _text(root.get(f"/clinic/facilities/10675/records/{a1.id}").get_data(as_text=True))
    assert "Edited the record (HN, phone numbers)" in english
    assert "Issued the Authen Code" in english
    assert "Waiting for approval" in _text(root.get(pending).get_data(as_text=True))


PUBLIC = {"clinic.login", "clinic.forgot_password", "clinic.register", "clinic.reset_password"}


def _pages(app, world: World, busy: Busy) -> list[str]:
    """Every page of the clinic's URL map (with ids that show dates), and the variants that
    show more: a cancelled code, an account waiting, the date filters and the report's chart."""
    a0, a1 = busy.a
    values = {
        "hcode": "10675",
        "service_code": "PG0060001",
        "code_id": a1.id,
        "staff_id": world.ids["a-staff"],
        "filename": "clinic/clinic.css",
    }
    pages = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("clinic.") or "GET" not in rule.methods:
            continue
        if rule.endpoint in PUBLIC or rule.endpoint == "clinic.static":
            continue
        assert set(rule.arguments) <= set(values), f"give {rule.rule} its arguments here"
        pages.append(rule.build({k: values[k] for k in rule.arguments})[1])
    assert len(pages) >= 25
    last_week = numeric_date(TODAY - dt.timedelta(days=9))
    return [
        *pages,
        f"/clinic/staff/{world.ids['a-pending']}",
        f"/clinic/facilities/10675/records/{a0.id}",
        f"/clinic/facilities/10675/records?date_from=01/01/{TODAY.year + 543}",
        f"/clinic/facilities/10675/report?date_from={last_week}&date_to={numeric_date(TODAY)}",
    ]


def test_every_date_is_day_first_in_the_language_s_calendar(app, clinic_world: World, busy) -> None:
    """Walk the clinic's pages that show dates, signed in as the system admin (who may open
    them all): in Thai no Common-Era year and no month-first date; in English no BE year."""
    with clinic_world.db.transaction() as session:  # a decided unit change shows its date too
        pcu_change.decide(
            session, busy.pcu, staff_id=clinic_world.ids["root"], approve=False, note="x"
        )
    root = _client(app, "root")
    dated = 0
    for lang, year in (("th", TODAY.year + 543), ("en", TODAY.year)):
        root.get(f"/clinic/?lang={lang}")
        for path in _pages(app, clinic_world, busy):
            response = root.get(path)
            if response.status_code == 404 and path.endswith(("/photo", "/document")):
                continue  # (this code has no photo, this account no document)
            assert response.status_code == 200, path
            if response.mimetype != "text/html":
                continue  # images, PDF, JSON and the downloads keep their fixed formats
            text = _text(response.get_data(as_text=True))
            assert not ISO_DATE.search(text), (lang, path)
            dates = DAY_FIRST.findall(text)
            for day, month, shown_year in dates:
                assert int(month) <= 12 and int(day) <= 31, (lang, path, day, month)
                assert int(shown_year) in (year, year - 1), (lang, path, shown_year)
            dated += bool(dates)
            if lang == "th":
                assert not CE_YEAR.search(text), (path, CE_YEAR.search(text))
            else:
                assert str(TODAY.year + 543) not in text, path
    assert dated >= 2 * 14  # the walk did meet dates on most pages


def test_a_date_filter_takes_dd_mm_be_and_answers_a_bad_date_in_both_languages(app, busy) -> None:
    staff = _client(app, "a-staff")
    last_week = TODAY - dt.timedelta(days=7)
    be = f"{last_week.day:02d}/{last_week.month:02d}/{last_week.year + 543}"
    page = staff.get(f"/clinic/facilities/10675/records?date_from={be}&date_to={be}")
    assert page.status_code == 200
    shown = re.findall(r'<tr data-code="(\w+)"', page.get_data(as_text=True))
    assert shown == [busy.old.code]
    assert f'value="{be}"' in page.get_data(as_text=True)  # the form shows it back as typed
    for bad in ("31/02/2569", "12/31/2026", "2569", "tomorrow", "01/01/2569" + " " * 20 + "x"):
        response = staff.get(f"/clinic/facilities/10675/records?date_from={bad}")
        assert response.status_code == 400, bad
        assert "วัน/เดือน/ปี พ.ศ." in response.get_data(as_text=True)
    staff.get("/clinic/?lang=en")
    english = staff.get("/clinic/facilities/10675/records?date_from=31/02/2026")
    assert english.status_code == 400 and "day/month/year" in english.get_data(as_text=True)
    ce = staff.get(f"/clinic/facilities/10675/records?date_from={numeric_date(last_week, 'en')}")
    assert f'value="{numeric_date(last_week, "en")}"' in ce.get_data(as_text=True)


def test_a_dispute_older_than_the_window_no_longer_waits(app, clinic_world, protector) -> None:
    code = _issue(clinic_world, protector, "10675", days_ago=40)
    with clinic_world.db.transaction() as session:
        _get(session, code).disputed_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=31)
    page = _client(app, "a-staff").get("/clinic/").get_data(as_text=True)
    assert _facility_blocks(page)["10675"]["disputed"] == 0


def test_every_danger_button_asks_first() -> None:
    """A form with a danger (irreversible) button carries the question confirm.js asks, on
    the form or on that button; and the irreversible acts' buttons are danger buttons."""
    templates = Path(__file__).resolve().parents[2] / "clinic_qr/templates/clinic"
    forms = [
        (path.name, form)
        for path in sorted(templates.glob("*.html"))
        for form in re.findall(r"<form\b.*?</form>", path.read_text(encoding="utf-8"), re.S)
    ]
    dangerous = [(name, form) for name, form in forms if 'class="danger"' in form]
    assert len(dangerous) >= 7
    for name, form in dangerous:
        tag = form.split(">", 1)[0]
        buttons = re.findall(r'<button[^>]*class="danger"[^>]*>', form)
        assert "data-confirm=" in tag or all("data-confirm=" in b for b in buttons), name
    for action in ("record_cancel", "pcu_reject", "erasure_review", "kiosk_revoke"):
        (form,) = [f for _, f in forms if f"clinic.{action}'" in f]
        assert 'class="danger"' in form and "data-confirm=" in form, action
    (approve,) = [f for _, f in forms if "clinic.pcu_approve'" in f]
    assert "data-confirm=" in approve and 'class="approve"' in approve

"""Records: search, open, edit and cancel (reason required); the report and its downloads."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from authencode.cid import mask_cid
from authencode.models import AuditEntry, AuthenCode
from authencode.services import issuance
from authencode.services.report_exports import EXPORT_HEADERS
from authencode.thaidate import date_label, service_day
from tests.support.clinic import ClinicClient, World
from tests.support.factories import make_person

RECORDS = "/clinic/facilities/10675/records"
REPORT = "/clinic/facilities/10675/report"
TODAY = service_day()


@dataclass
class Book:
    cids: list[str]
    codes: list[str]  # facility A's codes, oldest first
    ids: list[int]
    b_code: str


@pytest.fixture
def book(clinic_world: World, protector) -> Book:
    """Twelve codes today at facility A (LINE and smart card, two services), one yesterday,
    and one at facility B."""
    now = dt.datetime.now(dt.UTC)
    cids, codes, ids = [], [], []
    with clinic_world.db.transaction() as session:
        for i in range(13):
            person = make_person(session, protector, first_name_th=f"ผู้ป่วย{i}")
            when = now - dt.timedelta(days=1) if i == 12 else now - dt.timedelta(minutes=30 - i)
            issued = issuance.issue_code(
                session,
                person,
                hcode="10675",
                service_code="PG0090001" if i % 4 == 0 else "PG0060001",
                phones="0812345678",
                channel="smartcard" if i % 3 == 0 else "line",
                recorder_staff_id=clinic_world.ids["a-staff"] if i % 3 == 0 else None,
                now=when,
            )
            cids.append(protector.decrypt(person.cid_enc))
            codes.append(issued.code.code)
            ids.append(issued.code.id)
        other = make_person(session, protector)
        b_code = issuance.issue_code(
            session,
            other,
            hcode="10676",
            service_code="PG0060001",
            phones="0899999999",
            channel="line",
        ).code.code
    return Book(cids, codes, ids, b_code)


@pytest.fixture
def staff_client(app, clinic_world) -> ClinicClient:
    cc = ClinicClient(app.test_client())
    cc.login("a-staff")
    cc.get(RECORDS)
    return cc


def _shown(page: str) -> list[str]:
    return re.findall(r'<tr data-code="(\w+)"', page)


def test_search_defaults_to_today_newest_first_with_paging(staff_client, book) -> None:
    page = staff_client.get(RECORDS).get_data(as_text=True)
    assert "1 - 10 จากทั้งหมด 12 รายการ" in page
    assert _shown(page) == list(reversed(book.codes[2:12]))
    second = staff_client.get(RECORDS, query_string={"page": 2}).get_data(as_text=True)
    assert "11 - 12 จากทั้งหมด 12 รายการ" in second and _shown(second) == book.codes[1::-1]
    assert book.b_code not in page and book.b_code not in second
    assert book.cids[0] not in page and mask_cid(book.cids[0]) in second


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"cid": "CID12"}, [12]),  # a CID finds every day's codes
        ({"code": "CODE5"}, [5]),
        ({"date_from": "YESTERDAY", "date_to": "YESTERDAY"}, [12]),
        ({"service": "PG0090001", "size": "25"}, [8, 4, 0]),
        ({"channel": "smartcard", "size": "25"}, [9, 6, 3, 0]),
        ({"status": "cancelled"}, []),
    ],
)
def test_search_filters(staff_client, book, query, expected) -> None:
    yesterday = (TODAY - dt.timedelta(days=1)).isoformat()
    resolved = {k: v.replace("YESTERDAY", yesterday) for k, v in query.items()}
    if "cid" in resolved:
        resolved["cid"] = book.cids[int(resolved["cid"][3:])]
    if "code" in resolved:
        resolved["code"] = book.codes[int(resolved["code"][4:])].lower()
    posted = staff_client.post(RECORDS, resolved)  # the form is posted, then 303 to the list
    assert posted.status_code == 303
    location = posted.headers["Location"]
    assert all(book.cids[i] not in location for i in range(13))
    page = staff_client.get(location).get_data(as_text=True)
    assert _shown(page) == [book.codes[i] for i in expected]


def test_bad_filters_are_explained_in_thai(staff_client, book) -> None:
    bad_cid = staff_client.post(RECORDS, {"cid": "123"})
    assert bad_cid.status_code == 400
    assert "เลขประจำตัวประชาชนต้องมี 13 หลัก" in bad_cid.get_data(as_text=True)
    backwards = staff_client.get(
        RECORDS, query_string={"date_from": "2026-11-02", "date_to": "2026-11-01"}
    )
    assert "วันที่เริ่มต้นต้องไม่อยู่หลังวันที่สิ้นสุด" in backwards.get_data(as_text=True)


def test_edit_needs_a_reason_and_is_audited(staff_client, book, clinic_world) -> None:
    url = f"{RECORDS}/{book.ids[1]}"
    form = {"service": "PG0060001", "phones": "0811111111, 0922222222", "hn": "HN-77", "an": ""}
    refused = staff_client.post(f"{url}/edit", form)
    assert refused.status_code == 400 and "กรุณา" in refused.get_data(as_text=True)
    saved = staff_client.post(f"{url}/edit", {**form, "reason": "ผู้ป่วยแจ้งเบอร์ใหม่"})
    assert saved.status_code == 302
    page = staff_client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "0811111111,0922222222" in page and "HN-77" in page
    assert 'data-action="code.edit"' in page and "ผู้ป่วยแจ้งเบอร์ใหม่" in page
    with clinic_world.db.transaction() as session:
        row = session.get(AuthenCode, book.ids[1])
        assert row is not None and row.hn == "HN-77"
        assert row.edited_by_staff_id == clinic_world.ids["a-staff"]
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "code.edit")).one()
        assert entry.actor == f"staff:{clinic_world.ids['a-staff']}"
        assert "0811111111" not in str(entry.details)  # phones are masked in the audit log


def test_cancel_needs_a_reason(staff_client, book, clinic_world) -> None:
    url = f"{RECORDS}/{book.ids[2]}"
    refused = staff_client.post(f"{url}/cancel", {"cancel_reason": "  "})
    assert refused.status_code == 400
    with clinic_world.db.transaction() as session:
        assert session.get(AuthenCode, book.ids[2]).status == "active"
    done = staff_client.post(f"{url}/cancel", {"cancel_reason": "บันทึกผิดคน"})
    assert done.status_code == 302
    page = staff_client.get(done.headers["Location"]).get_data(as_text=True)
    assert 'data-status="cancelled"' in page and "บันทึกผิดคน" in page
    assert 'id="cancel"' not in page  # nothing more to do with a cancelled code
    listed = staff_client.get(RECORDS, query_string={"status": "cancelled"}).get_data(as_text=True)
    assert _shown(listed) == [book.codes[2]]
    again = staff_client.post(f"{url}/cancel", {"cancel_reason": "อีกครั้ง"})
    assert again.status_code == 409


def test_report_shows_paging_and_daily_counts(staff_client, book) -> None:
    page = staff_client.get(
        REPORT,
        query_string={
            "date_from": (TODAY - dt.timedelta(days=1)).isoformat(),
            "date_to": TODAY.isoformat(),
        },
    ).get_data(as_text=True)
    assert "1 - 10 จากทั้งหมด 13 รายการ" in page
    daily = re.search(r'<table class="list" id="daily">.*?</table>', page, re.S).group(0)  # type: ignore[union-attr]
    row = re.search(r'data-channel="smartcard"><th>[^<]*</th><td>(\d+)</td><td>(\d+)</td>', daily)
    assert row is not None and row.groups() == ("1", "4")  # i = 12 yesterday; 0, 3, 6, 9 today


def test_csv_download_has_a_bom_thai_and_the_columns_in_order(staff_client, book) -> None:
    response = staff_client.get(f"{REPORT}.csv", query_string={"channel": "smartcard"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed
    assert 'filename="authencode-10675-' in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert tuple(rows[0]) == EXPORT_HEADERS
    assert [r[9] for r in rows[1:]] == [book.codes[i] for i in (0, 3, 6, 9)]
    assert rows[1][3] == "นายผู้ป่วย0 ระบบ" and rows[1][2] == book.cids[0]
    assert book.b_code not in body.decode("utf-8-sig")


def test_xlsx_download_opens_with_thai_text(staff_client, book) -> None:
    response = staff_client.get(f"{REPORT}.xlsx", query_string={"service": "PG0090001"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data()), read_only=True).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert tuple(rows[0]) == EXPORT_HEADERS
    assert [r[9] for r in rows[1:]] == [book.codes[i] for i in (0, 4, 8)]
    assert rows[1][12] and "ผู้ป่วย0" in str(rows[1][3])


def test_staff_of_facility_b_see_none_of_as_records(app, book) -> None:
    b = ClinicClient(app.test_client())
    b.login("b-staff")
    own = b.get("/clinic/facilities/10676/records").get_data(as_text=True)
    assert _shown(own) == [book.b_code]
    export = b.get("/clinic/facilities/10676/report.csv").get_data().decode("utf-8-sig")
    assert book.b_code in export and not any(code in export for code in book.codes)
    assert b.get(f"{RECORDS}/{book.ids[0]}").status_code in (403, 404)
    # a code of A under B's own facility address is not found either
    assert b.get(f"/clinic/facilities/10676/records/{book.ids[0]}").status_code == 404
    assert (
        b.post(
            f"/clinic/facilities/10676/records/{book.ids[0]}/cancel", {"cancel_reason": "x"}
        ).status_code
        == 404
    )


@pytest.mark.parametrize("lang", ["th", "en"])
def test_report_charts_have_titles_and_say_what_they_show(staff_client, book, lang) -> None:
    yesterday = TODAY - dt.timedelta(days=1)
    page = staff_client.get(
        REPORT,
        query_string={
            "date_from": yesterday.isoformat(),
            "date_to": TODAY.isoformat(),
            "lang": lang,
        },
    ).get_data(as_text=True)
    titles = {
        "th": ("จำนวนรายการรายวันแยกตามบริการ", "จำนวนรายการรายวันแยกตามช่องทาง"),
        "en": ("Codes per day by service", "Codes per day by channel"),
    }[lang]
    for chart_id, title in zip(("chart-service", "chart-channel"), titles, strict=True):
        figure = page.split(f'id="{chart_id}"', 1)[1].split("</figure>", 1)[0]
        # a visible title the picture is labelled by, and its description in words
        assert f'<h3 class="chart-title" id="{chart_id}-title">{title}</h3>' in figure
        assert f'aria-labelledby="{chart_id}-title"' in figure
        assert f'aria-describedby="{chart_id}-summary"' in figure
        summary = figure.split(f'id="{chart_id}-summary">', 1)[1].split("</p>", 1)[0]
        # 13 codes: 12 today, 1 yesterday; the busiest day is today
        today = date_label(TODAY, lang)
        if lang == "th":
            assert "รวม 13 รายการ" in summary and f"มากที่สุดวันที่ {today} (12 รายการ)" in summary
        else:
            assert "13 codes in all" in summary and f"most on {today} (12)" in summary
        assert date_label(yesterday, lang) in summary
    service = page.split('id="chart-service-summary">', 1)[1].split("</p>", 1)[0]
    # per series: i % 4 == 0 of i = 0..12 is PG0090001 (0, 4, 8, 12), the rest PG0060001
    assert re.search(r"PG0060001 [^,·]* 9", service) and re.search(r"PG0090001 [^,·]* 4", service)

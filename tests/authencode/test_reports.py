"""The code request report: filters, paging, daily counts, CSV and XLSX exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.errors import DomainError
from authencode.services import report_exports, reports
from authencode.services.issuance import cancel_code, issue_code
from authencode.services.reports import CodeFilter
from authencode.thaidate import BANGKOK
from tests.support.factories import make_facility, make_person, make_staff, new_cid

DAY1, DAY2 = dt.date(2026, 3, 1), dt.date(2026, 3, 2)


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), BANGKOK).astimezone(dt.UTC)


@dataclass
class World:
    clinic_id: int
    other_id: int
    cids: dict[str, str]
    codes: dict[str, str]


@pytest.fixture
def world(session: Session, protector: DataProtector) -> World:
    clinic = make_facility(session, hcode="10675", name="รพ.สต.บ้านทดสอบ")
    other = make_facility(session, hcode="10676", name="คลินิกอื่น", services=("PG0060001",))
    staff = make_staff(session, protector, clinic)
    cids = {"somying": new_cid(), "nobirth": new_cid(), "kiosk": new_cid()}
    people = {
        "somying": make_person(
            session,
            protector,
            cids["somying"],
            title_th="นาง",
            first_name_th="สมหญิง",
            last_name_th="ใจงาม",
            sex="2",
            birth_year=1987,
            birth_month=1,
            birth_day=15,
        ),
        "nobirth": make_person(
            session,
            protector,
            cids["nobirth"],
            first_name_th="ไม่ทราบ",
            middle_name_th="กลาง",
            last_name_th="วันเกิด",
            birth_year=1987,
            birth_month=None,
            birth_day=None,
            main_right=None,
            sub_right=None,
        ),
        "kiosk": make_person(session, protector, cids["kiosk"]),
    }

    def issue(
        who: str, hcode: str, service: str, channel: str, at: dt.datetime, **kw: object
    ) -> str:
        issued = issue_code(
            session,
            people[who],
            hcode=hcode,
            service_code=service,
            phones="0812345678",
            channel=channel,
            now=at,
            **kw,  # type: ignore[arg-type]
        )
        return issued.code.code

    codes = {
        "d1_line": issue("somying", "10675", "PG0060001", "line", _at(DAY1, 9)),
        "d1_card": issue(
            "nobirth",
            "10675",
            "PG0060001",
            "smartcard",
            _at(DAY1, 10),
            recorder_staff_id=staff.id,
            hn="HN-77",
        ),
        "d1_photo": issue(
            "somying", "10675", "PG0090001", "cid_photo", _at(DAY1, 11), recorder_staff_id=staff.id
        ),
        "d2_kiosk": issue("kiosk", "10675", "PG0060001", "kiosk", _at(DAY2, 8, 30)),
        "d2_cancelled": issue("nobirth", "10675", "PG0090001", "line", _at(DAY2, 9)),
        "other": issue("somying", "10676", "PG0060001", "line", _at(DAY1, 13)),
    }
    from authencode.services.issuance import get_code

    cancel_code(
        session, get_code(session, codes["d2_cancelled"]), staff_id=staff.id, reason="=บันทึกซ้ำ"
    )
    session.flush()
    return World(clinic.id, other.id, cids, codes)


def _codes(session: Session, protector: DataProtector, f: CodeFilter) -> list[str]:
    return [i.code for i in reports.search_codes(session, protector, f, size=100).items]


def test_a_report_is_always_scoped_to_facilities(session, protector, world) -> None:
    with pytest.raises(DomainError) as refused:
        reports.search_codes(session, protector, CodeFilter(facility_ids=()))
    assert refused.value.code == "REPORT_SCOPE_REQUIRED"
    assert refused.value.message_th

    clinic = _codes(session, protector, CodeFilter((world.clinic_id,)))
    other = _codes(session, protector, CodeFilter((world.other_id,)))
    assert len(clinic) == 5 and world.codes["other"] not in clinic
    assert other == [world.codes["other"]]
    rows = list(report_exports.iter_export_rows(session, protector, CodeFilter((world.other_id,))))
    assert [r[0] for r in rows] == ["10676"]
    chart = reports.daily_counts(session, protector, CodeFilter((world.other_id,)))
    assert sum(c.count for c in chart) == 1


def test_filters_narrow_the_report(session, protector, world) -> None:
    scope = (world.clinic_id,)
    c = world.codes
    assert set(_codes(session, protector, CodeFilter(scope, DAY1, DAY1))) == {
        c["d1_line"],
        c["d1_card"],
        c["d1_photo"],
    }
    assert set(_codes(session, protector, CodeFilter(scope, date_from=DAY2))) == {
        c["d2_kiosk"],
        c["d2_cancelled"],
    }
    # By CID (typed with dashes), looked up by its hash.
    typed = "{}-{}-{}-{}-{}".format(
        *(world.cids["somying"][a:b] for a, b in ((0, 1), (1, 5), (5, 10), (10, 12), (12, 13)))
    )
    assert set(_codes(session, protector, CodeFilter(scope, cid=typed))) == {
        c["d1_line"],
        c["d1_photo"],
    }
    assert _codes(session, protector, CodeFilter(scope, code=c["d1_card"].lower())) == [
        c["d1_card"]
    ]
    assert set(_codes(session, protector, CodeFilter(scope, service_code="PG0090001"))) == {
        c["d1_photo"],
        c["d2_cancelled"],
    }
    assert set(_codes(session, protector, CodeFilter(scope, channel="line"))) == {
        c["d1_line"],
        c["d2_cancelled"],
    }
    assert _codes(session, protector, CodeFilter(scope, status="cancelled")) == [c["d2_cancelled"]]
    assert _codes(
        session, protector, CodeFilter(scope, DAY1, DAY1, channel="line", service_code="PG0060001")
    ) == [c["d1_line"]]
    # A CID not in the registry finds nothing; the other facility's code never shows.
    assert _codes(session, protector, CodeFilter(scope, cid=new_cid())) == []


@pytest.mark.parametrize(
    ("f", "code"),
    [
        (CodeFilter((1,), cid="1101700207031"), "CID_CHECK_DIGIT"),
        (CodeFilter((1,), DAY2, DAY1), "REPORT_DATE_RANGE"),
        (CodeFilter((1,), channel="fax"), "REPORT_FILTER_INVALID"),
        (CodeFilter((1,), status="deleted"), "REPORT_FILTER_INVALID"),
    ],
)
def test_bad_filters_are_refused_in_thai_and_english(session, protector, f, code) -> None:
    with pytest.raises(DomainError) as refused:
        reports.search_codes(session, protector, f)
    assert refused.value.code == code
    assert refused.value.message and refused.value.message_th
    with pytest.raises(DomainError):
        list(report_exports.iter_export_rows(session, protector, f))


def test_pages_count_and_mask(session, protector, world) -> None:
    scope = CodeFilter((world.clinic_id,))
    first = reports.search_codes(session, protector, scope, page=1, size=2)
    assert (first.total, first.pages, len(first.items)) == (5, 3, 2)
    assert first.range_th == "1 - 2 จากทั้งหมด 5 รายการ"
    # Newest service first.
    assert [i.code for i in first.items] == [world.codes["d2_cancelled"], world.codes["d2_kiosk"]]
    last = reports.search_codes(session, protector, scope, page=3, size=2)
    assert last.range_th == "5 - 5 จากทั้งหมด 5 รายการ"
    assert [i.code for i in last.items] == [world.codes["d1_line"]]
    assert last.items[0].full_name == "นางสมหญิง ใจงาม"
    cid = world.cids["somying"]
    assert last.items[0].cid == f"{cid[0]}-{cid[1:5]}-xxxxx-{cid[10:12]}-{cid[12]}"
    revealed = reports.search_codes(session, protector, scope, page=3, size=2, reveal_cid=True)
    assert revealed.items[0].cid == cid
    oldest = reports.search_codes(session, protector, scope, size=2, oldest_first=True)
    assert oldest.items[0].code == world.codes["d1_line"]
    beyond = reports.search_codes(session, protector, scope, page=9, size=2)
    assert beyond.items == [] and beyond.total == 5
    for page, size in ((0, 10), (1, 0), (1, reports.MAX_PAGE_SIZE + 1)):
        with pytest.raises(DomainError) as refused:
            reports.search_codes(session, protector, scope, page=page, size=size)
        assert refused.value.code == "PAGE_INVALID"


def test_daily_counts_by_service_and_channel(session, protector, world) -> None:
    counts = reports.daily_counts(session, protector, CodeFilter((world.clinic_id,), DAY1, DAY2))
    assert [(c.day, c.service_code, c.channel, c.count) for c in counts] == [
        (DAY1, "PG0060001", "line", 1),
        (DAY1, "PG0060001", "smartcard", 1),
        (DAY1, "PG0090001", "cid_photo", 1),
        (DAY2, "PG0060001", "kiosk", 1),
        (DAY2, "PG0090001", "line", 1),
    ]
    chart = reports.daily_chart(counts, DAY1 - dt.timedelta(days=1), DAY2)
    assert chart.days == [dt.date(2026, 2, 28), DAY1, DAY2]
    assert chart.by_service == {"PG0060001": [0, 2, 1], "PG0090001": [0, 1, 1]}
    assert chart.by_channel == {
        "cid_photo": [0, 1, 0],
        "kiosk": [0, 0, 1],
        "line": [0, 1, 1],
        "smartcard": [0, 1, 0],
    }
    active = reports.daily_counts(
        session, protector, CodeFilter((world.clinic_id,), status="active")
    )
    assert sum(c.count for c in active) == 4


def _expected_rows(world: World) -> dict[str, list[str]]:
    """The export columns that tests can predict, by code."""
    return {
        world.codes["d1_line"]: [
            "10675",
            "รพ.สต.บ้านทดสอบ",
            world.cids["somying"],
            "นางสมหญิง ใจงาม",
            "15/01/2530",
            "0812345678",
            "(UCS) สิทธิหลักประกันสุขภาพแห่งชาติ",
            "(89) ช่วงอายุ 12-59 ปี",
        ],
        world.codes["d1_card"]: [
            "10675",
            "รพ.สต.บ้านทดสอบ",
            world.cids["nobirth"],
            "นายไม่ทราบ กลาง วันเกิด",
            "00/00/2530",
            "0812345678",
            "สิทธิว่าง",
            "",
        ],
    }


def _check_rows(rows: list[list[str]], world: World) -> None:
    assert len(rows) == 5
    assert all(len(r) == 24 for r in rows)
    by_code = {r[9]: r for r in rows}
    assert [r[9] for r in rows][:3] == [
        world.codes["d1_line"],
        world.codes["d1_card"],
        world.codes["d1_photo"],
    ]  # oldest first
    for code, start in _expected_rows(world).items():
        assert by_code[code][:8] == start
    line = by_code[world.codes["d1_line"]]
    assert line[10:13] == ["OPD/IPD/PP", "PG0060001", "เข้ารับบริการรักษาทั่วไป (OPD/ IPD/ PP)"]
    assert line[15] == "01/03/2569 09:00:00"  # Bangkok time, Buddhist era
    assert line[17:21] == ["ใช้งาน", "LINE (สแกน QR)", "สแกน QR ผ่าน LINE", "ผู้รับบริการ (LINE)"]
    card = by_code[world.codes["d1_card"]]
    assert (card[13], card[18], card[20]) == ("HN-77", "Smart Card", "เจ้าหน้าที่ ทดสอบ")
    cancelled = by_code[world.codes["d2_cancelled"]]
    assert cancelled[17] == "ยกเลิก"
    assert cancelled[21] and cancelled[22] == "เจ้าหน้าที่ ทดสอบ"  # who cancelled, when
    assert by_code[world.codes["d2_kiosk"]][20] == "ผู้รับบริการ (ตู้ Kiosk)"


def test_export_rows_and_csv_with_bom(session, protector, world) -> None:
    f = CodeFilter((world.clinic_id,), DAY1, DAY2)
    # A small batch makes the export fetch in several round trips.
    rows = list(report_exports.iter_export_rows(session, protector, f, batch=2))
    _check_rows(rows, world)

    raw = b"".join(report_exports.csv_chunks(iter(rows), rows_per_chunk=2))
    assert raw.startswith(b"\xef\xbb\xbf")
    parsed = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert tuple(parsed[0]) == report_exports.EXPORT_HEADERS and len(parsed[0]) == 24
    assert parsed[0][9] == "CLAIM CODE"
    by_code = {r[9]: r for r in parsed[1:]}
    assert len(by_code) == 5
    assert by_code[world.codes["d1_line"]][3] == "นางสมหญิง ใจงาม"
    # Text a spreadsheet would run as a formula stays text.
    assert by_code[world.codes["d2_cancelled"]][23] == "'=บันทึกซ้ำ"


def test_xlsx_export_opens_with_thai_text(session, protector, world) -> None:
    f = CodeFilter((world.clinic_id,), DAY1, DAY2)
    target = io.BytesIO()
    report_exports.write_xlsx(report_exports.iter_export_rows(session, protector, f), target)
    target.seek(0)
    workbook = load_workbook(target)
    sheet = workbook.active
    assert sheet is not None
    values = [
        [cell.value if cell.value is not None else "" for cell in row] for row in sheet.iter_rows()
    ]
    assert tuple(values[0]) == report_exports.EXPORT_HEADERS
    rows = [[str(v) for v in row] for row in values[1:]]
    _check_rows(rows, world)
    cid_cell = sheet.cell(row=2, column=3)
    assert cid_cell.data_type == "s"  # text: no lost digits, no scientific notation
    note = next(r for r in rows if r[9] == world.codes["d2_cancelled"])[23]
    assert note == "=บันทึกซ้ำ"
    workbook.close()


def test_export_filename_and_types() -> None:
    f = CodeFilter((1,), DAY1, DAY2)
    assert report_exports.export_filename("10675", f, "xlsx") == (
        "authencode-10675-2026-03-01_2026-03-02.xlsx"
    )
    assert report_exports.export_filename("10675", CodeFilter((1,)), "csv") == (
        "authencode-10675-all.csv"
    )
    assert report_exports.EXPORT_CONTENT_TYPES["csv"].startswith("text/csv")

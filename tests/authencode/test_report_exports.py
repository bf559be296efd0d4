"""The code export's own rules (authencode.services.report_exports): who changed a code last,
rights and dates as hospital systems read them, and text a spreadsheet would run kept as
text. The 24 columns of a whole report, CSV and XLSX, are checked in test_reports.py."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.services import issuance, report_exports
from authencode.services.reports import CodeFilter
from tests.support.factories import make_facility, make_person, make_staff, new_cid

NOW = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)  # 10:00 in Bangkok


def _rows(session: Session, protector: DataProtector, facility_id: int) -> list[list[str]]:
    return list(report_exports.iter_export_rows(session, protector, CodeFilter((facility_id,))))


def test_the_last_change_is_the_later_of_edit_and_cancellation(
    session: Session, protector: DataProtector
) -> None:
    facility = make_facility(session)
    editor = make_staff(session, protector, facility, "editor")
    canceller = make_staff(session, protector, facility, "canceller")
    editor.first_name, editor.last_name = "แก้", "ไข"
    canceller.first_name, canceller.last_name = "ยก", "เลิก"
    cid = new_cid()
    person = make_person(session, protector, cid)
    code = issuance.issue_code(
        session, person, hcode=facility.hcode, service_code="PG0060001", phones="0812345678",
        channel="line", now=NOW,
    ).code  # fmt: skip
    (row,) = _rows(session, protector, facility.id)
    assert (row[2], row[20], row[21], row[22]) == (cid, "ผู้รับบริการ (LINE)", "", "")
    issuance.edit_code(session, code, staff_id=editor.id, reason="แก้เบอร์", phones="0899999999")
    code.edited_at = NOW + dt.timedelta(hours=1)
    (row,) = _rows(session, protector, facility.id)
    assert (row[5], row[21], row[22]) == ("0899999999", "20/11/2569 11:00:00", "แก้ ไข")
    issuance.cancel_code(session, code, staff_id=canceller.id, reason="ซ้ำ")
    code.cancelled_at = NOW + dt.timedelta(hours=2)
    (row,) = _rows(session, protector, facility.id)
    assert (row[17], row[21], row[22], row[23]) == ("ยกเลิก", "20/11/2569 12:00:00", "ยก เลิก", "ซ้ำ")
    code.edited_at = NOW + dt.timedelta(hours=3)  # an edit after the cancellation wins
    (row,) = _rows(session, protector, facility.id)
    assert (row[21], row[22]) == ("20/11/2569 13:00:00", "แก้ ไข")


def test_rights_and_birth_dates_as_on_the_card(session: Session, protector: DataProtector) -> None:
    facility = make_facility(session)
    for fields in (
        {"main_right": "UCS", "sub_right": "89"},
        {"main_right": None, "sub_right": None, "birth_month": None, "birth_day": None},
        {"main_right": "ZZZ", "sub_right": "Q9"},  # codes the rights table does not know
    ):
        person = make_person(session, protector, birth_year=1987, **fields)
        issuance.issue_code(
            session, person, hcode=facility.hcode, service_code="PG0060001",
            phones="0812345678", channel="kiosk", now=NOW,
        )  # fmt: skip
    known, none, unknown = _rows(session, protector, facility.id)
    assert known[6].startswith("(UCS) ") and known[7].startswith("(89) ")
    assert (none[4], none[6], none[7]) == ("00/00/2530", "สิทธิว่าง", "")
    assert (unknown[6], unknown[7]) == ("(ZZZ) ZZZ", "(Q9) Q9")
    assert known[4] == "17/05/2530"


@pytest.mark.parametrize("cell", ["=1+1", "+66812345678", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_text_a_spreadsheet_would_run_stays_text_in_csv(cell: str) -> None:
    raw = b"".join(report_exports.csv_chunks([[cell] + [""] * 23]))
    (_, row) = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert row[0] == "'" + cell
    plain = b"".join(report_exports.csv_chunks([["0812345678"] + [""] * 23]))
    assert plain.decode("utf-8-sig").splitlines()[1].startswith("0812345678,")


def test_csv_comes_in_chunks_of_rows() -> None:
    rows = [[str(n)] + [""] * 23 for n in range(5)]
    chunks = list(report_exports.csv_chunks(iter(rows), rows_per_chunk=2))
    assert len(chunks) == 3 and chunks[0].startswith(b"\xef\xbb\xbf")
    text = b"".join(chunks).decode("utf-8-sig")
    assert [line.split(",")[0] for line in text.splitlines()[1:]] == ["0", "1", "2", "3", "4"]

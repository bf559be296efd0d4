"""The code request report's export: the filter's codes as the 24 columns hospital systems
import (DESIGN.md), streamed as CSV or XLSX with memory flat however long the range.

CIDs are decrypted in full here (a staff feature; every export is audited by its caller).
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from authencode.crypto import DataProtector
from authencode.models import AuthenCode, Facility, Person, ServiceType, StaffUser
from authencode.reference import (
    CHANNEL_LABELS_TH,
    METHOD_LABELS_TH,
    NO_RIGHT_TH,
    RIGHTS,
    SELF_RECORDED_TH,
    STATUS_LABELS_TH,
)
from authencode.services.reports import (
    TIME_ORDER,
    CodeFilter,
    conditions,
    full_name,
)
from authencode.thaidate import BE_OFFSET, be_datetime

EXPORT_BATCH = 1000  # rows fetched per round trip (server-side cursor on PostgreSQL)


# The export's 24 columns, in the order hospital systems import them (DESIGN.md).
EXPORT_HEADERS = (
    "รหัสหน่วยบริการ", "ชื่อหน่วยบริการ", "เลขประจำตัวประชาชน", "ชื่อ-สกุล",
    "วันเดือนปีเกิด (พ.ศ.)", "เบอร์โทรศัพท์", "สิทธิหลัก", "สิทธิย่อย", "รหัส Visit",
    "CLAIM CODE", "ประเภทการเข้ารับบริการ", "รหัสบริการ", "ชื่อบริการ", "HN", "AN",
    "วันที่เวลาเข้ารับบริการ (พ.ศ.)", "วันที่เวลาบันทึก (พ.ศ.)", "สถานะ", "ช่องทาง",
    "วิธีการยืนยันตัวตน", "ผู้บันทึก", "วันที่เวลาแก้ไข (พ.ศ.)", "ผู้แก้ไข",
    "หมายเหตุการยกเลิก",
)  # fmt: skip
EXPORT_CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def iter_export_rows(
    session: Session, protector: DataProtector, f: CodeFilter, *, batch: int = EXPORT_BATCH
) -> Iterator[list[str]]:
    """The filter's codes as rows of the 24 export columns (strings), oldest service first.

    Rows are fetched ``batch`` at a time (a server-side cursor on PostgreSQL), so memory stays
    flat however long the range. Raises CID_* and REPORT_* before the first row.
    """
    where = conditions(protector, f)
    services = {s.code: s for s in session.scalars(select(ServiceType))}
    facilities = {
        fac.id: fac
        for fac in session.scalars(select(Facility).where(Facility.id.in_(f.facility_ids)))
    }
    recorder, editor, canceller = aliased(StaffUser), aliased(StaffUser), aliased(StaffUser)
    stmt = (
        select(
            AuthenCode.id,
            AuthenCode.code,
            AuthenCode.facility_id,
            AuthenCode.service_code,
            AuthenCode.phones,
            AuthenCode.main_right,
            AuthenCode.sub_right,
            AuthenCode.hn,
            AuthenCode.an,
            AuthenCode.service_at,
            AuthenCode.recorded_at,
            AuthenCode.status,
            AuthenCode.channel,
            AuthenCode.verify_method,
            AuthenCode.edited_at,
            AuthenCode.cancelled_at,
            AuthenCode.cancel_reason,
            Person.cid_enc,
            Person.title_th,
            Person.first_name_th,
            Person.middle_name_th,
            Person.last_name_th,
            Person.birth_year,
            Person.birth_month,
            Person.birth_day,
            recorder.first_name.label("rec_first"),
            recorder.last_name.label("rec_last"),
            editor.first_name.label("ed_first"),
            editor.last_name.label("ed_last"),
            canceller.first_name.label("ca_first"),
            canceller.last_name.label("ca_last"),
        )
        .join(Person, Person.id == AuthenCode.person_id)
        .outerjoin(recorder, recorder.id == AuthenCode.recorder_staff_id)
        .outerjoin(editor, editor.id == AuthenCode.edited_by_staff_id)
        .outerjoin(canceller, canceller.id == AuthenCode.cancelled_by_staff_id)
        .where(*where)
        .order_by(*TIME_ORDER)
        .execution_options(yield_per=batch)
    )
    main_labels: dict[str | None, str] = {None: NO_RIGHT_TH, "": NO_RIGHT_TH}
    sub_labels: dict[str | None, str] = {None: "", "": ""}
    for (kind, code), right in RIGHTS.items():
        (main_labels if kind == "main" else sub_labels)[code] = f"({code}) {right.label_th}"
    # Plain rows on the session's connection: the ORM adds nothing to a column export.
    result = session.connection().execute(stmt)
    try:
        for (
            id_,
            code,
            facility_id,
            service_code,
            phones,
            main_right,
            sub_right,
            hn,
            an,
            service_at,
            recorded_at,
            status,
            channel,
            method,
            edited_at,
            cancelled_at,
            cancel_reason,
            cid_enc,
            title,
            first,
            middle,
            last,
            birth_year,
            birth_month,
            birth_day,
            rec_first,
            rec_last,
            ed_first,
            ed_last,
            ca_first,
            ca_last,
        ) in result:
            facility = facilities[facility_id]
            service = services[service_code]
            if rec_first is not None:
                recorded_by = f"{rec_first} {rec_last}".strip()
            else:
                recorded_by = SELF_RECORDED_TH.get(channel, "")
            # The last change: an edit, or the cancellation if that came later.
            changed_at, changed_first, changed_last = edited_at, ed_first, ed_last
            if cancelled_at and (changed_at is None or cancelled_at >= changed_at):
                changed_at, changed_first, changed_last = cancelled_at, ca_first, ca_last
            yield [
                facility.hcode,
                facility.name,
                protector.decrypt(cid_enc),
                full_name(title, first, middle, last),
                _be_birth_date(birth_year, birth_month, birth_day),
                phones,
                _label(main_labels, main_right),
                _label(sub_labels, sub_right),
                str(id_),
                code,
                service.group,
                service.code,
                service.name_th,
                hn or "",
                an or "",
                be_datetime(service_at),
                be_datetime(recorded_at),
                _thai(STATUS_LABELS_TH, status),
                _thai(CHANNEL_LABELS_TH, channel),
                _thai(METHOD_LABELS_TH, method),
                recorded_by,
                be_datetime(changed_at) if changed_at else "",
                f"{changed_first} {changed_last}".strip() if changed_first else "",
                cancel_reason or "",
            ]
    finally:
        result.close()


def csv_chunks(rows: Iterable[list[str]], *, rows_per_chunk: int = 500) -> Iterator[bytes]:
    """CSV in UTF-8 with a BOM (so Excel shows Thai), header first, a chunk at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(EXPORT_HEADERS)
    pending = 0
    for row in rows:
        writer.writerow([_csv_safe(cell) for cell in row])
        pending += 1
        if pending >= rows_per_chunk:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode("utf-8")


def write_xlsx(rows: Iterable[list[str]], target: IO[bytes] | str) -> None:
    """An XLSX workbook of the rows, written by XlsxWriter in constant-memory mode: the
    export for people to open in a spreadsheet (the CSV is for hospital programs).

    Each row goes to a temporary file as it comes (inline strings, no shared-string table)
    and the parts are zipped into ``target`` at the end, so memory stays flat. Every cell is
    a string cell in the Text number format (``@``), so CIDs, phones, HN/AN and codes keep
    their leading zeros and digits (no 1.1E+12), stay text when a cell is edited, and a
    value such as ``=HYPERLINK(…)`` is shown, never run as a formula or made a link.
    tests/authencode/test_export_spreadsheets.py reads it back through LibreOffice.
    """
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        target,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    try:
        sheet = workbook.add_worksheet("Authen Code")
        text = workbook.add_format({"num_format": "@"})
        header = workbook.add_format({"num_format": "@", "bold": True})
        sheet.freeze_panes(1, 0)  # the header stays in view
        sheet.set_column(0, len(EXPORT_HEADERS) - 1, None, text)
        for column, width in (
            (1, 30),
            (2, 16),
            (3, 28),
            (6, 34),
            (9, 14),
            (12, 36),
            (15, 20),
            (16, 20),
        ):
            sheet.set_column(column, column, width, text)
        for number, row in enumerate(itertools.chain([list(EXPORT_HEADERS)], rows)):
            for column, value in enumerate(row):
                if value:
                    sheet.write_string(number, column, value, header if number == 0 else text)
    finally:
        workbook.close()


def export_filename(hcode: str, f: CodeFilter, fmt: str) -> str:
    """authencode-10675-2026-11-01_2026-11-30.csv"""
    span = "_".join(d.isoformat() for d in (f.date_from, f.date_to) if d) or "all"
    return f"authencode-{hcode}-{span}.{fmt}"


def _label(labels: dict[str | None, str], code: str | None) -> str:
    """A right as `(UCS) name`; a code missing from authencode.reference shows as itself."""
    label = labels.get(code)
    return label if label is not None else f"({code}) {code}"


def _thai(labels: dict[str, str], value: str) -> str:
    return labels.get(value, value)


def _be_birth_date(year: int, month: int | None, day: int | None) -> str:
    """15/01/2530; an unknown day or month stays 00, as on the card."""
    return f"{day or 0:02d}/{month or 0:02d}/{year + BE_OFFSET}"


def _csv_safe(value: str) -> str:
    """Text that spreadsheet programs would run as a formula is kept as text."""
    if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value

"""The report's two exports: the CSV that hospital programs import stays byte for byte as it
was; the XLSX is the one for people, and LibreOffice (headless) reads every cell of it back
as the same text — CIDs, phones, HN/AN and codes with their leading zeros, a formula-looking
name as text, not a formula.

One soffice call converts both files to ODS (LibreOffice takes seconds to start) with a
private profile under the test's temporary folder; the ODS's content.xml then says each
cell's type (string or float), its formula if any, and the text it shows.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.etree import ElementTree

from openpyxl import load_workbook

from authencode.services.report_exports import EXPORT_HEADERS, csv_chunks, write_xlsx
from tests.deploy.tools import run, tool

NS = {
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
}
CID = "1101700207030"  # 13 digits: a number would show as 1.1017E+12
HOSTILE_NAME = '=HYPERLINK("http://evil.example/?x=1","คลิก")'


def _row(**values: str) -> list[str]:
    """An export row of the 24 columns, with the named ones set."""
    columns = {
        "hcode": 0,
        "cid": 2,
        "name": 3,
        "birth": 4,
        "phones": 5,
        "visit": 8,
        "code": 9,
        "service": 11,
        "hn": 13,
        "an": 14,
        "reason": 23,
    }
    row = [""] * len(EXPORT_HEADERS)
    row[1] = "รพ.สต.บ้านตัวอย่าง"
    for name, value in values.items():
        row[columns[name]] = value
    return row


ROWS = [
    _row(
        hcode="01234",
        cid=CID,
        name="นายสมชาย ใจดี",
        birth="01/01/2527",
        phones="0812345678",
        visit="42",
        code="PP0000000042",
        service="PG0060001",
        hn="000123",
        an="0045",
    ),
    _row(
        cid="3100600123450",
        name=HOSTILE_NAME,
        phones="0812345678,0898765432",
        hn="+66812345678",
        an="-1+2",
        reason="@SUM(A1:A2)",
    ),
    _row(cid="5101700207102", name="\tแท็บ", phones="0000000000", hn="1E5"),
]


def test_the_csv_for_hospital_programs_is_byte_for_byte_as_before() -> None:
    """Hospital programs import this file: its bytes are pinned (BOM, header, CRLF, bare
    digits, formula characters prefixed with an apostrophe)."""
    body = b"".join(csv_chunks(iter(ROWS)))
    header = ",".join(EXPORT_HEADERS)
    expected = (
        "\ufeff" + header + "\r\n"
        "01234,รพ.สต.บ้านตัวอย่าง,1101700207030,นายสมชาย ใจดี,01/01/2527,0812345678,,,42,"
        "PP0000000042,,PG0060001,,000123,0045,,,,,,,,,\r\n"
        ',รพ.สต.บ้านตัวอย่าง,3100600123450,"\'=HYPERLINK(""http://evil.example/?x=1"",""คลิก"")",'
        ",\"0812345678,0898765432\",,,,,,,,'+66812345678,'-1+2,,,,,,,,,'@SUM(A1:A2)\r\n"
        ",รพ.สต.บ้านตัวอย่าง,5101700207102,'\tแท็บ,,0000000000,,,,,,,,1E5,,,,,,,,,,\r\n"
    )
    assert body == expected.encode("utf-8")


def _shown(element: ElementTree.Element) -> str:
    """A paragraph's text, with ODF's tab, space-run and line-break elements as characters."""
    parts = [element.text or ""]
    for child in element:
        tag = child.tag.rsplit("}", 1)[1]
        if tag == "tab":
            parts.append("\t")
        elif tag == "s":
            parts.append(" " * int(child.get(f"{{{NS['text']}}}c", "1")))
        elif tag == "line-break":
            parts.append("\n")
        else:
            parts.append(_shown(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _ods_rows(path: Path) -> list[list[tuple[str, str | None, str]]]:
    """Each row's cells as (value type, formula, shown text), repeated cells expanded."""
    with zipfile.ZipFile(path) as ods:
        root = ElementTree.fromstring(ods.read("content.xml"))  # noqa: S314 - our own file
    rows = []
    for row in root.iter(f"{{{NS['table']}}}table-row"):
        cells: list[tuple[str, str | None, str]] = []
        for cell in row.findall("table:table-cell", NS):
            repeat = int(cell.get(f"{{{NS['table']}}}number-columns-repeated", "1"))
            shown = "\n".join(_shown(p) for p in cell.findall("text:p", NS))
            value = (
                cell.get(f"{{{NS['office']}}}value-type", ""),
                cell.get(f"{{{NS['table']}}}formula"),
                shown,
            )
            cells.extend([value] * min(repeat, len(EXPORT_HEADERS)))
        rows.append(cells)
    return rows


def _convert_to_ods(tmp_path: Path, *files: Path) -> list[Path]:
    """One soffice run for every file, with its own profile (no shared ~/.config)."""
    soffice = tool("soffice", "libreoffice-calc-nogui")
    out = tmp_path / "ods"
    result = run(
        soffice,
        f"-env:UserInstallation={(tmp_path / 'lo-profile').as_uri()}",
        "--headless",
        "--norestore",
        "--convert-to",
        "ods",
        "--outdir",
        out,
        *files,
    )
    converted = [out / f"{f.stem}.ods" for f in files]
    assert all(p.exists() for p in converted), result.stdout + result.stderr
    return converted


def test_libreoffice_reads_the_xlsx_cells_back_as_the_same_text(tmp_path: Path) -> None:
    xlsx = tmp_path / "report.xlsx"
    write_xlsx(iter(ROWS), str(xlsx))
    csv_file = tmp_path / "programs.csv"
    csv_file.write_bytes(b"".join(csv_chunks(iter(ROWS))))
    from_xlsx, from_csv = _convert_to_ods(tmp_path, xlsx, csv_file)

    rows = _ods_rows(from_xlsx)
    assert [text for _, _, text in rows[0][: len(EXPORT_HEADERS)]] == list(EXPORT_HEADERS)
    for expected, cells in zip(ROWS, rows[1:4], strict=True):
        for column, value in enumerate(expected):
            kind, formula, shown = cells[column]
            assert formula is None, (column, value, formula)  # never a formula
            if value:
                assert (kind, shown) == ("string", value), (column, value, kind, shown)
    assert rows[1][2][2] == CID and rows[1][5][2] == "0812345678"  # not 1.1E+12, not 8.1E+08
    # and in the Text number format, so a cell edited in a spreadsheet stays text
    sheet = load_workbook(xlsx).active
    assert sheet is not None
    filled = [c for row in sheet.iter_rows() for c in row if c.value]
    assert len(filled) > 30 and {(c.data_type, c.number_format) for c in filled} == {("s", "@")}

    # Why the XLSX is the one for people: a spreadsheet opening the programs' CSV makes
    # numbers of the CID and the phone, and the phone loses its leading zero.
    csv_rows = _ods_rows(from_csv)
    cid_cell, phone_cell = csv_rows[1][2], csv_rows[1][5]
    assert cid_cell[0] == "float" and phone_cell[0] == "float"
    assert phone_cell[2] == "812345678"

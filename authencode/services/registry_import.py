"""Import the beneficiary registry from CSV: validate every row, then upsert by CID.

Columns (header row required, names case-insensitive, order free):

  cid*            13 digits with a valid check digit
  title_th        e.g. นาย, นาง, ด.ช.
  first_name_th*  middle_name_th  last_name_th
  title_en        first_name_en   middle_name_en   last_name_en
  sex*            1/2, M/F, ชาย/หญิง
  birth_date*     YYYYMMDD or YYYY-MM-DD, Buddhist era (year > 2400) or Common Era;
                  month and day may be 00 (unknown)
  main_right      UCS, WEL, DIS, OFC, LGO, SSS, SSI, PVT, BKK, OTH, or empty (none)
  sub_right       e.g. 89
  hosp_main  hosp_sub  hosp_main_op   5-character unit codes
  province_code  province_name
  deceased        1/0, Y/N, true/false, empty = 0

Nothing is written when any row is bad, unless skip_bad is asked for.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from authencode.cid import parse_cid
from authencode.crypto import DataProtector
from authencode.errors import DomainError
from authencode.models import Person
from authencode.reference import MAIN_RIGHT_CODES

REQUIRED = ("cid", "first_name_th", "sex", "birth_date")
OPTIONAL = (
    "title_th",
    "middle_name_th",
    "last_name_th",
    "title_en",
    "first_name_en",
    "middle_name_en",
    "last_name_en",
    "main_right",
    "sub_right",
    "hosp_main",
    "hosp_sub",
    "hosp_main_op",
    "province_code",
    "province_name",
    "deceased",
)
COLUMNS = REQUIRED + OPTIONAL
_TEXT_LIMITS = {"title_th": 60, "title_en": 60, "province_name": 100}
_SEX = {"1": "1", "2": "2", "m": "1", "f": "2", "male": "1", "female": "2", "ชาย": "1", "หญิง": "2"}
_TRUE = {"1", "y", "yes", "true", "t", "ใช่"}
_FALSE = {"", "0", "n", "no", "false", "f", "ไม่"}
_DATE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")
_UNIT = re.compile(r"[0-9A-Za-z]{5}")
_SUB_RIGHT = re.compile(r"[0-9A-Za-z]{1,8}")
_PROVINCE = re.compile(r"\d{2,4}")


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ImportReport:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def written(self) -> int:
        return self.inserted + self.updated


class ImportRejected(Exception):
    """The file has bad rows (or a bad header) and nothing was imported."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} bad row(s); nothing was imported")


def import_registry(
    session: Session, protector: DataProtector, stream: TextIO, *, skip_bad: bool = False
) -> ImportReport:
    """Validate the CSV and upsert its persons; raise ImportRejected when rows are bad.

    With skip_bad, good rows are written and bad ones listed in the report.
    """
    main_rights = set(MAIN_RIGHT_CODES)
    rows, errors = _parse(stream, main_rights)
    if errors and not skip_bad:
        raise ImportRejected(errors)
    report = ImportReport(errors=errors)
    _upsert(session, protector, rows, report)
    return report


def open_csv(path: str) -> TextIO:
    """Open a CSV as UTF-8, with or without a byte-order mark."""
    return open(path, encoding="utf-8-sig", newline="")


def _parse(stream: TextIO, main_rights: set[str]) -> tuple[list[dict[str, Any]], list[RowError]]:
    text_stream = _strip_bom(stream)
    reader = csv.reader(text_stream)
    try:
        header = next(reader)
    except StopIteration:
        return [], [RowError(1, "the file is empty (a header row is required)")]
    except (csv.Error, UnicodeDecodeError) as exc:
        return [], [RowError(1, f"unreadable header: {exc}")]
    names = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED if c not in names]
    unknown = [n for n in names if n and n not in COLUMNS]
    duplicated = sorted({n for n in names if n and names.count(n) > 1})
    problems = []
    if missing:
        problems.append("missing required column(s): " + ", ".join(missing))
    if unknown:
        problems.append("unknown column(s): " + ", ".join(unknown))
    if duplicated:
        problems.append("repeated column(s): " + ", ".join(duplicated))
    if problems:
        return [], [RowError(1, "; ".join(problems))]

    rows: list[dict[str, Any]] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    while True:
        line = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            break
        except (csv.Error, UnicodeDecodeError) as exc:
            errors.append(RowError(line, f"unreadable row: {exc}"))
            break
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(names):
            errors.append(RowError(line, f"expected {len(names)} fields, found {len(values)}"))
            continue
        raw = {n: v.strip() for n, v in zip(names, values, strict=True) if n}
        try:
            row = _row(raw, main_rights)
        except _BadField as exc:
            errors.append(RowError(line, str(exc)))
            continue
        if row["cid"] in seen:
            errors.append(RowError(line, f"the same CID is already on line {seen[row['cid']]}"))
            continue
        seen[row["cid"]] = line
        rows.append(row)
    return rows, errors


def _strip_bom(stream: TextIO) -> Iterable[str]:
    first = True
    for chunk in stream:
        if first:
            chunk = chunk.removeprefix("\ufeff")
            first = False
        yield chunk


class _BadField(Exception):
    pass


def _row(raw: dict[str, str], main_rights: set[str]) -> dict[str, Any]:
    try:
        cid = parse_cid(raw["cid"])
    except DomainError as exc:
        raise _BadField(f"cid: {exc.message} ({exc.code})") from None
    row: dict[str, Any] = {"cid": cid}
    if not raw["first_name_th"]:
        raise _BadField("first_name_th: required")
    for name in (
        "title_th",
        "first_name_th",
        "middle_name_th",
        "last_name_th",
        "title_en",
        "first_name_en",
        "middle_name_en",
        "last_name_en",
        "province_name",
    ):
        value = raw.get(name, "")
        if len(value) > _TEXT_LIMITS.get(name, 100):
            raise _BadField(f"{name}: longer than {_TEXT_LIMITS.get(name, 100)} characters")
        if any(ord(ch) < 32 for ch in value):
            raise _BadField(f"{name}: contains control characters")
        row[name] = value
    sex = _SEX.get(raw["sex"].lower())
    if sex is None:
        raise _BadField(f"sex: {raw['sex']!r} is not 1/2, M/F or ชาย/หญิง")
    row["sex"] = sex
    row.update(_birth_date(raw["birth_date"]))
    main = raw.get("main_right", "").upper()
    if main and main not in main_rights:
        raise _BadField(f"main_right: unknown right {main!r}")
    row["main_right"] = main or None
    sub = raw.get("sub_right", "")
    if sub and not _SUB_RIGHT.fullmatch(sub):
        raise _BadField(f"sub_right: {sub!r} is not a right code")
    row["sub_right"] = sub or None
    for name in ("hosp_main", "hosp_sub", "hosp_main_op"):
        unit = raw.get(name, "")
        if unit and not _UNIT.fullmatch(unit):
            raise _BadField(f"{name}: {unit!r} is not a 5-character unit code")
        row[name] = unit or None
    province = raw.get("province_code", "")
    if province and not _PROVINCE.fullmatch(province):
        raise _BadField(f"province_code: {province!r} is not a province code")
    row["province_code"] = province or None
    row["province_name"] = row["province_name"] or None
    deceased = raw.get("deceased", "").lower()
    if deceased not in _TRUE | _FALSE:
        raise _BadField(f"deceased: {raw.get('deceased')!r} is not yes/no")
    row["deceased"] = deceased in _TRUE
    return row


def _birth_date(value: str) -> dict[str, int | None]:
    match = _DATE.fullmatch(value)
    if not match:
        raise _BadField(f"birth_date: {value!r} is not YYYYMMDD or YYYY-MM-DD")
    year, month, day = (int(g) for g in match.groups())
    if year > 2400:  # Buddhist era
        year -= 543
    if not 1850 <= year <= 2200:
        raise _BadField(f"birth_date: year {match.group(1)} is out of range")
    if month > 12 or day > 31 or (month == 0 and day != 0):
        raise _BadField(f"birth_date: {value!r} is not a date")
    if month and day:
        try:
            dt.date(year, month, day)
        except ValueError:
            raise _BadField(f"birth_date: {value!r} is not a date") from None
    return {"birth_year": year, "birth_month": month or None, "birth_day": day or None}


_PERSON_FIELDS = (
    *(c for c in COLUMNS if c not in ("cid", "birth_date")),
    "birth_year",
    "birth_month",
    "birth_day",
)


def _upsert(
    session: Session,
    protector: DataProtector,
    rows: list[dict[str, Any]],
    report: ImportReport,
    chunk: int = 500,
) -> None:
    lock_person_inserts(session)
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        # A person may still be under an older data key (a rotation under way): match every
        # key's hash, insert under the current one only when none matches.
        candidates = {h: r["cid"] for r in part for h in protector.lookup_hashes(r["cid"])}
        existing: dict[str, Person] = {}
        for p in session.scalars(
            select(Person).where(Person.cid_hash.in_(list(candidates))).order_by(Person.id)
        ):
            existing.setdefault(candidates[p.cid_hash], p)
        for row in part:
            values = {k: row[k] for k in _PERSON_FIELDS}
            person = existing.get(row["cid"])
            if person is None:
                session.add(
                    Person(
                        cid_hash=protector.lookup_hash(row["cid"]),
                        cid_enc=protector.encrypt(row["cid"]),
                        **values,
                    )
                )
                report.inserted += 1
            elif any(getattr(person, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(person, k, v)
                report.updated += 1
            else:
                report.unchanged += 1
        session.flush()


# One advisory lock for adding registry persons (PostgreSQL). Two writers whose current data
# keys differ (a restart under way in a key rotation) would hash a new CID to two different
# values, which the unique constraint on cid_hash cannot tell apart; under this lock the
# second writer's look-up over every key's hash finds the first one's person instead.
_PERSON_INSERT_LOCK = 0x50455253  # "PERS"


def lock_person_inserts(session: Session) -> None:
    """Queue behind any other transaction adding registry persons, until this one ends."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PERSON_INSERT_LOCK})


def parse_text(text: str) -> io.StringIO:
    """A stream over CSV text (for tests and uploads)."""
    return io.StringIO(text, newline="")

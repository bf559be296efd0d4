from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.models import Person
from authencode.services.people import find_person
from authencode.services.registry_import import ImportRejected, import_registry
from tests.support.factories import new_cid

HEADER = (
    "cid,title_th,first_name_th,last_name_th,first_name_en,last_name_en,sex,birth_date,"
    "main_right,sub_right,hosp_main,deceased\n"
)


def _csv(*rows: str) -> io.StringIO:
    return io.StringIO(HEADER + "".join(r + "\n" for r in rows), newline="")


def test_import_inserts_then_is_idempotent_then_updates(
    session: Session, protector: DataProtector
) -> None:
    a, b = new_cid(), new_cid()
    rows = (
        f"{a},นาย,สมชาย,ใจดี,Somchai,Jaidee,1,25300101,UCS,89,10675,0",
        f"{b},นาง,สมศรี,มีสุข,,,หญิง,1980-00-00,,,,",
    )
    report = import_registry(session, protector, _csv(*rows))
    assert (report.inserted, report.updated, report.unchanged) == (2, 0, 0)
    report = import_registry(session, protector, _csv(*rows))
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 2)
    report = import_registry(session, protector, _csv(rows[0].replace("UCS,89", "SSS,")))
    assert (report.inserted, report.updated) == (0, 1)
    session.commit()

    somchai = find_person(session, protector, a)
    assert somchai is not None
    assert (somchai.birth_year, somchai.birth_month, somchai.birth_day) == (1987, 1, 1)  # BE 2530
    assert somchai.main_right == "SSS" and somchai.sub_right is None
    somsri = find_person(session, protector, b)
    assert somsri is not None
    assert (somsri.birth_year, somsri.birth_month, somsri.birth_day) == (1980, None, None)
    assert somsri.sex == "2" and somsri.main_right is None


def test_bad_rows_are_reported_with_line_numbers_and_nothing_is_written(
    session: Session, protector: DataProtector
) -> None:
    keep = new_cid()
    import_registry(session, protector, _csv(f"{keep},นาย,เดิม,อยู่,,,1,25300101,UCS,89,,0"))
    session.commit()
    good = new_cid()
    stream = _csv(
        f"{good},นาย,ใหม่,ดี,,,1,25300101,UCS,89,,0",  # line 2: fine
        "1101700207031,นาย,ผิด,หลัก,,,1,25300101,UCS,89,,0",  # line 3: check digit
        f"{new_cid()},นาย,เพศ,ผิด,,,3,25300101,UCS,89,,0",  # line 4: sex
        f"{new_cid()},นาย,วัน,ผิด,,,1,25301301,UCS,89,,0",  # line 5: month 13
        f"{new_cid()},นาย,สิทธิ,ผิด,,,1,25300101,XXX,89,,0",  # line 6: unknown right
        f"{good},นาย,ซ้ำ,ซ้ำ,,,1,25300101,UCS,89,,0",  # line 7: duplicate CID
        f"{keep},นาย,แก้,ไข,,,1,25300101,SSS,,,0",  # line 8: fine (update)
        "short,row",  # line 9: field count
    )
    with pytest.raises(ImportRejected) as info:
        import_registry(session, protector, stream)
    session.rollback()
    lines = {e.line: e.reason for e in info.value.errors}
    assert sorted(lines) == [3, 4, 5, 6, 7, 9]
    assert "CID_CHECK_DIGIT" in lines[3] and "sex" in lines[4] and "birth_date" in lines[5]
    assert "main_right" in lines[6] and "line 2" in lines[7]
    # The registry is as it was: no insert, no update.
    assert session.scalar(select(func.count()).select_from(Person)) == 1
    unchanged = find_person(session, protector, keep)
    assert unchanged is not None and unchanged.first_name_th == "เดิม"
    assert find_person(session, protector, good) is None


def test_skip_bad_imports_the_good_rows(session: Session, protector: DataProtector) -> None:
    good = new_cid()
    report = import_registry(
        session,
        protector,
        _csv(
            f"{good},นาย,ดี,ดี,,,1,19870101,UCS,89,,0",
            "1101700207031,นาย,ผิด,หลัก,,,1,25300101,UCS,89,,0",
        ),
        skip_bad=True,
    )
    assert report.inserted == 1 and [e.line for e in report.errors] == [3]


def test_header_problems_are_reported_on_line_one(
    session: Session, protector: DataProtector
) -> None:
    with pytest.raises(ImportRejected) as info:
        import_registry(session, protector, io.StringIO("cid,first_name_th,colour\n"))
    (error,) = info.value.errors
    assert error.line == 1 and "sex" in error.reason and "colour" in error.reason


def test_cli_import_with_bom_and_exit_codes(db_url: str, tmp_path: Path) -> None:
    env = {
        "AUTHENCODE_ENV": "test",
        "DATABASE_URL": db_url,
        "PATH": "/usr/bin:/bin",
        "SECRET_KEY": "cli-test-secret-0123456789",
        "AUTHENCODE_INSTANCE_PATH": str(tmp_path),
        "DATA_KEY": "q7gYt8Hc3qQ2C2xjvY2mX8qk6y1J8n0pWcV3bL5rT9E=",
    }
    good = tmp_path / "good.csv"
    good.write_bytes(
        b"\xef\xbb\xbf" + (HEADER + f"{new_cid()},นาย,บอม,ดี,,,1,25300101,UCS,89,,0\n").encode()
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "1101700207031,นาย,ผิด,หลัก,,,1,25300101,UCS,89,,0\n")
    cli = [sys.executable, "-m", "authencode.cli", "registry", "import"]
    ok = subprocess.run([*cli, str(good)], env=env, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "inserted 1" in ok.stdout
    refused = subprocess.run([*cli, str(bad)], env=env, capture_output=True, text=True, check=False)
    assert refused.returncode == 1
    assert "bad.csv:line 2:" in refused.stderr and "nothing was imported" in refused.stderr
    assert "1101700207031" not in refused.stderr  # the CID is never echoed back

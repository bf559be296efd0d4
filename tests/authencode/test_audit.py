from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from authencode.db import Database
from authencode.models import AuditEntry
from authencode.services import audit


def test_chain_verifies_and_reports_the_first_altered_entry(session: Session) -> None:
    for n in range(5):
        audit.record(session, "cli", "test.action", f"thing:{n}", {"n": n})
    session.commit()
    report = audit.verify(session)
    assert report.ok and report.checked == 5

    third = session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).all()[2]
    session.execute(update(AuditEntry).where(AuditEntry.id == third).values(details={"n": 99}))
    session.commit()
    report = audit.verify(session)
    assert not report.ok and report.broken_at == third and report.checked == 2


def test_a_deleted_entry_breaks_the_chain_at_its_successor(session: Session) -> None:
    for n in range(4):
        audit.record(session, "cli", "test.action", f"thing:{n}")
    session.commit()
    ids = session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).all()
    session.delete(session.get(AuditEntry, ids[1]))
    session.commit()
    report = audit.verify(session)
    assert report.broken_at == ids[2]


def test_concurrent_writers_never_fork_the_chain(pg_url: str) -> None:
    database = Database(pg_url, pool_size=12, max_overflow=0)

    def writer(n: int) -> None:
        for i in range(5):
            with database.transaction() as session:
                audit.record(session, f"staff:{n}", "test.action", f"thing:{i}")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with database.sessionmaker() as session:
        report = audit.verify(session)
    database.dispose()
    assert report.ok and report.checked == 50


def test_cli_verify_exit_code(db_url: str, tmp_path: Path) -> None:
    env = {
        "AUTHENCODE_ENV": "test",
        "DATABASE_URL": db_url,
        "PATH": "/usr/bin:/bin",
        "AUTHENCODE_INSTANCE_PATH": str(tmp_path),
    }
    database = Database(db_url)
    with database.transaction() as session:
        audit.record(session, "cli", "a")
        audit.record(session, "cli", "b")
    cli = [sys.executable, "-m", "authencode.cli", "audit", "verify"]
    ok = subprocess.run(cli, env=env, capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and "intact: 2 entries" in ok.stdout
    with database.transaction() as session:
        session.execute(update(AuditEntry).where(AuditEntry.action == "b").values(actor="x"))
    database.dispose()
    broken = subprocess.run(cli, env=env, capture_output=True, text=True, check=False)
    assert broken.returncode == 1 and "broken at entry" in broken.stderr

"""`authencode backup` and `authencode restore`: a dump taken while the service writes
restores into a fresh cluster with the manifest's counts, an intact audit chain, and codes
and CIDs that still look up with the same DATA_KEY; never over a database that has data."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, func, select, table, text

from authencode import cli
from authencode.crypto import DataProtector
from authencode.db import Database
from authencode.services import audit, backup, issuance, people
from tests.support.factories import make_facility, make_person, new_cid
from tests.support.postgres import PostgresCluster, PostgresNotAvailable
from tests.support.shared import TEST_DATA_KEY
from tests.support.writers import Writers

SECRET_KEY = "backup-test-secret-key-0123456789"


def _cli(database_url: str, tmp_path: Path, *args: str) -> Result:
    env = {
        "AUTHENCODE_ENV": "test",
        "DATABASE_URL": database_url,
        "DATA_KEY": base64.b64encode(TEST_DATA_KEY).decode(),
        "SECRET_KEY": SECRET_KEY,
        "AUTHENCODE_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    return CliRunner().invoke(cli.main, list(args), env=env)


def _issue(database: Database, protector: DataProtector, cid: str) -> str:
    """A person and today's code for them, audited, in one transaction."""
    with database.transaction() as session:
        person = make_person(session, protector, cid)
        issued = issuance.issue_code(
            session,
            person,
            hcode="10675",
            service_code="PG0060001",
            phones="0812345678",
            channel="cid_photo",
        )
        audit.record(session, "test", "backup.load", f"authen_code:{issued.code.id}")
        return issued.code.code


def _counts(database_url: str, names: list[str]) -> dict[str, int]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return {
                name: int(conn.scalar(select(func.count()).select_from(table(name))) or 0)
                for name in names
            }
    finally:
        engine.dispose()


def _check_restored(
    database_url: str, folder: Path, tmp_path: Path, protector: DataProtector, cid: str, code: str
) -> None:
    manifest = json.loads((folder / backup.MANIFEST).read_text())
    restored = _cli(database_url, tmp_path, "restore", str(folder))
    assert restored.exit_code == 0, restored.output
    assert _counts(database_url, list(manifest["tables"])) == manifest["tables"]
    verified = _cli(database_url, tmp_path, "audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert f"{manifest['audit_head']['entries']} entries" in verified.output
    database = Database(database_url)
    try:
        with database.sessionmaker() as session:
            found = issuance.get_code(session, code)
            person = people.find_person(session, protector, cid)
            assert person is not None and found.person_id == person.id
            assert people.person_cid(protector, person) == cid
    finally:
        database.dispose()
    # Into a database that now holds data: refused, nothing changed.
    again = _cli(database_url, tmp_path, "restore", str(folder))
    assert again.exit_code == 1 and "not empty" in again.output
    assert _counts(database_url, list(manifest["tables"])) == manifest["tables"]


@pytest.fixture
def fresh_cluster() -> Iterator[PostgresCluster]:
    try:
        cluster = PostgresCluster().start()
    except PostgresNotAvailable as exc:
        pytest.fail(str(exc))
    engine = create_engine(cluster.url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text('CREATE DATABASE "restored"'))
    engine.dispose()
    yield cluster
    cluster.destroy()


def test_a_backup_under_write_load_restores_into_a_fresh_cluster(
    pg_url: str, protector: DataProtector, tmp_path: Path, fresh_cluster: PostgresCluster
) -> None:
    database = Database(pg_url)
    with database.transaction() as session:
        make_facility(session)
    cid = new_cid()
    code = _issue(database, protector, cid)
    folder = tmp_path / "backup"
    try:
        with Writers(lambda: _issue(database, protector, new_cid())) as writers:
            writers.wait_for(5)  # the dump starts with writers in full flow
            before = len(writers.done)
            made = _cli(pg_url, tmp_path, "backup", str(folder))
            writers.wait_for(len(writers.done) + 5)  # and they go on after it
        written = writers.done
    finally:
        database.dispose()
    assert made.exit_code == 0, made.output
    manifest = json.loads((folder / backup.MANIFEST).read_text())
    assert manifest["dialect"] == "postgresql" and manifest["schema_revision"]
    assert 1 + before <= manifest["tables"]["authen_codes"] <= 1 + len(written)
    assert manifest["tables"]["authen_codes"] < _counts(pg_url, ["authen_codes"])["authen_codes"]
    # The keys are nowhere in the backup (the dump read back as SQL, and the manifest).
    pg_restore = backup.pg_tool("pg_restore", _major(pg_url))
    sql = subprocess.run(
        [str(pg_restore), "--file=-", str(folder / backup.PG_DUMP_FILE)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "authen_codes" in sql
    for secret in (base64.b64encode(TEST_DATA_KEY).decode(), TEST_DATA_KEY.hex(), SECRET_KEY):
        assert secret not in sql and secret not in (folder / backup.MANIFEST).read_text()
    # Not over the live database.
    refused = _cli(pg_url, tmp_path, "restore", str(folder))
    assert refused.exit_code == 1 and "not empty" in refused.output
    _check_restored(fresh_cluster.url_for("restored"), folder, tmp_path, protector, cid, code)


def _major(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(text("SHOW server_version_num")) or 0) // 10000
    finally:
        engine.dispose()


def test_a_sqlite_backup_round_trip(
    sqlite_template: Path, protector: DataProtector, tmp_path: Path
) -> None:
    source = tmp_path / "live.sqlite3"
    source.write_bytes(sqlite_template.read_bytes())
    url = f"sqlite:///{source}"
    database = Database(url)
    with database.transaction() as session:
        make_facility(session)
    cid = new_cid()
    code = _issue(database, protector, cid)
    for _ in range(3):
        _issue(database, protector, new_cid())
    database.dispose()
    folder = tmp_path / "backup"
    made = _cli(url, tmp_path, "backup", str(folder))
    assert made.exit_code == 0, made.output
    manifest = json.loads((folder / backup.MANIFEST).read_text())
    assert manifest["dialect"] == "sqlite" and manifest["tables"]["authen_codes"] == 4
    assert manifest["audit_head"]["entries"] == _counts(url, ["audit_log"])["audit_log"]
    data = (folder / backup.SQLITE_FILE).read_bytes()
    assert TEST_DATA_KEY not in data and base64.b64encode(TEST_DATA_KEY) not in data
    # A second backup never overwrites the first.
    twice = _cli(url, tmp_path, "backup", str(folder))
    assert twice.exit_code == 1 and "not an empty folder" in twice.output
    _check_restored(
        f"sqlite:///{tmp_path / 'restored.sqlite3'}", folder, tmp_path, protector, cid, code
    )


def test_a_damaged_or_foreign_backup_is_refused(sqlite_template: Path, tmp_path: Path) -> None:
    source = tmp_path / "live.sqlite3"
    source.write_bytes(sqlite_template.read_bytes())
    folder = tmp_path / "backup"
    assert _cli(f"sqlite:///{source}", tmp_path, "backup", str(folder)).exit_code == 0
    target = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    manifest = json.loads((folder / backup.MANIFEST).read_text())
    (folder / backup.MANIFEST).write_text(json.dumps({**manifest, "dialect": "postgresql"}))
    foreign = _cli(target, tmp_path, "restore", str(folder))
    assert foreign.exit_code == 1 and "postgresql database" in foreign.output
    (folder / backup.MANIFEST).write_text(json.dumps(manifest))
    with (folder / backup.SQLITE_FILE).open("ab") as dump:
        dump.write(b"x")
    damaged = _cli(target, tmp_path, "restore", str(folder))
    assert damaged.exit_code == 1 and "damaged" in damaged.output
    assert _cli(target, tmp_path, "restore", str(tmp_path)).exit_code == 1  # no manifest


def test_missing_pg_binaries_are_named() -> None:
    with pytest.raises(backup.BackupError) as refused:
        backup.pg_tool("pg_dump", 99, Path("/nonexistent"))
    message = str(refused.value)
    assert "pg_dump of PostgreSQL 99" in message and "PG_BINDIR" in message

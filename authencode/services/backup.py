"""Backups that restore: a consistent dump of the database plus a manifest to check it by.

A backup is a folder: ``manifest.json`` (the row count of every table, the audit chain's
head, the schema revision, the time, the dump's SHA-256) and the dump itself, PostgreSQL's
``pg_dump`` custom format (``database.dump``) or, for the SQLite demo, a copy made with
SQLite's online backup API (``database.sqlite3``). The counts are read in the very snapshot
the dump is taken from, so they match it exactly while the service keeps writing. Keys
(``DATA_KEY``, ``SECRET_KEY``) live in the environment, never in the database: a backup
holds none of them, and is useless without ``DATA_KEY`` (back it up separately).

``restore`` loads a backup into an empty database only and checks the manifest's counts
and audit head against what it loaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, func, select, table, text
from sqlalchemy.engine import make_url

from authencode.db import Base, utcnow
from authencode.models import AuditEntry

MANIFEST = "manifest.json"
PG_DUMP_FILE = "database.dump"
SQLITE_FILE = "database.sqlite3"
FORMAT = 1


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Manifest:
    created_at: str
    dialect: str
    schema_revision: str | None
    tables: dict[str, int]
    audit_head: dict[str, Any]  # {"entries", "last_id", "entry_hash"} of the chain's tail
    file: str
    sha256: str

    def as_json(self) -> str:
        return json.dumps({"format": FORMAT, **self.__dict__}, indent=2, sort_keys=True)

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        try:
            data = json.loads((folder / MANIFEST).read_text())
        except (OSError, ValueError) as exc:
            raise BackupError(
                f"{folder / MANIFEST}: not a readable backup manifest ({exc})"
            ) from None
        if data.pop("format", None) != FORMAT:
            raise BackupError(f"{folder / MANIFEST}: unknown backup format")
        return cls(**data)


def _tables() -> list[str]:
    return ["alembic_version", *(t.name for t in Base.metadata.sorted_tables)]


def _facts(conn: Connection) -> tuple[dict[str, int], dict[str, Any], str | None]:
    """Row counts, audit head and schema revision, as this connection's snapshot sees them."""
    counts = {
        name: int(conn.scalar(select(func.count()).select_from(table(name))) or 0)
        for name in _tables()
    }
    tail = conn.execute(
        select(AuditEntry.id, AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1)
    ).first()
    head = {
        "entries": counts[AuditEntry.__tablename__],
        "last_id": tail.id if tail else None,
        "entry_hash": tail.entry_hash if tail else None,
    }
    revision = conn.scalar(text("SELECT version_num FROM alembic_version"))
    return counts, head, revision


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _new_folder(folder: Path) -> None:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BackupError(f"{folder}: exists and is not an empty folder; give a new path")
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)  # the dump holds encrypted CIDs, names, phones


def backup(database_url: str, folder: Path, pg_bindir: Path | None = None) -> Manifest:
    """Write a consistent dump of the database and its manifest into a new folder; raises
    BackupError (folder not empty, pg_dump missing or of another major version, pg_dump
    failed)."""
    _new_folder(folder)
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return _backup_sqlite(_sqlite_path(database_url), folder)
    return _backup_postgres(database_url, folder, pg_bindir)


def _write_manifest(folder: Path, dialect: str, facts: Any, file: str) -> Manifest:
    counts, head, revision = facts
    manifest = Manifest(
        created_at=utcnow().isoformat(),
        dialect=dialect,
        schema_revision=revision,
        tables=counts,
        audit_head=head,
        file=file,
        sha256=_sha256(folder / file),
    )
    (folder / MANIFEST).write_text(manifest.as_json())
    return manifest


def _sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupError("DATABASE_URL names no SQLite file")
    return Path(database)


def _backup_sqlite(source: Path, folder: Path) -> Manifest:
    target = folder / SQLITE_FILE
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)  # the online backup API: a consistent copy while others write
    engine = create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as conn:
            facts = _facts(conn)
    finally:
        engine.dispose()
    return _write_manifest(folder, "sqlite", facts, SQLITE_FILE)


def _backup_postgres(database_url: str, folder: Path, pg_bindir: Path | None) -> Manifest:
    # One snapshot for the counts and the dump: they agree while the service writes.
    engine = create_engine(database_url, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as conn:
            pg_dump = pg_tool("pg_dump", _server_major(conn), pg_bindir)
            snapshot = conn.scalar(text("SELECT pg_export_snapshot()"))
            facts = _facts(conn)
            _run(
                [
                    str(pg_dump),
                    "--format=custom",
                    f"--snapshot={snapshot}",
                    f"--file={folder / PG_DUMP_FILE}",
                    "--dbname",
                    _libpq_url(database_url),
                ],
                _libpq_env(database_url),
                "pg_dump",
            )
            conn.rollback()
    finally:
        engine.dispose()
    return _write_manifest(folder, "postgresql", facts, PG_DUMP_FILE)


def _server_major(conn: Connection) -> int:
    return int(conn.scalar(text("SHOW server_version_num")) or 0) // 10000


def pg_tool(name: str, major: int, bindir: Path | None = None) -> Path:
    """The ``pg_dump``/``pg_restore`` of the server's major version: in ``bindir``
    (PG_BINDIR), Debian's /usr/lib/postgresql/<major>/bin (what
    scripts/install-system-deps.sh installs), or on PATH; raises BackupError if none is."""
    candidates = [bindir / name] if bindir else []
    candidates.append(Path(f"/usr/lib/postgresql/{major}/bin/{name}"))
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and _tool_major(candidate) == major:
            return candidate
    raise BackupError(
        f"{name} of PostgreSQL {major} (the server's version) not found: install the "
        f"server's client binaries (scripts/install-system-deps.sh, or Debian's "
        f"postgresql-client-{major}) or set PG_BINDIR to their folder"
    )


def _tool_major(path: Path) -> int | None:
    try:
        out = subprocess.run(  # noqa: S603 - a PostgreSQL binary we located, no shell
            [str(path), "--version"], capture_output=True, text=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(found.group(1)) if found else None


def _libpq_url(database_url: str) -> str:
    """The URL as libpq takes it, without the password (that goes in PGPASSWORD)."""
    url = make_url(database_url).set(drivername="postgresql", password=None)
    return url.render_as_string(hide_password=False)


def _libpq_env(database_url: str) -> Mapping[str, str]:
    env = dict(os.environ)
    password = make_url(database_url).password
    if password:
        env["PGPASSWORD"] = str(password)
    return env


def _run(command: list[str], env: Mapping[str, str], what: str) -> None:
    # pg_dump/pg_restore found by pg_tool, arguments as a list: no shell
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{what} failed: {result.stderr.strip()[-2000:]}")


@dataclass(frozen=True)
class RestoreReport:
    manifest: Manifest
    mismatches: dict[str, tuple[int, int]]  # table: (in the manifest, restored)
    audit_head_matches: bool

    @property
    def ok(self) -> bool:
        return not self.mismatches and self.audit_head_matches


def restore(database_url: str, folder: Path, pg_bindir: Path | None = None) -> RestoreReport:
    """Load a backup into an empty database and compare what was loaded with the manifest;
    raises BackupError (not a backup, damaged dump, another kind of database, the target
    not empty, pg_restore missing or failed)."""
    manifest = Manifest.read(folder)
    dump = folder / manifest.file
    if not dump.is_file() or _sha256(dump) != manifest.sha256:
        raise BackupError(f"{dump}: missing or damaged (its SHA-256 differs from the manifest)")
    dialect = make_url(database_url).get_backend_name()
    if dialect != manifest.dialect:
        raise BackupError(
            f"the backup is of a {manifest.dialect} database; DATABASE_URL is {dialect}"
        )
    with _engine(database_url) as engine, engine.connect() as conn:
        if dialect == "postgresql":
            _refuse_non_empty(conn, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            pg_restore = pg_tool("pg_restore", _server_major(conn), pg_bindir)
        else:
            _refuse_non_empty(conn, "SELECT name FROM sqlite_master WHERE type = 'table'")
    if dialect == "postgresql":
        _run(
            [
                str(pg_restore),
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                "--dbname",
                _libpq_url(database_url),
                str(dump),
            ],
            _libpq_env(database_url),
            "pg_restore",
        )
    else:
        target = _sqlite_path(database_url)
        with (
            contextlib.closing(sqlite3.connect(dump)) as src,
            contextlib.closing(sqlite3.connect(target)) as dst,
        ):
            src.backup(dst)
    with _engine(database_url) as engine, engine.connect() as conn:
        counts, head, _revision = _facts(conn)
    mismatches = {
        name: (expected, counts.get(name, 0))
        for name, expected in manifest.tables.items()
        if counts.get(name, 0) != expected
    }
    return RestoreReport(manifest, mismatches, head == manifest.audit_head)


@contextlib.contextmanager
def _engine(database_url: str) -> Iterator[Any]:
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _refuse_non_empty(conn: Connection, query: str) -> None:
    names = sorted(str(name) for name in conn.scalars(text(query)))
    if names:
        shown = ", ".join(names[:5]) + (", …" if len(names) > 5 else "")
        raise BackupError(
            f"the target database is not empty ({len(names)} table(s): {shown}); restore "
            "only into a new, empty database (createdb), never over live data"
        )

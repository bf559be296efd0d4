"""Data keys: every value names its key, DATA_KEYS beside DATA_KEY, the registry of encrypted
and hashed columns, and `authencode keys rotate` while the service keeps working."""

from __future__ import annotations

import base64
import datetime as dt
import io
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    func,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector, DecryptionError, key_of_ciphertext, key_of_hash
from authencode.db import Base, Database, utcnow
from authencode.models import (
    AuditEntry,
    AuthenCode,
    FamilyLink,
    LineAccount,
    LinkVerification,
    Person,
    StaffDocument,
    VisitEvidence,
    WebhookEvent,
)
from authencode.services import (
    conversations,
    counter_verify,
    data_keys,
    inbox,
    mail,
    qr_tokens,
    staff_accounts,
    visits,
)
from authencode.services.people import find_person, person_cid
from authencode.services.registry_import import import_registry
from authencode.settings import Settings, SettingsError
from tests.support.factories import make_facility, make_staff, new_cid
from tests.support.shared import TEST_DATA_KEY

K0 = TEST_DATA_KEY
K1 = base64.b64decode("Vt3m0cQ1yJ7r9XkLh2bN5aP8sD4fG6jZ0wE3uT1iO7c=")
OLD = DataProtector(K0)  # DATA_KEY alone, as installs run today
NEXT = DataProtector([("0", K0), ("k1", K1)])  # step 1: the new key known, not yet current
BOTH = DataProtector([("k1", K1), ("0", K0)])  # step 2: the new key current
NEW = DataProtector([("k1", K1)])  # after retiring key 0

HEADER = "cid,first_name_th,last_name_th,sex,birth_date,main_right\n"


def _csv(cids: list[str], last_name: str = "ระบบ") -> io.StringIO:
    rows = "".join(f"{cid},ทดสอบ,{last_name},1,25330517,UCS\n" for cid in cids)
    return io.StringIO(HEADER + rows, newline="")


# --- the key ring -------------------------------------------------------------------------


def test_the_legacy_key_keeps_the_formats_written_before_key_ids() -> None:
    old_hash, old_blob = OLD.lookup_hash("1101700207030"), OLD.encrypt("1101700207030")
    assert len(old_hash) == 64 and int(old_hash, 16) >= 0  # bare hex, as before
    assert old_blob[:1] == b"\x01" and key_of_ciphertext(old_blob) == "0"
    assert BOTH.lookup_hashes("1101700207030") == [BOTH.lookup_hash("1101700207030"), old_hash]
    assert BOTH.decrypt(old_blob) == "1101700207030"
    assert BOTH.matches(old_hash, "1101700207030") and not BOTH.matches(old_hash, "x")
    with pytest.raises(DecryptionError, match=r"'0'.*not configured"):
        NEW.decrypt(old_blob)


def test_values_of_a_new_key_name_it_and_fit_the_hash_columns() -> None:
    new_hash, new_blob = BOTH.lookup_hash("1101700207030"), BOTH.encrypt("1101700207030", "x")
    assert new_hash.startswith("k1:") and len(new_hash) <= 64 and key_of_hash(new_hash) == "k1"
    assert len(DataProtector([("a" * 12, K1)]).lookup_hash("1")) <= 64
    assert key_of_ciphertext(new_blob) == "k1"
    assert NEW.decrypt(new_blob, "x") == "1101700207030"
    assert NEW.lookup_hash("1101700207030") == new_hash
    with pytest.raises(DecryptionError, match="'k1'"):
        OLD.decrypt(new_blob, "x")
    with pytest.raises(DecryptionError):
        NEW.decrypt(new_blob, "y")  # the context still binds
    assert not OLD.matches(new_hash, "1101700207030")  # a key it lacks matches nothing


def _env(**values: str) -> dict[str, str]:
    return {"AUTHENCODE_ENV": "test", "SECRET_KEY": "test-secret-key-0123456789abcdef", **values}


def test_data_keys_setting_puts_the_current_key_first_and_data_key_as_key_0(
    tmp_path: Path,
) -> None:
    k0, k1 = base64.b64encode(K0).decode(), base64.b64encode(K1).decode()
    path = {"AUTHENCODE_INSTANCE_PATH": str(tmp_path)}
    assert Settings.from_env(_env(DATA_KEY=k0, **path)).key_ring == (("0", K0),)
    both = Settings.from_env(_env(DATA_KEY=k0, DATA_KEYS=f"k1:{k1}", **path))
    assert both.key_ring == (("k1", K1), ("0", K0))
    step1 = Settings.from_env(_env(DATA_KEY=k0, DATA_KEYS=f"0:{k0}, k1:{k1}", **path))
    assert step1.key_ring == (("0", K0), ("k1", K1))
    assert Settings.from_env(_env(DATA_KEYS=f"k1:{k1}", **path)).key_ring == (("k1", K1),)
    for bad, named in [
        (f"k1={k1}", "DATA_KEYS must be id:base64"),
        (f"k1:{k1},k1:{k0}", "twice"),
        ("k1:c2hvcnQ=", "DATA_KEYS key 'k1'"),
        (f"bad id:{k1}", "DATA_KEYS must be"),
        (f"0:{k1}", 'DATA_KEY and the key "0"'),
    ]:
        with pytest.raises(SettingsError, match=named):
            Settings.from_env(_env(DATA_KEY=k0, DATA_KEYS=bad, **path))


# --- the registry -------------------------------------------------------------------------


def test_every_encrypted_or_hashed_column_is_in_the_registry() -> None:
    """A column added without a registry entry fails here (at merge, for parallel work)."""
    assert data_keys.unregistered_columns(Base.metadata) == []
    for table, column in data_keys.registered_columns() | set(data_keys.UNKEYED):
        assert column.split(".")[0] in Base.metadata.tables[table].columns, (table, column)


def test_the_registry_check_catches_a_forgotten_column() -> None:
    metadata = MetaData()
    Table(
        "visit_notes",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("scan", LargeBinary),
        Column("note_enc", String(200)),
        Column("phone_hash", String(64)),
        Column("phone", String(10)),
    )
    assert data_keys.unregistered_columns(metadata) == [
        "visit_notes.scan",
        "visit_notes.note_enc",
        "visit_notes.phone_hash",
    ]


# --- data under both keys -----------------------------------------------------------------


def _populate(session: Session, protector: DataProtector, tag: str, persons: int) -> list[str]:
    """Rows of every re-keyable kind, written under ``protector``'s current key."""
    cids = [new_cid() for _ in range(persons)]
    import_registry(session, protector, _csv(cids))
    facility = make_facility(session, f"9000{tag}", services=("PG0060001",))
    staff = make_staff(session, protector, facility, username=f"staff{tag}")
    session.add(
        StaffDocument(
            staff_id=staff.id,
            evidence_kind="id_card",
            filename="id.jpg",
            content_type="image/jpeg",
            size=3,
            data_enc=protector.encrypt(
                base64.b64encode(b"doc").decode(), staff_accounts.DOCUMENT_CONTEXT
            ),
        )
    )
    qr_tokens.ensure_key(session, protector, facility)
    account = LineAccount(line_user_id=f"U{tag}", consent_version="1")
    session.add(account)
    session.flush()
    conversations.start(
        session, protector, account, "register", "phone", utcnow(), data={"cid": cids[0]}
    )
    mail.queue_email(session, protector, f"staff{tag}@clinic.example", "รหัสผ่าน", f"body {tag}")
    session.add(  # a LINE event stored by the webhook, not applied yet
        WebhookEvent(
            webhook_event_id=f"01EV{tag}",
            event_type="message",
            line_user_id=f"U{tag}",
            event_ts=1,
            payload=protector.encrypt('{"type": "message"}', inbox.PAYLOAD_CONTEXT),
            status="pending",
        )
    )
    person = find_person(session, protector, cids[0])
    assert person is not None
    code = AuthenCode(
        code=f"T{tag}",
        person_id=person.id,
        facility_id=facility.id,
        service_code="PG0060001",
        service_date=dt.date(2026, 12, 2),
        service_at=utcnow(),
        channel="cid_photo",
        verify_method="photo",
        phones="0812345678",
    )
    session.add(code)
    session.flush()
    session.add(
        VisitEvidence(
            code_id=code.id,
            photo_enc=protector.encrypt(
                base64.b64encode(b"\xff\xd8photo").decode(), visits.PHOTO_CONTEXT
            ),
            photo_type="image/jpeg",
            certifier_cid_hash=protector.lookup_hash(cids[-1]),
            certifier_cid_enc=protector.encrypt(cids[-1], visits.CERTIFIER_CONTEXT),
            staff_id=staff.id,
        )
    )
    session.flush()
    return cids


def _keys_in_use(session: Session) -> dict[str, set[str]]:
    used: dict[str, set[str]] = {}
    for name, census in data_keys.census(session, ["k1", "0"]):
        if census.kind != "oneway":
            used[f"{name}.{census.column}"] = {k for k, n in census.by_key.items() if n}
    return used


def _check_readable(session: Session, protector: DataProtector, cids: list[str]) -> None:
    """Every value decrypts and every CID is found, with ``protector``'s keys alone."""
    assert data_keys.unreadable(session, protector) == []
    for cid in cids:
        person = find_person(session, protector, cid)
        assert person is not None and person_cid(protector, person) == cid


def test_a_rotation_interrupted_half_way_resumes_and_lookups_work_throughout(
    database: Database,
) -> None:
    with database.transaction() as session:
        old_cids = _populate(session, OLD, "1", 7)
    with database.transaction() as session:
        new_cids = _populate(session, BOTH, "2", 2)
        assert _keys_in_use(session)["persons.cid_hash"] == {"0", "k1"}
        assert data_keys.unreadable(session, NEW)  # the old rows need key 0
        assert find_person(session, NEW, old_cids[0]) is None

    batches: list[data_keys.Progress] = []

    def crash_after_two(progress: data_keys.Progress) -> None:
        batches.append(progress)
        if len(batches) == 2:
            raise RuntimeError("killed between batches")

    with pytest.raises(RuntimeError):
        data_keys.rotate(database, BOTH, batch_size=2, on_batch=crash_after_two)
    with database.transaction() as session:
        census = dict((f"{n}.{c.column}", c) for n, c in data_keys.census(session, ["k1", "0"]))
        assert census["persons.cid_hash"].by_key == {"k1": 2 + 4, "0": 3}  # half-way
        _check_readable(session, BOTH, old_cids + new_cids)  # lookups under either key
        report = import_registry(session, BOTH, _csv(old_cids + new_cids))
        assert report.inserted == 0 and report.unchanged == 9
        with pytest.raises(data_keys.KeyStillUsed) as still:
            data_keys.retire(session, BOTH, "0")
        assert still.value.counts["persons.cid_hash"] == 3
        with pytest.raises(data_keys.KeyIsCurrent):
            data_keys.retire(session, BOTH, "k1")

    rekeyed, failed = data_keys.rotate(database, BOTH, batch_size=2)
    # 3 persons and the other kinds of rows of tag 1 (written under key 0) remained.
    assert failed == [] and rekeyed == 3 + 7
    assert data_keys.rotate(database, BOTH, batch_size=2) == (0, [])  # nothing left: idempotent
    with database.transaction() as session:
        assert all(keys == {"k1"} for keys in _keys_in_use(session).values() if keys)
        data_keys.retire(session, BOTH, "0")
        actions = session.scalars(select(AuditEntry.action)).all()
        assert {"data_key.rotate", "data_key.retire"} <= set(actions)
    with database.read_only() as session:  # a restart with the new key alone
        _check_readable(session, NEW, old_cids + new_cids)
        document = session.scalars(select(StaffDocument).order_by(StaffDocument.id)).first()
        assert document is not None and staff_accounts.document_bytes(NEW, document) == b"doc"
        evidence = session.scalars(select(VisitEvidence).order_by(VisitEvidence.id)).first()
        assert evidence is not None and visits.photo_bytes(NEW, evidence) == b"\xff\xd8photo"
        assert visits.certifier_cid(NEW, evidence) == old_cids[-1]
        event = session.get(WebhookEvent, "01EV1")
        assert event is not None and event.payload is not None
        assert NEW.decrypt(event.payload, inbox.PAYLOAD_CONTEXT) == '{"type": "message"}'


def _self_link(session: Session, cid: str) -> FamilyLink:
    """The claimed self link of the person with this CID from the one LINE account."""
    person = find_person(session, OLD, cid)
    assert person is not None
    account = session.scalars(select(LineAccount)).one()
    link = FamilyLink(
        line_account_id=account.id,
        person_id=person.id,
        slot=0,
        relation="self",
        phone="0812345678",
        level="claimed",
    )
    session.add(link)
    session.flush()
    return link


def test_a_live_one_way_hash_holds_the_retirement_until_it_expires(database: Database) -> None:
    """A counter code's plaintext is kept nowhere: it is matched under either key until it
    expires, and key 0 cannot be retired while it may still be typed."""
    with database.transaction() as session:
        (cid,) = _populate(session, OLD, "3", 1)
        link = _self_link(session, cid)
        issued = counter_verify.issue_code(session, OLD, link)
    data_keys.rotate(database, BOTH)
    with database.transaction() as session:
        assert counter_verify.look_up(session, BOTH, issued.code).link.id == link.id
        with pytest.raises(data_keys.KeyStillUsed) as still:
            data_keys.retire(session, BOTH, "0")
        assert still.value.counts == {"link_verifications.code_hash": 1}
    with database.transaction() as session:  # the code expires unused
        expired = utcnow() - dt.timedelta(minutes=1)
        session.execute(update(LinkVerification).values(expires_at=expired))
    with database.transaction() as session:
        data_keys.retire(session, BOTH, "0")


# --- while the service runs (PostgreSQL) --------------------------------------------------


def _run_threads(*targets: Any) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(target: Any) -> None:
        try:
            target()
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    return errors


def test_lookups_and_imports_during_a_rotation_never_add_a_person_twice(pg_url: str) -> None:
    """Imports run under both configurations a restart passes through (the new key known but
    not yet current, and current) while a rotation runs: every CID is found throughout and
    is one person at the end."""
    database = Database(pg_url, pool_size=10)
    try:
        with database.transaction() as session:
            existing = _populate(session, OLD, "4", 60)
            link = _self_link(session, existing[0])
            code, linked = counter_verify.issue_code(session, OLD, link).code, link.person_id
        fresh = [new_cid() for _ in range(30)]
        done = threading.Event()
        missed: list[str] = []

        def rotation() -> None:
            try:
                data_keys.rotate(database, BOTH, batch_size=5)
            finally:
                done.set()

        def lookups() -> None:
            while not done.is_set():
                with database.read_only() as session:
                    missed.extend(c for c in existing if find_person(session, BOTH, c) is None)
                    assert counter_verify.look_up(session, BOTH, code).person.id == linked

        def importer(protector: DataProtector, rounds: int) -> Any:
            def run() -> None:
                for n in range(rounds):
                    with database.transaction() as session:
                        import_registry(session, protector, _csv(existing + fresh, f"รอบ{n}"))

            return run

        errors = _run_threads(rotation, lookups, importer(BOTH, 3), importer(NEXT, 3))
        assert errors == [] and missed == []
        with database.transaction() as session:
            assert session.scalar(select(func.count()).select_from(Person)) == 60 + 30
            for cid in existing + fresh:
                hashes = BOTH.lookup_hashes(cid)
                assert session.scalar(select(func.count()).where(Person.cid_hash.in_(hashes))) == 1
        # The NEXT importer wrote key-0 rows after the rotation passed them: a rerun finishes.
        data_keys.rotate(database, BOTH, batch_size=5)
        with database.read_only() as session:
            _check_readable(session, NEW, existing + fresh)
    finally:
        database.dispose()


def test_a_write_during_the_rotation_is_never_overwritten_with_stale_data(pg_url: str) -> None:
    """A dialogue step written while the rotation waits for the row keeps its new answers."""
    database = Database(pg_url)
    try:
        with database.transaction() as session:
            _populate(session, OLD, "5", 1)
        writer = database.sessionmaker()
        writer.begin()
        account = writer.scalars(select(LineAccount)).one()
        conversation = conversations.lock_current(writer, BOTH, account, utcnow()).conversation
        assert conversation is not None
        conversations.advance(writer, BOTH, conversation, "birth", utcnow(), phone="0812345678")
        rotated = threading.Thread(target=data_keys.rotate, args=(database, BOTH))
        rotated.start()
        with database.read_only() as watcher:  # until the rotation waits for the dialogue row
            while not watcher.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted")):
                assert rotated.is_alive()
        writer.commit()
        writer.close()
        rotated.join(timeout=60)
        assert not rotated.is_alive()
        with database.read_only() as session:
            account = session.scalars(select(LineAccount)).one()
            current = conversations.lock_current(session, NEW, account, utcnow()).conversation
            assert current is not None and current.data["phone"] == "0812345678"
            assert data_keys.unreadable(session, NEW) == []
    finally:
        database.dispose()


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "authencode.cli", "keys", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_cli_rotation_killed_half_way_resumes_then_retires_the_old_key(
    pg_url: str, tmp_path: Path
) -> None:
    database = Database(pg_url)
    k0, k1 = base64.b64encode(K0).decode(), base64.b64encode(K1).decode()
    base = {**_env(), "PATH": "/usr/bin:/bin", "DATABASE_URL": pg_url}
    base["AUTHENCODE_INSTANCE_PATH"] = str(tmp_path)
    rotating = {**base, "DATA_KEYS": f"k1:{k1},0:{k0}"}
    new_only = {**base, "DATA_KEYS": f"k1:{k1}"}
    try:
        with database.transaction() as session:
            cids = _populate(session, OLD, "6", 30)
        assert _cli(new_only, "verify").returncode == 1  # key 0 is still needed
        blocker = database.sessionmaker()
        blocker.begin()  # holds person 20: the rotation stops there until it is killed
        blocker.execute(select(Person.id).where(Person.id == 20).with_for_update())
        with subprocess.Popen(
            [sys.executable, "-m", "authencode.cli", "keys", "rotate", "--batch", "1"],
            env=rotating,
            stdout=subprocess.PIPE,
            text=True,
        ) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("persons: 19 re-keyed"):
                    break
            proc.kill()  # as a crash or an operator's ^C would
            proc.wait(timeout=30)
        blocker.rollback()
        blocker.close()

        status = _cli(rotating, "status")
        assert "persons.cid_hash: k1=19  0=11" in status.stdout
        refused = _cli(rotating, "retire", "0")
        assert refused.returncode == 1 and "persons.cid_hash: 11 row(s)" in refused.stderr
        resumed = _cli(rotating, "rotate", "--batch", "7")
        assert resumed.returncode == 0, resumed.stderr
        assert "persons: 11 re-keyed to k1" in resumed.stdout
        assert _cli(rotating, "retire", "0").returncode == 0
        assert "all re-keyed" in _cli(new_only, "status").stdout
        verified = _cli(new_only, "verify")
        assert verified.returncode == 0, verified.stderr
        with database.read_only() as session:
            _check_readable(session, NEW, cids)
            for cid in cids:  # no CID or key in what the commands print
                assert cid not in status.stdout + resumed.stdout + verified.stdout
    finally:
        database.dispose()


def test_a_person_added_twice_before_is_reported_not_merged(database: Database) -> None:
    """Two rows of one CID (written under two keys before imports took the lock) cannot both
    take the new hash: the rotation lists the row, re-keys the rest, and key 0 stays needed."""
    cid = new_cid()
    with database.transaction() as session:
        import_registry(session, OLD, _csv([cid]))
        session.add(
            Person(
                cid_hash=BOTH.lookup_hash(cid),
                cid_enc=BOTH.encrypt(cid),
                first_name_th="ซ้ำ",
                sex="1",
                birth_year=1990,
            )
        )
        import_registry(session, OLD, _csv([new_cid()]))
    rekeyed, failed = data_keys.rotate(database, BOTH)
    assert rekeyed == 1 and failed == ["persons#1: its new hash is another row's"]
    with database.transaction() as session:
        with pytest.raises(data_keys.KeyStillUsed):
            data_keys.retire(session, BOTH, "0")
        assert find_person(session, BOTH, cid) is not None

"""Retention: each kind of data goes once its period has passed (the clock moved forward),
in bounded batches, audited with counts; codes, the audit log and consent records stay."""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from authencode import cli
from authencode.crypto import DataProtector
from authencode.db import Database, utcnow
from authencode.models import (
    AgentSession,
    ApiToken,
    AuditEntry,
    AuthenCode,
    CardRead,
    ChatConversation,
    ConsentRecord,
    FamilyLink,
    LineAccount,
    OutboxMessage,
    StaffDocument,
    StaffSession,
    StaffUser,
    VisitEvidence,
    WebhookEvent,
)
from authencode.services import audit, consent, retention
from authencode.settings import RetentionPolicy, Settings
from tests.support.factories import make_facility, make_person, make_staff
from tests.support.shared import TEST_DATA_KEY
from tests.support.writers import Writers

T0 = dt.datetime(2026, 1, 5, 3, 0, tzinfo=dt.UTC)
_serial = itertools.count(1)


@dataclass
class World:
    facility_id: int
    person_id: int
    staff_id: int
    token_id: int


def _world(session: Session, protector: DataProtector) -> World:
    facility = make_facility(session)
    person = make_person(session, protector)
    staff = make_staff(session, protector, facility, username="recorder")
    token = ApiToken(
        facility_id=facility.id,
        name="reader",
        token_hash=uuid.uuid4().hex,
        prefix="ac_x",
        scope="agent",
    )
    session.add(token)
    session.flush()
    return World(facility.id, person.id, staff.id, token.id)


def _code(session: Session, world: World, at: dt.datetime) -> AuthenCode:
    n = next(_serial)
    code = AuthenCode(
        code=f"R{n:011d}",
        person_id=world.person_id,
        facility_id=world.facility_id,
        service_code="PG0060001",
        service_date=at.date(),
        service_at=at,
        channel="cid_photo",
        verify_method="photo",
        phones="0812345678",
        status="cancelled",  # many codes of one person and day: only one may be active
        recorded_at=at,
    )
    session.add(code)
    session.flush()
    return code


def _account(session: Session, user: str, consented: bool = True) -> LineAccount:
    account = LineAccount(line_user_id=user)
    session.add(account)
    session.flush()
    if consented:
        consent.accept(session, account, consent.CONSENT_VERSION)
    return account


def seed(session: Session, protector: DataProtector, world: World, at: dt.datetime) -> None:
    """One row of every kind whose period counts from ``at``."""
    n = next(_serial)
    code = _code(session, world, at)
    session.add(
        VisitEvidence(
            code_id=code.id,
            photo_enc=b"photo",
            photo_type="image/jpeg",
            photo_size=4,
            staff_id=world.staff_id,
            created_at=at,
        )
    )
    applicant = make_staff(
        session, protector, None, username=f"applicant{n}", approved_at=at, created_at=at
    )
    session.add(
        StaffDocument(
            staff_id=applicant.id,
            evidence_kind="id_card",
            filename="card.jpg",
            content_type="image/jpeg",
            size=4,
            data_enc=b"document",
            created_at=at,
        )
    )
    session.add(
        WebhookEvent(webhook_event_id=uuid.uuid4().hex, event_type="message", received_at=at)
    )
    session.add(_outbox("sent", at))
    session.add(
        CardRead(
            correlation_id=str(uuid.uuid4()),
            facility_id=world.facility_id,
            api_token_id=world.token_id,
            cid_hash=uuid.uuid4().hex,
            created_at=at,
        )
    )
    session.add(
        StaffSession(
            sid_hash=uuid.uuid4().hex,
            staff_id=world.staff_id,
            created_at=at,
            last_seen_at=at,
            ended_at=at,
        )
    )
    session.add(
        AgentSession(
            token_hash=uuid.uuid4().hex,
            staff_id=world.staff_id,
            api_token_id=world.token_id,
            created_at=at,
            expires_at=at,
        )
    )
    talker = _account(session, f"U{n:032x}")
    session.add(
        ChatConversation(
            line_account_id=talker.id,
            flow="register",
            step="cid",
            version=1,
            started_at=at,
            updated_at=at,
            expires_at=at,
        )
    )
    leaver = _account(session, f"U{n + 10**6:032x}")
    consent.withdraw(session, leaver)
    session.execute(
        update(ConsentRecord)
        .where(ConsentRecord.line_account_id == leaver.id, ConsentRecord.decision == "withdrawn")
        .values(decided_at=at)
    )
    session.flush()


def _outbox(status: str, at: dt.datetime) -> OutboxMessage:
    return OutboxMessage(
        kind="push",
        recipient="U" + uuid.uuid4().hex,
        payload={"messages": []},
        retry_key=str(uuid.uuid4()),
        status=status,
        created_at=at,
        next_attempt_at=at,
        sent_at=at if status == "sent" else None,
    )


def _held(database: Database, now: dt.datetime) -> dict[str, int]:
    """How many rows of each kind still hold their data (due or not)."""
    held = {}
    with database.sessionmaker() as session:
        for kind in retention.KINDS:
            held[kind.name] = int(
                session.scalar(select(func.count()).select_from(kind.table).where(kind.held(now)))
                or 0
            )
    return held


def _kept(database: Database) -> dict[str, int]:
    with database.sessionmaker() as session:
        return {
            name: int(session.scalar(select(func.count()).select_from(model)) or 0)
            for name, model in (
                ("codes", AuthenCode),
                ("evidence", VisitEvidence),
                ("consent", ConsentRecord),
                ("accounts", LineAccount),
                ("staff", StaffUser),
            )
        }


@pytest.fixture
def world(database: Database, protector: DataProtector) -> World:
    with database.transaction() as session:
        return _world(session, protector)


def test_each_kind_goes_only_once_its_period_has_passed(
    database: Database, protector: DataProtector, world: World
) -> None:
    policy = RetentionPolicy()
    with database.transaction() as session:
        seed(session, protector, world, T0)
        # Kept whatever the clock: a pending message, a signed-in staff member, a member.
        session.add(_outbox("pending", T0))
        session.add(_outbox("failed", T0))
        active = StaffSession(
            sid_hash="active", staff_id=world.staff_id, created_at=T0, last_seen_at=T0
        )
        session.add(active)
        member = _account(session, "U" + "m" * 32)
    kept = _kept(database)

    def purge_at(moment: dt.datetime) -> dict[str, int]:
        with database.transaction() as session:
            # the signed-in member of staff is still at work: only idleness ends a session
            session.execute(
                update(StaffSession).where(StaffSession.id == active.id).values(last_seen_at=moment)
            )
        return retention.purge(database, policy, moment)

    periods: dict[dt.timedelta, set[str]] = {}
    for kind in retention.KINDS:
        periods.setdefault(kind.period(policy), set()).add(kind.name)
    for period, names in sorted(periods.items()):
        before = T0 + period - dt.timedelta(seconds=1)
        assert not names & {k for k, n in purge_at(before).items() if n}
        held = _held(database, before)
        assert {name: held[name] for name in names} == dict.fromkeys(names, 1)
        counts = purge_at(T0 + period)
        assert {k for k, n in counts.items() if n} == names
        held = _held(database, T0 + period)
        assert {name: held[name] for name in names} == dict.fromkeys(names, 0)
    with database.sessionmaker() as session:
        # Codes, consent history, the evidence row (without its photo) and staff stay.
        assert _kept(database) == kept
        evidence = session.scalars(select(VisitEvidence)).one()
        assert evidence.photo_enc is None and evidence.staff_id == world.staff_id
        statuses = set(session.scalars(select(OutboxMessage.status)))
        assert statuses == {"pending", "failed"}
        assert session.get(StaffSession, active.id) is not None
        member_row = session.get(LineAccount, member.id)
        assert member_row is not None and member_row.line_user_id == "U" + "m" * 32
        leaver = session.scalars(
            select(LineAccount).where(LineAccount.line_user_id.like("withdrawn:%"))
        ).one()
        assert leaver.line_user_id == f"withdrawn:{leaver.id}"
        assert (
            session.scalars(select(FamilyLink).where(FamilyLink.line_account_id == leaver.id)).all()
            == []
        )
        assert audit.verify(session).ok


def test_a_run_is_audited_with_its_counts(
    database: Database, protector: DataProtector, world: World
) -> None:
    with database.transaction() as session:
        seed(session, protector, world, T0)
        seed(session, protector, world, T0)
    policy = RetentionPolicy()
    counts = retention.purge(database, policy, T0 + dt.timedelta(days=8), actor="cli")
    assert counts == {
        "visit_photos": 0,
        "staff_documents": 0,
        "webhook_events": 2,
        "outbox_sent": 0,
        "card_reads": 2,
        "staff_sessions": 0,
        "agent_sessions": 0,
        "dialogues": 2,
        "withdrawn_accounts": 0,
    }
    with database.sessionmaker() as session:
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry is not None and entry.action == "retention.purge" and entry.actor == "cli"
        assert entry.details == {"counts": counts, "batch_size": policy.batch_size}
        entries = session.scalar(select(func.count()).select_from(AuditEntry))
    # Nothing due: the worker's run leaves no entry.
    assert sum(retention.purge(database, policy, T0 + dt.timedelta(days=8)).values()) == 0
    with database.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == entries


@pytest.mark.parametrize("due", [6, 7])
def test_purges_run_in_bounded_batches(
    database: Database, protector: DataProtector, world: World, due: int
) -> None:
    with database.transaction() as session:
        for _ in range(due):
            session.add(
                CardRead(
                    correlation_id=str(uuid.uuid4()),
                    facility_id=world.facility_id,
                    api_token_id=world.token_id,
                    cid_hash="h",
                    created_at=T0,
                )
            )
        fresh = CardRead(
            correlation_id="fresh",
            facility_id=world.facility_id,
            api_token_id=world.token_id,
            cid_hash="h",
            created_at=T0 + dt.timedelta(days=7, seconds=1),
        )
        session.add(fresh)
    deleted: list[int] = []

    def _count(_conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM CARD_READS"):
            deleted.append(cursor.rowcount)

    event.listen(database.engine, "after_cursor_execute", _count)
    policy = RetentionPolicy(batch_size=3)
    counts = retention.purge(database, policy, T0 + dt.timedelta(days=7), kinds=["card_reads"])
    event.remove(database.engine, "after_cursor_execute", _count)
    assert counts == {"card_reads": due}
    assert sum(deleted) == due and max(deleted) <= 3
    with database.sessionmaker() as session:
        assert session.scalars(select(CardRead.correlation_id)).all() == ["fresh"]


def test_the_worker_takes_a_backlog_a_few_batches_a_minute(
    database: Database, protector: DataProtector, world: World
) -> None:
    from linebot_app.worker import RetentionJob

    with database.transaction() as session:
        for _ in range(7):
            seed(session, protector, world, T0)
    clock = [T0 + dt.timedelta(days=8)]
    job = RetentionJob(database, RetentionPolicy(batch_size=2), clock=lambda: clock[0])
    job.MAX_BATCHES = 1
    drained = []
    for _ in range(5):
        job.run_once()
        drained.append(_held(database, clock[0])["card_reads"])
        job.run_once()  # within the same minute: nothing more
        assert _held(database, clock[0])["card_reads"] == drained[-1]
        clock[0] += dt.timedelta(minutes=1)
    assert drained == [5, 3, 1, 0, 0]


def test_status_and_the_cli(
    database: Database, protector: DataProtector, world: World, settings: Settings, tmp_path: Path
) -> None:
    old = utcnow() - dt.timedelta(days=400)
    with database.transaction() as session:
        seed(session, protector, world, old)
    with database.sessionmaker() as session:
        report = {row.name: row for row in retention.status(session, RetentionPolicy(), utcnow())}
    assert set(report) == set(retention.KIND_NAMES)
    assert all(row.due == 1 and row.oldest is not None for row in report.values())
    assert abs((report["card_reads"].oldest - old).total_seconds()) < 1  # type: ignore[operator]
    env = {
        "AUTHENCODE_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "DATA_KEY": base64.b64encode(TEST_DATA_KEY).decode(),
        "AUTHENCODE_INSTANCE_PATH": str(tmp_path / "instance"),
        "RETENTION_CARD_READ_DAYS": "500",
    }
    shown = CliRunner().invoke(cli.main, ["retention", "status"], env=env)
    assert shown.exit_code == 0, shown.output
    lines = {line.split("\t")[0]: line for line in shown.output.splitlines()}
    assert lines["card_reads"].endswith("due 0") and "kept 500 day(s)" in lines["card_reads"]
    assert lines["visit_photos"].endswith("due 1")
    ran = CliRunner().invoke(cli.main, ["retention", "run"], env=env)
    assert ran.exit_code == 0, ran.output
    assert "card_reads 0" in ran.output and "visit_photos 1" in ran.output
    again = CliRunner().invoke(cli.main, ["retention", "status"], env=env)
    assert all(line.endswith("due 0") for line in again.output.splitlines())
    with database.sessionmaker() as session:
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry is not None and entry.action == "retention.purge"
    bad = CliRunner().invoke(
        cli.main, ["retention", "status"], env={**env, "RETENTION_WEBHOOK_EVENT_DAYS": "1"}
    )
    assert bad.exit_code == 2 and "RETENTION_WEBHOOK_EVENT_DAYS" in bad.output


def test_a_purge_skips_an_account_whose_owner_consents_again_meanwhile(
    pg_url: str, protector: DataProtector
) -> None:
    database = Database(pg_url)
    try:
        with database.transaction() as session:
            leaver = _account(session, "U" + "a" * 32)
            consent.withdraw(session, leaver)
        later = utcnow() + dt.timedelta(days=31)
        # The owner comes back: their transaction holds the account while the purge runs.
        with database.transaction() as session:
            account = session.get(LineAccount, leaver.id, with_for_update=True)
            assert account is not None
            consent.accept(session, account, consent.CONSENT_VERSION)
            counts = retention.purge(database, RetentionPolicy(), later)
            assert counts["withdrawn_accounts"] == 0
        assert retention.purge(database, RetentionPolicy(), later)["withdrawn_accounts"] == 0
        with database.sessionmaker() as session:
            account = session.get(LineAccount, leaver.id)
            assert account is not None and account.line_user_id == "U" + "a" * 32
            assert account.consent_version == consent.CONSENT_VERSION
    finally:
        database.dispose()


def test_a_purge_racing_writers_loses_nothing_that_is_not_due(
    pg_url: str, protector: DataProtector
) -> None:
    database = Database(pg_url)
    try:
        with database.transaction() as session:
            world = _world(session, protector)
            for _ in range(40):
                seed(session, protector, world, T0)
        now = T0 + dt.timedelta(days=400)
        fresh = now + dt.timedelta(seconds=1)  # written during the purge: nothing due yet

        def write() -> str:
            with database.transaction() as session:
                seed(session, protector, world, fresh)
                mark = str(uuid.uuid4())
                session.add(WebhookEvent(webhook_event_id=mark, event_type="m", received_at=now))
            return mark

        policy = RetentionPolicy(batch_size=7)
        purged: dict[str, int] = {}
        with Writers(write, count=3) as writers:
            while len(writers.done) < 30 and writers.running():  # purge while they write
                for name, count in retention.purge(database, policy, now).items():
                    purged[name] = purged.get(name, 0) + count
        written = writers.done
        purged_after = retention.purge(database, policy, now)
        for name, count in purged_after.items():
            purged[name] = purged.get(name, 0) + count
        assert purged == {name: 40 for name in retention.KIND_NAMES}
        rounds = len(written)
        held = _held(database, fresh)
        # each round also stored the event it names, so two webhook rows a round
        assert held == {**dict.fromkeys(retention.KIND_NAMES, rounds), "webhook_events": 2 * rounds}
        with database.sessionmaker() as session:
            stored = set(session.scalars(select(WebhookEvent.webhook_event_id)))
            assert set(written) <= stored
            assert audit.verify(session).ok
    finally:
        database.dispose()


def test_metrics_show_each_kinds_oldest_row(
    app: Any, client: Any, database: Database, protector: DataProtector, world: World
) -> None:
    old = utcnow() - dt.timedelta(days=10)
    with database.transaction() as session:
        seed(session, protector, world, old)
    body = client.get("/metrics").get_data(as_text=True)
    values = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in body.splitlines()
        if line.startswith("authencode_retention_")
    }
    for name in retention.KIND_NAMES:
        assert f'authencode_retention_oldest_seconds{{kind="{name}"}}' in values
    age = values['authencode_retention_oldest_seconds{kind="card_reads"}']
    assert 10 * 86400 <= age < 11 * 86400
    assert values['authencode_retention_period_seconds{kind="card_reads"}'] == 7 * 86400
    assert values['authencode_retention_due_rows{kind="card_reads"}'] == 1
    assert values['authencode_retention_due_rows{kind="visit_photos"}'] == 0


def test_two_workers_purging_at_once_split_the_work(pg_url: str, protector: DataProtector) -> None:
    database = Database(pg_url)
    try:
        with database.transaction() as session:
            world = _world(session, protector)
            for _ in range(25):
                seed(session, protector, world, T0)
        policy = RetentionPolicy(batch_size=4)
        now = T0 + dt.timedelta(days=400)
        results: list[dict[str, int]] = []
        threads = [
            threading.Thread(target=lambda: results.append(retention.purge(database, policy, now)))
            for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(results) == 2
        # Every due row purged exactly once between them; nothing left, nothing counted twice.
        assert {name: results[0][name] + results[1][name] for name in retention.KIND_NAMES} == (
            dict.fromkeys(retention.KIND_NAMES, 25)
        )
        assert _held(database, now) == dict.fromkeys(retention.KIND_NAMES, 0)
        with database.sessionmaker() as session:
            runs = session.scalars(
                select(AuditEntry).where(AuditEntry.action == "retention.purge")
            ).all()
            assert sorted(sum(run.details["counts"].values()) for run in runs) == sorted(
                sum(result.values()) for result in results if any(result.values())
            )
            assert audit.verify(session).ok
    finally:
        database.dispose()

"""`authencode outbox`: what an operator sees of the outbox, and sending failed messages again,
through the real CLI and the real sender against the fake Messaging API."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy import select, update

from authencode import cli
from authencode.db import Database
from authencode.models import AuditEntry, OutboxMessage
from authencode.services.outbox import mask_recipient
from authencode.settings import Settings
from linebot_app import messages
from linebot_app.outbox import enqueue_push
from linebot_app.sender import OutboxSender
from tests.support.fake_line import FakeLineServer
from tests.support.line_bot import USER_ID, Clock, drain, outbox


def _push(db: Database, body: str) -> int:
    with db.transaction() as session:
        enqueue_push(session, USER_ID, [messages.text(body)])
        newest = session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id.desc())).first()
        assert newest is not None
        return newest


def _cli(settings: Settings, tmp_path: Path, *args: str) -> Result:
    env = {
        "AUTHENCODE_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "AUTHENCODE_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    return CliRunner().invoke(cli.main, ["outbox", *args], env=env)


def _texts(fake_line: FakeLineServer) -> list[str]:
    return [d.messages[0]["text"] for d in fake_line.delivered]


def test_failed_messages_are_listed_masked_and_sent_once_when_queued_again(
    db: Database,
    sender: OutboxSender,
    clock: Clock,
    fake_line: FakeLineServer,
    settings: Settings,
    tmp_path: Path,
) -> None:
    refused = _push(db, "ข้อความที่ถูกปฏิเสธ")
    fake_line.fail_next(1, status=400)
    drain(sender, clock)
    sent = _push(db, "ข้อความที่ส่งแล้ว")
    drain(sender, clock)
    assert _texts(fake_line) == ["ข้อความที่ส่งแล้ว"]

    status = _cli(settings, tmp_path, "status")
    assert status.exit_code == 0, status.output
    assert [line.split("\t")[:3] for line in status.output.splitlines()] == [
        ["push", "failed", "1"]
    ]  # sent rows pile up and are not counted

    listed = _cli(settings, tmp_path, "failed")
    assert listed.exit_code == 0, listed.output
    [line] = listed.output.splitlines()
    assert line.startswith(f"{refused}\tpush\t{mask_recipient('push', USER_ID)}\t")
    assert "HTTP 400: fake failure" in line
    assert USER_ID not in listed.output

    # The sent one is named too: it is left alone, and the command says so.
    again = _cli(settings, tmp_path, "retry", str(refused), str(sent))
    assert again.exit_code == 1
    assert "1 message(s) queued again" in again.output and f"left alone: {sent}" in again.output
    row = next(r for r in outbox(db) if r.id == refused)
    assert (row.status, row.attempts) == ("pending", 0)
    drain(sender, clock)
    assert _texts(fake_line) == ["ข้อความที่ส่งแล้ว", "ข้อความที่ถูกปฏิเสธ"]
    assert [r.status for r in outbox(db)] == ["sent", "sent"]
    with db.sessionmaker() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "outbox.retry")).one()
    assert (entry.actor, entry.details) == ("cli", {"ids": [refused]})
    assert _cli(settings, tmp_path, "failed").output.strip() == "no failed messages"


def test_a_push_line_had_accepted_is_not_shown_twice_when_sent_again(
    db: Database,
    sender: OutboxSender,
    clock: Clock,
    fake_line: FakeLineServer,
    settings: Settings,
    tmp_path: Path,
) -> None:
    accepted = _push(db, "ส่งถึงแล้วแต่ไม่รู้")
    drain(sender, clock)
    # As if every answer had been lost: LINE has the push, the row ran out of attempts.
    with db.transaction() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == accepted)
            .values(status="failed", last_error="network: ReadTimeoutError")
        )
    result = _cli(settings, tmp_path, "retry", "--all-failed")
    assert result.exit_code == 0 and "1 message(s) queued again" in result.output
    drain(sender, clock)
    assert _texts(fake_line) == ["ส่งถึงแล้วแต่ไม่รู้"]  # LINE answered 409 to the same key
    assert [r.status for r in outbox(db)] == ["sent"]


def test_retry_needs_ids_or_all_failed_and_an_empty_outbox_says_so(
    settings: Settings, tmp_path: Path, db: Database
) -> None:
    for args in ((), ("1", "--all-failed")):
        result = _cli(settings, tmp_path, "retry", *args)
        assert result.exit_code == 2 and "--all-failed" in result.output
    assert _cli(settings, tmp_path, "retry", "0").exit_code == 2  # ids start at 1
    assert _cli(settings, tmp_path, "status").output.strip() == "nothing waiting or failed"
    result = _cli(settings, tmp_path, "retry", "--all-failed")
    assert result.exit_code == 0 and "0 message(s) queued again" in result.output
    with db.sessionmaker() as session:
        assert session.scalars(select(AuditEntry)).all() == []  # nothing done, nothing audited

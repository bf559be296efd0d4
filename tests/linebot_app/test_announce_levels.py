"""`authencode line announce-levels`: each existing account is told once what link levels mean
and how to verify, through the real CLI and the real sender against the fake Messaging API."""

from __future__ import annotations

import base64
from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy import select

from authencode import cli
from authencode.crypto import DataProtector
from authencode.db import Database
from authencode.models import AccountNotice, FamilyLink, LineAccount, OutboxMessage
from authencode.settings import Settings
from linebot_app.notify import LEVELS_NOTICE
from linebot_app.sender import OutboxSender
from tests.support.factories import make_person
from tests.support.fake_line import FakeLineServer
from tests.support.line_bot import Clock, drain
from tests.support.shared import TEST_DATA_KEY


def _cli(settings: Settings, tmp_path: Path, *args: str) -> Result:
    env = {
        "AUTHENCODE_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "DATA_KEY": base64.b64encode(TEST_DATA_KEY).decode(),
        "AUTHENCODE_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    return CliRunner().invoke(cli.main, list(args), env=env)


def _accounts(db: Database, protector: DataProtector) -> dict[str, str]:
    """A linked follower, a linked account that unfollowed, a follower with no one linked."""
    users = {"linked": "U" + "1" * 32, "unfollowed": "U" + "2" * 32, "empty": "U" + "3" * 32}
    with db.transaction() as session:
        for name, user in users.items():
            account = LineAccount(
                line_user_id=user, status="unfollowed" if name == "unfollowed" else "active"
            )
            session.add(account)
            session.flush()
            if name != "empty":
                person = make_person(session, protector)
                session.add(
                    FamilyLink(
                        line_account_id=account.id,
                        person_id=person.id,
                        slot=0,
                        relation="self",
                        phone="0812345678",
                    )
                )
    return users


def test_each_account_is_told_once(
    db: Database,
    protector: DataProtector,
    settings: Settings,
    tmp_path: Path,
    sender: OutboxSender,
    clock: Clock,
    fake_line: FakeLineServer,
) -> None:
    users = _accounts(db, protector)
    first = _cli(settings, tmp_path, "line", "announce-levels")
    assert first.exit_code == 0, first.output
    assert "queued for 1 account(s)" in first.output
    second = _cli(settings, tmp_path, "line", "announce-levels")
    assert second.exit_code == 0 and "queued for 0 account(s)" in second.output
    with db.sessionmaker() as session:
        pushes = list(session.scalars(select(OutboxMessage.recipient)))
        told = list(session.scalars(select(AccountNotice.notice)))
    assert pushes == [users["linked"]] and told == [LEVELS_NOTICE]

    drain(sender, clock)
    [delivery] = fake_line.delivered
    text = delivery.messages[0]["text"]
    assert "ยังไม่ยืนยันตัวตน" in text and "ยืนยันตัวตนแล้ว" in text
    assert "บัตรประจำตัวประชาชน" in text and "ThaID" in text and "/liff/family" in text

    # An account that follows again later is told on the next run, once.
    with db.transaction() as session:
        account = session.scalar(
            select(LineAccount).where(LineAccount.line_user_id == users["unfollowed"])
        )
        assert account is not None
        account.status = "active"
    assert "queued for 1 account(s)" in _cli(settings, tmp_path, "line", "announce-levels").output
    assert "queued for 0 account(s)" in _cli(settings, tmp_path, "line", "announce-levels").output

"""The worker process's batch: LINE messages and staff emails from the same outbox."""

from __future__ import annotations

from authencode.crypto import DataProtector
from authencode.db import Database
from authencode.settings import Settings
from linebot_app.outbox import enqueue_push
from linebot_app.sender import OutboxSender
from linebot_app.worker import EmailJob, Jobs
from tests.support.fake_line import FakeLineServer
from tests.support.line_bot import USER_ID, outbox


class Broken:
    def run_once(self) -> int:
        raise ConnectionError("database went away")


def test_one_batch_sends_line_messages_and_email(
    db: Database, settings: Settings, sender: OutboxSender, fake_line: FakeLineServer, smtp_server
) -> None:
    from authencode.services import mail

    settings = settings.with_overrides(smtp_url=smtp_server.url)
    protector = DataProtector(settings.data_key)
    with db.transaction() as session:
        enqueue_push(session, USER_ID, [{"type": "text", "text": "สวัสดี"}])
        mail.queue_email(session, protector, "nurse@clinic.example", "รหัสผ่านเริ่มต้น", "รหัสผ่าน: xyz")
    jobs = Jobs(Broken(), sender, EmailJob(db, settings))
    assert jobs.run_once() == 2  # the broken job is logged and skipped
    assert [d.messages[0]["text"] for d in fake_line.delivered] == ["สวัสดี"]
    got = smtp_server.sink.wait_for("nurse@clinic.example")
    assert got["Subject"] == "รหัสผ่านเริ่มต้น" and "xyz" in got.get_content()
    assert {row.kind: row.status for row in outbox(db)} == {"push": "sent", "email": "sent"}
    assert jobs.run_once() == 0  # nothing is sent twice

"""Email through the outbox (authencode.services.mail) to a real local SMTP server."""

from __future__ import annotations

import datetime as dt
import logging
import threading

import pytest

from authencode.db import Database, utcnow
from authencode.models import OutboxMessage
from authencode.services import mail
from tests.support.live_server import free_port


def _queue(database, protector, to: str = "nurse@clinic.example") -> int:
    with database.transaction() as session:
        return mail.queue_email(
            session, protector, to, "รหัสผ่าน / password", "รหัสผ่าน : s3cret-Initial\n"
        ).id


def _row(database, row_id: int) -> OutboxMessage:
    with database.transaction() as session:
        row = session.get(OutboxMessage, row_id)
        session.expunge(row)
        return row


def test_due_mail_is_delivered_and_its_body_dropped(database, protector, smtp_server) -> None:
    row_id = _queue(database, protector)
    assert b"s3cret" not in str(_row(database, row_id).payload).encode()  # encrypted at rest
    assert mail.deliver_due_email(database, smtp_server.url, protector) == 1
    message = smtp_server.sink.wait_for("nurse@clinic.example")
    assert message["Subject"] == "รหัสผ่าน / password"
    assert "รหัสผ่าน : s3cret-Initial" in message.get_content()
    assert message["From"] == f"Authen Code <{mail.DEFAULT_FROM}>"
    row = _row(database, row_id)
    assert row.status == "sent" and row.sent_at is not None
    assert row.payload == {"subject": "รหัสผ่าน / password"}
    assert mail.deliver_due_email(database, smtp_server.url, protector) == 0  # sent once


def test_the_sender_address_comes_from_the_url(database, protector, smtp_server) -> None:
    _queue(database, protector)
    mail.deliver_due_email(database, smtp_server.url + "?from=authen@moph.example", protector)
    assert "authen@moph.example" in smtp_server.sink.wait_for("nurse@clinic.example")["From"]


def test_unreachable_server_is_retried_with_backoff_then_given_up(database, protector) -> None:
    row_id = _queue(database, protector)
    closed = f"smtp://127.0.0.1:{free_port()}"
    assert mail.deliver_due_email(database, closed, protector, timeout=2) == 1
    row = _row(database, row_id)
    assert row.status == "pending" and row.attempts == 1 and "connect" in (row.last_error or "")
    assert row.next_attempt_at > utcnow() + dt.timedelta(seconds=20)
    assert mail.deliver_due_email(database, closed, protector) == 0  # not due yet
    for _ in range(mail.MAX_ATTEMPTS - 1):
        later = _row(database, row_id).next_attempt_at + dt.timedelta(seconds=1)
        mail.deliver_due_email(database, closed, protector, timeout=2, now=later)
    row = _row(database, row_id)
    assert row.status == "failed" and row.attempts == mail.MAX_ATTEMPTS


def test_without_smtp_url_mail_stays_queued_unless_logging_is_asked(
    database, protector, caplog
) -> None:
    row_id = _queue(database, protector)
    assert mail.deliver_due_email(database, None, protector) == 0
    assert _row(database, row_id).status == "pending"
    with caplog.at_level(logging.INFO, logger="authencode.services.mail"):
        assert mail.deliver_due_email(database, None, protector, log_only=True) == 1
    assert "s3cret-Initial" in caplog.text  # development: the developer reads the mail here
    assert _row(database, row_id).status == "sent"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example:2525", ("mail.example", 2525, "plain", None)),
        ("smtp+starttls://u%40x:p@mail.example", ("mail.example", 587, "starttls", "u@x")),
        ("smtps://mail.example", ("mail.example", 465, "ssl", None)),
    ],
)
def test_smtp_urls(url, expected) -> None:
    target = mail.parse_smtp_url(url)
    assert (target.host, target.port, target.security, target.username) == expected
    with pytest.raises(ValueError, match="SMTP_URL"):
        mail.parse_smtp_url("http://mail.example")


def test_a_refused_recipient_fails_at_once_and_the_log_masks_the_address(
    database, protector, smtp_server, caplog
) -> None:
    smtp_server.sink.refused.add("gone@clinic.example")
    refused, kept = _queue(database, protector, "gone@clinic.example"), _queue(database, protector)
    with caplog.at_level(logging.INFO, logger="authencode.services.mail"):
        assert mail.deliver_due_email(database, smtp_server.url, protector) == 2
    row = _row(database, refused)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error == "recipient refused: 550 5.1.1 No such user"
    assert _row(database, kept).status == "sent"
    assert "go***@clinic.example" in caplog.text and "gone@" not in caplog.text


def test_two_senders_at_once_send_each_mail_once(pg_url, protector, smtp_server) -> None:
    """Rows one sender leased are skipped by the other (FOR UPDATE SKIP LOCKED, a lease)."""
    database = Database(pg_url)
    try:
        for n in range(6):
            _queue(database, protector, f"nurse{n}@clinic.example")
        start = threading.Barrier(2)

        def send() -> None:
            start.wait(timeout=30)
            mail.deliver_due_email(database, smtp_server.url, protector, limit=4)

        senders = [threading.Thread(target=send) for _ in range(2)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(timeout=60)
        for n in range(6):
            smtp_server.sink.wait_for(f"nurse{n}@clinic.example")
        assert len(smtp_server.sink.messages) == 6
    finally:
        database.dispose()

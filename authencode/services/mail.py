"""Outgoing email through the outbox: queued in the caller's transaction, sent with smtplib.

A queued body is encrypted at rest (it may hold an initial password) and dropped once sent.
``SMTP_URL`` is ``smtp://host:port`` (plain), ``smtp+starttls://…`` or ``smtps://…``, with
optional ``user:password@`` and ``?from=address``.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.db import Database, utcnow
from authencode.models import OutboxMessage
from authencode.redaction import KEEP_WHOLE
from authencode.services.outbox import lease_due, mask_email

log = logging.getLogger(__name__)

EMAIL_CONTEXT = "email"
MAX_ATTEMPTS = 8
LEASE = dt.timedelta(minutes=2)  # a claimed row is left alone this long by other senders
DEFAULT_FROM = "no-reply@authencode.invalid"
SENDER_NAME = "Authen Code"


def queue_email(
    session: Session, protector: DataProtector, to: str, subject: str, body: str
) -> OutboxMessage:
    """Write an email to the outbox; it is sent after the transaction commits."""
    row = OutboxMessage(
        kind="email",
        recipient=to,
        reply_token=None,
        payload={
            "subject": subject,
            "body_enc": base64.b64encode(protector.encrypt(body, EMAIL_CONTEXT)).decode(),
        },
        retry_key=str(uuid.uuid4()),
        status="pending",
        attempts=0,
        next_attempt_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    security: str  # "plain", "starttls" or "ssl"
    username: str | None
    password: str | None
    sender: str


def parse_smtp_url(url: str) -> SmtpTarget:
    """Read SMTP_URL; raise ValueError naming what is wrong."""
    parts = urlsplit(url)
    security = {"smtp": "plain", "smtp+starttls": "starttls", "smtps": "ssl"}.get(parts.scheme)
    if security is None or not parts.hostname:
        raise ValueError("SMTP_URL must look like smtp://host:port (or smtp+starttls://, smtps://)")
    port = parts.port or {"plain": 25, "starttls": 587, "ssl": 465}[security]
    sender = parse_qs(parts.query).get("from", [DEFAULT_FROM])[0]
    return SmtpTarget(
        parts.hostname,
        port,
        security,
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password else None,
        sender,
    )


@dataclass(frozen=True)
class _Claimed:
    id: int
    recipient: str
    subject: str
    body: str
    attempts: int


def deliver_due_email(
    db: Database,
    smtp_url: str | None,
    protector: DataProtector,
    *,
    log_only: bool = False,
    limit: int = 20,
    timeout: float = 10.0,
    now: dt.datetime | None = None,
) -> int:
    """Send the email rows that are due; returns how many were attempted.

    Without ``smtp_url`` nothing is sent: with ``log_only`` (development) each mail is logged,
    body included, and marked sent; otherwise the rows stay pending for a configured sender.
    Temporary failures are retried with back-off; permanent refusals mark the row failed.
    """
    if not smtp_url and not log_only:
        return 0
    claimed = _claim(db, protector, limit, now or utcnow())
    if not claimed:
        return 0
    if not smtp_url:
        for mail in claimed:
            # The developer's mailbox: its reset links stay whole (development only).
            log.info(
                "mail queued (no SMTP_URL) to %s: %s\n%s",
                mail.recipient,
                mail.subject,
                mail.body,
                extra={KEEP_WHOLE: True},
            )
            _settle(db, mail, None, permanent=False)
        return len(claimed)
    target = parse_smtp_url(smtp_url)
    try:
        client = _connect(target, timeout)
    except (OSError, smtplib.SMTPException) as exc:
        for mail in claimed:
            _settle(db, mail, f"connect: {type(exc).__name__}: {exc}", permanent=False)
        return len(claimed)
    try:
        for mail in claimed:
            _send_one(db, client, target, mail)
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()
    return len(claimed)


def _claim(db: Database, protector: DataProtector, limit: int, now: dt.datetime) -> list[_Claimed]:
    with db.transaction() as session:
        claimed = []
        for row in lease_due(session, ("email",), now, LEASE, limit):
            body = protector.decrypt(base64.b64decode(row.payload["body_enc"]), EMAIL_CONTEXT)
            claimed.append(
                _Claimed(row.id, row.recipient, row.payload["subject"], body, row.attempts)
            )
    return claimed


def _connect(target: SmtpTarget, timeout: float) -> smtplib.SMTP:
    client: smtplib.SMTP
    if target.security == "ssl":
        client = smtplib.SMTP_SSL(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(target.host, target.port, timeout=timeout)
        if target.security == "starttls":
            client.starttls(context=ssl.create_default_context())
    if target.username:
        client.login(target.username, target.password or "")
    return client


def _send_one(db: Database, client: smtplib.SMTP, target: SmtpTarget, mail: _Claimed) -> None:
    message = EmailMessage()
    message["From"] = formataddr((SENDER_NAME, target.sender))
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(domain=target.sender.partition("@")[2] or None)
    message.set_content(mail.body)
    try:
        client.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        # The server's answers without the address, which the log line masks already.
        answers = ", ".join(
            f"{code} {reply.decode(errors='replace')}" for code, reply in exc.recipients.values()
        )
        _settle(db, mail, f"recipient refused: {answers}", permanent=True)
    except smtplib.SMTPResponseException as exc:
        _settle(db, mail, f"SMTP {exc.smtp_code}", permanent=500 <= exc.smtp_code < 600)
    except (OSError, smtplib.SMTPException) as exc:
        _settle(db, mail, f"{type(exc).__name__}: {exc}", permanent=False)
    else:
        _settle(db, mail, None, permanent=False)


def backoff(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min … at most an hour between tries."""
    return dt.timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


def _settle(db: Database, mail: _Claimed, error: str | None, *, permanent: bool) -> None:
    now = utcnow()
    with db.transaction() as session:
        row = session.get(OutboxMessage, mail.id)
        if row is None or row.status != "pending":
            return
        if error is None:
            row.status = "sent"
            row.sent_at = now
            row.last_error = None
            row.payload = {"subject": mail.subject}  # the body (maybe a password) is dropped
            log.info("mail %s sent to %s", row.id, mask_email(mail.recipient))
            return
        row.last_error = error[:500]
        if permanent or mail.attempts >= MAX_ATTEMPTS:
            row.status = "failed"
            log.warning(
                "mail %s to %s failed: %s", row.id, mask_email(mail.recipient), row.last_error
            )
            return
        row.next_attempt_at = now + backoff(mail.attempts)
        log.info(
            "mail %s to %s: retry later (%s)", row.id, mask_email(mail.recipient), row.last_error
        )

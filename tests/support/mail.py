"""A local SMTP server (aiosmtpd) that keeps what it receives, for mail tests."""

from __future__ import annotations

import base64
import email
import email.policy
import threading
import time
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import select

from authencode.models import OutboxMessage


class MailSink:
    """Collects every message delivered to the local SMTP server."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refused: set[str] = set()  # recipients answered 550 (no such user)
        self._changed = threading.Condition()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._changed:
            self.messages.append(message)
            self._changed.notify_all()
        return "250 OK"

    def wait_for(self, to: str, timeout: float = 10.0) -> EmailMessage:
        """The first message addressed to `to`, waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for message in self.messages:
                    if to in str(message.get("To", "")):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no mail to {to} within {timeout}s")
                self._changed.wait(remaining)


class SmtpServer:
    def __init__(self, port: int) -> None:
        self.sink = MailSink()
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=port)
        self.url = f"smtp://127.0.0.1:{port}"

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


def queued_bodies(session: Any, protector: Any) -> list[str]:
    """The decrypted bodies of the emails waiting in the outbox, oldest first."""
    rows = session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "email").order_by(OutboxMessage.id)
    )
    return [
        protector.decrypt(base64.b64decode(row.payload["body_enc"]), "email")
        for row in rows
        if "body_enc" in row.payload
    ]

"""Where a LINE user is in a chat dialogue: registering themselves or adding a family member."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from authencode.db import Base, created_at, intpk


class ChatConversation(Base):
    """One unfinished chat dialogue of a LINE account (at most one per account).

    The answers collected so far (a CID, a phone) are encrypted; the row means nothing after
    ``expires_at`` and is deleted when next read or by the worker's purge. ``version`` is
    checked on every update, so a write based on a stale read fails instead of overwriting a
    newer step (the account row lock normally queues such writers first).
    """

    __tablename__ = "chat_conversations"

    id: Mapped[intpk]
    line_account_id: Mapped[int] = mapped_column(
        ForeignKey("line_accounts.id", ondelete="CASCADE"), unique=True
    )
    flow: Mapped[str] = mapped_column(String(16))
    step: Mapped[str] = mapped_column(String(16))
    data_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    version: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[created_at]
    updated_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)

    __mapper_args__ = {"version_id_col": version}

"""A person's erasure requests (PDPA): what was removed and kept, for the registry office."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from authencode.db import Base, created_at, intpk
from authencode.models.registry import Person


class ErasureRequest(Base):
    """One erasure a LINE account holder asked for, carried out at once.

    ``removed`` and ``kept`` hold counts by kind only (no personal data), so the row itself
    can be kept as the record of the request. The registry office reviews it (``reviewed_*``),
    e.g. to destroy paper forms of the person's links it holds.
    """

    __tablename__ = "erasure_requests"
    __table_args__ = (Index("ix_erasure_requests_open", "reviewed_at", "requested_at"),)

    id: Mapped[intpk]
    line_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("line_accounts.id", ondelete="SET NULL"), index=True
    )
    # The person of the holder's own link at the time (None: no own link); its level then.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    self_level: Mapped[str | None] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16), default="liff")
    requested_at: Mapped[created_at]
    removed: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    kept: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reviewed_at: Mapped[dt.datetime | None]
    reviewed_by_staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    review_note: Mapped[str | None] = mapped_column(Text)

    person: Mapped[Person | None] = relationship()

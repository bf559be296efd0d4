"""Clinic web app records: registration documents, password resets and staff sessions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from authencode.db import Base, created_at, intpk, str_hash


class StaffDocument(Base):
    """The supporting document of a registration (ID card copy and the like), encrypted."""

    __tablename__ = "staff_documents"

    id: Mapped[intpk]
    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), unique=True
    )
    evidence_kind: Mapped[str] = mapped_column(String(32))  # id_card, official_card, other
    evidence_note: Mapped[str] = mapped_column(String(200), default="")
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    data_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[created_at]


class PasswordReset(Base):
    """A one-time, expiring password reset link; only the token's SHA-256 is stored."""

    __tablename__ = "password_resets"

    id: Mapped[intpk]
    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str_hash] = mapped_column(unique=True)
    created_at: Mapped[created_at]
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]


class StaffSession(Base):
    """A signed-in browser; the cookie holds the id, the server keeps idle time and the end."""

    __tablename__ = "staff_sessions"

    id: Mapped[intpk]
    sid_hash: Mapped[str_hash] = mapped_column(unique=True)
    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[created_at]
    # indexed for the retention purge of ended (or long idle) sessions
    last_seen_at: Mapped[dt.datetime] = mapped_column(index=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(index=True)

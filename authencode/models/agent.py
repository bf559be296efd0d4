"""Facility API tokens (hospital systems, reader agents, kiosks), card reads and agent sessions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from authencode.db import Base, created_at, intpk, str_hash
from authencode.models.facility import Facility

# What a token opens: "his" the hospital-system API, "agent" the reader agent's API, "kiosk"
# the reader agent's API for a registered kiosk (kiosk codes only: authencode.services.kiosks).
TOKEN_SCOPES = ("his", "agent", "kiosk")


class ApiToken(Base):
    """A bearer token of one facility that opens one API (its scope); only its SHA-256 is
    stored."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint(
            f"scope IN ({', '.join(repr(s) for s in TOKEN_SCOPES)})", name="scope_known"
        ),
    )

    id: Mapped[intpk]
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str_hash] = mapped_column(unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # shown in lists to tell tokens apart
    scope: Mapped[str] = mapped_column(String(8), default="his", server_default="his")
    created_at: Mapped[created_at]
    created_by: Mapped[str] = mapped_column(String(80), default="cli")
    revoked_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]

    facility: Mapped[Facility] = relationship()


class CardRead(Base):
    """A card read reported by a reader agent; its correlation id admits one confirm-save."""

    __tablename__ = "card_reads"

    id: Mapped[intpk]
    correlation_id: Mapped[str] = mapped_column(String(36), unique=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    api_token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id"))
    cid_hash: Mapped[str_hash]
    terminal_name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[created_at] = mapped_column(index=True)  # retention purges by age
    used_at: Mapped[dt.datetime | None]


class AgentSession(Base):
    """A staff member's unlock of one reader agent, valid until midnight in Bangkok."""

    __tablename__ = "agent_sessions"

    id: Mapped[intpk]
    token_hash: Mapped[str_hash] = mapped_column(unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    api_token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id"))
    created_at: Mapped[created_at]
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)

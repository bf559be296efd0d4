"""Registered kiosks: one record binds a kiosk browser's credential and its agent's token."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from authencode.db import Base, created_at, intpk
from authencode.models.agent import ApiToken
from authencode.models.facility import Facility


class Kiosk(Base):
    """A self-service kiosk of one facility.

    Made unpaired when its screen first opens (a browser secret in a cookie and a short
    pairing code shown on the screen; only their SHA-256 is stored); a facility admin who
    types the code binds it to the facility and gets its agent's ``kiosk`` token. Kiosk
    software without a screen of ours is registered with a token only.
    """

    __tablename__ = "kiosks"

    id: Mapped[intpk]
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    browser_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    pairing_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    pairing_expires_at: Mapped[dt.datetime | None]
    api_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"), unique=True)
    created_at: Mapped[created_at]
    paired_at: Mapped[dt.datetime | None]
    paired_by: Mapped[str | None] = mapped_column(String(80))
    last_seen_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(80))

    facility: Mapped[Facility | None] = relationship()
    api_token: Mapped[ApiToken | None] = relationship()

"""One-time codes that prove a family link at a clinic counter (services.counter_verify)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from authencode.db import Base, created_at, intpk
from authencode.models.line import FamilyLink

CARD_CHECKS = ("card", "eye")  # read by the reader agent, or looked at by staff


class LinkVerification(Base):
    """A counter verification code of a link: only its keyed hash is stored.

    While unused it is one of at most one open code per link, and no two open codes share a
    value (both partial unique indexes). Once used it stays as the record of the verification:
    who, at which facility, and how the ID card was checked.
    """

    __tablename__ = "link_verifications"
    __table_args__ = (
        Index(
            "uq_link_verifications_open_code",
            "code_hash",
            unique=True,
            sqlite_where=text("used_at IS NULL"),
            postgresql_where=text("used_at IS NULL"),
        ),
        Index(
            "uq_link_verifications_open_link",
            "family_link_id",
            unique=True,
            sqlite_where=text("used_at IS NULL"),
            postgresql_where=text("used_at IS NULL"),
        ),
        CheckConstraint(
            "card_check IS NULL OR card_check IN ('card', 'eye')", name="card_check_known"
        ),
    )

    id: Mapped[intpk]
    family_link_id: Mapped[int] = mapped_column(
        ForeignKey("family_links.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[created_at]
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    failures: Mapped[int] = mapped_column(SmallInteger, default=0)  # refused confirmations
    used_at: Mapped[dt.datetime | None]
    used_by_staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    card_check: Mapped[str | None] = mapped_column(String(8))
    relation: Mapped[str | None] = mapped_column(String(32))  # as confirmed by staff

    link: Mapped[FamilyLink] = relationship()

"""LINE accounts, their consent history and the persons each account acts for."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from authencode.db import Base, created_at, intpk
from authencode.models.registry import Person

MAX_FAMILY_MEMBERS = 5
# How sure we are that a LINE account may act for a person (authencode.services.link_trust):
# pending gives no access until the person's own verified account approves; claimed rests on
# what was typed (CID, phone, birth date matching the registry); verified was proven at a
# clinic counter, through ThaID, by the person's own approval or by the registry office.
LINK_LEVELS = ("pending", "claimed", "verified")
VERIFY_METHODS = ("counter", "thaid", "approval", "registry")


class LineAccount(Base):
    __tablename__ = "line_accounts"
    __table_args__ = (CheckConstraint("status IN ('active', 'unfollowed')", name="status_known"),)

    id: Mapped[intpk]
    line_user_id: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    language: Mapped[str] = mapped_column(String(2), default="th")
    consent_version: Mapped[str | None] = mapped_column(String(16))
    consented_at: Mapped[dt.datetime | None]
    created_at: Mapped[created_at]

    links: Mapped[list[FamilyLink]] = relationship(
        back_populates="account", order_by="FamilyLink.slot"
    )

    @property
    def has_consented(self) -> bool:
        return self.consent_version is not None


class ConsentRecord(Base):
    """Every consent decision, with the version of the text the user saw."""

    __tablename__ = "consent_records"
    __table_args__ = (
        CheckConstraint("decision IN ('accepted', 'declined', 'withdrawn')", name="decision"),
    )

    id: Mapped[intpk]
    line_account_id: Mapped[int] = mapped_column(
        ForeignKey("line_accounts.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[str] = mapped_column(String(16))
    decision: Mapped[str] = mapped_column(String(16))
    decided_at: Mapped[created_at]
    channel: Mapped[str] = mapped_column(String(16), default="line")


class FamilyLink(Base):
    """A person a LINE account acts for: slot 0 is the account holder, slots 1-5 family.

    The slot range and uniqueness make the database itself enforce "at most five family
    members per account" and "a CID is someone's own account at most once", also under
    concurrent requests.
    """

    __tablename__ = "family_links"
    __table_args__ = (
        UniqueConstraint("line_account_id", "slot"),
        UniqueConstraint("line_account_id", "person_id"),
        CheckConstraint(f"slot BETWEEN 0 AND {MAX_FAMILY_MEMBERS}", name="slot_range"),
        # A person is someone's own (slot 0) at most once among links that give access; a
        # pending self link waits beside it until verified, which reclaims the person.
        Index(
            "uq_family_links_self_person",
            "person_id",
            unique=True,
            sqlite_where=text("slot = 0 AND level <> 'pending'"),
            postgresql_where=text("slot = 0 AND level <> 'pending'"),
        ),
        CheckConstraint("level IN ('pending', 'claimed', 'verified')", name="level_known"),
        CheckConstraint(
            "verified_method IS NULL OR verified_method IN "
            "('counter', 'thaid', 'approval', 'registry')",
            name="verified_method_known",
        ),
    )

    id: Mapped[intpk]
    line_account_id: Mapped[int] = mapped_column(ForeignKey("line_accounts.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    slot: Mapped[int] = mapped_column(SmallInteger)
    relation: Mapped[str] = mapped_column(String(32), default="self")
    phone: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[created_at]
    level: Mapped[str] = mapped_column(String(16), default="claimed")
    verified_at: Mapped[dt.datetime | None]
    verified_method: Mapped[str | None] = mapped_column(String(16))
    # who verified: "staff:<id>" at a counter, "line:<account id>" approving, "thaid", "cli"
    verified_by: Mapped[str | None] = mapped_column(String(64))

    @property
    def is_verified(self) -> bool:
        return self.level == "verified"

    account: Mapped[LineAccount] = relationship(back_populates="links")
    person: Mapped[Person] = relationship()


class AccountNotice(Base):
    """A one-time message an account was sent (e.g. "levels" announcing verified links):
    the primary key makes sending it again a no-op, also when two runs overlap."""

    __tablename__ = "account_notices"

    line_account_id: Mapped[int] = mapped_column(
        ForeignKey("line_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    notice: Mapped[str] = mapped_column(String(32), primary_key=True)
    queued_at: Mapped[created_at]

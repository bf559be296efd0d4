"""Clinic staff accounts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from authencode.db import Base, created_at, intpk, str_hash
from authencode.models.facility import Facility

ROLES = ("system_admin", "registry_admin", "facility_admin", "staff")


class StaffUser(Base):
    __tablename__ = "staff_users"
    __table_args__ = (
        CheckConstraint(
            "role IN ('system_admin', 'registry_admin', 'facility_admin', 'staff')",
            name="role_known",
        ),
        CheckConstraint("status IN ('pending', 'active', 'disabled')", name="status_known"),
    )

    id: Mapped[intpk]
    # One account per CID (the source system's ADM007 rule) is a unique constraint.
    cid_hash: Mapped[str_hash] = mapped_column(unique=True)
    cid_enc: Mapped[bytes] = mapped_column(LargeBinary)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    employee_code: Mapped[str] = mapped_column(String(32), default="")
    affiliation: Mapped[str] = mapped_column(String(200), default="")
    unit: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(500), default="")
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    role: Mapped[str] = mapped_column(String(20), default="staff")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    password_hash: Mapped[str | None] = mapped_column(String(200))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    # The 4-digit PIN that unlocks a reader agent together with the staff member's own card.
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    pin_failures: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    pin_locked_until: Mapped[dt.datetime | None]
    created_at: Mapped[created_at]
    approved_at: Mapped[dt.datetime | None]
    approved_by: Mapped[str | None] = mapped_column(String(80))
    last_login_at: Mapped[dt.datetime | None]

    facility: Mapped[Facility | None] = relationship()

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class LoginThrottle(Base):
    """Failed log-ins counted per account, per client address and per device cookie.

    ``scope`` says which: ``account`` (attempts from browsers the account does not know),
    ``address`` or ``device``. A log-in locks its rows before checking the password, so
    parallel attempts count one after the other. ``held_until``: refused until then.
    """

    __tablename__ = "login_throttles"
    __table_args__ = (
        UniqueConstraint("scope", "key"),
        CheckConstraint("scope IN ('account', 'address', 'device')", name="scope_known"),
    )

    id: Mapped[intpk]
    scope: Mapped[str] = mapped_column(String(8))
    key: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    held_until: Mapped[dt.datetime | None]
    # Created or last failed; counts older than the policy's forget_after start again.
    updated_at: Mapped[dt.datetime] = mapped_column(index=True)

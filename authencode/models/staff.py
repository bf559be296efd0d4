"""Clinic staff accounts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, LargeBinary, SmallInteger, String
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
    failed_logins: Mapped[int] = mapped_column(SmallInteger, default=0)
    locked_until: Mapped[dt.datetime | None]
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

"""Authen Codes and the number sequence they are drawn from."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from authencode.db import Base, created_at, intpk
from authencode.models.facility import Facility, ServiceType
from authencode.models.registry import Person
from authencode.reference import CHANNELS, sql_in
from authencode.reference import CODE_STATUSES as STATUSES


class CodeNumber(Base):
    """The shared number sequence of PP/EP codes.

    PostgreSQL draws numbers from this table's id sequence inside the INSERT that issues a
    code; SQLite inserts a row to draw its autoincrement id and deletes it again. The table
    stays empty, and the database keeps numbers unique across processes either way.
    """

    __tablename__ = "code_numbers"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )


class AuthenCode(Base):
    __tablename__ = "authen_codes"
    __table_args__ = (
        CheckConstraint(sql_in("status", STATUSES), name="status_known"),
        CheckConstraint(sql_in("channel", CHANNELS), name="channel_known"),
        # One active code per person, facility, service and service day.
        Index(
            "uq_authen_codes_one_active",
            "person_id",
            "facility_id",
            "service_code",
            "service_date",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        # A facility's codes of a date range in time order: report pages (newest first, with
        # LIMIT) and exports (oldest first, streamed) walk this index instead of sorting.
        Index(
            "ix_authen_codes_facility_day_time", "facility_id", "service_date", "service_at", "id"
        ),
    )

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(String(12), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    service_code: Mapped[str] = mapped_column(ForeignKey("service_types.code"))
    service_date: Mapped[dt.date] = mapped_column(Date)
    service_at: Mapped[dt.datetime]
    channel: Mapped[str] = mapped_column(String(16))
    verify_method: Mapped[str] = mapped_column(String(32))
    phones: Mapped[str] = mapped_column(String(60))  # comma-separated 10-digit mobiles
    main_right: Mapped[str | None] = mapped_column(String(8))
    sub_right: Mapped[str | None] = mapped_column(String(8))
    hn: Mapped[str | None] = mapped_column(String(20))
    an: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16), default="active")
    recorded_at: Mapped[created_at]
    recorder_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    line_account_id: Mapped[int | None] = mapped_column(ForeignKey("line_accounts.id"))
    edited_at: Mapped[dt.datetime | None]
    edited_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    cancelled_at: Mapped[dt.datetime | None]
    cancelled_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # The person, from their own verified LINE account, said they did not ask for this code
    # (it was requested through another account): shown on the records page for review.
    disputed_at: Mapped[dt.datetime | None]

    person: Mapped[Person] = relationship()
    facility: Mapped[Facility] = relationship()
    service: Mapped[ServiceType] = relationship()

    @property
    def phone_list(self) -> list[str]:
        return [p for p in self.phones.split(",") if p]


class VisitEvidence(Base):
    """How staff confirmed a visit without a card: the patient's photo, or who certified the
    CID (a guardian or staff member, e.g. for a newborn). The photo is encrypted at rest and
    shown only to staff of the code's facility."""

    __tablename__ = "visit_evidence"
    __table_args__ = (
        # retention: the photos still held, oldest first
        Index(
            "ix_visit_evidence_photo_age",
            "created_at",
            sqlite_where=text("photo_enc IS NOT NULL"),
            postgresql_where=text("photo_enc IS NOT NULL"),
        ),
    )

    id: Mapped[intpk]
    code_id: Mapped[int] = mapped_column(
        ForeignKey("authen_codes.id", ondelete="CASCADE"), unique=True
    )
    photo_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    photo_type: Mapped[str | None] = mapped_column(String(16))  # image/jpeg, image/png
    photo_size: Mapped[int | None] = mapped_column(Integer)
    certifier_cid_hash: Mapped[str | None] = mapped_column(String(64))
    certifier_cid_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    relation: Mapped[str | None] = mapped_column(String(32))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[created_at]

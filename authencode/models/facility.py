"""Health facilities, the service types of the scheme, and what each facility offers."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from authencode.db import Base, created_at, intpk


class Facility(Base):
    __tablename__ = "facilities"
    __table_args__ = (CheckConstraint("length(hcode) = 5", name="hcode_five_chars"),)

    id: Mapped[intpk]
    hcode: Mapped[str] = mapped_column(String(5), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    province_code: Mapped[str | None] = mapped_column(String(4))
    province_name: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[created_at]

    services: Mapped[list[FacilityService]] = relationship(back_populates="facility")


class ServiceType(Base):
    """A claimType such as PG0060001, with its group and validity."""

    __tablename__ = "service_types"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name_th: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    group: Mapped[str] = mapped_column(String(16))  # e.g. "OPD/IPD/PP"
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def is_valid_on(self, day: dt.date) -> bool:
        if not self.active:
            return False
        if self.valid_from and day < self.valid_from:
            return False
        return not (self.valid_to and day > self.valid_to)


class FacilityService(Base):
    __tablename__ = "facility_services"
    __table_args__ = (UniqueConstraint("facility_id", "service_code"),)

    id: Mapped[intpk]
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id", ondelete="CASCADE"))
    service_code: Mapped[str] = mapped_column(ForeignKey("service_types.code"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    facility: Mapped[Facility] = relationship(back_populates="services")
    service: Mapped[ServiceType] = relationship()

"""The beneficiary registry: persons and their rights."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, LargeBinary, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from authencode.db import Base, intpk, str_hash, utcnow


class Right(Base):
    """A main right (UCS, OFC, ...) or a sub-right ("89" = age 12-59), with its Thai name: the
    rows of authencode.reference.MAIN_RIGHTS/SUB_RIGHTS, seeded for SQL readers (the services
    read the labels from authencode.reference; a test checks the two agree)."""

    __tablename__ = "rights"
    __table_args__ = (CheckConstraint("kind IN ('main', 'sub')", name="kind_main_or_sub"),)

    kind: Mapped[str] = mapped_column(String(4), primary_key=True)
    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name_th: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")


class Person(Base):
    """A registry person. The CID is stored only as a keyed hash (lookup) and ciphertext."""

    __tablename__ = "persons"
    __table_args__ = (
        CheckConstraint("sex IN ('1', '2')", name="sex_code"),
        CheckConstraint("birth_month IS NULL OR birth_month BETWEEN 1 AND 12", name="birth_month"),
        CheckConstraint("birth_day IS NULL OR birth_day BETWEEN 1 AND 31", name="birth_day"),
    )

    id: Mapped[intpk]
    cid_hash: Mapped[str_hash] = mapped_column(unique=True)
    cid_enc: Mapped[bytes] = mapped_column(LargeBinary)
    title_th: Mapped[str] = mapped_column(String(60), default="")
    first_name_th: Mapped[str] = mapped_column(String(100))
    middle_name_th: Mapped[str] = mapped_column(String(100), default="")
    last_name_th: Mapped[str] = mapped_column(String(100), default="")
    title_en: Mapped[str] = mapped_column(String(60), default="")
    first_name_en: Mapped[str] = mapped_column(String(100), default="")
    middle_name_en: Mapped[str] = mapped_column(String(100), default="")
    last_name_en: Mapped[str] = mapped_column(String(100), default="")
    sex: Mapped[str] = mapped_column(String(1))
    # Birth date in the Common Era; month and day may be unknown (00 on cards and registries).
    birth_year: Mapped[int] = mapped_column(SmallInteger)
    birth_month: Mapped[int | None] = mapped_column(SmallInteger)
    birth_day: Mapped[int | None] = mapped_column(SmallInteger)
    nation_code: Mapped[str] = mapped_column(String(3), default="099")
    province_code: Mapped[str | None] = mapped_column(String(4))
    province_name: Mapped[str | None] = mapped_column(String(100))
    main_right: Mapped[str | None] = mapped_column(String(8))
    sub_right: Mapped[str | None] = mapped_column(String(8))
    hosp_main: Mapped[str | None] = mapped_column(String(5))
    hosp_sub: Mapped[str | None] = mapped_column(String(5))
    hosp_main_op: Mapped[str | None] = mapped_column(String(5))
    deceased: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def full_name_th(self) -> str:
        parts = [self.first_name_th, self.middle_name_th, self.last_name_th]
        return (self.title_th or "") + " ".join(p for p in parts if p)

    @property
    def full_name_en(self) -> str:
        parts = [self.title_en, self.first_name_en, self.middle_name_en, self.last_name_en]
        return " ".join(p for p in parts if p)

    def age_on(self, day: dt.date) -> int:
        """Full years on the given day; an unknown month/day counts from the year's start."""
        month = self.birth_month or 1
        birth_day = self.birth_day or 1
        years = day.year - self.birth_year
        if (day.month, day.day) < (month, birth_day):
            years -= 1
        return years

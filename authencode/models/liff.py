"""What patients ask for in the LIFF pages beyond a code: changes of primary care unit."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from authencode.db import Base, created_at, intpk
from authencode.models.registry import Person

PCU_CHANGE_STATUSES = ("pending", "approved", "rejected", "cancelled")


class PcuChangeRequest(Base):
    """A patient's request to move their primary care unit, until the registry admin acts.

    One pending request per person is a partial unique index, so two requests sent at once
    cannot both pass the yearly limit.
    """

    __tablename__ = "pcu_change_requests"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'cancelled')", name="status_known"
        ),
        Index(
            "uq_pcu_change_requests_one_pending",
            "person_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_pcu_change_requests_person_year", "person_id", "fiscal_year"),
    )

    id: Mapped[intpk]
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    line_account_id: Mapped[int | None] = mapped_column(ForeignKey("line_accounts.id"))
    from_hcode: Mapped[str | None] = mapped_column(String(5))
    to_hcode: Mapped[str] = mapped_column(String(5))
    # The fiscal year (October-September) named by the Common Era year it ends in.
    fiscal_year: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    requested_at: Mapped[created_at]
    decided_at: Mapped[dt.datetime | None]
    decided_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    decision_note: Mapped[str | None] = mapped_column(Text)

    person: Mapped[Person] = relationship()

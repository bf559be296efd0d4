"""A person's own say over who acts for them: open approval requests for pending links."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from authencode.db import Base, UTCDateTime, created_at, intpk
from authencode.models.line import FamilyLink


class LinkApproval(Base):
    """An open request to the person's verified own account to approve a pending link.

    The row lives only while the request is open: approving verifies the link, declining or
    letting it expire removes the link, and either way the row goes (the audit log keeps the
    history). It belongs to its link (removed with it), so it never points at nothing.
    """

    __tablename__ = "link_approvals"

    id: Mapped[intpk]
    link_id: Mapped[int] = mapped_column(
        ForeignKey("family_links.id", ondelete="CASCADE"), unique=True
    )
    approver_account_id: Mapped[int] = mapped_column(
        ForeignKey("line_accounts.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[created_at]
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)

    link: Mapped[FamilyLink] = relationship()

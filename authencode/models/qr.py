"""Per-facility signing keys for the clinic QR tokens."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from authencode.db import Base, created_at, intpk
from authencode.models.facility import Facility


class FacilityKey(Base):
    """An HMAC key a facility's QR tokens are signed with; the secret is encrypted at rest.

    A facility has one current key (the newest not revoked). Rotating revokes the old key,
    so posters printed with it stop working.
    """

    __tablename__ = "facility_keys"
    # One live (unrevoked) key per facility: concurrent first uses cannot create two.
    __table_args__ = (
        Index(
            "uq_facility_keys_one_live",
            "facility_id",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[intpk]
    facility_id: Mapped[int] = mapped_column(
        ForeignKey("facilities.id", ondelete="CASCADE"), index=True
    )
    kid: Mapped[str] = mapped_column(String(16), unique=True)
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[created_at]
    created_by: Mapped[str] = mapped_column(String(80))
    revoked_at: Mapped[dt.datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(80))

    facility: Mapped[Facility] = relationship()

"""ThaID sign-ins under way: what the callback needs to finish one, kept server-side."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from authencode.db import Base, created_at, intpk, str_hash


class ThaidAuthorization(Base):
    """One authorization request sent to ThaID, bound to a family link and a browser.

    The state and the browser's binding cookie are kept as hashes only; nonce and PKCE code
    verifier are encrypted with DATA_KEY. A row is used once (``used_at``), whatever the
    outcome, and is worthless after ``expires_at``.
    """

    __tablename__ = "thaid_authorizations"

    id: Mapped[intpk]
    state_hash: Mapped[str_hash] = mapped_column(unique=True)
    browser_hash: Mapped[str_hash]
    secrets_enc: Mapped[bytes] = mapped_column(LargeBinary)
    family_link_id: Mapped[int] = mapped_column(
        ForeignKey("family_links.id", ondelete="CASCADE"), index=True
    )
    line_account_id: Mapped[int] = mapped_column(ForeignKey("line_accounts.id", ondelete="CASCADE"))
    created_at: Mapped[created_at]
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    used_at: Mapped[dt.datetime | None]

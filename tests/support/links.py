"""Raising a link's level in tests: what a counter, ThaID or the registry office would do."""

from __future__ import annotations

from sqlalchemy import select

from authencode.db import Database
from authencode.models import FamilyLink, LineAccount
from authencode.services import link_trust


def verify_links(db: Database, line_user_id: str, *, person_id: int | None = None) -> int:
    """Verify the account's links (or its link to one person) as the registry office would;
    returns how many were verified."""
    with db.transaction() as session:
        stmt = (
            select(FamilyLink)
            .join(LineAccount)
            .where(LineAccount.line_user_id == line_user_id)
            .order_by(FamilyLink.slot)
        )
        if person_id is not None:
            stmt = stmt.where(FamilyLink.person_id == person_id)
        links = list(session.scalars(stmt))
        for link in links:
            link_trust.verify_link(session, link, method="registry", actor="cli")
        return len(links)

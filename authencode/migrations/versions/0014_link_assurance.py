"""Assurance levels on family links: pending, claimed, verified (how, when, by whom)

Every existing link becomes claimed: it rests on a typed CID and phone only. A pending self
link may wait beside another account's self link for the same person until it is verified.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import authencode.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE with column checks on both backends (no SQLite table copy).
    op.execute(
        "ALTER TABLE family_links ADD COLUMN level VARCHAR(16) DEFAULT 'claimed' NOT NULL "
        "CONSTRAINT ck_family_links_level_known "
        "CHECK (level IN ('pending', 'claimed', 'verified'))"
    )
    op.add_column(
        "family_links",
        sa.Column("verified_at", authencode.db.UTCDateTime(timezone=True), nullable=True),
    )
    op.execute(
        "ALTER TABLE family_links ADD COLUMN verified_method VARCHAR(16) "
        "CONSTRAINT ck_family_links_verified_method_known "
        "CHECK (verified_method IS NULL OR verified_method IN "
        "('counter', 'thaid', 'approval', 'registry'))"
    )
    op.add_column("family_links", sa.Column("verified_by", sa.String(64), nullable=True))
    op.drop_index("uq_family_links_self_person", table_name="family_links")
    op.create_index(
        "uq_family_links_self_person",
        "family_links",
        ["person_id"],
        unique=True,
        sqlite_where=sa.text("slot = 0 AND level <> 'pending'"),
        postgresql_where=sa.text("slot = 0 AND level <> 'pending'"),
    )


def downgrade() -> None:
    op.execute("DELETE FROM family_links WHERE level = 'pending'")
    op.drop_index("uq_family_links_self_person", table_name="family_links")
    op.create_index(
        "uq_family_links_self_person",
        "family_links",
        ["person_id"],
        unique=True,
        sqlite_where=sa.text("slot = 0"),
        postgresql_where=sa.text("slot = 0"),
    )
    for column in ("verified_by", "verified_method", "verified_at", "level"):
        op.drop_column("family_links", column)

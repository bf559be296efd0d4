"""link verifications: one-time counter codes that verify a family link (keyed hash only)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import authencode.db

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "link_verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("family_link_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", authencode.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", authencode.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.SmallInteger(), nullable=False),
        sa.Column("used_at", authencode.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("used_by_staff_id", sa.Integer(), nullable=True),
        sa.Column("facility_id", sa.Integer(), nullable=True),
        sa.Column("card_check", sa.String(length=8), nullable=True),
        sa.Column("relation", sa.String(length=32), nullable=True),
        sa.CheckConstraint(
            "card_check IS NULL OR card_check IN ('card', 'eye')",
            name=op.f("ck_link_verifications_card_check_known"),
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facilities.id"],
            name=op.f("fk_link_verifications_facility_id_facilities"),
        ),
        sa.ForeignKeyConstraint(
            ["family_link_id"],
            ["family_links.id"],
            name=op.f("fk_link_verifications_family_link_id_family_links"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["used_by_staff_id"],
            ["staff_users.id"],
            name=op.f("fk_link_verifications_used_by_staff_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_verifications")),
    )
    with op.batch_alter_table("link_verifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_link_verifications_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_link_verifications_family_link_id"), ["family_link_id"], unique=False
        )
        batch_op.create_index(
            "uq_link_verifications_open_code",
            ["code_hash"],
            unique=True,
            sqlite_where=sa.text("used_at IS NULL"),
            postgresql_where=sa.text("used_at IS NULL"),
        )
        batch_op.create_index(
            "uq_link_verifications_open_link",
            ["family_link_id"],
            unique=True,
            sqlite_where=sa.text("used_at IS NULL"),
            postgresql_where=sa.text("used_at IS NULL"),
        )


def downgrade() -> None:
    op.drop_table("link_verifications")

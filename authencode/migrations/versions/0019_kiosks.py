"""Kiosks: a record binding a kiosk browser's credential and its agent's token to a facility

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import authencode.db

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    moment = authencode.db.UTCDateTime(timezone=True)
    op.create_table(
        "kiosks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("browser_token_hash", sa.String(length=64), nullable=True),
        sa.Column("pairing_code_hash", sa.String(length=64), nullable=True),
        sa.Column("pairing_expires_at", moment, nullable=True),
        sa.Column("api_token_id", sa.Integer(), nullable=True),
        sa.Column("created_at", moment, nullable=False),
        sa.Column("paired_at", moment, nullable=True),
        sa.Column("paired_by", sa.String(length=80), nullable=True),
        sa.Column("last_seen_at", moment, nullable=True),
        sa.Column("revoked_at", moment, nullable=True),
        sa.Column("revoked_by", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["api_token_id"], ["api_tokens.id"], name=op.f("fk_kiosks_api_token_id_api_tokens")
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.id"], name=op.f("fk_kiosks_facility_id_facilities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kiosks")),
        sa.UniqueConstraint("api_token_id", name=op.f("uq_kiosks_api_token_id")),
        sa.UniqueConstraint("browser_token_hash", name=op.f("uq_kiosks_browser_token_hash")),
        sa.UniqueConstraint("pairing_code_hash", name=op.f("uq_kiosks_pairing_code_hash")),
    )
    op.create_index(op.f("ix_kiosks_facility_id"), "kiosks", ["facility_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_kiosks_facility_id"), table_name="kiosks")
    op.drop_table("kiosks")

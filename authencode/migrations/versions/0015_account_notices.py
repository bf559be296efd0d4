"""One-time messages sent to LINE accounts (the announcement of link levels)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import authencode.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account_notices",
        sa.Column("line_account_id", sa.Integer(), nullable=False),
        sa.Column("notice", sa.String(length=32), nullable=False),
        sa.Column("queued_at", authencode.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_account_id"],
            ["line_accounts.id"],
            name=op.f("fk_account_notices_line_account_id_line_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("line_account_id", "notice", name=op.f("pk_account_notices")),
    )


def downgrade() -> None:
    op.drop_table("account_notices")

"""The person's own say: approval requests for pending links, codes the person disputed

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import authencode.db

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "link_approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("approver_account_id", sa.Integer(), nullable=False),
        sa.Column("created_at", authencode.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", authencode.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["approver_account_id"],
            ["line_accounts.id"],
            name=op.f("fk_link_approvals_approver_account_id_line_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["family_links.id"],
            name=op.f("fk_link_approvals_link_id_family_links"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_approvals")),
        sa.UniqueConstraint("link_id", name=op.f("uq_link_approvals_link_id")),
    )
    op.create_index(
        op.f("ix_link_approvals_approver_account_id"),
        "link_approvals",
        ["approver_account_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_link_approvals_expires_at"), "link_approvals", ["expires_at"], unique=False
    )
    # A plain nullable column: ALTER TABLE on both backends, no SQLite table copy.
    op.add_column(
        "authen_codes",
        sa.Column("disputed_at", authencode.db.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("authen_codes", "disputed_at")
    op.drop_index(op.f("ix_link_approvals_expires_at"), table_name="link_approvals")
    op.drop_index(op.f("ix_link_approvals_approver_account_id"), table_name="link_approvals")
    op.drop_table("link_approvals")

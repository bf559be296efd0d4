"""A person's erasure requests (PDPA): what was removed and kept, for the registry office

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import authencode.db

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erasure_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_account_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("self_level", sa.String(length=16), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("requested_at", authencode.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("removed", sa.JSON(), nullable=False),
        sa.Column("kept", sa.JSON(), nullable=False),
        sa.Column("reviewed_at", authencode.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by_staff_id", sa.Integer(), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["line_account_id"],
            ["line_accounts.id"],
            name=op.f("fk_erasure_requests_line_account_id_line_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_erasure_requests_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_staff_id"],
            ["staff_users.id"],
            name=op.f("fk_erasure_requests_reviewed_by_staff_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_requests")),
    )
    op.create_index(
        op.f("ix_erasure_requests_line_account_id"),
        "erasure_requests",
        ["line_account_id"],
        unique=False,
    )
    op.create_index(
        "ix_erasure_requests_open",
        "erasure_requests",
        ["reviewed_at", "requested_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_erasure_requests_open", table_name="erasure_requests")
    op.drop_index(op.f("ix_erasure_requests_line_account_id"), table_name="erasure_requests")
    op.drop_table("erasure_requests")

"""chat conversations (registration and family in the LINE chat)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import authencode.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chat_conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_account_id", sa.Integer(), nullable=False),
        sa.Column("flow", sa.String(length=16), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("data_enc", sa.LargeBinary(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("started_at", authencode.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", authencode.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", authencode.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_account_id"],
            ["line_accounts.id"],
            name=op.f("fk_chat_conversations_line_account_id_line_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_conversations")),
        sa.UniqueConstraint("line_account_id", name=op.f("uq_chat_conversations_line_account_id")),
    )
    with op.batch_alter_table("chat_conversations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_chat_conversations_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("chat_conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_conversations_expires_at"))

    op.drop_table("chat_conversations")

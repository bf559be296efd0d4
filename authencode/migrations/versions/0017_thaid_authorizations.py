"""ThaID sign-ins under way (state, nonce and PKCE verifier kept server-side, used once)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import authencode.db

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "thaid_authorizations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("browser_hash", sa.String(length=64), nullable=False),
        sa.Column("secrets_enc", sa.LargeBinary(), nullable=False),
        sa.Column("family_link_id", sa.Integer(), nullable=False),
        sa.Column("line_account_id", sa.Integer(), nullable=False),
        sa.Column("created_at", authencode.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", authencode.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", authencode.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["family_link_id"],
            ["family_links.id"],
            name=op.f("fk_thaid_authorizations_family_link_id_family_links"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["line_account_id"],
            ["line_accounts.id"],
            name=op.f("fk_thaid_authorizations_line_account_id_line_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_thaid_authorizations")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_thaid_authorizations_state_hash")),
    )
    with op.batch_alter_table("thaid_authorizations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_thaid_authorizations_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_thaid_authorizations_family_link_id"), ["family_link_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("thaid_authorizations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_thaid_authorizations_family_link_id"))
        batch_op.drop_index(batch_op.f("ix_thaid_authorizations_expires_at"))

    op.drop_table("thaid_authorizations")

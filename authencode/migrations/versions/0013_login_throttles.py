"""login throttles: failed log-ins per account, address and device cookie

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

The account's own counter (staff_users.failed_logins, locked_until) moves into the new table,
so failures from elsewhere no longer lock the row a successful log-in writes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import authencode.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_throttles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("held_until", authencode.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", authencode.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "scope IN ('account', 'address', 'device')", name=op.f("ck_login_throttles_scope_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_throttles")),
        sa.UniqueConstraint("scope", "key", name=op.f("uq_login_throttles_scope_key")),
    )
    with op.batch_alter_table("login_throttles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_login_throttles_updated_at"), ["updated_at"], unique=False
        )

    # Accounts locked or counting failures keep their state.
    op.execute(
        "INSERT INTO login_throttles (scope, key, failures, held_until, updated_at) "
        "SELECT 'account', CAST(id AS VARCHAR(64)), failed_logins, locked_until, "
        "CURRENT_TIMESTAMP FROM staff_users "
        "WHERE failed_logins > 0 OR locked_until IS NOT NULL"
    )
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_column("failed_logins")
        batch_op.drop_column("locked_until")


def downgrade() -> None:
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("locked_until", authencode.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("failed_logins", sa.SmallInteger(), server_default="0", nullable=False)
        )

    with op.batch_alter_table("login_throttles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_throttles_updated_at"))

    op.drop_table("login_throttles")

"""LIFF pages (primary care unit change requests)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import authencode.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pcu_change_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("line_account_id", sa.Integer(), nullable=True),
        sa.Column("from_hcode", sa.String(length=5), nullable=True),
        sa.Column("to_hcode", sa.String(length=5), nullable=False),
        sa.Column("fiscal_year", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", authencode.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", authencode.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by_staff_id", sa.Integer(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'cancelled')",
            name=op.f("ck_pcu_change_requests_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_staff_id"],
            ["staff_users.id"],
            name=op.f("fk_pcu_change_requests_decided_by_staff_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["line_account_id"],
            ["line_accounts.id"],
            name=op.f("fk_pcu_change_requests_line_account_id_line_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_pcu_change_requests_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pcu_change_requests")),
    )
    with op.batch_alter_table("pcu_change_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pcu_change_requests_person_year", ["person_id", "fiscal_year"], unique=False
        )
        batch_op.create_index(
            "uq_pcu_change_requests_one_pending",
            ["person_id"],
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("pcu_change_requests", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_pcu_change_requests_one_pending",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )
        batch_op.drop_index("ix_pcu_change_requests_person_year")

    op.drop_table("pcu_change_requests")

"""visit evidence: the patient's photo or the certifier of a visit confirmed at the counter

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import authencode.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "visit_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_id", sa.Integer(), nullable=False),
        sa.Column("photo_enc", sa.LargeBinary(), nullable=True),
        sa.Column("photo_type", sa.String(length=16), nullable=True),
        sa.Column("photo_size", sa.Integer(), nullable=True),
        sa.Column("certifier_cid_hash", sa.String(length=64), nullable=True),
        sa.Column("certifier_cid_enc", sa.LargeBinary(), nullable=True),
        sa.Column("relation", sa.String(length=32), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("created_at", authencode.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["code_id"],
            ["authen_codes.id"],
            name=op.f("fk_visit_evidence_code_id_authen_codes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_users.id"], name=op.f("fk_visit_evidence_staff_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_evidence")),
        sa.UniqueConstraint("code_id", name=op.f("uq_visit_evidence_code_id")),
    )


def downgrade() -> None:
    op.drop_table("visit_evidence")

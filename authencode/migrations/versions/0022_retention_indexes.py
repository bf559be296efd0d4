"""Indexes the retention purges walk: each kind's rows by the moment its period counts from

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PLAIN = (
    ("card_reads", "created_at"),
    ("agent_sessions", "expires_at"),
    ("staff_sessions", "last_seen_at"),
    ("staff_sessions", "ended_at"),
    ("webhook_events", "received_at"),
)


def upgrade() -> None:
    for table, column in _PLAIN:
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)
    op.create_index("ix_outbox_sent", "outbox", ["status", "sent_at"], unique=False)
    op.create_index(
        "ix_visit_evidence_photo_age",
        "visit_evidence",
        ["created_at"],
        unique=False,
        sqlite_where=sa.text("photo_enc IS NOT NULL"),
        postgresql_where=sa.text("photo_enc IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_visit_evidence_photo_age", table_name="visit_evidence")
    op.drop_index("ix_outbox_sent", table_name="outbox")
    for table, column in reversed(_PLAIN):
        op.drop_index(op.f(f"ix_{table}_{column}"), table_name=table)

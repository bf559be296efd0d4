"""The webhook's inbox: events stored pending for the workers, dead letters, work counters

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import authencode.db

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# PostgreSQL only: a stored event or a queued message wakes the idle workers (LISTEN), in the
# transaction that stores it; no statement of the application's own does it.
NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION authencode_notify_work() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('authencode_work', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""
TRIGGERS = {"webhook_events": "trg_webhook_events_work", "outbox": "trg_outbox_work"}


def upgrade() -> None:
    # Plain nullable columns (or with a server default): ALTER TABLE on both backends.
    for column in (
        sa.Column("line_user_id", sa.String(length=64), nullable=True),
        sa.Column("event_ts", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=8), server_default="applied", nullable=False),
        sa.Column("attempts", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", authencode.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
    ):
        op.add_column("webhook_events", column)
    op.create_index(
        "ix_webhook_events_inbox", "webhook_events", ["status", "line_user_id"], unique=False
    )
    op.create_table(
        "work_counters",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_work_counters")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NOTIFY_FUNCTION)
        for table, trigger in TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER {trigger} AFTER INSERT ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION authencode_notify_work()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, trigger in TRIGGERS.items():
            op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS authencode_notify_work()")
    op.drop_table("work_counters")
    op.drop_index("ix_webhook_events_inbox", table_name="webhook_events")
    for name in (
        "last_error",
        "next_attempt_at",
        "attempts",
        "status",
        "payload",
        "event_ts",
        "line_user_id",
    ):
        op.drop_column("webhook_events", name)

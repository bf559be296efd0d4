"""Stored webhook events no longer notify from a trigger (the web process nudges instead)

PostgreSQL serialises the commits of the transactions that NOTIFY (a lock held until the
commit is flushed), so a trigger notifying on every stored delivery let one webhook commit
reach the disk at a time. The web processes now wake the workers themselves, outside the
storing statement (linebot_app.wake); queued outbox messages keep their trigger.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS trg_webhook_events_work ON webhook_events")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER trg_webhook_events_work AFTER INSERT ON webhook_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION authencode_notify_work()"
        )

"""report indexes: a facility's codes by day and time

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The new index starts with the old one's columns, so it serves every query the old did.
    op.create_index(
        "ix_authen_codes_facility_day_time",
        "authen_codes",
        ["facility_id", "service_date", "service_at", "id"],
        unique=False,
    )
    op.drop_index("ix_authen_codes_facility_day", table_name="authen_codes")


def downgrade() -> None:
    op.create_index(
        "ix_authen_codes_facility_day",
        "authen_codes",
        ["facility_id", "service_date"],
        unique=False,
    )
    op.drop_index("ix_authen_codes_facility_day_time", table_name="authen_codes")

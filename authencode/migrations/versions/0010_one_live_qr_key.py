"""one live QR signing key per facility

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import authencode.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_keys = sa.table(
    "facility_keys",
    sa.column("id", sa.Integer()),
    sa.column("facility_id", sa.Integer()),
    sa.column("revoked_at", authencode.db.UTCDateTime(timezone=True)),
    sa.column("revoked_by", sa.String(80)),
)


def upgrade() -> None:
    # Two first uses racing could leave two live keys; keep the newest live one per facility.
    newest = (
        sa.select(sa.func.max(_keys.c.id))
        .where(_keys.c.revoked_at.is_(None))
        .group_by(_keys.c.facility_id)
    )
    op.get_bind().execute(
        _keys.update()
        .where(_keys.c.revoked_at.is_(None), _keys.c.id.not_in(newest))
        .values(revoked_at=dt.datetime.now(dt.UTC), revoked_by="migration 0010")
    )
    with op.batch_alter_table("facility_keys", schema=None) as batch_op:
        batch_op.create_index(
            "uq_facility_keys_one_live",
            ["facility_id"],
            unique=True,
            sqlite_where=sa.text("revoked_at IS NULL"),
            postgresql_where=sa.text("revoked_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("facility_keys", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_facility_keys_one_live",
            sqlite_where=sa.text("revoked_at IS NULL"),
            postgresql_where=sa.text("revoked_at IS NULL"),
        )

"""API token scopes: a token opens only its own API (his, agent or kiosk)

Existing tokens keep working for what they were used for: a token that reported card reads
or opened agent sessions becomes an agent token, every other one a hospital-system token.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_tokens = sa.table("api_tokens", sa.column("id", sa.Integer()), sa.column("scope", sa.String(8)))
_card_reads = sa.table("card_reads", sa.column("api_token_id", sa.Integer()))
_agent_sessions = sa.table("agent_sessions", sa.column("api_token_id", sa.Integer()))


def upgrade() -> None:
    # One ALTER TABLE on both backends, the check a column constraint: SQLite's batch mode
    # would copy the table, and dropping the old copy fails while card reads and agent
    # sessions refer to it (foreign keys are on).
    op.execute(
        "ALTER TABLE api_tokens ADD COLUMN scope VARCHAR(8) DEFAULT 'his' NOT NULL "
        "CONSTRAINT ck_api_tokens_scope_known "
        "CHECK (scope IN ('his', 'agent', 'kiosk'))"
    )
    used_by_an_agent = sa.or_(
        _tokens.c.id.in_(sa.select(_card_reads.c.api_token_id)),
        _tokens.c.id.in_(sa.select(_agent_sessions.c.api_token_id)),
    )
    op.get_bind().execute(_tokens.update().where(used_by_an_agent).values(scope="agent"))


def downgrade() -> None:
    # Drops its own column constraint too (SQLite 3.35 and later).
    op.drop_column("api_tokens", "scope")

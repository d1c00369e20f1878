"""ticket index on resolved_at for consistency across groups

``butterfly report consistency`` and the weekly report's consistency section read the tickets resolved in the
last N weeks. Without an index on ``resolved_at`` that is a scan of the whole ticket table (0.9 s of a
million rows on SQLite); with it, a range of the index (the tickets without a resolution time use the same index,
``resolved_at IS NULL``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 21:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_ticket_resolved_at", "ticket", ["resolved_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_ticket_resolved_at", table_name="ticket")

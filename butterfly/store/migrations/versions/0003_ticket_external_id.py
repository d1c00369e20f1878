"""ticket index on external_id: `butterfly review T-1042` finds the ticket without a full scan

Tickets are unique on (source, external_id), but users name them by external id alone; without this index that
look-up scans every ticket (about half a second on a million).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 21:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_ticket_external_id", "ticket", ["external_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_ticket_external_id", table_name="ticket")

"""drop two ticket indexes nothing needs: ix_ticket_category and ix_ticket_import_id

``ix_ticket_category_closed_at`` (0002) serves every look-up by category (category is its first column), and no
query looks tickets up by their import run. Each index costs about a second per million tickets on a first
import (it is sorted and written again) and its share of every later insert.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 00:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_ticket_category", table_name="ticket")
    op.drop_index("ix_ticket_import_id", table_name="ticket")


def downgrade() -> None:
    op.create_index("ix_ticket_import_id", "ticket", ["import_id"], unique=False)
    op.create_index("ix_ticket_category", "ticket", ["category"], unique=False)

"""ticket index on (category, closed_at) for the review context panel

The walk's "same problem at other customers" look-up reads the most recently closed tickets of one category.
With only the index on ``category`` that sorts every ticket of the category (200,000 of a million for a big
one); with ``(category, closed_at)`` it walks the index newest-first and stops after a few thousand rows.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 21:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_ticket_category_closed_at", "ticket", ["category", "closed_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_ticket_category_closed_at", table_name="ticket")

"""review.allow_gaps: a review closed knowingly incomplete (``--allow-gaps``)

A review may be marked complete only when every required question has an answer, unless the reviewer says
``--allow-gaps``; that choice is recorded on the review so reports and ``check --require-complete`` show it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 11:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a plain ADD COLUMN (no table copy on SQLite: the answers' foreign keys stay untouched)
    op.add_column("review", sa.Column("allow_gaps", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("review") as batch:
        batch.drop_column("allow_gaps")

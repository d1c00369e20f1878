"""message: the ticket's conversation (customer, agent, system messages and internal notes)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 12:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "message",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("ticket.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(), nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("thread_hash", sa.String(length=64), nullable=False),
        sa.UniqueConstraint("ticket_id", "position", name="uq_message_ticket_position"),
    )
    op.create_index("ix_message_ticket_id", "message", ["ticket_id"])


def downgrade() -> None:
    op.drop_index("ix_message_ticket_id", table_name="message")
    op.drop_table("message")

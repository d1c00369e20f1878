"""ticket_event: a ticket's state timeline (ServiceNow's event log: state, group, assignee, at what time);
message.external_id: the helpdesk's id of a message, so incremental comment events merge into a stored thread

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 14:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ticket_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("ticket.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", sa.String(), nullable=True),
        sa.Column("group_name", sa.String(), nullable=True),
        sa.Column("assignee", sa.String(), nullable=True),
        sa.Column("reassigned", sa.Boolean(), nullable=False),
        sa.Column("timeline_hash", sa.String(length=64), nullable=False),
        sa.UniqueConstraint("ticket_id", "position", name="uq_ticket_event_ticket_position"),
    )
    op.create_index("ix_ticket_event_ticket_id", "ticket_event", ["ticket_id"])
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("external_id", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.drop_column("external_id")
    op.drop_index("ix_ticket_event_ticket_id", table_name="ticket_event")
    op.drop_table("ticket_event")

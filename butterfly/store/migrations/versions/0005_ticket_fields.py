"""ticket fields some helpdesks have: requester, project, resolution, satisfaction, reopen/reassignment counts,
made_sla

Kept as columns (not only inside ``raw``) so that ``tickets show``, reports and the review queue can use them:
Freshdesk/Zendesk requester name, Jira project key and GitHub repository (``project``), Jira resolution, Zendesk
satisfaction rating, ServiceNow ``reopen_count``, ``reassignment_count`` and ``made_sla``. All nullable: tickets
imported before stay as they are until their export is imported again.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 11:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT_COLUMNS = ("requester", "project", "resolution", "satisfaction")
INT_COLUMNS = ("reopen_count", "reassignment_count")


def upgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        for name in TEXT_COLUMNS:
            batch.add_column(sa.Column(name, sa.String(), nullable=True))
        for name in INT_COLUMNS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=True))
        batch.add_column(sa.Column("made_sla", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        for name in ("made_sla", *reversed(INT_COLUMNS), *reversed(TEXT_COLUMNS)):
            batch.drop_column(name)

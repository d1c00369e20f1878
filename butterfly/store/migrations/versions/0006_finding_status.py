"""finding status: open, reworded or dismissed, with who and when

A blame-wording finding follows the answer's text: reworded clean, it is ``reworded`` (its quote cleared; the
answer's history keeps the old wording); a reviewer may dismiss it as "not blame" (``dismissed``, with who and
when). Only ``open`` findings count in reports and ``butterfly check``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 11:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("finding") as batch:
        batch.add_column(sa.Column("status", sa.String(length=16), nullable=False, server_default="open"))
        batch.add_column(sa.Column("status_by", sa.String(), nullable=True))
        batch.add_column(sa.Column("status_at", sa.DateTime(timezone=True), nullable=True))
    # blame findings the old code kept after a rewording (kept = false, quote still in detail) are reworded now,
    # and their quote goes: the answer's history keeps the wording
    op.execute(
        "UPDATE finding SET status = 'reworded', detail = '' WHERE kind = 'blame_wording' AND kept = false"
    )


def downgrade() -> None:
    with op.batch_alter_table("finding") as batch:
        batch.drop_column("status_at")
        batch.drop_column("status_by")
        batch.drop_column("status")

"""subscriptions: how often a brief comes (daily, weekdays, weekly on one day)

Two columns, both with defaults, so existing channels stay daily and the change is
instant on both backends (no table rewrite): ``every`` ('daily' | 'weekdays' | 'weekly')
and ``weekday`` (0 = Monday … 6 = Sunday, set only for weekly briefs).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "subscriptions",
        sa.Column("every", sa.String(8), nullable=False, server_default="daily"),
    )
    op.add_column("subscriptions", sa.Column("weekday", sa.SmallInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("weekday")
        batch.drop_column("every")
